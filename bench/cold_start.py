"""Cold start and warm restart of the real `gitops-bot serve`: process start -> /healthz 200 -> ready.

Builds (or reuses) the synthetic 50,000-commit GitOps repo of rollback_latency.py, then times a real
`gitops-bot serve` process three ways: cold (no clone yet), warm (the clone from the cold run is
reused) and cold again. For each it prints start -> healthy (the webhook accepts alerts durably) and
start -> ready (the clone is complete and the worker is rolling back). Then one alert posted the
moment the cold bot is healthy proves it is rolled back with the right culprit, so the figure is
not bought by skipping work. Self-contained: `python bench/cold_start.py [--commits N --agents N]`.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bot_harness as bh  # the alert body the latency benchmark sends
import synthetic_repo as rl  # the shared repo builder

TOKEN = "bench-token"
STATE_KEY = "bench-state-key-0123456789abcdef"
TARGET_COLD, TARGET_WARM = 5.0, 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return int(r.status), json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


class Serve:
    """One `gitops-bot serve` process over a config in root."""

    def __init__(self, root: Path, remote: Path) -> None:
        self.port = free_port()
        (root / "policies").mkdir(parents=True, exist_ok=True)
        shutil.copy(bh.POLICIES / "agents.yaml", root / "policies" / "agents.yaml")
        self.config = root / "gitops-bot.yaml"
        self.config.write_text(
            f"repo: {{url: 'file://{remote}', branch: main, workdir: state/repo}}\n"
            "forge: {kind: local}\n"
            f"server: {{listen: '127.0.0.1:{self.port}', alertmanager_token_env: GITOPS_BOT_ALERT_TOKEN}}\n"
            "policies: policies/\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.t0 = 0.0

    def start(self, timeout: float = 300.0) -> float:
        """Start the process; seconds until /healthz answers 200 (alerts are accepted durably)."""
        exe = Path(sys.executable).with_name("gitops-bot")
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(exe), "serve", "--config", str(self.config)],
            env={**os.environ, "GITOPS_BOT_ALERT_TOKEN": TOKEN, "GITOPS_BOT_STATE_KEY": STATE_KEY},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self._until(lambda body: True, timeout)

    def wait_ready(self, timeout: float = 300.0) -> float:
        """Seconds from start until /healthz says ready (the clone is complete, git work runs)."""
        return self._until(lambda body: bool(body.get("ready", True)), timeout)

    def _until(self, good: Callable[[dict[str, object]], bool], timeout: float) -> float:
        assert self.proc is not None
        while time.perf_counter() - self.t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}")
            try:
                status, body = get(f"http://127.0.0.1:{self.port}/healthz")
            except OSError:
                time.sleep(0.01)
                continue
            if status == 200 and good(body):
                return time.perf_counter() - self.t0
            time.sleep(0.01)
        raise RuntimeError("serve did not get there in time")

    def post(self, body: bytes) -> int:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/v1/alerts",
            data=body,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            return int(r.status)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def rolled_back(remote: Path, rogue: rl.Rogue, timeout: float) -> float:
    """Seconds until the remote's main carries the rollback of rogue's culprit."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        out = rl._run(
            ["git", "--git-dir", str(remote), "log", "-5", "--format=%(trailers:only,unfold)", "main"]
        )
        if f"Rollback-Of: {rogue.sha}" in out:
            return time.perf_counter() - t0
        time.sleep(0.05)
    raise RuntimeError(f"no rollback of {rogue.agent} within {timeout} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--commits", type=int, default=50000)
    args = parser.parse_args()
    built, cached = rl.cached_repo(agents=args.agents, commits=args.commits, rogues=52)
    print(
        f"repo: {built.first_parent} first-parent commits, {built.agents} agents ({'cached' if cached else 'built'})"
    )
    with tempfile.TemporaryDirectory(prefix="gitops-bot-cold-") as tmp:
        root = Path(tmp)
        remote = rl.fresh_copy(built, root / "remote.git")
        figures = {}
        for name, fresh in (("cold", True), ("warm", False), ("cold again", True)):
            if fresh:
                shutil.rmtree(root / "bot", ignore_errors=True)
            bot = Serve(root / "bot", remote)
            try:
                figures[name] = (bot.start(), bot.wait_ready())
            finally:
                bot.stop()
            time.sleep(1.0)  # a killed bot's git children (the background index) finish first
        shutil.rmtree(root / "bot")
        bot = Serve(root / "bot", remote)
        deepest = max(built.rogues, key=lambda r: r.depth)
        body = bh.alert_body(bh.load_payload(), deepest, datetime.now(UTC) - timedelta(minutes=1))
        try:
            healthy = bot.start()
            status = bot.post(body)  # the moment it is healthy: the clone is still being made
            posted = time.perf_counter() - bot.t0
            landed = posted + rolled_back(remote, deepest, 300)
        finally:
            bot.stop()
    for name, (healthy_s, ready_s) in figures.items():
        print(
            f"{name:>10}: start -> healthy {healthy_s:6.2f} s   start -> ready (clone complete) {ready_s:6.2f} s"
        )
    print(
        f"cold, alert posted at healthy ({healthy:.2f} s; culprit {deepest.depth} commits deep): answered {status}, "
        f"rolled back {landed:.2f} s after start"
    )
    cold, warm = figures["cold"][0], figures["warm"][0]
    print(
        f"targets: cold -> healthy <= {TARGET_COLD} s {'PASS' if cold <= TARGET_COLD else 'FAIL'}; "
        f"warm -> healthy <= {TARGET_WARM} s {'PASS' if warm <= TARGET_WARM else 'FAIL'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
