"""`gitops-bot demo --argocd`: the loop closed through Argo CD — against the contract-checked Argo CD
API STAND-IN (lab/gitops_bot_lab/fakes/argocd.py), not a real Argo CD.

A captured Alertmanager alert for billing-agent 2026.06.0 arrives; the bot reverts it in git, asks the
stand-in to refresh the Application (it syncs the revert), watches until it runs the revert and is
Healthy, then hears the alert resolve; every phase is a git tag, printed as a timeline.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from gitops_bot.app.audit import audit_records, audit_table
from gitops_bot.app.config import load_config
from gitops_bot.app.server import create_app
from gitops_bot.app.wiring import Runtime
from gitops_bot.core.alerts import format_time, parse_notification
from gitops_bot_lab.demo_repo import build_demo_remote
from gitops_bot_lab.fakes.argocd import FakeArgoCD
from gitops_bot_lab.fakes.loopback import LoopbackServer
from gitops_bot_lab.paths import CAPTURES, POLICIES

TOKEN, ARGO_TOKEN, APP = "demo-token", "demo-argocd-token", "agents-billing-agent"
PHASES = ("started", "accepted", "landed", "synced", "healthy", "resolved")


def _post(url: str, body: bytes) -> int:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=10) as r:
        return int(r.status)


def _setup(root: Path, remote: Path, argo_url: str) -> Path:
    (root / "policies").mkdir()
    docs = [d for d in yaml.safe_load_all((POLICIES / "agents.yaml").read_text()) if d]
    for doc in docs:
        doc["spec"]["cluster"] = {
            "argocd": {"app": "agents-{agent}", "refreshTimeout": "10s"},
            "timeout": "1m",
        }
    (root / "policies" / "agents.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    config = {
        "repo": {"url": f"file://{remote}", "workdir": "state/repo"},
        "policies": "policies/",
        "prometheus": {"poll": "500ms"},
        "argocd": {"url": argo_url, "token_env": "DEMO_ARGOCD_TOKEN"},
        "cluster": {"poll": "200ms"},
    }
    (root / "gitops-bot.yaml").write_text(yaml.safe_dump(config))
    os.environ["DEMO_ARGOCD_TOKEN"] = ARGO_TOKEN
    return root / "gitops-bot.yaml"


def _resolved(body: bytes) -> bytes:
    doc: dict[str, Any] = json.loads(body)
    doc["status"] = "resolved"
    for alert in doc["alerts"]:
        alert["status"], alert["endsAt"] = "resolved", format_time(datetime.now(UTC))
    return json.dumps(doc).encode()


def _wait(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(predicate())


def _timeline(runtime: Runtime) -> dict[str, Any]:
    (record,) = audit_records(runtime.bot.engine, agent="billing-agent")
    return record.phases or {}


def run_argocd_demo(root: Path) -> int:
    """Run the Argo CD flavour of the loop; 0 when the cluster ran the revert and the alert resolved."""
    firing = (CAPTURES / "firing-single-policy-violation.json").read_bytes()
    remote = build_demo_remote(root, alert_started=parse_notification(firing).alerts[0].starts_at)
    with FakeArgoCD(remote, token=ARGO_TOKEN) as argo:
        argo.add_app(APP, repo_url=f"file://{remote}", path="agents/billing-agent")
        print(f"== Argo CD API STAND-IN (contract-checked fake, not a real Argo CD) at {argo.url}")
        print(f"   Application {APP} deployed at {argo.app(APP).synced_sha} (the rogue 2026.06.0)")
        runtime = Runtime(load_config(_setup(root, remote, argo.url)))
        runtime.start()
        server = LoopbackServer(create_app(runtime.bot, token=TOKEN))
        server.start()
        try:
            print(
                "== POST captured AgentPolicyViolations alert:", _post(f"{server.url}/api/v1/alerts", firing)
            )
            cluster = runtime.cluster
            assert cluster is not None
            done = _wait(lambda: bool(cluster.finished), 60)
            print(f"== cluster watch: {next(iter(cluster.finished.values()), 'still waiting')}")
            print(f"   the stand-in now runs {argo.app(APP).synced_sha}")
            print(
                "   calls the bot made:",
                ", ".join(f"{e.method} {e.path}{'?refresh' if e.query else ''}" for e in argo.log),
            )
            print("== POST the alert resolved:", _post(f"{server.url}/api/v1/alerts", _resolved(firing)))
            done = done and _wait(lambda: "resolved" in _timeline(runtime).get("times", {}), 30)
            phases = _timeline(runtime)
            print("\n== phase timeline (git tags gitops-bot/phase/<sha12>/<phase> + the recovery tag)")
            print("   (the captured alert's startsAt is kept as captured, so alert_to_* spans are days)")
            for phase in PHASES:
                print(f"  {phase:9} {phases.get('times', {}).get(phase, '-')}")
            for span, seconds in phases.get("seconds", {}).items():
                print(f"  {span:22} {seconds:8.3f}s")
            print("\n== audit")
            print(audit_table(audit_records(runtime.bot.engine, agent=None)))
        finally:
            server.stop()
            runtime.stop()
        return 0 if done and argo.contract_errors == [] else 1


def main() -> int:
    """Entry point for `gitops-bot demo --argocd`."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="gitops-bot-demo-argocd-"))
    try:
        return run_argocd_demo(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
