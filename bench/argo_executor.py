"""Alert -> workflow submitted, and alert -> revert pushed through the Argo Workflows stand-in, side by side
with the inline executor. One alert at a time over real HTTP, a real bare remote, policy mode `auto`.

    .venv/bin/python bench/argo_executor.py [--alerts 15]

The Argo side's revert time includes what a cluster adds too: three step processes (plan, apply,
verify: each a fresh `gitops-bot` with its own clone) and the deadline loop's poll (--poll).
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import yaml

from gitops_bot.app.config import load_config
from gitops_bot.app.server import create_app
from gitops_bot.app.wiring import Runtime
from gitops_bot.core.alerts import format_time
from gitops_bot_lab.fakes.argo_pods import Cluster
from gitops_bot_lab.fakes.argo_workflows import FakeArgoWorkflows
from gitops_bot_lab.fakes.loopback import LoopbackServer
from gitops_bot_lab.paths import ARGO_TEMPLATE, CAPTURES, POLICIES

TOKEN, ARGO_TOKEN, NS = "bench-token", "bench-argo-token", "gitops"
GOOD, ROGUE = "1.0.0", "1.1.0"


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Dana", "GIT_AUTHOR_EMAIL": "d@example.com"}
    env |= {"GIT_COMMITTER_NAME": "Dana", "GIT_COMMITTER_EMAIL": "d@example.com"}
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def build_remote(root: Path, agents: list[str]) -> Path:
    """A bare remote: every agent at GOOD, then one rogue release commit per agent."""
    bare, dev = root / "remote.git", root / "dev"
    root.mkdir(parents=True)
    git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git(root, "clone", "--quiet", str(bare), str(dev))
    for version, message in ((GOOD, "Initial agents"), (ROGUE, None)):
        for agent in agents:
            folder = dev / "agents" / agent
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "deployment.yaml").write_text(
                "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n"
                f"        - name: agent\n          image: registry.example.com/{agent}:{version}\n"
            )
            (folder / "agent.yaml").write_text(f'kind: AgentConfig\nspec:\n  version: "{version}"\n')
            if message is None:
                git(dev, "commit", "--quiet", "-am", f"Release {agent} {version}")
        if message is not None:
            git(dev, "add", "-A")
            git(dev, "commit", "--quiet", "-m", message)
    git(dev, "push", "--quiet", "origin", "main")
    return bare


def bench_policy() -> str:
    """The example policy without the fleet breaker (the bench rolls back many agents in minutes)."""
    return (
        (POLICIES / "agents.yaml")
        .read_text()
        .replace("fleet: {max: 5, window: 10m}", "fleet: {max: 1000, window: 10m}")
    )


def bot_config(root: Path, bare: Path, executor: dict[str, object] | None) -> Path:
    root.mkdir(parents=True)
    (root / "policies").mkdir()
    (root / "policies" / "agents.yaml").write_text(bench_policy())
    config: dict[str, object] = {
        "repo": {"url": f"file://{bare}", "branch": "main", "workdir": "state/repo"},
        "server": {"listen": "127.0.0.1:0", "alertmanager_token_env": "BENCH_ALERT_TOKEN"},
        "policies": "policies/",
    }
    if executor:
        config["executor"] = executor
    (root / "gitops-bot.yaml").write_text(yaml.safe_dump(config))
    return root / "gitops-bot.yaml"


def alert(agent: str) -> bytes:
    body = json.loads((CAPTURES / "firing-single-policy-violation.json").read_text())
    body["alerts"][0]["labels"] |= {"agent": agent, "version": ROGUE}
    body["alerts"][0]["fingerprint"] = hashlib.sha256(agent.encode()).hexdigest()[:16]
    body["alerts"][0]["startsAt"] = format_time(datetime.now(UTC))  # after the rogue release
    return json.dumps(body).encode()


def wait(check: Callable[[], bool], limit_s: float = 120.0) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > limit_s:
            raise TimeoutError("bench: condition not reached")
        time.sleep(0.005)
    return time.monotonic()


def run(config: Path, agents: list[str], bare: Path) -> tuple[list[float], list[float]]:
    """(alert -> handled by the worker, alert -> revert on the remote), seconds, per alert."""
    runtime = Runtime(load_config(config))
    runtime.start()
    server = LoopbackServer(create_app(runtime.bot, token=TOKEN))
    server.start()
    handled, landed = [], []
    try:
        for agent in agents:
            done, head = len(runtime.bot.recent), git(bare, "rev-parse", "main")
            request = urllib.request.Request(f"{server.url}/api/v1/alerts", data=alert(agent), method="POST")
            request.add_header("Authorization", f"Bearer {TOKEN}")
            t0 = time.monotonic()
            urllib.request.urlopen(request, timeout=10).close()
            handled.append(wait(lambda d=done: len(runtime.bot.recent) > d) - t0)  # type: ignore[misc]
            assert runtime.bot.recent[-1].kind in ("proposed", "rolled_back"), runtime.bot.recent[-1]
            landed.append(wait(lambda h=head: git(bare, "rev-parse", "main") != h) - t0)  # type: ignore[misc]
    finally:
        server.stop()
        runtime.stop()
    return handled, landed


def argo_cluster(root: Path, bare: Path) -> Cluster:
    """The stand-in's pods: the venv's gitops-bot as the image, the bot's ConfigMaps."""
    pod_config = {
        "repo": {"url": f"file://{bare}", "branch": "main", "workdir": "../repo"},
        "policies": "../policies/",
    }
    return Cluster(
        root / "pods",
        {"ghcr.io/acme/gitops-bot": Path(sys.executable).parent},
        {
            "gitops-bot-rollback": {"gitops-bot.yaml": yaml.safe_dump(pod_config)},
            "gitops-bot-policies": {"agents.yaml": bench_policy()},
        },
        {"gitops-bot": {"state-key": "bench-state-key-0123456789"}},
    )


def pct(values: list[float], p: float) -> str:
    ordered = sorted(values)
    return f"{1000 * ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]:8.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=15)
    parser.add_argument("--poll", default="100ms", help="the argo executor's deadline-loop interval")
    args = parser.parse_args()
    os.environ["BENCH_ALERT_TOKEN"], os.environ["BENCH_ARGO_TOKEN"] = TOKEN, ARGO_TOKEN
    root = Path(tempfile.mkdtemp(prefix="gitops-bot-argo-bench-"))
    agents = [f"agent-{i:03d}" for i in range(args.alerts)]
    inline_bare = build_remote(root / "inline", agents)
    inline = run(bot_config(root / "inline" / "bot", inline_bare, None), agents, inline_bare)
    argo_bare = build_remote(root / "argo", agents)
    cluster = argo_cluster(root, argo_bare)
    with FakeArgoWorkflows(cluster, token=ARGO_TOKEN) as argo:
        argo.store.create_template(NS, {"template": yaml.safe_load(ARGO_TEMPLATE.read_text())})
        executor = {
            "kind": "argo-workflows",
            "server": argo.url,
            "namespace": NS,
            "token_env": "BENCH_ARGO_TOKEN",
            "poll": args.poll,
        }
        flows = run(bot_config(root / "argo" / "bot", argo_bare, executor), agents, argo_bare)
        assert argo.contract_errors == [] and len(argo.store.workflows) == args.alerts
    print(f"{args.alerts} alerts, one at a time, 2 cores shared; p50 / p99")
    print(f"inline   alert -> revert pushed      {pct(inline[1], 50)} {pct(inline[1], 99)}")
    print(f"argo     alert -> workflow submitted {pct(flows[0], 50)} {pct(flows[0], 99)}")
    print(
        f"argo     alert -> revert pushed      {pct(flows[1], 50)} {pct(flows[1], 99)}  (deadline poll {args.poll})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
