"""`make demo-github` runs, and its no-contracts fallback routes every call the bot makes."""

from pathlib import Path

import pytest
from github import Auth

from gitops_bot.adapters.github.api import GitHubAPI
from gitops_bot.adapters.github.settings import GitHubSettings, make_client
from gitops_bot.core.github.webhooks import PullRequestEvent
from gitops_bot_lab.demo_github import routing_spec, run_github_demo
from gitops_bot_lab.fakes.github import FakeGitHub
from gitops_bot_lab.fakes.github.openapi import GitHubContract
from tests.forge.conftest import BOT, ROGUE, Clock, World, veto_policy
from tests.gitfix import agent_files, make_remote


def test_the_github_demo_shows_pr_countdown_approve_and_merge(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_github_demo() == 0
    out = capsys.readouterr().out
    for needle in (
        "== PR #1 'Roll back billing-agent 2026.06.0 -> 2026.05.2 (AgentPolicyViolations)'",
        "| Culprit commit |",
        "== veto window: merges in",
        "@mallory: `/approve` needs `write` permission (you have read); nothing changed.",
        "Approved-By: alice",
    ):
        assert needle in out, needle


def test_the_fallback_routing_table_covers_what_the_bot_calls(tmp_path: Path) -> None:
    remote = make_remote(tmp_path, {"billing-agent": "2026.05.2"})
    routing = GitHubContract(routing_spec())
    gh = FakeGitHub(
        remote.bare, owner="acme", repo="agents-gitops", bot_login=BOT, validate=False, contract_obj=routing
    )
    with gh:
        world = World(tmp_path, remote, gh, Clock())
        world.ship_rogue()
        bot = world.replica(policy=veto_policy())
        gh.fail_next("POST", r"/issues/1/comments$", 502)  # the retry lists comments to avoid a double
        bot.alert()
        gh.set_permission("alice", "write")
        for n, command in enumerate(("/hold", "/approve")):
            world.deliver(bot.forge, _minimal_comment(gh, 900 + n, "alice", command))
        bot.forge.loop.run_once()
        assert gh.pull(1)["merged"]
        sha = gh.commit_files(
            "again", agent_files("billing-agent", ROGUE), "again", parent=gh.branch_sha("main")
        )
        number = gh.open_pull_as("dana", "again", "again")
        event = PullRequestEvent("opened", gh.full_name, number, sha, "again", gh.full_name, "main")
        assert bot.forge.loop.on_pull_request(event) == f"#{number}: quarantine failure"
        client = make_client(GitHubSettings(repo=gh.full_name, api_url=gh.url), Auth.Token(gh.token))
        assert GitHubAPI(client, gh.full_name).bot_login() == BOT  # GET /user when not configured
    assert gh.contract_errors == []


def _minimal_comment(gh: FakeGitHub, comment_id: int, login: str, body: str) -> dict[str, object]:
    return {
        "action": "created",
        "repository": {"full_name": gh.full_name},
        "issue": {"number": 1, "pull_request": {}},
        "comment": {
            "id": comment_id,
            "user": {"login": login, "type": "User"},
            "body": body,
            "created_at": "x",
        },
    }
