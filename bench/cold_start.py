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
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rollback_latency as rl  # the shared repo builder

TOKEN = "bench-token"
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
        shutil.copy(rl.POLICIES / "agents.yaml", root / "policies" / "agents.yaml")
        self.config = root / "gitops-bot.yaml"
        self.config.write_text(
            f"repo: {{url: 'file://{remote}', branch: main, workdir: state/repo}}\n"
            "forge: {kind: local}\n"
            f"server: {{listen: '127.0.0.1:{self.port}', alertmanager_token_env: GITOPS_BOT_ALERT_TOKEN}}\n"
            "policies: policies/\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 300.0) -> tuple[float, float]:
        """Start the process; seconds until /healthz answers 200 and until it says ready."""
        exe = Path(sys.executable).with_name("gitops-bot")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(exe), "serve", "--config", str(self.config)],
            env={**os.environ, "GITOPS_BOT_ALERT_TOKEN": TOKEN},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        healthy = ready = None
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}")
            try:
                status, body = get(f"http://127.0.0.1:{self.port}/healthz")
            except OSError:
                time.sleep(0.01)
                continue
            now = time.perf_counter() - t0
            if status == 200 and healthy is None:
                healthy = now
            if status == 200 and body.get("ready", True):
                ready = now
                return healthy or now, ready
            time.sleep(0.01)
        raise RuntimeError("serve did not become ready in time")

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
                figures[name] = bot.start()
            finally:
                bot.stop()
        shutil.rmtree(root / "bot")
        bot = Serve(root / "bot", remote)
        deepest = max(built.rogues, key=lambda r: r.depth)
        template = rl.load_payload()
        body = rl.alert_body(template, deepest, datetime.now(UTC) - timedelta(minutes=1))
        try:
            healthy, _ = bot.start()
            t = time.perf_counter()
            status = bot.post(body)
            landed = rolled_back(remote, deepest, 300)
        finally:
            bot.stop()
        post_ms = (time.perf_counter() - t - landed) * 1000
    for name, (healthy, ready) in figures.items():
        print(f"{name:>10}: start -> healthy {healthy:6.2f} s   start -> ready {ready:6.2f} s")
    print(
        f"alert posted at healthy (cold, culprit {deepest.depth} commits deep): {status} in {post_ms:.0f} ms, "
        f"rolled back {landed:.2f} s later"
    )
    cold, warm = figures["cold"][0], figures["warm"][0]
    print(
        f"targets: cold -> healthy <= {TARGET_COLD} s {'PASS' if cold <= TARGET_COLD else 'FAIL'}; "
        f"warm -> healthy <= {TARGET_WARM} s {'PASS' if warm <= TARGET_WARM else 'FAIL'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
