"""Small helpers for tests/image/e2e.py: checks that print what they verified, bounded subprocesses, HTTP.

Standard library only, like the script, so any python3 runs it.
"""

import os
import socket
import subprocess
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

PASSED: list[str] = []


class CheckFailed(Exception):
    """One assertion of this script did not hold."""


def check(ok: bool, what: str, detail: str = "") -> None:
    print(f"{'ok' if ok else 'FAIL'} - {what}{'' if ok else f': {detail}'}", flush=True)
    if not ok:
        raise CheckFailed(what)
    PASSED.append(what)


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])}… exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done.stdout.strip()


def git(cwd: Path, *args: str, when: datetime | None = None) -> str:
    who = {"GIT_AUTHOR_NAME": "Dana Developer", "GIT_AUTHOR_EMAIL": "dana@example.com"}
    env = {**os.environ, **who, "GIT_COMMITTER_NAME": who["GIT_AUTHOR_NAME"]}
    env["GIT_COMMITTER_EMAIL"] = who["GIT_AUTHOR_EMAIL"]
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when.isoformat()
    return run("git", *args, cwd=cwd, env=env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, body: bytes, token: str | None) -> int:
    headers = {"Content-Type": "application/json", "User-Agent": "Alertmanager/0.25.0"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def listeners(port: int) -> set[str]:
    """Local addresses listening on `port` (host network: the container's sockets are the host's)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.rpartition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found
