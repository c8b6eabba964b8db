"""`gitops-bot demo --executor argo-workflows`: the rollback as an Argo Workflow, on a STAND-IN Argo Server.

The bot submits; the lab's contract-validated Argo Workflows stand-in runs the shipped WorkflowTemplate
with the installed `gitops-bot` as the image: plan -> approve (a 3 s veto window) -> apply -> verify.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from gitops_bot.app.config import load_config
from gitops_bot.app.server import create_app
from gitops_bot.app.wiring import Runtime
from gitops_bot.core.alerts import parse_notification
from gitops_bot_lab.demo_repo import build_demo_remote
from gitops_bot_lab.fakes.argo_pods import Cluster
from gitops_bot_lab.fakes.argo_workflows import FakeArgoWorkflows
from gitops_bot_lab.fakes.loopback import LoopbackServer
from gitops_bot_lab.paths import ARGO_TEMPLATE, CAPTURES, POLICIES

TOKEN, ARGO_TOKEN, NAMESPACE = "demo-token", "demo-argo-token", "gitops"
VETO = "action: {mode: veto-window, vetoWindow: 3s}"


def _policy() -> str:
    text = (POLICIES / "agents.yaml").read_text()
    return text.replace("action: {mode: auto}", VETO)


def _cluster(root: Path, remote: Path) -> Cluster:
    """What the workflow pods see: the bot's ConfigMaps (paths relative to /work) and Secret."""
    config = {
        "repo": {"url": f"file://{remote}", "branch": "main", "workdir": "../repo"},
        "policies": "../policies/",
    }
    return Cluster(
        root=root / "pods",
        images={"ghcr.io/acme/gitops-bot": Path(sys.executable).parent},
        config_maps={
            "gitops-bot-rollback": {"gitops-bot.yaml": yaml.safe_dump(config)},
            "gitops-bot-policies": {"agents.yaml": _policy()},
        },
        secrets={"gitops-bot": {"state-key": "demo-state-key-0123456789"}},
    )


def _bot_config(root: Path, remote: Path, argo_url: str) -> Path:
    (root / "policies").mkdir()
    (root / "policies" / "agents.yaml").write_text(_policy())
    config = {
        "repo": {"url": f"file://{remote}", "branch": "main", "workdir": "state/repo"},
        "server": {"listen": "127.0.0.1:0", "alertmanager_token_env": "GITOPS_BOT_ALERT_TOKEN"},
        "policies": "policies/",
        "executor": {
            "kind": "argo-workflows",
            "server": argo_url,
            "namespace": NAMESPACE,
            "token_env": "GITOPS_BOT_DEMO_ARGO_TOKEN",
            "poll": "500ms",
        },
    }
    (root / "gitops-bot.yaml").write_text(yaml.safe_dump(config))
    return root / "gitops-bot.yaml"


def _call(url: str, body: bytes | None, token: str) -> dict[str, Any]:
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET")
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        data: dict[str, Any] = json.loads(response.read() or b"{}")
        return data


def _show(workflow: dict[str, Any], t0: float) -> None:
    print(f"  {time.monotonic() - t0:5.1f}s  phase={workflow['status'].get('phase', 'Pending')}")
    for node in (workflow["status"].get("nodes") or {}).values():
        if node["type"] in ("Pod", "Suspend", "Skipped"):
            outputs = {p["name"]: p.get("value", "…") for p in node.get("outputs", {}).get("parameters", [])}
            shown = json.dumps(outputs, ensure_ascii=False) if outputs else node.get("message", "")
            print(f"         {node['displayName']:8} {node['phase']:10} {shown}")


def run_argo_demo() -> int:
    """Serve, post the captured alert three times, watch the workflow, show the revert."""
    root = Path(tempfile.mkdtemp(prefix="gitops-bot-argo-demo-"))
    single = (CAPTURES / "firing-single-policy-violation.json").read_bytes()
    remote = build_demo_remote(root, alert_started=parse_notification(single).alerts[0].starts_at)
    os.environ["GITOPS_BOT_DEMO_ARGO_TOKEN"] = ARGO_TOKEN
    with FakeArgoWorkflows(_cluster(root, remote), token=ARGO_TOKEN) as argo:
        print(f"== Argo Workflows STAND-IN (lab fake, validated against Argo's swagger) at {argo.url}")
        template = {"template": yaml.safe_load(ARGO_TEMPLATE.read_text())}
        _call(f"{argo.url}/api/v1/workflow-templates/{NAMESPACE}", json.dumps(template).encode(), ARGO_TOKEN)
        print(f"== installed WorkflowTemplate gitops-bot-rollback from {ARGO_TEMPLATE.name}")
        runtime = Runtime(load_config(_bot_config(root, remote, argo.url)))
        runtime.start()
        server = LoopbackServer(create_app(runtime.bot, token=TOKEN))
        server.start()
        try:
            return _drive(argo, runtime, f"{server.url}/api/v1/alerts", single, remote)
        finally:
            server.stop()
            runtime.stop()


def _drive(argo: FakeArgoWorkflows, runtime: Runtime, url: str, body: bytes, remote: Path) -> int:
    t0 = time.monotonic()
    for _ in range(3):
        _call(url, body, TOKEN)
    runtime.bot.wait_idle(30)
    print("== POSTed the captured AgentPolicyViolations alert 3 times (Alertmanager repeats)")
    for outcome in runtime.bot.recent:
        print(f"  {outcome.kind:9} {outcome.reason}")
    if len(argo.store.workflows) != 1:
        print("demo: expected exactly one workflow")
        return 1
    ((_, name),) = argo.store.workflows
    print(f"== workflow {name}: plan, then approve waits for the 3 s veto window")
    seen = ""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        workflow = argo.store.workflow_json(NAMESPACE, name)
        state = json.dumps(
            [(n["displayName"], n["phase"]) for n in (workflow["status"].get("nodes") or {}).values()]
        )
        if state != seen:
            _show(workflow, t0)
            seen = state
        if workflow["status"].get("finishedAt"):
            break
        time.sleep(0.1)
    log = subprocess.run(
        ["git", "--git-dir", str(remote), "log", "-1", "--stat", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    print("\n== the revert on main, made by the workflow's apply step\n" + log)
    return 0 if workflow["status"].get("phase") == "Succeeded" and argo.contract_errors == [] else 1
