"""The rollback path over real git repos: every culprit rule of the core loop."""

from datetime import UTC, datetime, timedelta

from gitops_bot.core.trailers import REF_KEYS, TRAILER_KEYS, parse_trailers
from tests.conftest import EngineFactory, make_alert, make_policy, push_tag
from tests.gitfix import Remote, agent_config, agent_files, deployment, git

ROGUE = "2026.06.0"


def ship_rogue(
    remote: Remote, *, extra: dict[str, str] | None = None, message: str = "Release billing 2026.06.0"
) -> str:
    return remote.commit({**agent_files("billing-agent", ROGUE), **(extra or {})}, message)


def trailers_of(remote: Remote, rev: str = "main") -> dict[str, str]:
    return parse_trailers(git(remote.bare, "log", "-1", "--format=%(trailers:only,unfold)", rev))


def test_plain_release_is_rolled_back_to_the_previous_version(
    remote: Remote, engine_for: EngineFactory
) -> None:
    culprit = ship_rogue(remote)
    outcome = engine_for(remote).handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "rolled_back", outcome.reason
    assert remote.remote_head() == outcome.commit
    assert "registry.example.com/agents/billing-agent:2026.05.2" in remote.show(
        "agents/billing-agent/deployment.yaml"
    )
    assert 'version: "2026.05.2"' in remote.show("agents/billing-agent/agent.yaml")
    trailers = trailers_of(remote)
    assert tuple(trailers) == TRAILER_KEYS + REF_KEYS  # the image is a reference: the refs say which
    assert trailers["Rollback-From-Ref"] == f"registry.example.com/agents/billing-agent:{ROGUE}"
    assert trailers["Rollback-Of"] == culprit
    assert trailers["Rollback-From"] == ROGUE and trailers["Rollback-To"] == "2026.05.2"
    assert trailers["Approved-By"] == "auto" and trailers["Alert-Fingerprint"] == "3ecc831ed00f1c68"
    subject = git(remote.bare, "log", "-1", "--format=%s", "main")
    assert subject == "Roll back billing-agent 2026.06.0 -> 2026.05.2 (AgentPolicyViolations)"
    body = git(remote.bare, "log", "-1", "--format=%b", "main")
    assert "violates policy" in body and "http://vm:9090/graph" in body and "started at" in body


def test_other_agent_changed_in_the_same_commit_stays(remote: Remote, engine_for: EngineFactory) -> None:
    ship_rogue(remote, extra=agent_files("support-bot", "v2.0.0"))
    outcome = engine_for(remote).handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "rolled_back", outcome.reason
    assert "support-bot:v2.0.0" in remote.show("agents/support-bot/deployment.yaml")
    changed = git(remote.bare, "diff", "--name-only", "main~1", "main").split()
    assert changed == ["agents/billing-agent/agent.yaml", "agents/billing-agent/deployment.yaml"]


def test_later_edits_to_the_same_files_are_kept_byte_for_byte(
    remote: Remote, engine_for: EngineFactory
) -> None:
    ship_rogue(remote)
    later = deployment("billing-agent", ROGUE, replicas=6, comment="scaled for month-end")
    remote.commit({"agents/billing-agent/deployment.yaml": later}, "billing: 6 replicas")
    outcome = engine_for(remote).handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "rolled_back", outcome.reason
    expected = later.replace(f"billing-agent:{ROGUE}", "billing-agent:2026.05.2")
    assert remote.show("agents/billing-agent/deployment.yaml") + "\n" == expected
    assert trailers_of(remote)["Rollback-Of"] == remote.head("HEAD~1")


def test_culprit_behind_a_no_ff_merge_is_the_merge_commit(remote: Remote, engine_for: EngineFactory) -> None:
    merge = remote.merge_pr(
        "release-billing", agent_files("billing-agent", ROGUE), "Release billing 2026.06.0"
    )
    outcome = engine_for(remote).handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "rolled_back", outcome.reason
    assert trailers_of(remote)["Rollback-Of"] == merge
    assert "billing-agent:2026.05.2" in remote.show("agents/billing-agent/deployment.yaml")


def test_squash_merged_release_is_found(remote: Remote, engine_for: EngineFactory) -> None:
    squash = remote.merge_pr(
        "release-billing", agent_files("billing-agent", ROGUE), "Release billing", squash=True
    )
    outcome = engine_for(remote).handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "rolled_back", outcome.reason
    assert trailers_of(remote)["Rollback-Of"] == squash


def test_alert_for_a_version_no_longer_deployed_is_stale(remote: Remote, engine_for: EngineFactory) -> None:
    before = remote.remote_head()
    outcome = engine_for(remote).handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "ignored" and outcome.code == "stale_version"
    assert remote.remote_head() == before


def test_alert_started_before_the_culprit_was_committed_does_nothing_and_escalates(
    remote: Remote, engine_for: EngineFactory
) -> None:
    ship_rogue(remote)
    before = remote.remote_head()
    outcome = engine_for(remote).handle(
        make_alert("billing-agent", ROGUE, started=remote.clock - timedelta(minutes=5))
    )
    # Nothing is done, but loudly: the same picture arises when a committer's clock runs ahead.
    assert outcome.kind == "escalated" and outcome.code == "predates_commit", outcome.reason
    assert remote.remote_head() == before


def test_alert_for_already_reverted_version_is_ignored(remote: Remote, engine_for: EngineFactory) -> None:
    ship_rogue(remote)
    engine = engine_for(remote)
    assert engine.handle(make_alert("billing-agent", ROGUE)).kind == "rolled_back"
    head = remote.remote_head()
    again = engine.handle(make_alert("billing-agent", ROGUE))
    assert again.kind == "ignored" and again.code == "stale_version"
    assert remote.remote_head() == head


def test_repeat_of_a_versionless_alert_after_the_rollback_is_ignored(
    remote: Remote, engine_for: EngineFactory
) -> None:
    ship_rogue(remote)
    engine = engine_for(remote)
    alert = make_alert("billing-agent", None)
    assert engine.handle(alert).kind == "rolled_back"
    head = remote.remote_head()
    again = engine.handle(alert)
    assert again.kind == "ignored" and again.code == "predates_commit", again.reason
    assert remote.remote_head() == head


def test_a_bot_rollback_is_never_rolled_back_again(remote: Remote, engine_for: EngineFactory) -> None:
    ship_rogue(remote)
    engine = engine_for(remote, policies=(make_policy(limits={}),))
    assert engine.handle(make_alert("billing-agent", ROGUE)).kind == "rolled_back"
    head = remote.remote_head()
    fresh = make_alert("billing-agent", "2026.05.2", started=datetime.now(UTC) + timedelta(seconds=5))
    outcome = engine.handle(fresh)
    assert outcome.kind == "escalated" and outcome.code == "rollback_of_rollback", outcome.reason
    assert remote.remote_head() == head


def test_commit_marked_rollback_never_is_not_reverted(remote: Remote, engine_for: EngineFactory) -> None:
    ship_rogue(remote, message="Release billing 2026.06.0\n\nSchema migration inside.\n\nRollback: never")
    before = remote.remote_head()
    outcome = engine_for(remote).handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "escalated" and outcome.code == "opted_out"
    assert remote.remote_head() == before


def test_known_good_tag_older_than_the_culprit_is_the_target(
    remote: Remote, engine_for: EngineFactory
) -> None:
    push_tag(remote, "known-good/billing-agent/first", "good")
    remote.commit(agent_files("billing-agent", "2026.05.9"), "Release billing 2026.05.9 (never baked)")
    ship_rogue(remote)
    outcome = engine_for(remote).handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "rolled_back", outcome.reason
    assert "billing-agent:2026.05.2" in remote.show("agents/billing-agent/deployment.yaml")
    assert trailers_of(remote)["Rollback-To"] == "2026.05.2"


def test_known_good_tag_newer_than_the_culprit_is_not_used(remote: Remote, engine_for: EngineFactory) -> None:
    remote.commit(agent_files("billing-agent", "2026.05.9"), "Release billing 2026.05.9")
    ship_rogue(remote)
    git(remote.dev, "tag", "known-good/billing-agent/after", "HEAD")
    git(remote.dev, "push", "--quiet", "origin", "--tags")
    outcome = engine_for(remote).handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "rolled_back", outcome.reason
    assert trailers_of(remote)["Rollback-To"] == "2026.05.9"


def test_unknown_agent_and_unsafe_labels_write_nothing(remote: Remote, engine_for: EngineFactory) -> None:
    engine, before = engine_for(remote), remote.remote_head()
    for agent, code in (
        ("nobody", "unknown_agent"),
        ("../etc", "bad_label"),
        ("a/b", "bad_label"),
        ("", "bad_label"),
    ):
        outcome = engine.handle(make_alert(agent, ROGUE))
        assert (outcome.kind, outcome.code) == ("ignored", code), (agent, outcome)
    other = engine.handle(make_alert("billing-agent", ROGUE, alertname="DiskFull"))
    assert other.code == "no_policy"
    assert remote.remote_head() == before


def test_tree_that_cannot_be_restored_cleanly_pushes_nothing(
    remote: Remote, engine_for: EngineFactory
) -> None:
    ship_rogue(remote)
    broken = agent_config("billing-agent", ROGUE) + "spec: [unbalanced\n"
    remote.commit({"agents/billing-agent/agent.yaml": broken}, "oops: broken yaml")
    before = remote.remote_head()
    outcome = engine_for(remote).handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "escalated", outcome
    assert remote.remote_head() == before


def test_agent_whose_first_commit_is_rogue_escalates(remote: Remote, engine_for: EngineFactory) -> None:
    remote.commit(agent_files("new-agent", "0.1.0"), "Add new-agent")
    outcome = engine_for(remote).handle(make_alert("new-agent", "0.1.0"))
    assert outcome.kind == "escalated" and outcome.code == "no_previous_version"


def test_dry_run_policy_plans_without_writing(remote: Remote, engine_for: EngineFactory) -> None:
    ship_rogue(remote)
    before = remote.remote_head()
    engine = engine_for(remote, policies=(make_policy(action={"mode": "dry-run"}),))
    outcome = engine.handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "planned" and outcome.plan is not None
    assert sorted(outcome.plan.files) == [
        "agents/billing-agent/agent.yaml",
        "agents/billing-agent/deployment.yaml",
    ]
    assert remote.remote_head() == before
