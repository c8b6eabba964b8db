"""Ack latency under an alert storm, against a real `gitops-bot serve` (waitress) on 127.0.0.1.

1. 5,000 alerts from 20 concurrent senders (keep-alive connections, one alert per body, half of them
   for three rogue agents, half other teams' alerts no policy claims): ack p50/p99/max, non-2xx count.
2. One Alertmanager group of 10,000 alerts in a single body (~4.7 MiB): time to its 2xx.
Then checks exactly one rollback commit per rogue agent on the bare remote. Self-contained: builds its
own bare remote in a temp folder; reads only the repo's policies/ and the captured payload.
Exit 1 when something functional went wrong (non-2xx, wrong rollback count), never for slowness.
"""

import argparse
import copy
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = ROOT / "tests" / "contracts" / "alertmanager" / "firing-single-policy-violation.json"
TOKEN = "bench-token"
GOOD = {"billing-agent": "2026.05.2", "support-bot": "v1.9.3", "triage-agent": "1.2.4"}
ROGUE = {"billing-agent": "2026.06.0", "support-bot": "v2.0.0", "triage-agent": "1.3.0"}


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com"}
    env |= {"GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def _write_agent(dev: Path, agent: str, version: str) -> None:
    folder = dev / "agents" / agent
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "deployment.yaml").write_text(
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {agent}\nspec:\n  template:\n    spec:\n"
        f"      containers:\n        - name: agent\n          image: registry.example.com/agents/{agent}:{version}\n"
    )
    (folder / "agent.yaml").write_text(
        f"apiVersion: agents.example.com/v1\nkind: AgentConfig\nmetadata:\n  name: {agent}\n"
        f'spec:\n  version: "{version}"\n  promptBundle: "prompts-{version}"\n'
    )


def make_remote(root: Path) -> Path:
    bare, dev = root / "remote.git", root / "dev"
    _git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    _git(root, "clone", "--quiet", str(bare), str(dev))
    for versions, message in ((GOOD, "Initial agents"), (ROGUE, "Release rogue versions")):
        for agent, version in versions.items():
            _write_agent(dev, agent, version)
        _git(dev, "add", "-A")
        _git(dev, "commit", "--quiet", "-m", message)
    _git(dev, "push", "--quiet", "origin", "main")
    return bare


def storm_alerts(count: int, started: str) -> list[dict[str, Any]]:
    template = json.loads(PAYLOAD.read_text())["alerts"][0]
    alerts = []
    for i in range(count):
        alert = copy.deepcopy(template)
        alert |= {"fingerprint": f"{i:016x}", "startsAt": started}
        if i % 2 == 0:
            agent = list(ROGUE)[(i // 2) % len(ROGUE)]
            alert["labels"] |= {"agent": agent, "version": ROGUE[agent], "pod": f"{agent}-{i}"}
        else:
            alert["labels"] = {"alertname": "NodeDiskPressure", "severity": "warning", "node": f"n{i}"}
        alerts.append(alert)
    return alerts


def body(alerts: list[dict[str, Any]]) -> bytes:
    data = json.loads(PAYLOAD.read_text())
    data["alerts"] = alerts
    return json.dumps(data).encode()


def post_all(port: int, bodies: list[bytes], acks: list[tuple[int, float]]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    for data in bodies:
        started = time.perf_counter()
        try:
            conn.request("POST", "/api/v1/alerts", data, headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except OSError:
            status, conn = 0, http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        acks.append((status, time.perf_counter() - started))
    conn.close()


def start_serve(root: Path, bare: Path) -> tuple["subprocess.Popen[bytes]", int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    config = root / "gitops-bot.yaml"
    config.write_text(
        f"repo: {{url: 'file://{bare}', branch: main, workdir: state/repo}}\n"
        f"server: {{listen: '127.0.0.1:{port}', alertmanager_token_env: BENCH_TOKEN}}\n"
        f"policies: {ROOT / 'policies'}\n"
    )
    env = {**os.environ, "BENCH_TOKEN": TOKEN, "GITOPS_BOT_STATE_KEY": "bench-state-key-0123456789"}
    log = open(root / "serve.log", "wb")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitops_bot.cli", "serve", "--config", str(config), "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("serve did not come up")


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, round(q * (len(values) - 1)))]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--alerts", type=int, default=5000)
    p.add_argument("--senders", type=int, default=20)
    p.add_argument("--group", type=int, default=10_000)
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gitops-bot-ack-storm-"))
    bare = make_remote(root)
    proc, port = start_serve(root, bare)
    ok = True
    try:
        started = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        alerts = storm_alerts(args.alerts, started)
        acks: list[tuple[int, float]] = []
        threads = [
            threading.Thread(
                target=post_all, args=(port, [body([a]) for a in alerts[i :: args.senders]], acks)
            )
            for i in range(args.senders)
        ]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        times = [t * 1000 for _, t in acks]
        bad = sum(1 for s, _ in acks if not 200 <= s < 300)
        print(
            f"storm: {len(acks)} alerts from {args.senders} senders in {wall:.1f}s; "
            f"ack p50 {statistics.median(times):.1f} ms, p99 {pct(times, 0.99):.1f} ms, "
            f"max {max(times):.1f} ms; non-2xx {bad}"
        )
        ok &= bad == 0 and len(acks) == args.alerts
        group = body(storm_alerts(args.group, started))
        g_acks: list[tuple[int, float]] = []
        post_all(port, [group], g_acks)
        status, seconds = g_acks[0]
        print(
            f"group: one body of {args.group} alerts ({len(group) / 2**20:.1f} MiB) acked {status} "
            f"in {seconds * 1000:.0f} ms"
        )
        ok &= status == 200
        deadline = time.monotonic() + 300
        while list((root / "state" / "journal").glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.2)
        subjects = _git(bare, "log", "--format=%s", "main")
        counts = {agent: subjects.count(f"Roll back {agent} ") for agent in ROGUE}
        print(
            f"rollbacks per rogue agent: {counts} (want exactly 1 each); journal drained: "
            f"{not list((root / 'state' / 'journal').glob('*.json'))}"
        )
        ok &= set(counts.values()) == {1}
    finally:
        proc.terminate()
        proc.wait(60)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
