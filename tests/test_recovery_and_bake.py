"""Recovery watches resume from git after a restart; watch-good tags quietly baked versions."""

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gitops_bot.app.audit import audit_records
from gitops_bot.app.engine import Engine
from gitops_bot.app.metrics import Metrics
from gitops_bot.app.watch_good import watch_good_once
from gitops_bot.app.watcher import RecoveryWatcher
from gitops_bot.core.recovery import Watch
from gitops_bot_lab.stack import Running, start_prometheus
from tests.binaries import require_binary
from tests.conftest import EngineFactory, make_alert, make_policy
from tests.gitfix import Remote, agent_files, git

ROGUE = "2026.06.0"
RULES = Path(__file__).resolve().parents[1] / "manifests" / "monitoring" / "agent-rules.yaml"
VERIFY = {"timeout": "10m", "bakeTime": "1h"}


def rolled_back(remote: Remote, engine: Engine) -> str:
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    outcome = engine.handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "rolled_back" and outcome.commit
    return outcome.commit


def test_open_watch_resumes_after_restart_and_resolution_is_recorded_in_git(
    remote: Remote, engine_for: EngineFactory
) -> None:
    sha = rolled_back(remote, engine_for(remote, policies=(make_policy(verify=VERIFY),), name="before"))
    engine = engine_for(remote, policies=(make_policy(verify=VERIFY),), name="after-restart")
    watcher = RecoveryWatcher(engine, Metrics(), prometheus_url=None)
    engine.repo.sync()
    assert watcher.resume() == 1 and sha in watcher.watches
    assert watcher.poll_once() == []  # nothing resolved yet, deadline ahead
    watcher.resolved(make_alert("billing-agent", ROGUE))
    (finished, result), *_ = watcher.poll_once()
    assert finished.rollback_sha == sha and result.signal == "resolved-notification"
    (record,) = audit_records(engine, agent="billing-agent")
    assert record.recovery is not None and record.recovery["Recovery"] == "recovered"
    again = RecoveryWatcher(engine, Metrics(), prometheus_url=None)
    assert again.resume() == 0  # the tag on the remote says it is done


def test_recovery_timeout_escalates_and_never_rolls_back_further(
    remote: Remote, engine_for: EngineFactory
) -> None:
    engine = engine_for(remote, policies=(make_policy(verify=VERIFY),))
    sha = rolled_back(remote, engine)
    escalations: list[tuple[Watch, str]] = []
    watcher = RecoveryWatcher(
        engine, Metrics(), prometheus_url=None, escalate=lambda w, r: escalations.append((w, r))
    )
    assert watcher.resume() == 1
    head = remote.remote_head()
    (_, result), *_ = watcher.poll_once(now=datetime.now(UTC) + timedelta(minutes=11))
    assert result.status == "timeout" and len(escalations) == 1 and "did not recover" in escalations[0][1]
    assert remote.remote_head() == head
    message = git(
        remote.bare, "for-each-ref", "--format=%(contents)", f"refs/tags/gitops-bot/recovery/{sha[:12]}"
    )
    assert "Recovery: timeout" in message


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Running]:
    """A real Prometheus with the shipped rules and no agent: ALERTS is empty."""
    require_binary("prometheus")
    with start_prometheus(tmp_path, [], [RULES], None) as running:
        yield running


def test_watch_good_tags_a_quiet_version_once_and_refuses_without_prometheus(
    remote: Remote, engine_for: EngineFactory, prometheus: Running
) -> None:
    engine = engine_for(remote, policies=(make_policy(verify=VERIFY),))
    remote.commit(agent_files("support-bot", "v2.0.0"), "Release support v2.0.0")  # history is 30 days old
    blind = watch_good_once(engine, prometheus_url="http://127.0.0.1:9")
    assert all("Prometheus unavailable" in line for line in blind) and len(blind) == 3
    lines = watch_good_once(engine, prometheus_url=prometheus.url)
    assert sum("tagged known-good/" in line for line in lines) == 3, lines
    tags = git(remote.bare, "tag", "--list", "known-good/*").splitlines()
    assert len(tags) == 3 and any(t.startswith("known-good/support-bot/") for t in tags)
    assert all("already tagged" in line for line in watch_good_once(engine, prometheus_url=prometheus.url))


def test_a_resolution_from_an_earlier_episode_does_not_count_as_recovery(
    remote: Remote, engine_for: EngineFactory
) -> None:
    engine = engine_for(remote, policies=(make_policy(verify=VERIFY),))
    earlier = make_alert("billing-agent", ROGUE)
    watcher = RecoveryWatcher(engine, Metrics(), prometheus_url=None)
    watcher.resolved(replace(earlier, status="resolved", ends_at=datetime.now(UTC) - timedelta(hours=1)))
    rolled_back(remote, engine)
    assert watcher.resume() == 1
    assert watcher.poll_once() == []  # same fingerprint, but it resolved before this rollback
    watcher.resolved(replace(earlier, status="resolved", ends_at=datetime.now(UTC) + timedelta(seconds=1)))
    assert [r.signal for _, r in watcher.poll_once()] == ["resolved-notification"]
