"""When GitHub says no or falls over: 405/409/422/403/429/502, replicas racing, and the stale guard."""

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from gitops_bot.adapters.journal import Journal
from gitops_bot.app.engine import Outcome
from gitops_bot.app.service import Bot
from gitops_bot.core.culprit import Verdict
from gitops_bot.core.errors import GitHubError
from gitops_bot.core.github.pr_state import AUTO_MERGE, BLOCKED, OBSOLETE
from gitops_bot.core.route import Routed
from tests.conftest import CONTRACTS, make_alert, make_policy
from tests.forge.conftest import ROGUE, Replica, World, veto_policy
from tests.gitfix import agent_files, deployment, git

MERGE = r"^/repos/acme/agents-gitops/pulls/1/merge$"


def approval(world: World, **action: Any) -> Replica:
    world.ship_rogue()
    bot = world.replica(policy=make_policy(action={"mode": "approval", **action}))
    assert bot.alert().kind == "proposed"
    return bot


def test_required_checks_arm_auto_merge_which_lands_with_the_trailers(world: World) -> None:
    world.gh.require_checks = True
    culprit = world.ship_rogue()
    bot = world.replica()
    outcome = bot.alert()
    assert "auto-merge armed" in outcome.reason
    assert AUTO_MERGE in world.labels(1) and not world.gh.pull(1)["merged"]
    assert any(
        'refused the merge (405): GitHub merge #1: 405 Required status check "ci"' in c
        for c in world.bot_comments(1)
    )
    assert bot.forge.loop.tick() == ["#1: none (GitHub auto-merge is armed)"]
    world.gh.add_status(world.gh.pull(1)["head"]["sha"], "success", "ci")
    assert world.gh.pull(1)["merged"]
    trailers = world.main_trailers()
    assert trailers["Rollback-Of"] == culprit and trailers["Approved-By"] == "auto"


def test_merge_refused_without_auto_merge_is_left_to_people(world: World) -> None:
    world.gh.require_checks = True
    world.gh.automerge_error = "Pull request Auto merge is not allowed for this repository"
    bot = approval(world)
    world.comment(bot.forge, "alice", 1, "/approve")
    assert BLOCKED in world.labels(1) and not world.gh.pull(1)["merged"]
    assert any(
        "Auto merge is not allowed" in c and "Leaving this to people" in c for c in world.bot_comments(1)
    )
    world.clock.advance(hours=1)
    assert bot.forge.loop.tick() == ["#1: none (blocked: left to people)"]
    world.gh.add_status(world.gh.pull(1)["head"]["sha"], "success", "ci")
    world.comment(bot.forge, "bob", 1, "/approve")  # people fixed it: /approve tries again
    assert world.gh.pull(1)["merged"] and world.main_trailers()["Approved-By"] == "bob"


def test_a_conflict_is_blocked(world: World) -> None:
    bot = approval(world)
    world.remote.pull()
    pinned = deployment("billing-agent", ROGUE, comment="pinned by the on-call")
    world.remote.commit({"agents/billing-agent/deployment.yaml": pinned}, "Note the pin")  # same version
    world.comment(bot.forge, "alice", 1, "/approve")
    assert BLOCKED in world.labels(1) and not world.gh.pull(1)["merged"]
    assert any("(405)" in c and "merge conflicts" in c for c in world.bot_comments(1))


def test_409_head_moved_answer_is_retried_once_when_the_head_is_ours(world: World) -> None:
    bot = approval(world)
    world.gh.fail_next("PUT", MERGE, 409)
    world.comment(bot.forge, "alice", 1, "/approve")
    assert world.gh.pull(1)["merged"] and world.main_trailers()["Approved-By"] == "alice"
    assert [c.status for c in world.gh.calls_to("PUT", MERGE)] == [409, 200]


def test_a_human_push_to_the_rollback_branch_blocks_the_merge(world: World) -> None:
    bot = approval(world)
    head = world.remote.remote_head()
    branch = world.gh.pull(1)["head"]["ref"]
    world.gh.commit_files(
        branch, {"agents/billing-agent/agent.yaml": "sneaky: true\n"}, "Sneak", author="mallory"
    )
    world.comment(bot.forge, "alice", 1, "/approve")
    assert BLOCKED in world.labels(1) and world.remote.remote_head() == head
    assert world.gh.calls_to("PUT", MERGE) == []


def test_422_with_githubs_recorded_error_body_is_left_to_people(world: World) -> None:
    recorded = json.loads((CONTRACTS / "github" / "recorded" / "errors.json").read_text())[0]["response"]
    bot = approval(world)
    world.gh.automerge_error = "Pull request Auto merge is not allowed for this repository"
    world.gh.fail_next("PUT", MERGE, 422, body=recorded)
    world.comment(bot.forge, "alice", 1, "/approve")
    assert BLOCKED in world.labels(1)
    assert any(
        "(422)" in c and "Validation Failed: resource=Label field=color code=invalid" in c
        for c in world.bot_comments(1)
    )


def test_rate_limits_and_5xx_are_retried_within_the_bound(world: World) -> None:
    world.ship_rogue()
    bot = world.replica()
    world.gh.fail_next("POST", r"/pulls$", 403)  # primary limit: x-ratelimit-remaining 0, reset in 60 s
    world.gh.fail_next("POST", r"/issues/1/labels$", 429)  # secondary limit: retry-after 1
    world.gh.fail_next("PUT", MERGE, 502, times=2)
    outcome = bot.alert()
    assert outcome.kind == "rolled_back" and world.gh.pull(1)["merged"]
    assert len(bot.sleeps) == 4 and 55 <= bot.sleeps[0] <= 62 and bot.sleeps[1:] == [1.0, 1.0, 2.0]
    assert list(world.gh.issues) == [1]


def test_a_plain_403_is_not_retried(world: World) -> None:
    world.ship_rogue()
    bot = world.replica()
    body = {
        "message": "Resource not accessible by integration",
        "documentation_url": "https://docs.github.com",
    }
    world.gh.fail_next("POST", r"/pulls$", 403, body=body, headers={"x-ratelimit-remaining": "4999"})
    with pytest.raises(GitHubError, match="403 Resource not accessible by integration") as refused:
        bot.alert()
    assert refused.value.status == 403 and bot.sleeps == [] and world.gh.issues == {}


def test_an_outage_beyond_the_bound_keeps_the_alert_and_never_doubles(world: World, tmp_path: Path) -> None:
    world.ship_rogue()
    bot = world.replica()
    service = Bot(bot.engine, Journal(tmp_path / "journal"), retries=0, requeue_after=3600)
    entry = service.journal.append(make_alert("billing-agent", ROGUE))
    world.gh.fail_next("PUT", MERGE, 502, times=5)  # the PR opens, then every merge try gets a 502
    assert service.process(entry).kind == "failed"
    assert [e.id for e in service.journal.pending()] == [entry.id]
    assert len(bot.sleeps) == 4 and not world.gh.pull(1)["merged"]
    again = service.process(entry)  # the requeue after GitHub recovered
    assert again.kind == "rolled_back" and "reused" in again.reason
    assert service.journal.pending() == [] and list(world.gh.issues) == [1] and world.gh.pull(1)["merged"]


def test_a_retried_comment_post_is_not_doubled(world: World) -> None:
    world.ship_rogue()
    bot = world.replica(policy=veto_policy())
    world.gh.fail_next("POST", r"/issues/1/comments$", 502)
    bot.alert()
    assert len(world.bot_comments(1)) == 1 and bot.sleeps == [1.0]


@pytest.mark.parametrize("mode", ["auto", "veto-window"])
def test_two_replicas_at_once_make_one_branch_and_one_pr(world: World, mode: str) -> None:
    world.ship_rogue()
    policy = make_policy(action={"mode": mode})
    replicas = [world.replica(f"r{i}", policy=policy) for i in range(2)]
    start = threading.Barrier(2)
    outcomes: list[Outcome] = []

    def run(replica: Replica) -> None:
        start.wait()
        outcomes.append(replica.alert())

    threads = [threading.Thread(target=run, args=(r,)) for r in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    landed = "rolled_back" if mode == "auto" else "proposed"
    assert sorted((o.kind, o.code) for o in outcomes) == [("ignored", "duplicate"), (landed, None)], outcomes
    assert list(world.gh.issues) == [1]
    assert len(git(world.remote.bare, "branch", "--list", "gitops-bot/*").split()) == 1
    rollbacks = git(world.remote.bare, "log", "--first-parent", "--format=%s", "main").count("Roll back ")
    assert rollbacks == (1 if mode == "auto" else 0)
    assert len(world.gh.calls_to("PUT", MERGE)) <= 2  # the loser's merge is refused by the sha/state guard


def test_stale_guard_closes_the_pr_when_the_culprit_is_no_longer_current(world: World) -> None:
    world.ship_rogue()
    bot = world.replica(policy=veto_policy("5m"))
    bot.alert()
    world.remote.pull()
    world.remote.commit(agent_files("billing-agent", "2026.06.1"), "Hotfix billing 2026.06.1")
    head = world.remote.remote_head()
    world.clock.advance(minutes=5)
    [done] = bot.forge.loop.tick()
    assert done.startswith("closed #1: stale")
    pr = world.gh.pull(1)
    assert pr["state"] == "closed" and not pr["merged"] and world.remote.remote_head() == head
    assert any("Closing without merging: stale" in c for c in world.bot_comments(1))
    assert git(world.remote.bare, "branch", "--list", "gitops-bot/*") == ""


@pytest.mark.parametrize(("kind", "closed"), [("ignore", True), ("hold", False)])
def test_pre_act_gate_at_the_deadline(world: World, kind: str, closed: bool) -> None:
    world.ship_rogue()
    bot = world.replica(policy=veto_policy("5m"))
    bot.alert()
    asked: list[Routed] = []

    def gate(routed: Routed) -> tuple[Verdict | None, str]:
        asked.append(routed)
        return Verdict(kind, "no longer active in Alertmanager", "resolved"), ""

    bot.engine.gate = gate
    world.clock.advance(minutes=6)
    bot.forge.loop.tick()
    assert asked and asked[0].alert == make_alert("billing-agent", ROGUE, started=asked[0].alert.starts_at)
    assert (world.gh.pull(1)["state"] == "closed") is closed and not world.gh.pull(1)["merged"]
    if closed:  # the bot closed it as obsolete: the same alert firing again may open a fresh PR
        assert OBSOLETE in world.labels(1)
        bot.engine.gate = None
        assert bot.alert().kind == "proposed" and list(world.gh.issues) == [1, 2]
