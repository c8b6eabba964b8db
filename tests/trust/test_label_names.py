"""Finding 1: a label with a trailing newline (or any control character) never reaches git."""

import time
import urllib.request
from pathlib import Path

import pytest

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.core.errors import GitError
from gitops_bot.core.paths import is_plain_name
from gitops_bot.core.route import Routed, route
from tests.conftest import firing_body, make_alert, make_policy
from tests.gitfix import Remote, agent_files, git
from tests.test_crash_and_cli import free_port, post, start_server, write_config


@pytest.mark.parametrize(
    "name", ["billing-agent\n", "billing-agent\r", "billing\x00agent", "billing-agent\x85", "bill\u2028ing"]
)
def test_names_with_control_characters_are_not_plain(name: str) -> None:
    assert not is_plain_name(name)


def test_agent_and_version_labels_with_a_trailing_newline_are_ignored() -> None:
    policy = make_policy()
    bad_agent = route(make_alert("billing-agent\n", "2026.06.0"), (policy,))
    bad_version = route(make_alert("billing-agent", "2026.06.0\n"), (policy,))
    good = route(make_alert("billing-agent", "2026.06.0"), (policy,))
    assert not isinstance(bad_agent, Routed) and bad_agent.code == "bad_label"
    assert not isinstance(bad_version, Routed) and bad_version.code == "bad_label"
    assert isinstance(good, Routed) and good.agent == "billing-agent"


def test_git_adapter_refuses_an_object_name_with_a_newline_and_stays_in_step(
    remote: Remote, tmp_path: Path
) -> None:
    repo = GitRepo(remote.url, "main", tmp_path / "bot" / "repo")
    head = repo.sync()
    with pytest.raises(GitError, match="control characters"):
        repo.read(head, "agents/billing-agent\n/agent.yaml")
    with pytest.raises(GitError, match="control characters"):
        repo.exists(head, "agents/billing-agent\n")
    assert 'version: "2026.05.2"' in (repo.read(head, "agents/billing-agent/agent.yaml") or "")
    assert repo.read(head, "agents/nobody/agent.yaml") is None


def _metric(port: int, line_start: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    found = [ln for ln in text.splitlines() if ln.startswith(line_start)]
    return float(found[0].rsplit(" ", 1)[1]) if found else 0.0


def test_serve_ignores_a_newline_agent_label_and_still_rolls_back_the_next_alert(
    remote: Remote, tmp_path: Path
) -> None:
    remote.commit(agent_files("billing-agent", "2026.06.0"), "Release billing 2026.06.0")
    port = free_port()
    proc = start_server(write_config(tmp_path, remote, port), port)
    try:
        hostile = firing_body("billing-agent\n", "2026.06.0", started=remote.clock, fingerprint="aaaa")
        assert post(port, hostile) == 200
        assert post(port, firing_body("billing-agent", "2026.06.0", started=remote.clock)) == 200
        deadline = time.monotonic() + 30
        while "Roll back billing-agent" not in git(remote.bare, "log", "--format=%s", "main"):
            assert time.monotonic() < deadline, "the legitimate alert was not rolled back"
            time.sleep(0.1)
        ignored = _metric(port, 'gitops_bot_alerts_ignored_total{reason="bad_label"}')
    finally:
        proc.terminate()
        proc.wait(10)
    assert ignored == 1.0
    subjects = git(remote.bare, "log", "--format=%s", "main").splitlines()
    assert subjects[0] == "Roll back billing-agent 2026.06.0 -> 2026.05.2 (AgentPolicyViolations)"
    assert "billing-agent:2026.05.2" in remote.show("agents/billing-agent/deployment.yaml")
    assert 'version: "2026.05.2"' in remote.show("agents/billing-agent/agent.yaml")
