"""The bot against the real monitoring stack: Prometheus + Alertmanager + a fake agent on loopback.

Rogue commit pushed -> metrics breach -> alert fires -> Alertmanager's real webhook -> the bot
reverts -> the fake agent (following the remote's branch, like Argo CD) goes back to the good
version -> the alert resolves -> the bot records the recovery in git.
"""

import json
import secrets
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from gitops_bot.app.audit import audit_records
from gitops_bot.app.config import parse_config
from gitops_bot.app.server import create_app
from gitops_bot.app.wiring import Runtime
from gitops_bot.core.alerts import format_time, parse_alert
from gitops_bot_lab.fake_agent import FakeAgent, fast_rules, version_from_git
from gitops_bot_lab.stack import (
    Running,
    dump_logs_on_failure,
    free_port,
    start_alertmanager,
    start_prometheus,
    wait_until,
)
from tests.binaries import require_binary
from tests.conftest import firing_body, policy_yaml
from tests.gitfix import Remote, agent_files, git, make_remote

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "manifests" / "monitoring" / "agent-rules.yaml"
AGENT, GOOD, ROGUE = "billing-agent", "2026.05.2", "2026.06.0"
VERIFY = {
    "still_firing": 'ALERTS{alertname="{alertname}",agent="{agent}",alertstate="firing"}',
    "recovered": 'sum(rate(agent_tool_calls_total{agent="{agent}"}[10s])) < 10',
    "timeout": "90s",
}
POLICY = policy_yaml(verify=VERIFY)


@dataclass
class Lab:
    """Everything running, and the handles a test needs."""

    remote: Remote
    agent: FakeAgent
    prometheus: Running
    alertmanager: Running
    runtime: Runtime

    def rollbacks(self) -> int:
        return git(self.remote.bare, "log", "--format=%s", "main").count(f"Roll back {AGENT}")

    def am_alerts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.alertmanager.url}/api/v2/alerts?active=true", timeout=5) as r:
            data: list[dict[str, Any]] = json.loads(r.read())
        return [a for a in data if a["labels"].get("agent") == AGENT]


def _stack_binaries() -> None:
    for binary in ("prometheus", "prometheus-alertmanager", "promtool"):
        require_binary(binary)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """The whole loop, with the bot's worker NOT started yet (each test starts it)."""
    _stack_binaries()
    remote = make_remote(tmp_path, {AGENT: GOOD})
    token, port = secrets.token_hex(12), free_port()
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "agents.yaml").write_text(POLICY)
    with ExitStack() as stack:
        agent = stack.enter_context(
            FakeAgent(
                AGENT,
                lambda: version_from_git(remote.bare, "main", f"agents/{AGENT}/deployment.yaml"),
                {ROGUE},
                version_poll=0.2,
            )
        )
        am = stack.enter_context(
            start_alertmanager(tmp_path, f"http://127.0.0.1:{port}/api/v1/alerts", token)
        )
        prom = stack.enter_context(
            start_prometheus(tmp_path, [agent.target], [fast_rules(RULES, tmp_path / "rules.yaml")], am.url)
        )
        stack.enter_context(dump_logs_on_failure(prom, am))
        config = parse_config(
            {
                "repo": {"url": remote.url, "branch": "main", "workdir": "state/repo"},
                "server": {"listen": f"127.0.0.1:{port}"},
                "policies": "policies",
                "alertmanager": {"url": am.url, "resync": "1h"},
                "prometheus": {"url": prom.url, "poll": "1s"},
            },
            base=tmp_path,
        )
        runtime = Runtime(config)
        server = make_server("127.0.0.1", port, create_app(runtime.bot, token=token), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        stack.callback(server.shutdown)
        stack.callback(runtime.stop)
        yield Lab(remote, agent, prom, am, runtime)


def test_rogue_release_is_reverted_by_the_real_stack_and_recovery_is_recorded(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    lab.runtime.start()
    pushed = time.time()
    lab.remote.commit(agent_files(AGENT, ROGUE), f"Release {AGENT} {ROGUE}")
    wait_until(lambda: lab.rollbacks() == 1, 90, 0.05, what="the bot's revert on main")
    reverted = time.time()
    breach = lab.agent.switched_at[ROGUE]
    tag = f"refs/tags/gitops-bot/recovery/{lab.remote.remote_head()[:12]}"
    message = wait_until(
        lambda: git(lab.remote.bare, "for-each-ref", "--format=%(contents)", tag),
        90,
        0.1,
        what="the recovery record",
    )
    recovered = time.time()
    with capsys.disabled():  # the timings belong in the test log even when the test passes
        print(
            f"\n[closed loop] rogue push -> breach exported {breach - pushed:.1f}s; breach -> revert on main "
            f"{reverted - breach:.1f}s; revert -> recovery recorded {recovered - reverted:.1f}s"
        )
    assert "Recovery: recovered" in message
    assert GOOD in lab.remote.show(f"agents/{AGENT}/deployment.yaml")
    assert lab.agent.versions_seen == [GOOD, ROGUE, GOOD]
    time.sleep(2)  # the second alert (policy violations) and the resolved ones are handled too
    assert lab.runtime.bot.wait_idle(30) and lab.rollbacks() == 1
    (record,) = audit_records(lab.runtime.bot.engine, agent=AGENT)
    assert record.recovery is not None and record.recovery["Recovery"] == "recovered"


def test_alert_that_resolves_before_the_bot_acts_reverts_nothing(lab: Lab) -> None:
    lab.remote.commit(agent_files(AGENT, ROGUE), f"Release {AGENT} {ROGUE}")
    wait_until(
        lambda: any(a["status"]["state"] == "active" for a in lab.am_alerts()),
        90,
        0.2,
        what="the alert firing in Alertmanager",
    )
    wait_until(
        lambda: list((lab.runtime.config.workdir.parent / "journal").glob("*.json")),
        30,
        0.1,
        what="the webhook journaled while the worker is stopped",
    )
    lab.agent.rogue_versions = frozenset()  # the spike ends by itself; git still says ROGUE
    wait_until(lambda: not lab.am_alerts(), 90, 0.2, what="the alert resolving in Alertmanager")
    lab.runtime.start()
    assert lab.runtime.bot.wait_idle(60)
    outcomes = list(lab.runtime.bot.recent)
    assert outcomes and all(o.kind == "ignored" for o in outcomes), outcomes
    assert {o.code for o in outcomes} <= {"resolved", "not_firing"}
    assert lab.rollbacks() == 0 and ROGUE in lab.remote.show(f"agents/{AGENT}/deployment.yaml")


def test_silenced_alert_is_never_acted_on(lab: Lab) -> None:
    lab.remote.commit(agent_files(AGENT, ROGUE), f"Release {AGENT} {ROGUE}")
    now = datetime.now(UTC)
    silence = {
        "matchers": [{"name": "agent", "value": AGENT, "isRegex": False, "isEqual": True}],
        "startsAt": format_time(now),
        "endsAt": format_time(now + timedelta(hours=1)),
        "createdBy": "sre",
        "comment": "known issue, we are on it",
    }
    req = urllib.request.Request(
        f"{lab.alertmanager.url}/api/v2/silences",
        data=json.dumps(silence).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(req, timeout=5).close()
    wait_until(
        lambda: any(a["status"]["state"] == "suppressed" for a in lab.am_alerts()),
        90,
        0.2,
        what="the alert firing but silenced",
    )
    lab.runtime.start()
    resync = lab.runtime.resync
    assert resync is not None and resync.once() == 0  # a silenced alert is not even pulled
    # As if the webhook had been sent just before the silence: the check right before acting stops it.
    raw = next(a for a in lab.am_alerts() if a["status"]["state"] == "suppressed")
    lab.runtime.bot.enqueue(parse_alert({**raw, "status": "firing"}))
    assert lab.runtime.bot.wait_idle(30)
    assert [(o.kind, o.code) for o in lab.runtime.bot.recent] == [("ignored", "silenced")]
    assert lab.rollbacks() == 0


def test_webhook_lost_in_transit_is_still_handled_by_resync(tmp_path: Path) -> None:
    """Alertmanager's webhook goes nowhere; pulling its API v2 still finds the alert and acts."""
    require_binary("prometheus-alertmanager")
    remote = make_remote(tmp_path, {AGENT: GOOD})
    remote.commit(agent_files(AGENT, ROGUE), f"Release {AGENT} {ROGUE}")
    nowhere = f"http://127.0.0.1:{free_port()}/api/v1/alerts"
    with start_alertmanager(tmp_path, nowhere, "unused") as am:
        raw = firing_body(AGENT, ROGUE, started=datetime.now(UTC) - timedelta(seconds=5))["alerts"][0]
        posted = {k: raw[k] for k in ("labels", "annotations", "startsAt", "generatorURL")}
        request = urllib.request.Request(
            f"{am.url}/api/v2/alerts",
            data=json.dumps([posted]).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=5).close()
        (tmp_path / "policies").mkdir()
        (tmp_path / "policies" / "agents.yaml").write_text(policy_yaml())
        config = parse_config(
            {
                "repo": {"url": remote.url, "workdir": "state/repo"},
                "policies": "policies",
                "alertmanager": {"url": am.url, "resync": "1h"},
            },
            base=tmp_path,
        )
        runtime = Runtime(config)
        runtime.start()  # resync runs once right away
        try:
            wait_until(
                lambda: "Roll back" in git(remote.bare, "log", "-1", "--format=%s", "main"),
                30,
                0.1,
                what="the revert driven by resync",
            )
        finally:
            runtime.stop()
    assert GOOD in remote.show(f"agents/{AGENT}/deployment.yaml")
