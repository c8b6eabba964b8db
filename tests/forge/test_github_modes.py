"""Each mode and merge method end to end: PyGithub against the fake GitHub over a real bare repo."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from gitops_bot.app.engine import Outcome
from gitops_bot.core.alerts import format_time
from gitops_bot.core.github.body import read_ticket
from gitops_bot.core.github.pr_state import Ticket
from gitops_bot.core.trailers import REF_KEYS, TRAILER_KEYS
from tests.conftest import TEST_KEYS, make_alert, make_policy
from tests.forge.conftest import BOT, GOOD, ROGUE, World, veto_policy
from tests.gitfix import agent_files, git

BRANCH_RE = r"^gitops-bot/rollback/billing-agent/[0-9a-f]{12}$"


def count_calls(world: World, what: str, act: Callable[[], Outcome]) -> tuple[Outcome, int]:
    world.gh.reset_calls()
    outcome = act()
    print(f"\nGitHub API calls for {what}: {len(world.gh.calls)}")
    for call in world.gh.calls:
        print(f"  {call.method} {call.path} -> {call.status}")
    return outcome, len(world.gh.calls)


def test_auto_mode_merges_at_once_in_at_most_8_api_calls(world: World) -> None:
    culprit = world.ship_rogue()
    bot = world.replica()
    outcome, first = count_calls(world, "the first auto rollback (labels created)", bot.alert)
    assert outcome.kind == "rolled_back", outcome.reason
    assert first <= 8
    pr = world.gh.pull(1)
    assert pr["merged"] and pr["head"]["ref"] == f"gitops-bot/rollback/billing-agent/{culprit[:12]}"
    assert {"rollback", "agent/billing-agent", "rollback/auto"} <= world.labels(1)
    assert f"billing-agent:{GOOD}" in world.main_file()
    trailers = world.main_trailers()
    assert tuple(trailers) == TRAILER_KEYS + REF_KEYS
    assert trailers["Rollback-Of"] == culprit and trailers["Approved-By"] == "auto"
    parents = git(world.remote.bare, "log", "-1", "--format=%P", "main").split()
    assert len(parents) == 2  # a merge commit whose own message carries the trailers

    world.remote.pull()
    world.remote.commit(agent_files("support-bot", "v2.0.0"), "Release support-bot v2.0.0")
    second, steady = count_calls(
        world, "a later auto rollback", lambda: bot.engine.handle(make_alert("support-bot", "v2.0.0"))
    )
    assert second.kind == "rolled_back", second.reason
    assert steady <= 5  # 4 once the agent's label exists too
    assert world.main_trailers()["Rollback-Agent"] == "support-bot"


def test_pr_body_shows_the_evidence(world: World) -> None:
    culprit = world.ship_rogue()
    world.replica(policy=make_policy(action={"mode": "approval"})).alert()
    body = world.gh.issues[1].body or ""
    alert = make_alert("billing-agent", ROGUE)
    for needle in (
        "AgentPolicyViolations",
        alert.annotations["summary"],
        format_time(alert.starts_at)[:16],
        "http://vm:9090/graph",
        culprit[:12],
        "Dana Developer",
        f"`{ROGUE}` → `{GOOD}`",
        f"-          image: registry.example.com/agents/billing-agent:{ROGUE}",
        "nothing merges until someone allowed comments `/approve`",
    ):
        assert needle in body, needle
    assert world.gh.issues[1].title == f"Roll back billing-agent {ROGUE} -> {GOOD} (AgentPolicyViolations)"


def test_veto_window_comments_the_deadline_and_merges_when_it_expires(world: World) -> None:
    world.ship_rogue()
    bot = world.replica(policy=veto_policy("5m"))
    outcome = bot.alert()
    assert outcome.kind == "proposed" and "merges at" in outcome.reason
    deadline = world.clock.now.replace(microsecond=0)
    deadline = deadline.__class__.fromtimestamp(deadline.timestamp() + 300, deadline.tzinfo)
    [comment] = world.bot_comments(1)
    assert f"merges at **{format_time(deadline)}**" in comment and "/veto" in comment
    assert {"rollback", "rollback/veto-window"} <= world.labels(1)
    world.clock.advance(minutes=4, seconds=59)
    assert bot.forge.loop.tick() == ["#1: wait (veto window open)"]
    assert not world.gh.pull(1)["merged"]
    world.clock.advance(seconds=1)
    [done] = bot.forge.loop.tick()
    assert done.startswith("merged #1")
    assert world.main_trailers()["Approved-By"] == "veto-window-expired"
    assert bot.forge.loop.tick() == []  # nothing open any more


def test_approval_waits_for_approve(world: World) -> None:
    world.ship_rogue()
    bot = world.replica(policy=make_policy(action={"mode": "approval"}))
    bot.alert()
    world.clock.advance(days=3)
    assert bot.forge.loop.tick() == ["#1: wait (waiting for /approve)"]
    assert not world.gh.pull(1)["merged"]
    world.comment(bot.forge, "bob", 1, "/approve")
    assert world.gh.pull(1)["merged"] and world.main_trailers()["Approved-By"] == "bob"
    branch_commit = world.gh.pull(1)["head"]["sha"]
    # Until approved, the branch commit said so; the landed commit names the approver.
    assert "Approved-By: pending" in git(world.remote.bare, "log", "-1", "--format=%B", branch_commit)


def test_dry_run_opens_nothing(world: World) -> None:
    world.ship_rogue()
    bot = world.replica(policy=make_policy(action={"mode": "dry-run"}))
    head = world.remote.remote_head()
    world.gh.reset_calls()
    outcome = bot.alert()
    assert outcome.kind == "planned" and outcome.plan is not None and outcome.plan.to_version == GOOD
    assert world.gh.calls == [] and world.gh.issues == {}
    assert world.remote.remote_head() == head
    assert git(world.remote.bare, "branch", "--list", "gitops-bot/*") == ""


@pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
def test_trailers_land_on_the_first_parent_commit_for_every_merge_method(world: World, method: str) -> None:
    culprit = world.ship_rogue()
    bot = world.replica(policy=make_policy(action={"mode": "approval", "mergeMethod": method}))
    bot.alert()
    world.comment(bot.forge, "alice", 1, "/approve")
    assert world.gh.pull(1)["merged"], world.bot_comments(1)
    trailers = world.main_trailers()
    assert tuple(trailers) == TRAILER_KEYS + REF_KEYS
    assert trailers["Rollback-Of"] == culprit and trailers["Approved-By"] == "alice"
    parents = git(world.remote.bare, "log", "-1", "--format=%P", "main").split()
    assert len(parents) == (2 if method == "merge" else 1)
    # The core loop reads bot rollbacks from first-parent trailers: limits and culprit rules see it.
    bot.engine.repo.sync()
    # GitHub's merge/squash/rebase commit proves itself by its own first-parent diff (finding 3).
    [record] = bot.engine.trusted.rollbacks(now=datetime.now(UTC))
    assert (record.agent, record.culprit, record.approved_by) == ("billing-agent", culprit, "alice")
    later = make_alert("billing-agent", None, started=datetime.now(UTC) + timedelta(seconds=5))
    again = bot.engine.handle(later)
    assert (again.kind, again.code) == ("escalated", "rollback_of_rollback"), again
    assert len(world.gh.issues) == 1


def test_redelivered_alert_reuses_the_open_pr(world: World) -> None:
    world.ship_rogue()
    bot = world.replica(policy=veto_policy())
    first = bot.alert()
    again = bot.alert()
    assert first.kind == "proposed"
    assert again.kind == "ignored" and again.code == "duplicate" and "already open" in again.reason
    assert list(world.gh.issues) == [1]
    assert len(world.bot_comments(1)) == 1
    branches = git(world.remote.bare, "branch", "--list", "gitops-bot/*").split()
    assert len(branches) == 1


def test_ticket_in_the_body_is_what_restarts_read(world: World) -> None:
    culprit = world.ship_rogue()
    world.replica(policy=veto_policy("10m")).alert()
    ticket = read_ticket(world.gh.issues[1].body or "", TEST_KEYS)
    assert isinstance(ticket, Ticket)
    assert (ticket.agent, ticket.culprit, ticket.mode, ticket.policy) == (
        "billing-agent",
        culprit,
        "veto-window",
        "agents",
    )
    assert ticket.deadline is not None and (ticket.deadline - world.clock.now).total_seconds() == 600
    assert ticket.alert["labels"]["version"] == ROGUE
    assert world.gh.issues[1].user == BOT


def test_fleet_breaker_is_counted_again_when_veto_windows_expire(world: World) -> None:
    world.ship_rogue()
    world.remote.commit(agent_files("support-bot", "v2.0.0"), "Release support-bot v2.0.0")
    policy = make_policy(
        action={"mode": "veto-window", "vetoWindow": "5m"},
        limits={"perAgent": {"max": 1, "window": "1h"}, "fleet": {"max": 1, "window": "1h"}},
    )
    bot = world.replica(policy=policy)
    assert bot.alert().kind == "proposed"
    assert bot.engine.handle(make_alert("support-bot", "v2.0.0")).kind == "proposed"  # nothing landed yet
    world.clock.advance(minutes=6)
    bot.forge.loop.tick()
    merged = [n for n in (1, 2) if world.gh.pull(n)["merged"]]
    assert len(merged) == 1, "the breaker must stop the second PR from merging"
    blocked = 3 - merged[0]
    assert "rollback/blocked" in world.labels(blocked)
    assert any("breaker open" in c for c in world.bot_comments(blocked))
