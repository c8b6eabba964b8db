"""`make demo`: the whole loop on a local bare remote, driven over HTTP with a captured payload."""

import json
import logging
import os
import secrets
import shutil
import subprocess
import tempfile
import urllib.request
from pathlib import Path

from gitops_bot.app.audit import audit_records, audit_table
from gitops_bot.app.config import load_config
from gitops_bot.app.server import create_app
from gitops_bot.app.wiring import Runtime
from gitops_bot.core.alerts import parse_notification
from gitops_bot_lab.demo_live import run_live_demo
from gitops_bot_lab.demo_repo import build_demo_remote
from gitops_bot_lab.fakes.loopback import LoopbackServer
from gitops_bot_lab.paths import CAPTURES as DATA
from gitops_bot_lab.paths import POLICIES
from gitops_bot_lab.stack import have_stack

TOKEN = "demo-token"


def _post(url: str, body: bytes) -> str:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return f"{response.status} {response.read().decode().strip()}"


def _write_config(root: Path, remote: Path) -> Path:
    shutil.copytree(POLICIES, root / "policies")
    path = root / "gitops-bot.yaml"
    path.write_text(
        f"repo: {{url: 'file://{remote}', branch: main, workdir: state/repo}}\n"
        "forge: {kind: local}\n"
        "server: {listen: '127.0.0.1:0', alertmanager_token_env: GITOPS_BOT_ALERT_TOKEN}\n"
        "policies: policies/\n"
    )
    return path


def run_demo(*, captured: bool = False) -> int:
    """The live demo when Prometheus and Alertmanager are installed, else the captured payloads."""
    root = Path(tempfile.mkdtemp(prefix="gitops-bot-demo-"))
    os.environ.setdefault("GITOPS_BOT_STATE_KEY", secrets.token_hex(16))  # signs the recovery tags
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # request lines would bury the timeline
    if not captured and have_stack():
        return run_live_demo(root)
    if not captured:
        print(
            "== prometheus / prometheus-alertmanager not installed: replaying captured Alertmanager payloads"
        )
    return run_captured_demo(root)


def run_captured_demo(root: Path) -> int:
    """Build the repo, serve, post the captured alerts, show the revert and the audit."""
    single = (DATA / "firing-single-policy-violation.json").read_bytes()
    grouped = (DATA / "firing-grouped-3-agents.json").read_bytes()
    started = parse_notification(single).alerts[0].starts_at
    remote = build_demo_remote(root, alert_started=started)
    print(f"== demo GitOps remote: {remote}")
    print(
        subprocess.run(
            ["git", "--git-dir", str(remote), "log", "--oneline", "main"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    runtime = Runtime(load_config(_write_config(root, remote)))
    runtime.start()
    bot = runtime.bot
    server = LoopbackServer(create_app(bot, token=TOKEN))
    server.start()
    url = f"{server.url}/api/v1/alerts"
    try:
        print("== POST captured AgentPolicyViolations alert (billing-agent 2026.06.0):", _post(url, single))
        print("== POST it again (Alertmanager repeat):", _post(url, single))
        print("== POST captured grouped alert (3 agents):", _post(url, grouped))
        if not bot.wait_idle(60):
            print("demo: the bot did not finish in 60 s")
            return 1
        print("\n== outcomes")
        for outcome in bot.recent:
            print(f"  {outcome.kind:12} {outcome.reason}")
        print("\n== the revert on main (git log --stat -1)")
        print(
            subprocess.run(
                ["git", "--git-dir", str(remote), "log", "--stat", "-1", "main"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        print("== audit (from commit trailers)")
        print(audit_table(audit_records(bot.engine, agent=None)))
        print("\n== GET /api/v1/rollbacks")
        with urllib.request.urlopen(url.replace("alerts", "rollbacks"), timeout=10) as response:
            print(json.dumps(json.loads(response.read()), indent=2))
    finally:
        server.stop()
        runtime.stop()
    kinds = [o.kind for o in bot.recent]
    return 0 if kinds.count("rolled_back") == 1 and "failed" not in kinds else 1
