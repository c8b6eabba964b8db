"""Kill the real `gitops-bot serve` at every registered crash point, restart it, and count.

Each scenario arms GITOPS_BOT_CRASHPOINT, drives a rollback until the process exits with 137 at
that point, restarts the bot without it (Alertmanager and GitHub redeliver what was never
answered), and then judges on the bare remote and the GitHub stand-in: exactly one rollback
commit, or exactly one merged PR and no orphaned branch or PR, or exactly one recorded veto.
The matrix is built from REGISTRY, so a crash point added later fails here until it has a scenario.
"""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gitops_bot.app.crashpoints import REGISTRY, Point
from gitops_bot_lab.fakes.github import FakeGitHub
from tests.e2e.crashlab import GOOD, Lab, until
from tests.gitfix import make_remote

AUTO: dict[str, Any] = {"mode": "auto"}
SHORT_VETO: dict[str, Any] = {"mode": "veto-window", "vetoWindow": "1s"}
LONG_VETO: dict[str, Any] = {"mode": "veto-window", "vetoWindow": "1h", "approvers": {"permission": "write"}}


# -- what a good ending looks like ------------------------------------------------------------


def one_rollback(lab: Lab) -> None:
    until("every accepted alert handled", lambda: lab.pending() == 0)
    assert len(lab.rollbacks_on_main()) == 1, lab.rollbacks_on_main()
    assert f"{GOOD}" in lab.remote.show("agents/billing-agent/deployment.yaml")


def one_merged_pr(lab: Lab) -> None:
    until("the rollback PR merged", lambda: any(p["merged"] for p in lab.pulls()))
    until("every accepted alert and webhook handled", lambda: lab.pending() == 0)
    pulls = lab.pulls()
    assert [p["number"] for p in pulls if p["merged"]] == [1], pulls
    assert [p["number"] for p in pulls if p["state"] == "open"] == [], "an orphaned open PR"
    assert len(lab.rollbacks_on_main()) == 1, lab.rollbacks_on_main()
    with_pr = {p["head"]["ref"] for p in pulls}
    assert set(lab.rollback_branches()) <= with_pr, "a rollback branch nobody opened a PR for"
    assert {"rollback", "agent/billing-agent"} <= lab.labels(1)


def one_veto(lab: Lab) -> None:
    until("the vetoed PR closed", lambda: lab.pulls()[0]["state"] == "closed")
    until("every accepted alert and webhook handled", lambda: lab.pending() == 0)
    pulls = lab.pulls()
    assert len(pulls) == 1 and not pulls[0]["merged"], pulls
    assert len(lab.tags("gitops-bot/vetoed/")) == 1
    assert lab.rollbacks_on_main() == [] and lab.rollback_branches() == []
    assert "rollback/vetoed" in lab.labels(1)


# -- scenarios: drive until the armed process dies, restart, redeliver what was not answered ------


def alert_then_restart(point: Point) -> Callable[[Lab], None]:
    """The alert path: the crash happens inside the worker (or before the 2xx)."""

    def run(lab: Lab) -> None:
        lab.ship_rogue()
        lab.serve(crash=point)
        answered = lab.alert()
        lab.crashed()
        lab.serve()
        if answered is None:  # no 2xx: Alertmanager sends the group again
            assert lab.alert() == 200

    return run


def recovery_then_restart(lab: Lab) -> None:
    lab.ship_rogue()
    lab.serve(crash=Point.AFTER_RECOVERY_TAG)
    assert lab.alert() == 200
    until("the rollback", lambda: len(lab.rollbacks_on_main()) == 1)
    until("its recovery watch", lambda: lab.pending() == 0)  # the watch starts before the entry clears
    assert lab.alert("resolved") == 200
    lab.crashed()
    lab.serve()
    until("the journal drained", lambda: lab.pending() == 0)
    assert len(lab.tags("gitops-bot/recovery/")) == 1


def command_then_restart(point: Point, *commands: str) -> Callable[[Lab], None]:
    """The PR path: a PR waits for people; the last command's handling meets the crash point."""

    def run(lab: Lab) -> None:
        lab.ship_rogue()
        lab.serve(crash=point)
        assert lab.alert() == 200
        until("the labelled PR", lambda: "rollback/veto-window" in lab.labels(1))
        for text in commands[:-1]:
            assert lab.deliver(lab.comment("alice", text)) == 202
        last = lab.comment("alice", commands[-1])
        answered = lab.deliver(last)
        lab.crashed()
        lab.serve()
        if answered is None:  # no 2xx: GitHub redelivers the same delivery
            assert lab.deliver(last) == 200  # stored before the crash: a duplicate now
        if commands[-1] == "/hold":
            until("the held label rewritten", lambda: "rollback/held" in lab.labels(1))
            assert lab.deliver(lab.comment("alice", "/approve")) == 202

    return run


Scenario = tuple[str, dict[str, Any], Callable[[Lab], None], Callable[[Lab], None]]
SCENARIOS: dict[Point, list[Scenario]] = {
    Point.AFTER_JOURNAL_WRITE: [
        ("local", AUTO, alert_then_restart(Point.AFTER_JOURNAL_WRITE), one_rollback),
        ("github", AUTO, alert_then_restart(Point.AFTER_JOURNAL_WRITE), one_merged_pr),
    ],
    Point.AFTER_LOCAL_COMMIT: [
        ("local", AUTO, alert_then_restart(Point.AFTER_LOCAL_COMMIT), one_rollback),
        ("github", SHORT_VETO, alert_then_restart(Point.AFTER_LOCAL_COMMIT), one_merged_pr),
    ],
    Point.AFTER_PUSH: [("local", AUTO, alert_then_restart(Point.AFTER_PUSH), one_rollback)],
    Point.AFTER_RECOVERY_TAG: [("local", AUTO, recovery_then_restart, one_rollback)],
    Point.AFTER_BRANCH_PUSH: [
        ("github", SHORT_VETO, alert_then_restart(Point.AFTER_BRANCH_PUSH), one_merged_pr),
        ("github", AUTO, alert_then_restart(Point.AFTER_BRANCH_PUSH), one_merged_pr),
    ],
    Point.AFTER_PR_CREATE: [
        ("github", SHORT_VETO, alert_then_restart(Point.AFTER_PR_CREATE), one_merged_pr),
        ("github", AUTO, alert_then_restart(Point.AFTER_PR_CREATE), one_merged_pr),
    ],
    Point.AFTER_LABELS: [("github", SHORT_VETO, alert_then_restart(Point.AFTER_LABELS), one_merged_pr)],
    Point.BEFORE_MERGE: [("github", AUTO, alert_then_restart(Point.BEFORE_MERGE), one_merged_pr)],
    Point.AFTER_MERGE: [("github", AUTO, alert_then_restart(Point.AFTER_MERGE), one_merged_pr)],
    Point.AFTER_TICKET: [
        ("github", LONG_VETO, command_then_restart(Point.AFTER_TICKET, "/hold"), one_merged_pr)
    ],
    Point.AFTER_VETO_TAG: [
        ("github", LONG_VETO, command_then_restart(Point.AFTER_VETO_TAG, "/veto too risky"), one_veto)
    ],
    Point.INBOX_AFTER_WRITE: [
        ("github", LONG_VETO, command_then_restart(Point.INBOX_AFTER_WRITE, "/approve"), one_merged_pr)
    ],
    Point.INBOX_BEFORE_DONE: [
        ("github", LONG_VETO, command_then_restart(Point.INBOX_BEFORE_DONE, "/approve"), one_merged_pr)
    ],
}


def _cases() -> Iterator[object]:
    for point in REGISTRY:
        scenarios = SCENARIOS.get(point)
        if not scenarios:  # a registered point nobody wrote a scenario for fails, never skips
            yield pytest.param(point, None, id=f"{point.value}-MISSING")
            continue
        for mode, action, drive, judge in scenarios:
            label = "auto" if action == AUTO else str(action["vetoWindow"])
            yield pytest.param(point, (mode, action, drive, judge), id=f"{point.value}-{mode}-{label}")


def test_every_registered_crash_point_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(REGISTRY), set(REGISTRY) ^ set(SCENARIOS)


@pytest.mark.parametrize(("point", "scenario"), list(_cases()))
def test_killed_at_crash_point_and_restarted_rolls_back_exactly_once(
    tmp_path: Path, point: Point, scenario: Scenario | None
) -> None:
    assert scenario is not None, f"crash point {point.value} has no scenario in SCENARIOS"
    mode, action, drive, judge = scenario
    remote = make_remote(tmp_path, {"billing-agent": GOOD, "support-bot": "v1.9.3"})
    gh = FakeGitHub(remote.bare, owner="acme", repo="agents-gitops", permissions={"alice": "write"})
    lab = Lab(tmp_path / "bot", remote, gh if mode == "github" else None)
    lab.root.mkdir()
    with gh:
        lab.configure(action, recovery_poll="100ms")  # the stand-in's URL is known once it serves
        try:
            drive(lab)
            judge(lab)
        finally:
            lab.stop()
    assert gh.contract_errors == [], gh.contract_errors
