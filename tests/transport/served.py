"""A real `gitops-bot serve` process for transport tests: config, start, HTTP calls, stop."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.gitfix import Remote

POLICIES = Path(__file__).resolve().parents[2] / "policies"
TOKEN = "tok"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    proc: "subprocess.Popen[bytes]"
    port: int
    state: Path
    log: Path

    @property
    def journal(self) -> Path:
        return self.state / "journal"

    def request(
        self, method: str, path: str, body: bytes | None = None, *, timeout: float = 30
    ) -> tuple[int, Any]:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=body,
            method=method,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, raw = int(r.status), r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def post(self, body: dict[str, Any] | bytes, *, timeout: float = 30) -> tuple[int, Any]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.request("POST", "/api/v1/alerts", data, timeout=timeout)

    def metric(self, name: str) -> float:
        """Sum of a metric's samples (all labels) from /metrics."""
        _, text = self.get("/metrics")
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in str(text).splitlines()
            if line.startswith(name) and not line.startswith("#")
        )

    def threads(self) -> int:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def write_config(tmp_path: Path, remote: Remote, port: int, extra: str = "", server: str = "") -> Path:
    """gitops-bot.yaml; extra: more top-level YAML; server: more keys of the server mapping."""
    config = tmp_path / "gitops-bot.yaml"
    more = f", {server}" if server else ""
    config.write_text(
        f"repo: {{url: '{remote.url}', branch: main, workdir: state/repo}}\n"
        f"forge: {{kind: local}}\n"
        f"server: {{listen: '127.0.0.1:{port}', alertmanager_token_env: TEST_TOKEN, read_timeout: 2s{more}}}\n"
        f"policies: {POLICIES}\n{extra}"
    )
    return config


def start_serve(
    tmp_path: Path, remote: Remote, extra: str = "", *, server: str = "", wait: float = 30
) -> Served:
    """Start serve on a free port and wait until it answers /livez."""
    port = free_port()
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = write_config(tmp_path, remote, port, extra, server)
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gitops_bot.cli", "serve", "--config", str(config)],
            env={**os.environ, "TEST_TOKEN": TOKEN},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Served(proc, port, tmp_path / "state", log)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=1).close()
            return served
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited {proc.returncode}:\n{served.output()}") from None
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"serve did not come up:\n{served.output()}")


def wait_for(check: Any, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
