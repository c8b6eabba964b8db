"""Quarantine: a PR that brings a rolled-back version back gets a failing gitops-bot/quarantine status."""

from gitops_bot.app.policy_files import load_policies
from tests.forge.conftest import ROGUE, World
from tests.gitfix import agent_files
from tests.layouts.layouts import FIXTURES

CONTEXT = "gitops-bot/quarantine"


def statuses(world: World, sha: str) -> list[tuple[str, str | None]]:
    return [(s.state, s.description) for s in world.gh.statuses if s.sha == sha and s.context == CONTEXT]


def open_human_pr(world: World, branch: str, files: dict[str, str], title: str) -> tuple[int, str]:
    sha = world.gh.commit_files(branch, files, title, parent=world.gh.branch_sha("main"), author="dana")
    return world.gh.open_pull_as("dana", branch, title), sha


def test_a_pr_reintroducing_a_rolled_back_version_fails_the_quarantine_status(world: World) -> None:
    world.ship_rogue()
    bot = world.replica()
    assert bot.alert().kind == "rolled_back"
    rollback = world.gh.branch_sha("main")
    assert rollback is not None

    number, head = open_human_pr(
        world, "rerelease", agent_files("billing-agent", ROGUE), "Try 2026.06.0 again"
    )
    assert world.deliver(bot.forge, world.gh.pull_request_event(number, "opened"), "pull_request") == (
        202,
        "queued",
    )
    assert bot.forge.loop.drain() == [f"#{number}: quarantine failure"]
    [(state, text)] = statuses(world, head)
    assert state == "failure" and text is not None
    assert (
        f"reintroduces billing-agent {ROGUE}, rolled back in {rollback[:12]} (AgentPolicyViolations)" == text
    )

    fixed = world.gh.commit_files(
        "rerelease", agent_files("billing-agent", "2026.06.1"), "Use the fixed build"
    )
    world.deliver(bot.forge, world.gh.pull_request_event(number, "synchronize"), "pull_request")
    bot.forge.loop.drain()
    assert statuses(world, fixed) == [("success", "no rolled-back agent version reintroduced")]
    assert statuses(world, head) == [("failure", text)]  # the old head keeps its verdict


def test_other_agents_and_other_events_pass(world: World) -> None:
    world.ship_rogue()
    bot = world.replica()
    bot.alert()
    number, head = open_human_pr(world, "support", agent_files("support-bot", ROGUE), "support-bot 2026.06.0")
    world.deliver(bot.forge, world.gh.pull_request_event(number, "opened"), "pull_request")
    bot.forge.loop.drain()
    assert statuses(world, head) == [("success", "no rolled-back agent version reintroduced")]
    status, said = world.deliver(bot.forge, world.gh.pull_request_event(number, "labeled"), "pull_request")
    assert (status, said) == (200, "ignored: pull_request labeled")


def test_before_any_rollback_nothing_is_quarantined(world: World) -> None:
    bot = world.replica()
    number, head = open_human_pr(world, "release", agent_files("billing-agent", ROGUE), "Release 2026.06.0")
    world.deliver(bot.forge, world.gh.pull_request_event(number, "opened"), "pull_request")
    bot.forge.loop.drain()
    assert statuses(world, head) == [("success", "no rolled-back agent version reintroduced")]


def test_a_shared_kustomize_overlay_bringing_the_version_back_fails_too(world: World) -> None:
    overlay = "overlays/prod/kustomization.yaml"
    source = (FIXTURES / "kustomize" / "repo" / overlay).read_text()
    world.remote.pull()
    world.remote.commit({overlay: source}, "Add the prod overlay")
    world.remote.commit(
        {overlay: source.replace('newTag: "1.4.0"', 'newTag: "1.5.0"')}, "Release billing 1.5.0"
    )
    policy = load_policies(FIXTURES / "kustomize")[0]
    bot = world.replica(policy=policy)
    assert bot.alert("1.5.0").kind == "rolled_back"
    again = source.replace('newTag: "1.4.0"', 'newTag: "1.5.0"').replace("count: 3", "count: 4")
    number, head = open_human_pr(world, "again", {overlay: again}, "billing 1.5.0 again")
    world.deliver(bot.forge, world.gh.pull_request_event(number, "opened"), "pull_request")
    assert bot.forge.loop.drain() == [f"#{number}: quarantine failure"]
    [(state, text)] = statuses(world, head)
    assert state == "failure" and text is not None and "reintroduces billing-agent 1.5.0" in text
