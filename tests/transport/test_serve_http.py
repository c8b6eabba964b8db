"""Findings 6 and 7 against a real `gitops-bot serve`: waitress limits, status codes, SIGTERM drain."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import firing_body
from tests.gitfix import Remote, agent_files, git
from tests.transport.served import TOKEN, Served, free_port, start_serve, wait_for, write_config

ROGUE = "2026.06.0"
STARTED = datetime.now(UTC) - timedelta(minutes=1)


@pytest.fixture
def served(tmp_path: Path, remote: Remote) -> Iterator[Served]:
    s = start_serve(tmp_path, remote)
    yield s
    s.stop(signal.SIGKILL)


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """No new files in folder, even for root (who ignores mode bits): chattr +i then."""
    root = os.geteuid() == 0
    if root:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
    try:
        yield
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)


def _with_starts_at(value: str) -> dict[str, Any]:
    body = firing_body("billing-agent", ROGUE, started=STARTED)
    body["alerts"][0]["startsAt"] = value
    return body


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (_with_starts_at("2026-13-01T00:00:00Z"), "not a valid time"),  # month 13
        (_with_starts_at("2026-06-01T25:00:00Z"), "not a valid time"),  # hour 25
        (_with_starts_at("9999-12-31T23:59:59-23:59"), "not a valid time"),  # past year 9999 in UTC
        (_with_starts_at("0001-01-01T00:00:00+23:59"), "not a valid time"),  # before year 1 in UTC
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (
            b'{"version": "4", "alerts": [], "status": "firing", "n": ' + b"7" * 5000 + b"}",
            "not JSON we accept",
        ),
    ],
    ids=["month-13", "hour-25", "offset-overflow-up", "offset-overflow-down", "deep-nesting", "5000-digits"],
)
def test_hostile_but_well_formed_bodies_are_400_never_500(served: Served, body: Any, says: str) -> None:
    status, answer = served.post(body)
    assert status == 400, answer
    assert says in answer["error"]
    assert served.get("/livez")[0] == 200 and not list(served.journal.glob("*.json"))


def test_read_only_journal_answers_503_and_readyz_says_why(served: Served, remote: Remote) -> None:
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    with read_only(served.journal):
        status, answer = served.post(firing_body("billing-agent", ROGUE, started=STARTED))
        ready, why = served.get("/readyz")
        health = served.get("/healthz")[0]
        live = served.get("/livez")[0]
    assert status == 503 and "cannot write journal entry" in answer["error"]
    assert ready == 503 and health == 503 and any("journal" in p for p in why["problems"])
    assert live == 200  # a full disk is not a reason to restart the pod
    assert served.post(firing_body("billing-agent", ROGUE, started=STARTED))[0] == 200  # writable again


def test_corrupt_entry_in_a_read_only_journal_at_start_is_one_clear_line(
    tmp_path: Path, remote: Remote
) -> None:
    journal = tmp_path / "state" / "journal"
    journal.mkdir(parents=True)
    (journal / "00000000000000000001-000001-deadbeef.json").write_text("{not json")
    config = write_config(tmp_path, remote, free_port())
    with read_only(journal):
        result = subprocess.run(
            [sys.executable, "-m", "gitops_bot.cli", "serve", "--config", str(config)],
            env={**os.environ, "TEST_TOKEN": TOKEN},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert (
        last.startswith("gitops-bot: error: journal entry") and "is corrupt and cannot be set aside" in last
    )


def _half_open(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /api/v1/alerts HTTP/1.1\r\nHost: bot\r\nContent-Length: 100\r\n")  # never finished
    return s


def test_300_half_open_connections_take_no_threads_and_do_not_block_an_alert(
    tmp_path: Path, remote: Remote
) -> None:
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    served = start_serve(tmp_path, remote)
    try:
        before = served.threads()
        sockets = [_half_open(served.port) for _ in range(300)]
        time.sleep(0.5)
        during = served.threads()
        started = time.monotonic()
        status, _ = served.post(firing_body("billing-agent", ROGUE, started=STARTED), timeout=10)
        assert status == 200 and time.monotonic() - started < 5
        assert during - before < 5, f"{before} threads before, {during} with 300 half-open connections"
        wait_for(
            lambda: "Roll back billing-agent" in git(remote.bare, "log", "--format=%s", "main"),
            30,
            "rollback",
        )
        for s in sockets:
            s.close()
    finally:
        served.stop(signal.SIGKILL)


def test_a_stalled_body_is_cut_off_after_the_read_timeout(served: Served) -> None:
    s = socket.create_connection(("127.0.0.1", served.port))
    s.sendall(b'POST /api/v1/alerts HTTP/1.1\r\nHost: bot\r\nContent-Length: 5000\r\n\r\n{"version": ')
    s.settimeout(20)
    started = time.monotonic()
    data = s.recv(1024)  # the server closes it: b"" (or an error answer), not 60 s of silence
    elapsed = time.monotonic() - started
    s.close()
    assert not data or data.startswith(b"HTTP/1.1 4")
    assert elapsed < 6, f"stalled body held open {elapsed:.1f}s with read_timeout 2s"
    assert not list(served.journal.glob("*.json"))


def test_sigterm_during_a_job_finishes_it_keeps_the_rest_journaled_and_exits_0(
    tmp_path: Path, remote: Remote
) -> None:
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    remote.commit(agent_files("support-bot", "v2.0.0"), "Release support-bot v2.0.0")
    hook = remote.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\ncat >/dev/null\nsleep 3\n")  # a slow remote: the job takes >3 s
    hook.chmod(0o755)
    served = start_serve(tmp_path, remote)
    try:
        body = firing_body("billing-agent", ROGUE, started=STARTED)
        body["alerts"].append(
            firing_body("support-bot", "v2.0.0", started=STARTED, fingerprint="2")["alerts"][0]
        )
        assert served.post(body)[0] == 200
        time.sleep(1.0)  # the worker is inside the first rollback's push
        assert served.stop(signal.SIGTERM, timeout=30) == 0, served.output()
    finally:
        if served.proc.poll() is None:
            served.proc.kill()
    log = git(remote.bare, "log", "--format=%s", "main")
    assert log.count("Roll back billing-agent") == 1, served.output()  # the job in hand finished
    assert "Roll back support-bot" not in log
    batches = list(served.journal.glob("*.json"))
    assert len(batches) == 1 and "support-bot" in batches[0].read_text()  # the rest waits for the next start
