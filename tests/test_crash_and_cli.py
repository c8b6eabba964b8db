"""The real `gitops-bot` process: kill -9 after a 2xx loses nothing; the CLI's commands and errors."""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import firing_body
from tests.gitfix import Remote, agent_files, git
from tests.processes import stop_serve

POLICIES = Path(__file__).resolve().parents[1] / "policies"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(tmp_path: Path, remote: Remote, port: int = 0) -> Path:
    config = tmp_path / "gitops-bot.yaml"
    config.write_text(
        f"repo: {{url: '{remote.url}', branch: main, workdir: state/repo}}\n"
        f"forge: {{kind: local}}\nserver: {{listen: '127.0.0.1:{port}', alertmanager_token_env: TEST_TOKEN}}\n"
        f"policies: {POLICIES}\n"
    )
    return config


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitops_bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def start_server(config: Path, port: int) -> subprocess.Popen[bytes]:
    # serve's log goes to a file, never an unread pipe: a full pipe would block its logging (and shutdown).
    log = tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitops_bot.cli", "serve", "--config", str(config)],
        env={**os.environ, "TEST_TOKEN": "tok"},
        stderr=log,
    )
    log.close()
    # Up means ready: serve answers (and journals alerts) while its first clone is still being made.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                if json.loads(r.read()).get("ready") is True:
                    return proc
            time.sleep(0.05)
        except OSError:
            assert proc.poll() is None, Path(log.name).read_text(errors="replace")
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"server did not come up: {Path(log.name).read_text(errors='replace')[-2000:]}")


def post(port: int, body: dict[str, object]) -> int:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/alerts",
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer tok", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return int(r.status)


def test_alert_answered_2xx_survives_kill_9_and_is_handled_once_after_restart(
    remote: Remote, tmp_path: Path
) -> None:
    remote.commit(agent_files("billing-agent", "2026.06.0"), "Release billing 2026.06.0")
    port = free_port()
    config = write_config(tmp_path, remote, port)
    proc = start_server(config, port)
    hidden = remote.bare.with_name("away.git")
    remote.bare.rename(hidden)  # the remote is unreachable, so the worker cannot finish before the kill
    try:
        assert post(port, firing_body("billing-agent", "2026.06.0", started=remote.clock)) == 200
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    hidden.rename(remote.bare)
    assert len(list((tmp_path / "state" / "journal").glob("*.json"))) == 1
    proc = start_server(config, port)
    try:
        deadline = time.monotonic() + 30
        while list((tmp_path / "state" / "journal").glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop_serve(proc)
    assert git(remote.bare, "log", "--format=%s", "main").count("Roll back billing-agent") == 1
    assert "billing-agent:2026.05.2" in remote.show("agents/billing-agent/deployment.yaml")


def test_serve_refuses_to_start_without_a_token(remote: Remote, tmp_path: Path) -> None:
    result = cli("serve", "--config", str(write_config(tmp_path, remote)), env={"TEST_TOKEN": ""})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("gitops-bot: error: $TEST_TOKEN is not set")


def test_culprit_rollback_audit_and_mark_good_from_the_cli(remote: Remote, tmp_path: Path) -> None:
    culprit = remote.commit(agent_files("billing-agent", "2026.06.0"), "Release billing 2026.06.0")
    config = str(write_config(tmp_path, remote))
    shown = cli("culprit", "--config", config, "--agent", "billing-agent", "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert (data["outcome"], data["culprit"], data["from"], data["to"]) == (
        "planned",
        culprit,
        "2026.06.0",
        "2026.05.2",
    )
    dry = cli("rollback", "--config", config, "--agent", "billing-agent", "--dry-run")
    assert dry.returncode == 0 and dry.stdout.startswith("planned:") and remote.remote_head() == culprit
    done = cli("rollback", "--config", config, "--agent", "billing-agent", "--version", "2026.06.0")
    assert done.returncode == 0 and done.stdout.startswith("rolled_back:"), done.stdout + done.stderr
    approved = git(remote.bare, "log", "-1", "--format=%(trailers:key=Approved-By,valueonly)", "main")
    assert approved.startswith("cli:")
    audit = cli("audit", "--config", config, "--json", "--agent", "billing-agent")
    assert [r["rollbackOf"] for r in json.loads(audit.stdout)] == [culprit]
    table = cli("audit", "--config", config)
    assert "billing-agent" in table.stdout and "2026.06.0 -> 2026.05.2" in table.stdout
    good = cli("mark-good", "--config", config, "--agent", "billing-agent")
    assert good.returncode == 0 and "known-good/billing-agent/" in good.stdout
    assert git(remote.bare, "tag", "--list", "known-good/billing-agent/*") != ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["audit", "--config", "/nonexistent/gitops-bot.yaml"], "cannot read config"),
        (["rollback", "--config", "{config}", "--agent", "../etc"], "not a plain agent name"),
        (["mark-good", "--config", "{config}", "--agent", "nobody"], "unknown agent"),
        (["policy", "check", "/nonexistent"], "not a directory"),
    ],
)
def test_user_mistakes_end_in_one_clear_line(
    remote: Remote, tmp_path: Path, args: list[str], message: str
) -> None:
    config = str(write_config(tmp_path, remote))
    result = cli(*[a.replace("{config}", config) for a in args])
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_unreachable_remote_is_one_line_too(tmp_path: Path) -> None:
    config = tmp_path / "gitops-bot.yaml"
    config.write_text(f"repo: {{url: 'file://{tmp_path}/missing.git'}}\npolicies: {POLICIES}\n")
    result = cli("audit", "--config", str(config))
    assert result.returncode == 1 and "cannot clone" in result.stderr and "Traceback" not in result.stderr
