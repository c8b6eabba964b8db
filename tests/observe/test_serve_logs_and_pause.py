"""A real `gitops-bot serve` behind a real Alertmanager: JSON logs, the audited pause, paged escalations."""

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gitops_bot.core.alerts import format_time
from gitops_bot.core.pause import PAUSE_FILE
from gitops_bot_lab.stack import Running, start_alertmanager
from tests.binaries import require_binary
from tests.gitfix import Remote, agent_files, git
from tests.observe.test_escalations_alertmanager import escalations_in, wait_for
from tests.test_crash_and_cli import POLICIES, cli, free_port

EVENT_FIELDS = {"ts", "level", "logger", "message"}


def write_config(tmp_path: Path, remote: Remote, port: int, am: str) -> Path:
    config = tmp_path / "gitops-bot.yaml"
    config.write_text(
        f"repo: {{url: '{remote.url}', branch: main, workdir: state/repo}}\n"
        f"server: {{listen: '127.0.0.1:{port}', alertmanager_token_env: TEST_TOKEN}}\n"
        f"policies: {POLICIES}\n"
        f"alertmanager: {{url: '{am}', resync: 1s}}\n"
        "escalations: {resend: 1s, expire: 1h}\n"
    )
    return config


@pytest.fixture
def bot_port() -> int:
    return free_port()


@pytest.fixture
def alertmanager(tmp_path: Path, bot_port: int) -> Iterator[Running]:
    require_binary("prometheus-alertmanager")
    url = f"http://127.0.0.1:{bot_port}/api/v1/alerts"
    with start_alertmanager(tmp_path, url, "tok", group_by=("alertname", "agent")) as running:
        yield running


def fire(am: Running, agent: str, version: str) -> None:
    """An agent alert as Prometheus would send it to Alertmanager (which routes it to the bot)."""
    alert = {
        "labels": {
            "alertname": "AgentPolicyViolations",
            "agent": agent,
            "version": version,
            "severity": "warning",
            "signature": "policy_violation",
        },
        "annotations": {"summary": f"{agent} {version} violates policy"},
        "startsAt": format_time(datetime.now(UTC) - timedelta(seconds=5)),
    }
    request = urllib.request.Request(
        f"{am.url}/api/v2/alerts",
        data=json.dumps([alert]).encode(),
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=5).close()


def serve(config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gitops_bot.cli", "serve", "--config", str(config)],
            env={**os.environ, "TEST_TOKEN": "tok"},
            stderr=out,
            stdout=out,
        )

    def up() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
            return True
        except OSError:
            return False

    wait_for(up, 20)
    return proc


def rollbacks(remote: Remote) -> list[str]:
    return [
        s for s in git(remote.bare, "log", "--format=%s", "main").splitlines() if s.startswith("Roll back")
    ]


def test_pause_and_resume_commit_an_audited_file(remote: Remote, tmp_path: Path) -> None:
    config = str(write_config(tmp_path, remote, 0, "http://127.0.0.1:9"))
    paused = cli("pause", "--config", config, "--reason", "incident 42: freeze")
    assert paused.returncode == 0 and paused.stdout.startswith("paused:"), paused.stderr
    text = git(remote.bare, "show", f"main:{PAUSE_FILE}")
    assert "reason: 'incident 42: freeze'" in text and "by: cli:" in text and "since: " in text
    trailer = git(remote.bare, "log", "-1", "--format=%(trailers:key=Paused-By,valueonly)", "main")
    assert trailer.startswith("cli:")
    resumed = cli("resume", "--config", config)
    assert resumed.returncode == 0 and resumed.stdout.startswith("resumed:"), resumed.stderr
    assert PAUSE_FILE not in git(remote.bare, "ls-tree", "-r", "--name-only", "main")
    again = cli("resume", "--config", config)
    assert again.stdout.strip() == "not paused: nothing to do"
    assert cli("pause", "--config", config, "--reason", " ").returncode == 1


def test_serve_logs_json_rolls_back_then_honours_the_pause_and_pages(
    remote: Remote, tmp_path: Path, bot_port: int, alertmanager: Running
) -> None:
    config = write_config(tmp_path, remote, bot_port, alertmanager.url)
    log = tmp_path / "serve.log"
    remote.commit(agent_files("billing-agent", "2026.06.0"), "Release billing 2026.06.0")
    culprit = remote.head()
    proc = serve(config, bot_port, log)
    try:
        fire(alertmanager, "billing-agent", "2026.06.0")
        wait_for(lambda: rollbacks(remote), 30)
        assert cli("pause", "--config", str(config), "--reason", "incident 42").returncode == 0
        remote.pull()
        remote.commit(agent_files("support-bot", "v2.0.0"), "Release support-bot v2.0.0")
        fire(alertmanager, "support-bot", "v2.0.0")
        paged = wait_for(lambda: escalations_in(alertmanager), 30)
        with urllib.request.urlopen(f"http://127.0.0.1:{bot_port}/metrics", timeout=5) as r:
            metrics = r.read().decode()
    finally:
        proc.terminate()
        proc.wait(15)
    assert len(rollbacks(remote)) == 1  # the paused one was not rolled back
    assert paged[0]["labels"] == {
        "alertname": "GitopsBotEscalation",
        "reason": "paused",
        "agent": "support-bot",
        "policy": "agents",
    }
    assert "paused by cli:" in paged[0]["annotations"]["description"]
    raw = log.read_text()
    assert "\x1b[" not in raw
    lines = [json.loads(line) for line in raw.splitlines()]  # every line is one JSON event
    assert lines and all(set(e) >= EVENT_FIELDS for e in lines), lines
    done = next(e for e in lines if e.get("outcome") == "rolled_back")
    assert (done["agent"], done["policy"], done["culprit"]) == ("billing-agent", "agents", culprit)
    assert done["commit"] == git(remote.bare, "rev-parse", "main~2") and done["fingerprint"]
    refused = next(e for e in lines if e.get("outcome") == "escalated" and e.get("reason") == "paused")
    assert refused["agent"] == "support-bot"
    assert any(e["logger"] == "gitops_bot.access" for e in lines)  # access lines are JSON too
    assert 'gitops_bot_alerts_handled_total{outcome="rolled_back"} 1.0' in metrics
    assert 'gitops_bot_escalations_total{reason="paused"} 1.0' in metrics
    assert 'gitops_bot_build_info{version="0.1.0"} 1.0' in metrics
    assert "process_resident_memory_bytes" in metrics and "python_info" in metrics
    assert "gitops_bot_journal_depth 0.0" in metrics
