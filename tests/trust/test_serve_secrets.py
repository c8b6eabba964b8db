"""Findings 3/10 at the process boundary: serve needs a state key; the audit can need a read token."""

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.gitfix import Remote
from tests.test_crash_and_cli import POLICIES, cli, free_port, start_server


def _config(tmp_path: Path, remote: Remote, port: int, server_extra: str = "") -> Path:
    config = tmp_path / "gitops-bot.yaml"
    config.write_text(
        f"repo: {{url: '{remote.url}', branch: main, workdir: state/repo}}\n"
        f"server: {{listen: '127.0.0.1:{port}', alertmanager_token_env: TEST_TOKEN{server_extra}}}\n"
        f"policies: {POLICIES}\n"
    )
    return config


def _get(url: str, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return e.code


@pytest.mark.parametrize(
    ("key", "message"),
    [("", "$GITOPS_BOT_STATE_KEY is not set"), ("short", "shorter than 16 characters")],
)
def test_serve_refuses_to_start_without_a_usable_state_key(
    remote: Remote, tmp_path: Path, key: str, message: str
) -> None:
    config = _config(tmp_path, remote, free_port())
    result = cli("serve", "--config", str(config), env={"TEST_TOKEN": "tok", "GITOPS_BOT_STATE_KEY": key})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("gitops-bot: error:")
    assert message in result.stderr


def test_mark_good_needs_the_state_key(remote: Remote, tmp_path: Path) -> None:
    config = _config(tmp_path, remote, free_port())
    args = ("mark-good", "--config", str(config), "--agent", "billing-agent")
    refused = cli(*args, env={"GITOPS_BOT_STATE_KEY": ""})
    assert refused.returncode == 1 and "mark-good needs the state key" in refused.stderr


def test_audit_endpoint_wants_the_read_token_and_metrics_stay_open(
    remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_READ", "reader-token")
    port = free_port()
    proc = start_server(_config(tmp_path, remote, port, ", read_token_env: TEST_READ"), port)
    base = f"http://127.0.0.1:{port}"
    try:
        statuses = (
            _get(f"{base}/api/v1/rollbacks"),
            _get(f"{base}/api/v1/rollbacks", "tok"),  # the alert token is not a read token
            _get(f"{base}/api/v1/rollbacks", "reader-token"),
            _get(f"{base}/metrics"),
        )
    finally:
        proc.terminate()
        proc.wait(10)
    assert statuses == (401, 401, 200, 200)
