"""Escalations reach a real Alertmanager: raised, kept alive, resolved when the condition clears."""

import json
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gitops_bot.adapters.alertmanager import AlertmanagerAPI
from gitops_bot.app.config import parse_config
from gitops_bot.app.escalations import Escalations
from gitops_bot.app.metrics import Metrics
from gitops_bot.app.watcher import RecoveryWatcher
from gitops_bot.app.wiring import Runtime
from gitops_bot.core.errors import AlertmanagerError
from gitops_bot.core.escalation import Escalation
from gitops_bot_lab.stack import Running, start_alertmanager
from tests.binaries import require_binary
from tests.conftest import EngineFactory, make_alert, make_policy, policy_yaml
from tests.gitfix import Remote, agent_files


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[Running]:
    require_binary("prometheus-alertmanager")
    # Nobody listens on the webhook: these tests only read Alertmanager's own API.
    with start_alertmanager(tmp_path, "http://127.0.0.1:9/unused", "unused") as running:
        yield running


def escalations_in(am: Running) -> list[dict[str, Any]]:
    url = f"{am.url}/api/v2/alerts?filter=alertname%3D%22GitopsBotEscalation%22"
    with urllib.request.urlopen(url, timeout=5) as r:
        found: list[dict[str, Any]] = json.loads(r.read())
    return found


def wait_for(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_breaker_open_is_paged_kept_alive_and_resolved_when_the_window_passes(
    remote: Remote, engine_for: EngineFactory, alertmanager: Running
) -> None:
    policy = make_policy(limits={"fleet": {"max": 1, "window": "4s"}})
    engine = engine_for(remote, policies=(policy,))
    remote.commit(agent_files("billing-agent", "2026.06.0"), "Release billing 2026.06.0")
    assert engine.handle(make_alert("billing-agent", "2026.06.0")).kind == "rolled_back"
    escalations = Escalations(engine, AlertmanagerAPI(alertmanager.url), Metrics(), resend=1.0)

    first = escalations.pass_once()
    assert [p.labels["reason"] for p in first.posts] == ["breaker"]
    shown = wait_for(lambda: escalations_in(alertmanager))
    assert shown[0]["labels"] == {"alertname": "GitopsBotEscalation", "reason": "breaker", "policy": "agents"}
    assert shown[0]["status"]["state"] == "active"
    assert "breaker open" in shown[0]["annotations"]["summary"]
    ends = datetime.fromisoformat(shown[0]["endsAt"].replace("Z", "+00:00"))
    assert ends > datetime.now(UTC) + timedelta(seconds=2)  # a few resend intervals ahead

    time.sleep(4.5)  # the breaker's window passes: the condition clears
    last = escalations.pass_once()
    assert [p.resolved for p in last.posts] == [True] and not last.open
    wait_for(lambda: not escalations_in(alertmanager))


def test_refused_rollback_is_a_one_shot_that_expires_and_never_pages_for_unknown_agents(
    remote: Remote, engine_for: EngineFactory, alertmanager: Running
) -> None:
    engine = engine_for(remote)
    remote.commit(agent_files("billing-agent", "2026.06.0"), "Release billing 2026.06.0")
    assert engine.handle(make_alert("billing-agent", "2026.06.0")).kind == "rolled_back"
    remote.pull()
    remote.commit(agent_files("billing-agent", "2026.07.0"), "Release billing 2026.07.0")
    alert = make_alert("billing-agent", "2026.07.0")
    refused = engine.handle(alert)
    assert (refused.kind, refused.code) == ("escalated", "limit")
    escalations = Escalations(engine, AlertmanagerAPI(alertmanager.url), Metrics(), one_shot_ttl=3.0)
    escalations.on_outcome(alert, refused)
    now = datetime.now(UTC)
    escalations.raise_one_shot(
        Escalation(
            "no_culprit", "ghost-agent", "agents", "ghost", "not deployed", now, now + timedelta(hours=1)
        )
    )

    escalations.pass_once()
    shown = wait_for(lambda: escalations_in(alertmanager))
    assert [a["labels"] for a in shown] == [
        {"alertname": "GitopsBotEscalation", "reason": "limit", "agent": "billing-agent", "policy": "agents"}
    ]
    assert "rolled back 1 time" in shown[0]["annotations"]["description"]
    time.sleep(3.2)  # past the one-shot's expiry: Alertmanager drops it by its own endsAt
    wait_for(lambda: not escalations_in(alertmanager))
    assert escalations.pass_once().open == {}


def test_breaker_is_re_derived_from_git_after_a_restart(
    remote: Remote, engine_for: EngineFactory, alertmanager: Running
) -> None:
    policy = make_policy(limits={"fleet": {"max": 1, "window": "1h"}})
    remote.commit(agent_files("billing-agent", "2026.06.0"), "Release billing 2026.06.0")
    assert engine_for(remote, policies=(policy,)).handle(make_alert("billing-agent", "2026.06.0")).kind == (
        "rolled_back"
    )
    fresh = engine_for(remote, policies=(policy,), name="restarted")  # a new pod: new clone, no memory
    restarted = Escalations(fresh, AlertmanagerAPI(alertmanager.url), Metrics())
    assert [p.labels["reason"] for p in restarted.pass_once().posts] == ["breaker"]
    assert wait_for(lambda: escalations_in(alertmanager))[0]["labels"]["reason"] == "breaker"


def test_recovery_timeout_is_paged_survives_a_restart_and_resolves_when_the_alert_does(
    remote: Remote, engine_for: EngineFactory, alertmanager: Running
) -> None:
    policy = make_policy(verify={"timeout": "1s"})
    engine = engine_for(remote, policies=(policy,))
    remote.commit(agent_files("billing-agent", "2026.06.0"), "Release billing 2026.06.0")
    alert = make_alert("billing-agent", "2026.06.0")
    outcome = engine.handle(alert)
    watcher = RecoveryWatcher(engine, Metrics(), prometheus_url=None)
    watcher.watch(alert, outcome, now=datetime.now(UTC) - timedelta(seconds=2))
    assert [r.status for _, r in watcher.poll_once()] == ["timeout"]  # tagged in git
    labels = {
        "alertname": "GitopsBotEscalation",
        "reason": "recovery_timeout",
        "agent": "billing-agent",
        "policy": "agents",
        "rollback": (outcome.commit or "")[:12],
    }
    Escalations(engine, AlertmanagerAPI(alertmanager.url), Metrics()).pass_once()
    assert [a["labels"] for a in wait_for(lambda: escalations_in(alertmanager))] == [labels]

    fresh = engine_for(remote, policies=(policy,), name="restarted")
    new_watcher = RecoveryWatcher(fresh, Metrics(), prometheus_url=None)
    restarted = Escalations(
        fresh, AlertmanagerAPI(alertmanager.url), Metrics(), resolved_at=new_watcher.resolved_at
    )
    assert [p.labels for p in restarted.pass_once().posts] == [labels]  # re-derived from the tag
    new_watcher.resolved(replace(alert, status="resolved", ends_at=datetime.now(UTC) + timedelta(seconds=1)))
    assert [p.resolved for p in restarted.pass_once().posts] == [True]
    wait_for(lambda: not escalations_in(alertmanager))


def test_a_policy_that_cannot_check_recovery_is_paged_as_a_policy_problem(
    remote: Remote, engine_for: EngineFactory, alertmanager: Running
) -> None:
    policy = make_policy(verify={"recovered": 'up{job="{agent}"} == 1'})  # no Prometheus URL anywhere
    engine = engine_for(remote, policies=(policy,))
    remote.commit(agent_files("billing-agent", "2026.06.0"), "Release billing 2026.06.0")
    alert = make_alert("billing-agent", "2026.06.0")
    watcher = RecoveryWatcher(engine, Metrics(), prometheus_url=None)
    escalations = Escalations(engine, AlertmanagerAPI(alertmanager.url), Metrics())
    watcher.on_problem.append(escalations.policy_problem)
    watcher.watch(alert, engine.handle(alert))
    assert watcher.poll_once() == []
    escalations.pass_once()
    (shown,) = wait_for(lambda: escalations_in(alertmanager))
    assert shown["labels"]["reason"] == "policy_problem" and shown["labels"]["agent"] == "billing-agent"
    assert "no Prometheus URL" in shown["annotations"]["description"]


def test_alertmanager_down_keeps_the_escalation_for_the_next_pass_and_the_gauge_shows_it(
    remote: Remote, engine_for: EngineFactory, alertmanager: Running
) -> None:
    engine, metrics = engine_for(remote), Metrics()
    down = Escalations(engine, AlertmanagerAPI("http://127.0.0.1:9", timeout=1.0), metrics)
    now = datetime.now(UTC)
    down.raise_one_shot(
        Escalation("limit", "billing-agent", "agents", "s", "d", now, now + timedelta(hours=1))
    )
    with pytest.raises(AlertmanagerError):
        down.pass_once()
    assert b'gitops_bot_escalations_open{reason="limit"} 1.0' in metrics.render()
    down.alertmanager = AlertmanagerAPI(alertmanager.url)  # Alertmanager is back
    assert [p.labels["reason"] for p in down.pass_once().posts] == ["limit"]
    assert wait_for(lambda: escalations_in(alertmanager))[0]["labels"]["agent"] == "billing-agent"
    assert b'gitops_bot_escalations_total{reason="limit"} 1.0' in metrics.render()


def test_serve_pages_a_policy_whose_queries_have_no_prometheus_at_start(
    remote: Remote, tmp_path: Path, alertmanager: Running
) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "agents.yaml").write_text(policy_yaml(verify={"recovered": "vector(1)"}))
    config = parse_config(
        {"repo": {"url": remote.url}, "policies": "policies", "alertmanager": {"url": alertmanager.url}},
        base=tmp_path,
    )
    runtime = Runtime(config)
    assert runtime.escalations is not None
    runtime.escalations.pass_once()
    (shown,) = wait_for(lambda: escalations_in(alertmanager))
    assert shown["labels"] == {
        "alertname": "GitopsBotEscalation",
        "reason": "policy_problem",
        "policy": "agents",
    }
    assert "verify.recovered need verify.prometheus or prometheus.url" in shown["annotations"]["description"]
