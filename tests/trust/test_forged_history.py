"""Finding 3: trailers and tags anyone can push do not steer the bot (real git, real engine)."""

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.app.audit import audit_records
from gitops_bot.app.engine import Engine
from gitops_bot.app.forge.local import LocalForge
from gitops_bot.app.metrics import Metrics
from gitops_bot.app.watcher import RecoveryWatcher
from gitops_bot.core.statekey import StateKeys
from tests.conftest import STATE_KEY, EngineFactory, firing_body, make_alert, make_policy, push_tag
from tests.gitfix import Remote, agent_files, git
from tests.test_crash_and_cli import free_port, post, start_server, write_config

ROGUE = "2026.06.0"
FLEET_OF_ONE = {"perAgent": {"max": 1, "window": "1h"}, "fleet": {"max": 1, "window": "10m"}}


def _trailers(agent: str, culprit: str, from_v: str, to_v: str) -> str:
    return (
        f"Rollback-Of: {culprit}\nRollback-Agent: {agent}\nRollback-From: {from_v}\nRollback-To: {to_v}\n"
        "Alert-Name: AgentPolicyViolations\nAlert-Fingerprint: f\nPolicy: agents\nApproved-By: auto\n"
    )


def _forge(remote: Remote, files: dict[str, str], subject: str, trailers: str, when: datetime) -> str:
    """A teammate's commit carrying bot trailers, with a committer date of their choosing."""
    remote.write(files)
    git(remote.dev, "add", "-A")
    git(remote.dev, "commit", "--quiet", "-m", f"{subject}\n\n{trailers}", when=when, author="Mallory")
    remote.push()
    return remote.head()


def _watch_reports(engine: Engine) -> list[str]:
    kinds: list[str] = []
    engine.reported.hooks.append(kinds.append)
    return kinds


def test_plausibly_dated_trailers_whose_diff_moves_nothing_open_no_breaker(
    remote: Remote, engine_for: EngineFactory
) -> None:
    first = remote.head()
    now = datetime.now(UTC)
    for i in range(5):  # a README edit dressed up as five rollbacks, dated a minute ago
        trailers = _trailers("support-bot", first, "v1.9.3", "v1.9.2")
        _forge(remote, {"README.md": f"edit {i}\n"}, f"Roll back support-bot #{i}", trailers, now)
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    engine = engine_for(remote, policies=(make_policy(limits=FLEET_OF_ONE),))
    reports = _watch_reports(engine)
    outcome = engine.handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "rolled_back", outcome.reason
    assert "billing-agent:2026.05.2" in remote.show("agents/billing-agent/deployment.yaml")
    assert reports == ["rollback_record"] * 5
    assert [r.agent for r in audit_records(engine, agent=None)] == ["billing-agent"]


def test_a_real_field_move_naming_a_culprit_that_did_not_introduce_the_version_does_not_count(
    remote: Remote, engine_for: EngineFactory
) -> None:
    first = remote.head()  # support-bot v1.9.3 came from here...
    remote.commit(agent_files("support-bot", "v2.0.0"), "Release support-bot v2.0.0")
    remote.commit({"README.md": "unrelated\n"}, "docs")
    unrelated = remote.head()  # ...and v2.0.0 from the commit above, not from this one
    trailers = _trailers("support-bot", unrelated, "v2.0.0", "v1.9.3")
    _forge(remote, agent_files("support-bot", "v1.9.3"), "Roll back support-bot", trailers, datetime.now(UTC))
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    engine = engine_for(remote, policies=(make_policy(limits=FLEET_OF_ONE),))
    outcome = engine.handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "rolled_back", outcome.reason
    assert first != unrelated


def test_a_2099_committer_date_never_counts_even_for_a_diff_that_proves_itself(
    remote: Remote, engine_for: EngineFactory
) -> None:
    culprit = remote.commit(agent_files("support-bot", "v2.0.0"), "Release support-bot v2.0.0")
    trailers = _trailers("support-bot", culprit, "v2.0.0", "v1.9.3")
    future = datetime(2099, 1, 1, tzinfo=UTC)
    _forge(remote, agent_files("support-bot", "v1.9.3"), "Roll back support-bot", trailers, future)
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    engine = engine_for(remote, policies=(make_policy(limits=FLEET_OF_ONE),))
    reports = _watch_reports(engine)
    outcome = engine.handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "rolled_back", outcome.reason
    assert reports == ["rollback_record"]


def test_the_bots_own_rollbacks_still_count_for_limits(remote: Remote, engine_for: EngineFactory) -> None:
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    engine = engine_for(remote, policies=(make_policy(limits=FLEET_OF_ONE),))
    assert engine.handle(make_alert("billing-agent", ROGUE)).kind == "rolled_back"
    remote.pull()
    remote.commit(agent_files("support-bot", "v2.0.0"), "Release support-bot v2.0.0")
    outcome = engine.handle(make_alert("support-bot", "v2.0.0"))
    assert outcome.kind == "escalated" and outcome.code == "breaker", outcome.reason


@pytest.mark.parametrize("keys", [None, StateKeys((b"someone-elses-key-0123",))], ids=["bare", "wrong-key"])
def test_a_pushed_known_good_tag_without_a_valid_authenticator_chooses_nothing(
    remote: Remote, engine_for: EngineFactory, keys: StateKeys | None
) -> None:
    push_tag(remote, "known-good/billing-agent/first", "good", keys=keys)
    remote.commit(agent_files("billing-agent", "2026.05.9"), "Release billing 2026.05.9 (never baked)")
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    engine = engine_for(remote)
    reports = _watch_reports(engine)
    outcome = engine.handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "rolled_back" and outcome.plan is not None, outcome.reason
    assert outcome.plan.to_version == "2026.05.9" and outcome.plan.target_source.startswith("parent of")
    assert reports == ["tag"]


def test_a_tag_sealed_with_the_previous_key_still_counts_after_rotation(
    remote: Remote, tmp_path: Path
) -> None:
    push_tag(remote, "known-good/billing-agent/first", "good")  # sealed with the (now previous) key
    remote.commit(agent_files("billing-agent", "2026.05.9"), "Release billing 2026.05.9 (never baked)")
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    rotated = StateKeys.parse(f"brand-new-state-key-0001,{STATE_KEY}", where="test")
    repo = GitRepo(remote.url, "main", tmp_path / "rotated" / "repo")
    engine = Engine(repo, LocalForge(), (make_policy(),), keys=rotated)
    outcome = engine.handle(make_alert("billing-agent", ROGUE))
    assert outcome.plan is not None and outcome.plan.to_version == "2026.05.2", outcome.reason


def test_a_forged_recovery_tag_ends_no_watch_and_shows_in_no_audit(
    remote: Remote, engine_for: EngineFactory
) -> None:
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    engine = engine_for(remote)
    outcome = engine.handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "rolled_back" and outcome.commit is not None
    remote.pull()
    forged = "billing-agent recovered\n\nRecovery: recovered\nAlert-To-Recovery-Seconds: 1.0\n"
    push_tag(remote, f"gitops-bot/recovery/{outcome.commit[:12]}", forged, keys=None)
    engine.repo.sync()
    watcher = RecoveryWatcher(engine, Metrics(), prometheus_url=None)
    assert watcher.resume(now=datetime.now(UTC) + timedelta(seconds=1)) == 1  # still watched
    (record,) = audit_records(engine, agent="billing-agent")
    assert record.recovery is None


def test_serve_ignores_forged_rollback_records_in_limits_audit_and_metrics(
    remote: Remote, tmp_path: Path
) -> None:
    first = remote.head()
    for i in range(5):  # a teammate's README edits dressed up as rollbacks: the fleet breaker is 5/10m
        trailers = _trailers("support-bot", first, "v1.9.3", "v1.9.2")
        _forge(
            remote, {"README.md": f"edit {i}\n"}, f"Roll back support-bot #{i}", trailers, datetime.now(UTC)
        )
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    port = free_port()
    proc = start_server(write_config(tmp_path, remote, port), port)
    try:
        assert post(port, firing_body("billing-agent", ROGUE, started=remote.clock)) == 200
        deadline = time.monotonic() + 30
        while not git(remote.bare, "log", "-1", "--format=%s", "main").startswith("Roll back billing-agent"):
            assert time.monotonic() < deadline, "the breaker held the real rollback back"
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        audit = json.loads(urllib.request.urlopen(f"{base}/api/v1/rollbacks", timeout=10).read())
        metrics = urllib.request.urlopen(f"{base}/metrics", timeout=10).read().decode()
    finally:
        proc.terminate()
        proc.wait(10)
    assert [(r["agent"], r["from"], r["to"]) for r in audit] == [("billing-agent", ROGUE, "2026.05.2")]
    assert 'gitops_bot_untrusted_state_total{kind="rollback_record"} 5.0' in metrics
