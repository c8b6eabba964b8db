"""Every step of a GitHub rollback resumes from what GitHub and git show, not from a second write."""

import pytest

from gitops_bot.app.crashpoints import NEVER, CrashPoints, Point, from_env
from gitops_bot.core.errors import ConfigError, GitHubError
from gitops_bot.core.github.pr_state import Ticket, expected_labels
from tests.forge.conftest import GOOD, World, veto_policy
from tests.gitfix import agent_files, git


def test_a_pr_left_without_labels_is_found_labelled_and_merged_by_the_loop(world: World) -> None:
    world.ship_rogue()
    bot = world.replica(policy=veto_policy("5m", labels=["sev-warning"]))
    world.gh.fail_next("POST", r"/issues/1/labels$", 422, times=1)  # the labelling never happens
    with pytest.raises(GitHubError, match="label #1: 422"):  # the worker keeps the alert journaled
        bot.alert()
    assert world.labels(1) == set()
    bot.forge.loop.tick()
    assert world.labels(1) == {"rollback", "agent/billing-agent", "rollback/veto-window", "sev-warning"}
    assert not world.gh.pull(1)["merged"]
    world.clock.advance(minutes=6)
    bot.forge.loop.tick()
    assert world.gh.pull(1)["merged"]
    assert world.main_trailers()["Approved-By"] == "veto-window-expired"


def test_the_replayed_alert_finds_the_open_pr_and_opens_no_second_one(world: World) -> None:
    world.ship_rogue()
    bot = world.replica(policy=veto_policy("5m"))
    world.gh.fail_next("POST", r"/issues/1/labels$", 422, times=1)
    with pytest.raises(GitHubError):
        bot.alert()
    again = bot.alert()  # the journal's replay after a restart
    assert again.kind == "ignored" and again.code == "duplicate"
    assert list(world.gh.issues) == [1]


def test_a_copied_ticket_in_someone_elses_pr_is_not_advanced(world: World) -> None:
    world.ship_rogue()
    bot = world.replica(policy=veto_policy("1s"))
    bot.alert()
    body = world.gh.issues[1].body or ""
    world.gh.commit_files("gitops-bot/rollback/billing-agent/copycat", {"x.txt": "x"}, "copy")
    number = world.gh.open_pull_as("mallory", "gitops-bot/rollback/billing-agent/copycat", "copy", body)
    world.clock.advance(minutes=1)
    bot.forge.loop.tick()
    assert world.gh.pull(1)["merged"] and not world.gh.pull(number)["merged"]
    assert world.labels(number) == set()


def test_a_veto_recorded_in_git_stops_the_merge_even_if_the_pr_was_never_closed(world: World) -> None:
    culprit = world.ship_rogue()
    bot = world.replica(policy=veto_policy("1s"))
    bot.alert()
    tag = f"gitops-bot/vetoed/billing-agent/{culprit[:12]}"
    sealed = bot.engine.trusted.seal(
        tag, culprit, "Vetoed by alice\n\nVetoed-By: alice\n"
    )  # as the bot seals it
    git(world.remote.dev, "tag", "-a", "-m", sealed, tag, culprit)
    git(world.remote.dev, "push", "--quiet", "origin", tag)
    world.clock.advance(minutes=1)
    bot.forge.loop.tick()
    pull = world.gh.pull(1)
    assert pull["state"] == "closed" and not pull["merged"]
    assert "rollback/vetoed" in world.labels(1)
    assert world.main_trailers().get("Rollback-Of") is None


def test_expected_labels_follow_the_ticket() -> None:
    ticket = Ticket("billing-agent", "c" * 40, "agents", "veto-window", "merge", "2", "1")
    assert expected_labels(ticket, ["sev"]) == {
        "rollback",
        "agent/billing-agent",
        "rollback/veto-window",
        "sev",
    }
    held = Ticket("a", "c" * 40, "p", "veto-window", "merge", "2", "1", held_remaining=30.0)
    assert "rollback/held" in expected_labels(held)


def test_crash_point_names_come_from_the_registry_only() -> None:
    assert from_env({}) is NEVER and from_env({"GITOPS_BOT_CRASHPOINT": " "}) is NEVER
    assert from_env({"GITOPS_BOT_CRASHPOINT": "after-pr-create"}) == CrashPoints(Point.AFTER_PR_CREATE)
    with pytest.raises(ConfigError, match=r"'after-lunch' is not a crash point .*after-pr-create"):
        from_env({"GITOPS_BOT_CRASHPOINT": "after-lunch"})


def test_a_branch_pushed_without_a_pr_gets_its_pr_from_the_loop(world: World) -> None:
    world.ship_rogue()
    bot = world.replica(policy=veto_policy("5m"))
    world.gh.fail_next("POST", r"/pulls$", 422)  # the branch is pushed, the PR never opens
    with pytest.raises(GitHubError):
        bot.alert()
    assert len(rollback_branches(world)) == 1 and world.gh.issues == {}
    bot.forge.loop.tick()
    assert world.gh.issues == {}  # a publisher may still be about to open it: not touched yet
    world.clock.advance(minutes=3)
    bot.forge.loop.tick()
    assert "rollback/veto-window" in world.labels(1)
    world.clock.advance(minutes=6)
    bot.forge.loop.tick()
    assert world.gh.pull(1)["merged"] and list(world.gh.issues) == [1]
    assert world.main_trailers()["Rollback-Agent"] == "billing-agent"


def test_an_orphan_branch_whose_rollback_is_no_longer_right_is_deleted(world: World) -> None:
    world.ship_rogue()
    bot = world.replica(policy=veto_policy("5m"))
    world.gh.fail_next("POST", r"/pulls$", 422)
    with pytest.raises(GitHubError):
        bot.alert()
    world.remote.pull()
    world.remote.commit(agent_files("billing-agent", GOOD), "Manual revert of billing 2026.06.0")
    world.clock.advance(minutes=3)
    bot.forge.loop.tick()
    assert rollback_branches(world) == [] and world.gh.issues == {}


def rollback_branches(world: World) -> list[str]:
    return git(
        world.remote.bare, "for-each-ref", "--format=%(refname)", "refs/heads/gitops-bot/rollback/"
    ).split()
