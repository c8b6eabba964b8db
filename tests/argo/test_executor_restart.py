"""A real `gitops-bot serve` killed with -9 during the veto window: the workflow waits, and the next bot
process resumes it from the workflow's own deadline. Nothing about the rollback lived in the bot."""

import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from gitops_bot_lab.fakes.argo_workflows import FakeArgoWorkflows
from tests.argo.conftest import NAMESPACE, TOKEN, replica_config
from tests.argo.helpers import finished, node, trailers, waiting_at_approve
from tests.conftest import firing_body
from tests.gitfix import Remote, agent_files
from tests.processes import stop_serve
from tests.test_crash_and_cli import free_port, post, start_server


def serve_config(root: Path, remote: Remote, argo_url: str, port: int) -> Path:
    """A replica config that also listens for Alertmanager on a loopback port."""
    path = replica_config(root, remote, argo_url)
    config = yaml.safe_load(path.read_text())
    config["server"] = {"listen": f"127.0.0.1:{port}", "alertmanager_token_env": "TEST_TOKEN"}
    config["policies"] = "policies/"
    path.write_text(yaml.safe_dump(config))
    (root / "policies" / "agents.yaml").write_text(
        (root / "policies" / "agents.yaml").read_text().replace("vetoWindow: 1s", "vetoWindow: 4s")
    )
    return path


def test_kill_9_during_the_veto_window_and_the_next_bot_lands_it(
    argo_veto: FakeArgoWorkflows,
    remote: Remote,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rogue = remote.commit(agent_files("billing-agent", "2026.06.0"), "Release billing 2026.06.0")
    monkeypatch.setenv("TEST_ARGO_TOKEN", TOKEN)
    port = free_port()
    config = serve_config(tmp_path / "bot", remote, argo_veto.url, port)
    proc = start_server(config, port)
    try:
        body = firing_body("billing-agent", "2026.06.0", started=datetime.now(UTC) - timedelta(minutes=2))
        assert post(port, body) == 200
        deadline = time.monotonic() + 30
        while not argo_veto.store.workflows and time.monotonic() < deadline:
            time.sleep(0.05)
        ((_, name),) = argo_veto.store.workflows
        argo_veto.wait_for(NAMESPACE, name, waiting_at_approve)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    time.sleep(5)  # the window ends while no bot runs: the workflow just waits
    waiting = argo_veto.store.workflow_json(NAMESPACE, name)
    assert waiting_at_approve(waiting) and remote.remote_head() == rogue
    proc = start_server(config, port)
    try:
        done = argo_veto.wait_for(NAMESPACE, name, finished)
    finally:
        stop_serve(proc)
    assert done["status"]["phase"] == "Succeeded" and node(done, "apply") is not None
    assert trailers(remote)["Approved-By"] == "veto-window-expired"
    assert trailers(remote)["Rollback-Of"] == rogue and len(argo_veto.store.workflows) == 1
