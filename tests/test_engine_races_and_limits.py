"""Push races, concurrent replicas and rate limits counted from git history across restarts."""

import threading
from datetime import UTC, datetime, timedelta

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.app.forge import Delivery
from gitops_bot.app.forge.local import LocalForge
from gitops_bot.core.culprit import Verdict
from gitops_bot.core.plan import Plan
from gitops_bot.core.route import Routed
from tests.conftest import EngineFactory, make_alert, make_policy
from tests.gitfix import Remote, agent_config, agent_files, deployment, git

ROGUE = "2026.06.0"


class CompetingPushForge(LocalForge):
    """Before the bot's first push lands, a human pushes an unrelated commit (real git, real race)."""

    def __init__(self, remote: Remote) -> None:
        self.remote, self.raced = remote, 0

    def publish(self, repo: GitRepo, plan: Plan, sha: str) -> Delivery:
        if self.raced == 0:
            self.raced += 1
            self.remote.pull()
            self.remote.commit(agent_files("triage-agent", "1.2.5"), "Release triage 1.2.5")
        return super().publish(repo, plan, sha)


def test_push_race_is_redone_on_the_new_head_and_pushed_once(
    remote: Remote, engine_for: EngineFactory
) -> None:
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    forge = CompetingPushForge(remote)
    outcome = engine_for(remote, forge=forge).handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "rolled_back", outcome.reason
    assert forge.raced == 1
    log = git(remote.bare, "log", "--format=%s", "-3", "main").splitlines()
    assert log[0].startswith("Roll back billing-agent") and log[1] == "Release triage 1.2.5"
    assert git(remote.bare, "log", "--format=%s", "main").count("Roll back billing-agent") == 1
    assert "triage-agent:1.2.5" in remote.show("agents/triage-agent/deployment.yaml")


def test_two_replicas_racing_on_one_alert_make_one_commit(remote: Remote, engine_for: EngineFactory) -> None:
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    replicas = [engine_for(remote, name=f"replica-{i}") for i in range(3)]
    alert = make_alert("billing-agent", ROGUE)
    outcomes = []
    barrier = threading.Barrier(len(replicas))

    def run(engine: object) -> None:
        barrier.wait()
        outcomes.append(engine.handle(alert))  # type: ignore[attr-defined]

    threads = [threading.Thread(target=run, args=(e,)) for e in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    kinds = sorted(o.kind for o in outcomes)
    assert kinds == ["ignored", "ignored", "rolled_back"], outcomes
    assert git(remote.bare, "log", "--format=%s", "main").count("Roll back billing-agent") == 1


def test_per_agent_limit_counts_rollbacks_from_git_after_a_restart(
    remote: Remote, engine_for: EngineFactory
) -> None:
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    assert (
        engine_for(remote, name="before-restart").handle(make_alert("billing-agent", ROGUE)).kind
        == "rolled_back"
    )
    remote.pull()
    remote.commit(agent_files("billing-agent", "2026.06.1"), "Release billing 2026.06.1")
    before = remote.remote_head()
    restarted = engine_for(remote, name="after-restart")  # fresh clone: only git remembers
    outcome = restarted.handle(make_alert("billing-agent", "2026.06.1"))
    assert outcome.kind == "escalated" and outcome.code == "limit", outcome.reason
    assert remote.remote_head() == before
    later = engine_for(remote, name="an-hour-later", now=datetime.now(UTC) + timedelta(hours=1, minutes=1))
    assert later.handle(make_alert("billing-agent", "2026.06.1")).kind == "rolled_back"


def test_fleet_breaker_opens_after_max_rollbacks_across_agents(
    remote: Remote, engine_for: EngineFactory
) -> None:
    agents = ["a1", "a2", "a3"]
    remote.commit({k: v for a in agents for k, v in agent_files(a, "1.0").items()}, "Add agents")
    remote.commit({k: v for a in agents for k, v in agent_files(a, "2.0").items()}, "Release all 2.0")
    policy = make_policy(
        limits={"perAgent": {"max": 1, "window": "1h"}, "fleet": {"max": 2, "window": "10m"}}
    )
    first = engine_for(remote, policies=(policy,), name="first")
    assert [first.handle(make_alert(a, "2.0")).kind for a in agents[:2]] == ["rolled_back", "rolled_back"]
    restarted = engine_for(remote, policies=(policy,), name="restarted")
    outcome = restarted.handle(make_alert("a3", "2.0"))
    assert outcome.kind == "escalated" and outcome.code == "breaker", outcome.reason
    assert "a3:2.0" in remote.show("agents/a3/deployment.yaml")


def test_field_removed_after_the_culprit_escalates_without_a_half_revert(
    remote: Remote, engine_for: EngineFactory
) -> None:
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    without_version = agent_config("billing-agent", ROGUE).replace(
        f'  version: "{ROGUE}"   # keep in step with the image\n', ""
    )
    remote.commit({"agents/billing-agent/agent.yaml": without_version}, "drop spec.version")
    before = remote.remote_head()
    outcome = engine_for(remote).handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "escalated" and outcome.code == "unrestorable", outcome.reason
    assert remote.remote_head() == before


def test_a_commit_message_cannot_forge_a_commit_into_the_culprit_walk(
    remote: Remote, engine_for: EngineFactory
) -> None:
    first = remote.head()
    remote.commit(agent_files("billing-agent", "2026.05.9"), "Release billing 2026.05.9")
    forged = f"Release billing {ROGUE}\n\n\x1e{first}\x1f0\x1f\x1fx <x@y>\x1fRelease\n"
    culprit = remote.commit(agent_files("billing-agent", ROGUE), forged)
    outcome = engine_for(remote).handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "rolled_back", outcome.reason
    assert outcome.plan is not None and outcome.plan.culprit.sha == culprit
    assert outcome.plan.to_version == "2026.05.9"  # not the forged first commit's 2026.05.2


def test_a_clone_synced_by_someone_else_mid_rollback_keeps_their_push(
    remote: Remote, engine_for: EngineFactory
) -> None:
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    engine = engine_for(remote)
    calls = []

    def meddling_gate(routed: Routed) -> tuple[Verdict | None, str]:
        if not calls:  # a person pushes, and e.g. `gitops-bot audit` syncs the same clone
            remote.pull()
            remote.commit(
                {"agents/billing-agent/deployment.yaml": deployment("billing-agent", ROGUE, replicas=9)},
                "billing: 9 replicas",
            )
            engine.repo.sync()
        calls.append(routed)
        return None, ""

    engine.gate = meddling_gate
    outcome = engine.handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "rolled_back" and len(calls) == 2, outcome.reason
    shown = remote.show("agents/billing-agent/deployment.yaml")
    assert "replicas: 9" in shown and "billing-agent:2026.05.2" in shown
