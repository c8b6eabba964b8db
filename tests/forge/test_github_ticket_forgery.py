"""Findings 3 and 4 in GitHub mode: PR state (ticket, labels) and bot tags people can write steer nothing."""

import json
import re

import pytest

from gitops_bot.core.errors import ConfigError
from gitops_bot.core.github.pr_state import BLOCKED
from gitops_bot.core.statekey import StateKeys
from tests.conftest import make_policy, push_tag
from tests.forge.conftest import ROGUE, Replica, World, veto_policy
from tests.gitfix import git

TICKET = re.compile(r"<!-- gitops-bot:ticket (.*?) -->", re.DOTALL)


def _edit_ticket(world: World, number: int, **changes: object) -> None:
    """What a writer can do in the GitHub UI: edit the PR body's hidden ticket."""
    issue = world.gh.issues[number]
    raw = json.loads(TICKET.search(issue.body or "")[1])  # type: ignore[index]
    raw |= changes
    issue.body = TICKET.sub(lambda _: f"<!-- gitops-bot:ticket {json.dumps(raw)} -->", issue.body or "")


def _approval_pr(world: World) -> Replica:
    world.ship_rogue()
    policy = make_policy(
        action={"mode": "approval", "approvers": {"permission": "write", "users": ["alice"]}}
    )
    bot = world.replica(policy=policy)
    assert bot.alert().kind == "proposed"
    return bot


def test_a_writer_refused_by_approvers_cannot_edit_the_ticket_into_an_expired_veto_window(
    world: World,
) -> None:
    bot = _approval_pr(world)
    head = world.remote.remote_head()
    world.comment(bot.forge, "bob", 1, "/approve")
    assert any("@bob: `/approve`" in c for c in world.bot_comments(1))  # refused: not in approvers.users
    _edit_ticket(world, 1, mode="veto-window", deadline="2020-01-01T00:00:00Z")
    world.clock.advance(minutes=1)
    done = bot.forge.loop.tick()
    bot.forge.loop.tick()  # reported once, not on every pass
    pr = world.gh.pull(1)
    assert pr["state"] == "open" and not pr["merged"] and done == []
    assert world.remote.remote_head() == head and f"billing-agent:{ROGUE}" in world.main_file()
    reports = [c for c in world.bot_comments(1) if "refuses this PR's state" in c]
    assert len(reports) == 1 and "authenticator does not match" in reports[0]
    world.comment(bot.forge, "alice", 1, "/approve")  # an edited PR is left to people: commands too
    assert not world.gh.pull(1)["merged"]


def test_a_ticket_with_its_authenticator_removed_is_refused_too(world: World) -> None:
    bot = _approval_pr(world)
    _edit_ticket(world, 1, mac=None)
    assert bot.forge.loop.tick() == []
    assert any("carries no authenticator" in c for c in world.bot_comments(1))


def test_a_blocked_label_added_by_a_triage_user_does_not_stop_the_veto_window(world: World) -> None:
    world.ship_rogue()
    bot = world.replica(policy=veto_policy("5m"))
    assert bot.alert().kind == "proposed"
    world.comment(bot.forge, "trina", 1, "/veto no")
    assert any("@trina: `/veto`" in c for c in world.bot_comments(1))  # triage may not veto
    world.gh.apply_labels(world.gh.issues[1], [BLOCKED])  # ...but may set labels (as the UI does)
    world.clock.advance(minutes=6)
    bot.forge.loop.tick()
    assert world.gh.pull(1)["merged"]
    assert world.main_trailers()["Approved-By"] == "veto-window-expired"
    assert "billing-agent:2026.05.2" in world.main_file()


def test_a_pushed_veto_tag_without_an_authenticator_blocks_no_rollback(world: World) -> None:
    culprit = world.ship_rogue()
    push_tag(
        world.remote, f"gitops-bot/vetoed/billing-agent/{culprit[:12]}", "Vetoed-By: mallory\n", keys=None
    )
    bot = world.replica(policy=veto_policy("5m"))
    reports: list[str] = []
    bot.engine.reported.hooks.append(reports.append)
    assert bot.alert().kind == "proposed"
    assert list(world.gh.issues) == [1] and reports == ["tag"]


def test_a_veto_tag_sealed_by_the_bot_does_block_the_rollback(world: World) -> None:
    culprit = world.ship_rogue()
    push_tag(world.remote, f"gitops-bot/vetoed/billing-agent/{culprit[:12]}", "Vetoed-By: bob\n")
    outcome = world.replica(policy=veto_policy("5m")).alert()
    assert (outcome.kind, outcome.code) == ("ignored", "duplicate") and "vetoed" in outcome.reason
    assert world.gh.issues == {}


def test_without_a_state_key_no_pr_is_half_opened(world: World) -> None:
    world.ship_rogue()
    bot = world.replica(policy=veto_policy("5m"))
    bot.engine.keys = StateKeys()  # e.g. `gitops-bot rollback` run without $GITOPS_BOT_STATE_KEY
    with pytest.raises(ConfigError, match="no state key"):
        bot.alert()
    assert world.gh.issues == {}
    assert git(world.remote.bare, "branch", "--list", "gitops-bot/*") == ""
