"""github mode end to end: gitops-bot.yaml -> Runtime -> HTTP alert -> PR on the fake GitHub -> signed
comment webhooks -> merge by the running loop -> recovery watch and quarantine."""

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from gitops_bot.app.config import load_config
from gitops_bot.app.server import create_app
from gitops_bot.app.wiring import Runtime
from gitops_bot.core.trailers import parse_trailers
from gitops_bot_lab.fakes.github import FakeGitHub, webhook_headers
from tests.conftest import firing_body, policy_yaml
from tests.gitfix import Remote, agent_files, git, make_remote

TOKEN, SECRET, ROGUE = "alert-token", "hook-secret", "2026.06.0"
POLICY = policy_yaml(
    action={
        "mode": "veto-window",
        "vetoWindow": "2s",
        "approvers": {"permission": "write"},
        "labels": ["sev-warning"],
    },
    limits={"perAgent": {"max": 2, "window": "1h"}},
)


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return int(r.status)


def until(what: str, check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Runtime, FakeGitHub, Remote, str]]:
    remote = make_remote(tmp_path, {"billing-agent": "2026.05.2", "support-bot": "v1.9.3"})
    gh = FakeGitHub(
        remote.bare, owner="acme", repo="agents-gitops", permissions={"alice": "write", "mallory": "read"}
    )
    gh.start()
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "agents.yaml").write_text(POLICY)
    (tmp_path / "gitops-bot.yaml").write_text(
        f"repo: {{url: 'file://{remote.bare}', branch: main, workdir: state/repo}}\n"
        "forge:\n  kind: github\n  github:\n"
        f"    repo: acme/agents-gitops\n    api_url: {gh.url}\n    token_env: E2E_GITHUB_TOKEN\n"
        "    webhook_secret_env: E2E_WEBHOOK_SECRET\n    poll: 100ms\n"
        "server: {listen: '127.0.0.1:0', alertmanager_token_env: E2E_ALERT_TOKEN}\npolicies: policies/\n"
    )
    monkeypatch.setenv("E2E_GITHUB_TOKEN", gh.token)
    monkeypatch.setenv("E2E_WEBHOOK_SECRET", SECRET)
    runtime = Runtime(load_config(tmp_path / "gitops-bot.yaml"))
    runtime.start()
    server = make_server("127.0.0.1", 0, create_app(runtime.bot, token=TOKEN), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield runtime, gh, remote, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    runtime.stop()
    gh.stop()
    assert gh.contract_errors == [], gh.contract_errors


def test_alert_to_pr_to_commands_to_merge_over_http(stack: tuple[Runtime, FakeGitHub, Remote, str]) -> None:
    runtime, gh, remote, url = stack
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    alert = json.dumps(firing_body("billing-agent", ROGUE, started=datetime.now(UTC) - timedelta(minutes=1)))
    assert post(f"{url}/api/v1/alerts", alert.encode(), {"Authorization": f"Bearer {TOKEN}"}) == 200
    until("the rollback PR", lambda: 1 in gh.issues and "rollback/veto-window" in gh.issues[1].labels)
    assert {"rollback", "agent/billing-agent", "sev-warning"} <= set(gh.issues[1].labels)

    def comment(login: str, text: str) -> int:
        payload = json.dumps(gh.add_comment_as(login, 1, text)).encode()
        return post(f"{url}/api/v1/github", payload, webhook_headers("issue_comment", payload, SECRET))

    assert comment("alice", "/hold") == 202
    until("the hold", lambda: "rollback/held" in gh.issues[1].labels)
    time.sleep(2.5)  # the 2 s window would have ended by now
    assert not gh.pull(1)["merged"]
    assert comment("mallory", "/approve") == 202
    until("the refusal", lambda: any(c.body.startswith("@mallory") for c in gh.comments))
    assert not gh.pull(1)["merged"]
    assert comment("alice", "/approve") == 202
    until("the merge", lambda: gh.pull(1)["merged"])
    trailers = parse_trailers(git(remote.bare, "log", "-1", "--format=%(trailers:only,unfold)", "main"))
    assert trailers["Approved-By"] == "alice" and trailers["Rollback-From"] == ROGUE
    merge_commit = git(remote.bare, "rev-parse", "main")
    until("the recovery watch", lambda: merge_commit in runtime.watcher.watches)

    sha = gh.commit_files(
        "again", agent_files("billing-agent", ROGUE), "Retry 2026.06.0", parent=merge_commit
    )
    number = gh.open_pull_as("dana", "again", "Retry 2026.06.0")
    event = json.dumps(gh.pull_request_event(number, "opened")).encode()
    assert post(f"{url}/api/v1/github", event, webhook_headers("pull_request", event, SECRET)) == 202
    until("the quarantine status", lambda: any(s.sha == sha and s.state == "failure" for s in gh.statuses))
