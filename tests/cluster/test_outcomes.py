"""Outcome tracking from git: confirmed, overridden (a person brings the version back), undecided, a
re-fire inside the confirmation window; shown by `audit --stats` and on /metrics."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from gitops_bot.app.engine import Engine
from gitops_bot.app.metrics import Metrics
from gitops_bot.app.outcomes import OutcomeCollector, note_refire, rollback_outcomes
from gitops_bot.cli import main
from gitops_bot.core.alerts import format_time
from gitops_bot.core.outcomes import RollbackOutcome, aggregate, classify, quantile
from gitops_bot.core.refs import recovery_tag
from tests.conftest import EngineFactory, make_alert, policy_yaml
from tests.gitfix import Remote, agent_files, make_remote

NOW = datetime.now(UTC)
HOUR = timedelta(hours=1)


def roll_back(engine: Engine, remote: Remote, agent: str, good: str, rogue: str) -> str:
    remote.pull()
    remote.commit(agent_files(agent, rogue), f"Release {agent} {rogue}")
    outcome = engine.handle(make_alert(agent, rogue, started=NOW - 3 * HOUR))
    assert outcome.kind == "rolled_back" and outcome.commit, outcome
    return outcome.commit


def recovered(engine: Engine, sha: str, at: datetime) -> None:
    message = f"recovered\n\nRollback-Commit: {sha}\nRecovery: recovered\nRecovery-At: {format_time(at)}\n"
    engine.repo.tag(recovery_tag(sha), sha, engine.trusted.seal(recovery_tag(sha), sha, message))


@pytest.fixture
def agents(tmp_path: Path) -> Remote:
    return make_remote(
        tmp_path, {"billing-agent": "2026.05.2", "support-bot": "v1.9.3", "triage-agent": "1.2.4"}
    )


@pytest.fixture
def history(agents: Remote, engine_for: EngineFactory) -> tuple[Engine, dict[str, str]]:
    """billing confirmed, triage overridden by a person, support still undecided."""
    remote = agents
    engine = engine_for(remote)
    shas = {
        "billing-agent": roll_back(engine, remote, "billing-agent", "2026.05.2", "2026.06.0"),
        "triage-agent": roll_back(engine, remote, "triage-agent", "1.2.4", "1.3.0"),
        "support-bot": roll_back(engine, remote, "support-bot", "v1.9.3", "v2.0.0"),
    }
    recovered(engine, shas["billing-agent"], NOW - 2 * HOUR)
    recovered(engine, shas["triage-agent"], NOW - 2 * HOUR)
    remote.pull()
    remote.commit(agent_files("triage-agent", "1.3.0"), "Revert the rollback: 1.3.0 was fine (sre)")
    engine.repo.sync()
    return engine, shas


def test_each_rollback_gets_its_outcome_from_git(history: tuple[Engine, dict[str, str]]) -> None:
    engine, _ = history
    verdicts = {o.agent: o.verdict for o in rollback_outcomes(engine, now=NOW, window=HOUR)}
    assert verdicts == {
        "billing-agent": "confirmed",
        "triage-agent": "overridden",
        "support-bot": "undecided",
    }


def test_an_alert_firing_again_inside_the_window_keeps_the_rollback_undecided(
    history: tuple[Engine, dict[str, str]],
) -> None:
    engine, _ = history
    again = make_alert("billing-agent", "2026.05.2", started=NOW - 2 * HOUR + timedelta(minutes=20))
    assert note_refire(engine, again, agent="billing-agent", window=HOUR) == 1
    assert note_refire(engine, again, agent="billing-agent", window=HOUR) == 0  # marked once
    verdicts = {o.agent: o.verdict for o in rollback_outcomes(engine, now=NOW, window=HOUR)}
    assert verdicts["billing-agent"] == "undecided"
    later = make_alert("billing-agent", "2026.05.2", started=NOW - timedelta(minutes=5))  # after the window
    assert note_refire(engine, later, agent="billing-agent", window=HOUR) == 0


def test_audit_stats_and_metrics_show_precision_per_policy_and_agent(
    history: tuple[Engine, dict[str, str]], agents: Remote, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine, _ = history
    (tmp_path / "pol").mkdir()
    (tmp_path / "pol" / "agents.yaml").write_text(policy_yaml())
    config = {
        "repo": {"url": agents.url, "workdir": "cli/repo"},
        "policies": "pol",
        "cluster": {"confirmWindow": "1h"},
    }
    (tmp_path / "gitops-bot.yaml").write_text(yaml.safe_dump(config))
    assert main(["audit", "--config", str(tmp_path / "gitops-bot.yaml"), "--stats", "--json"]) == 0
    rows = {r["agent"]: r for r in json.loads(capsys.readouterr().out)}
    assert (rows["billing-agent"]["confirmed"], rows["billing-agent"]["precision"]) == (1, 1.0)
    assert (rows["triage-agent"]["overridden"], rows["triage-agent"]["precision"]) == (1, 0.0)
    assert rows["support-bot"]["precision"] is None
    assert main(["audit", "--config", str(tmp_path / "gitops-bot.yaml"), "--stats"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:6] == [
        "POLICY",
        "AGENT",
        "ROLLBACKS",
        "CONFIRMED",
        "OVERRIDDEN",
        "PRECISION",
    ]
    metrics = Metrics()
    metrics.registry.register(OutcomeCollector(lambda: rollback_outcomes(engine, now=NOW, window=HOUR)))
    text = metrics.render().decode()
    assert (
        'gitops_bot_rollback_outcomes{agent="triage-agent",outcome="overridden",policy="agents"} 1.0' in text
    )
    assert 'gitops_bot_rollback_precision{agent="billing-agent",policy="agents"} 1.0' in text
    assert 'gitops_bot_rollback_phase_seconds_count{policy="agents",span="alert_to_resolved"} 2.0' in text


def test_classify_and_quantiles() -> None:
    base = dict(now=NOW, window=HOUR)
    assert classify(resolved_at=NOW - 2 * HOUR, refired=False, overridden=False, **base) == "confirmed"  # type: ignore[arg-type]
    assert classify(resolved_at=NOW - 2 * HOUR, refired=False, overridden=True, **base) == "overridden"  # type: ignore[arg-type]
    assert classify(resolved_at=NOW - HOUR / 2, refired=False, overridden=False, **base) == "undecided"  # type: ignore[arg-type]
    assert classify(resolved_at=None, refired=False, overridden=False, **base) == "undecided"  # type: ignore[arg-type]
    assert quantile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5) == 3.0 and quantile([5.0, 1.0, 3.0, 2.0, 4.0], 0.9) == 5.0
    stats = aggregate(
        [
            RollbackOutcome("p", "a", "confirmed", {"landed_to_synced": 2.0}),
            RollbackOutcome("p", "a", "overridden"),
        ]
    )
    assert (
        len(stats) == 1 and stats[0].precision == 0.5 and stats[0].quantiles("landed_to_synced") == (2.0, 2.0)
    )
