"""Smoke test of the e2e harness: real Prometheus + Alertmanager alert on a rogue fake agent."""

import re
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from gitops_bot_lab.fake_agent import FakeAgent, fast_rules, version_from_git
from gitops_bot_lab.stack import (
    Received,
    WebhookSink,
    dump_logs_on_failure,
    prometheus_alerts,
    start_alertmanager,
    start_prometheus,
    wait_until,
)
from tests.binaries import require_binary

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "manifests" / "monitoring" / "agent-rules.yaml"
AGENT = "billing-agent"
ROGUE_VERSION = "2026.06.0"
GOOD_VERSION = "2026.05.1"
DEPLOYMENT = f"agents/{AGENT}/deployment.yaml"
REAL_DEPLOYMENT = ROOT / "manifests" / "agents-gitops" / DEPLOYMENT
AGENT_IMAGE = re.compile(rf"(image:\s*\S+/{AGENT}:)[\w.-]+")
ALERT = "AgentExcessiveToolCalls"
FIRE_TIMEOUT = 60.0
RESOLVE_TIMEOUT = 60.0


def _git(*args: str, cwd: Path) -> None:
    """Run git in a throwaway test repo (identity given inline, no global config needed)."""
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=30,
    )


def _deployment(version: str) -> str:
    """The repo's real billing-agent Deployment (agent sidecar and all) with the tag set."""
    text, count = AGENT_IMAGE.subn(rf"\g<1>{version}", REAL_DEPLOYMENT.read_text())
    assert count == 1, f"agent image line not found in {REAL_DEPLOYMENT}"
    return text


def _push_version(work: Path, version: str) -> None:
    """Commit the agent at version in the test clone and push it to the bare remote's main."""
    path = work / DEPLOYMENT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_deployment(version), encoding="utf-8")
    _git("add", DEPLOYMENT, cwd=work)
    _git("commit", "-q", "-m", f"{AGENT} {version}", cwd=work)
    _git("push", "-q", "origin", "HEAD:main", cwd=work)


def _manifest_repo(tmp_path: Path, version: str) -> tuple[Path, Path]:
    """A bare 'manifest repo' plus a working clone, with the agent deployed at version."""
    bare, work = tmp_path / "manifests.git", tmp_path / "work"
    _git("init", "-q", "--bare", "-b", "main", str(bare), cwd=tmp_path)
    _git("clone", "-q", str(bare), str(work), cwd=tmp_path)
    _push_version(work, version)
    return bare, work


def _find(sink: WebhookSink, status: str, version: str) -> Received | None:
    """The first webhook whose status is status, carrying ALERT for AGENT at version."""
    for received in sink.snapshot():
        body: Any = received.body
        if not isinstance(body, dict) or body.get("status") != status:
            continue
        for alert in body.get("alerts", []):
            labels = alert.get("labels", {})
            if (
                alert.get("status") == status
                and labels.get("alertname") == ALERT
                and labels.get("agent") == AGENT
                and labels.get("version") == version
            ):
                return received
    return None


def test_fast_rules_shrink_windows_and_keep_logic(tmp_path: Path) -> None:
    """fast_rules rewrites for:/windows/count guards only, and promtool accepts the result."""
    promtool = require_binary("promtool")
    fast = fast_rules(RULES, tmp_path / "fast.yaml")
    check = subprocess.run(
        [promtool, "check", "rules", str(fast)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr
    original = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    rewritten = [r for g in yaml.safe_load(fast.read_text())["groups"] for r in g["rules"]]
    assert [r["alert"] for r in rewritten] == [r["alert"] for r in original]
    for old, new in zip(original, rewritten, strict=True):
        assert new["for"] == "2s"
        assert set(re.findall(r"\[(\w+)\]", new["expr"])) <= {"10s", "60s"}, new["expr"]
        assert new["labels"] == old["labels"] and new["annotations"] == old["annotations"]
        # Same thresholds on rates/ratios; only count guards (`>= N` after increase) shrink.
        assert re.findall(r">\s*([\d.]+)", old["expr"]) == re.findall(r">\s*([\d.]+)", new["expr"])
    baseline = next(r for r in rewritten if r["alert"] == "AgentToolCallsAboveBaseline")
    # 100 requests per 1h scaled to 60s -> ceil(1.67) = 2; 20 per 5m scaled to 10s -> 1.
    assert re.search(r"\[60s\]\)\)\s*\)\s*>= 2\b", baseline["expr"]), baseline["expr"]
    assert re.search(r"\[10s\]\)\)\s*>= 1\b", baseline["expr"]), baseline["expr"]


def test_rogue_version_fires_then_resolves_through_real_stack(tmp_path: Path) -> None:
    """Rogue version -> firing webhook with bearer auth; good version -> resolved webhook."""
    for binary in ("git", "prometheus", "prometheus-alertmanager"):
        require_binary(binary)
    token = secrets.token_hex(16)
    bare, work = _manifest_repo(tmp_path, ROGUE_VERSION)

    def current_version() -> str:
        return version_from_git(bare, "main", DEPLOYMENT)

    rules = fast_rules(RULES, tmp_path / "fast-rules.yaml")
    with (
        WebhookSink() as sink,
        start_alertmanager(tmp_path, sink.url, token) as alertmanager,
        FakeAgent(AGENT, current_version, {ROGUE_VERSION}) as agent,
    ):
        assert agent.version == ROGUE_VERSION
        started = time.monotonic()
        with (
            start_prometheus(tmp_path, [agent.target], [rules], alertmanager.url) as prometheus,
            dump_logs_on_failure(prometheus, alertmanager),
        ):
            ready = time.monotonic() - started
            fired = wait_until(
                lambda: _find(sink, "firing", ROGUE_VERSION),
                FIRE_TIMEOUT,
                what=lambda: f"firing {ALERT} webhook; Prometheus alerts: {prometheus_alerts(prometheus)}",
            )
            time_to_fire = fired.at - started

            assert fired.headers.get("Authorization") == f"Bearer {token}"
            assert fired.headers.get("Content-Type", "").startswith("application/json")
            assert fired.body["version"] == "4"
            assert fired.body["receiver"] == "bot"
            alert = next(a for a in fired.body["alerts"] if a["labels"]["alertname"] == ALERT)
            assert alert["labels"]["severity"] == "critical"
            assert alert["labels"]["signature"] == "excessive_api_calls"
            assert alert["annotations"]["summary"].startswith(f"Agent {AGENT} {ROGUE_VERSION} is making ")

            switched = time.monotonic()
            _push_version(work, GOOD_VERSION)
            wait_until(lambda: agent.version == GOOD_VERSION, 10, what="agent to follow git")
            resolved = wait_until(
                lambda: _find(sink, "resolved", ROGUE_VERSION),
                RESOLVE_TIMEOUT,
                what=lambda: f"resolved {ALERT} webhook; Prometheus alerts: {prometheus_alerts(prometheus)}",
            )
            time_to_resolve = resolved.at - switched

            assert resolved.headers.get("Authorization") == f"Bearer {token}"
            assert resolved.body["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"
            # The good version never alerted.
            for received in sink.snapshot():
                versions = {a["labels"].get("version") for a in received.body["alerts"]}
                assert GOOD_VERSION not in versions, received.body
            assert agent.version_errors == []

    print(
        f"\nstack smoke: prometheus ready {ready:.1f}s, firing webhook {time_to_fire:.1f}s "
        f"after start, resolved webhook {time_to_resolve:.1f}s after the good version was "
        f"pushed ({len(sink.received)} webhooks)"
    )
