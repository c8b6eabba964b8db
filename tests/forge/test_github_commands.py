"""PR comment commands through real issue_comment payloads: who may, what they do, redeliveries, restarts."""

import pytest

from gitops_bot.adapters.github.inbox import Inbox
from gitops_bot.core.github.body import read_ticket
from gitops_bot.core.github.pr_state import HELD, VETOED, Ticket
from tests.conftest import TEST_KEYS, make_policy
from tests.forge.conftest import BOT, ROGUE, Replica, World, veto_policy
from tests.gitfix import git


def open_veto_pr(world: World, window: str = "5m", **action: object) -> Replica:
    world.ship_rogue()
    bot = world.replica(policy=veto_policy(window, **action))
    assert bot.alert().kind == "proposed"  # a PR waiting for its window, not on main yet
    return bot


def test_approve_merges_now_with_the_login_as_approver(world: World) -> None:
    bot = open_veto_pr(world)
    world.comment(bot.forge, "alice", 1, "/approve")
    assert world.gh.pull(1)["merged"]
    assert world.main_trailers()["Approved-By"] == "alice"
    world.clock.advance(minutes=10)
    assert bot.forge.loop.tick() == []


def test_veto_closes_records_and_is_respected_by_later_alerts(world: World) -> None:
    bot = open_veto_pr(world)
    head = world.remote.remote_head()
    world.comment(bot.forge, "bob", 1, "/veto the spike is a dashboard bug")
    pr = world.gh.pull(1)
    assert pr["state"] == "closed" and not pr["merged"]
    assert VETOED in world.labels(1)
    assert any("Vetoed by @bob: the spike is a dashboard bug" in c for c in world.bot_comments(1))
    assert world.remote.remote_head() == head and f"billing-agent:{ROGUE}" in world.main_file()
    ticket = read_ticket(pr["body"], TEST_KEYS)
    assert isinstance(ticket, Ticket) and ticket.closed == "vetoed"
    tags = git(world.remote.bare, "tag", "--list", "gitops-bot/vetoed/*").split()
    assert tags == [f"gitops-bot/vetoed/billing-agent/{ticket.culprit[:12]}"]
    record = git(world.remote.bare, "tag", "-l", "--format=%(contents)", tags[0])
    assert "Vetoed-By: bob" in record and "Veto-Reason: the spike is a dashboard bug" in record
    assert git(world.remote.bare, "branch", "--list", "gitops-bot/*") == ""
    again = bot.alert()
    assert again.kind == "ignored" and again.code == "duplicate" and "refused this rollback" in again.reason
    assert list(world.gh.issues) == [1]
    world.clock.advance(hours=1)
    assert bot.forge.loop.tick() == []


def test_a_pr_closed_by_people_is_a_refusal_too(world: World) -> None:
    bot = open_veto_pr(world)
    world.gh.issues[1].state = "closed"  # someone pressed "Close pull request" instead of /veto
    again = bot.alert()
    assert again.kind == "ignored" and "refused this rollback" in again.reason
    assert list(world.gh.issues) == [1]


def test_hold_stops_the_clock_and_unhold_restarts_it(world: World) -> None:
    bot = open_veto_pr(world, "5m")
    world.clock.advance(minutes=2)
    world.comment(bot.forge, "alice", 1, "/hold")
    assert HELD in world.labels(1)
    assert "3m 0s left" in (world.gh.issues[1].body or "")
    assert any("Clock stopped by @alice with 3m 0s left" in c for c in world.bot_comments(1))
    world.clock.advance(hours=2)
    assert bot.forge.loop.tick() == ["#1: none (held)"]
    assert not world.gh.pull(1)["merged"]
    world.comment(bot.forge, "bob", 1, "/unhold")
    assert HELD not in world.labels(1) and "rollback/veto-window" in world.labels(1)
    world.clock.advance(minutes=2, seconds=59)
    assert bot.forge.loop.tick() == ["#1: wait (veto window open)"]
    world.clock.advance(seconds=1)
    assert bot.forge.loop.tick()[0].startswith("merged #1")
    assert world.main_trailers()["Approved-By"] == "veto-window-expired"


@pytest.mark.parametrize(("login", "shown"), [("mallory", "read"), ("trina", "triage"), ("eve", "no access")])
def test_unauthorised_commenters_get_a_reason_and_change_nothing(
    world: World, login: str, shown: str
) -> None:
    bot = open_veto_pr(world)
    body_before, labels_before = world.gh.issues[1].body, world.labels(1)
    for command in ("/approve", "/veto no", "/hold"):
        world.comment(bot.forge, login, 1, command)
    replies = [c for c in world.bot_comments(1) if c.startswith(f"@{login}")]
    assert len(replies) == 3
    assert all(f"needs `write` permission (you have {shown}); nothing changed." in r for r in replies)
    pr = world.gh.pull(1)
    assert (
        pr["state"] == "open" and world.labels(1) == labels_before and world.gh.issues[1].body == body_before
    )


def test_permission_is_checked_by_value_not_by_association(world: World) -> None:
    """Every commenter here is a COLLABORATOR by author_association; only the value decides."""
    bot = open_veto_pr(world, approvers={"permission": "maintain"})
    world.comment(bot.forge, "bob", 1, "/approve")  # write < maintain
    assert not world.gh.pull(1)["merged"]
    assert any("needs `maintain` permission (you have write)" in c for c in world.bot_comments(1))
    world.gh.set_permission("stranger", "none")
    world.comment(bot.forge, "stranger", 1, "/approve")
    assert not world.gh.pull(1)["merged"]
    world.comment(bot.forge, "alice", 1, "/approve")  # maintain
    assert world.gh.pull(1)["merged"]


def test_approvers_users_narrow_who_may_command(world: World) -> None:
    bot = open_veto_pr(world, approvers={"permission": "write", "users": ["alice"]})
    world.comment(bot.forge, "bob", 1, "/approve")
    assert not world.gh.pull(1)["merged"]
    assert any("is limited to @alice" in c for c in world.bot_comments(1))
    world.comment(bot.forge, "alice", 1, "/approve")
    assert world.gh.pull(1)["merged"]


def test_edited_and_deleted_comments_and_the_bots_own_never_count(world: World) -> None:
    bot = open_veto_pr(world)
    world.gh.add_comment_as("alice", 1, "looks fine")
    assert "ignored: comment edited" in world.comment(bot.forge, "alice", 1, "/approve", action="edited")
    assert "ignored: comment deleted" in world.comment(bot.forge, "alice", 1, "", action="deleted")
    assert "ignored: comment by a bot" in world.comment(bot.forge, BOT, 1, "/approve")
    assert "ignored: no command" in world.comment(bot.forge, "alice", 1, "great, thanks")
    assert world.gh.pull(1)["state"] == "open" and not world.gh.pull(1)["merged"]


def test_redelivered_webhooks_act_once(world: World) -> None:
    bot = open_veto_pr(world)
    payload = world.gh.add_comment_as("alice", 1, "/hold")
    first = world.deliver(bot.forge, payload)
    again = world.deliver(bot.forge, payload)  # a new X-GitHub-Delivery for the same comment
    assert first == (202, "queued") and again == (200, "duplicate")
    bot.forge.loop.drain()
    assert bot.forge.loop.drain() == []
    assert sum("Clock stopped" in c for c in world.bot_comments(1)) == 1


def test_commands_on_prs_the_bot_did_not_open_are_ignored(world: World) -> None:
    bot = open_veto_pr(world)
    world.remote.pull()
    git(world.remote.dev, "checkout", "--quiet", "-b", "human")
    world.remote.commit({"README.md": "hi\n"}, "Docs", push=False)
    git(world.remote.dev, "push", "--quiet", "origin", "human")
    copied = world.gh.issues[1].body or ""  # someone pastes the bot's ticket into their own PR
    number = world.gh.open_pull_as("alice", "human", "Docs", copied)
    world.gh.issues[number].labels.append("rollback")
    assert "not an open gitops-bot rollback" in world.comment(bot.forge, "alice", number, "/approve")
    world.clock.advance(hours=1)
    assert not world.gh.pull(number)["merged"]
    assert [line for line in bot.forge.loop.tick() if f"#{number}" in line] == []


def test_restart_during_the_veto_window_resumes_the_clock_from_github(world: World) -> None:
    first = open_veto_pr(world, "5m")
    world.clock.advance(minutes=1)
    world.comment(first.forge, "alice", 1, "/hold")
    del first  # the process dies; nothing of it survives but GitHub and git
    replica = world.replica("restarted", policy=veto_policy("5m"))
    world.clock.advance(hours=3)
    assert replica.forge.loop.tick() == ["#1: none (held)"]
    world.comment(replica.forge, "bob", 1, "/unhold")
    world.clock.advance(minutes=4)
    assert replica.forge.loop.tick()[0].startswith("merged #1")
    assert world.main_trailers()["Approved-By"] == "veto-window-expired"


def test_a_delivery_accepted_before_a_crash_is_handled_after_restart(world: World) -> None:
    bot = open_veto_pr(world)
    payload = world.gh.add_comment_as("alice", 1, "/approve")
    assert world.deliver(bot.forge, payload) == (202, "queued")  # then kill -9 before the loop ran
    inbox = Inbox(world.root / "bot" / "inbox")
    assert [key for key, _ in inbox.pending()] == [f"comment-{payload['comment']['id']}"]
    restarted = world.replica("bot2", policy=veto_policy())
    restarted.forge.inbox = inbox
    restarted.forge.bind(restarted.engine)
    restarted.forge.loop.run_once()
    assert world.gh.pull(1)["merged"] and inbox.pending() == []
    assert world.deliver(restarted.forge, payload) == (200, "duplicate")


def test_approval_mode_hold_has_no_clock(world: World) -> None:
    world.ship_rogue()
    bot = world.replica(policy=make_policy(action={"mode": "approval"}))
    bot.alert()
    world.comment(bot.forge, "alice", 1, "/hold")
    assert any("nothing to hold" in c for c in world.bot_comments(1))
    assert HELD not in world.labels(1)
