"""Pure naming and decision rules of the Argo Workflows executor."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from gitops_bot.core.workflow import (
    ApproveNode,
    WorkflowView,
    after_conflict,
    approval_due,
    format_deadline,
    parse_deadline,
    workflow_base_name,
    workflow_name,
)

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
T = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def view(phase: str = "Running", approve: ApproveNode | None = None, deadline: str = "") -> WorkflowView:
    return WorkflowView("rollback-x-0123456789", phase, T, {"deadline": deadline}, approve)


def test_names_are_deterministic_valid_and_within_63_characters_even_with_a_suffix() -> None:
    long_agent = "Customer_Support.Escalation-Agent-" + "x" * 200
    for agent in ("billing-agent", long_agent, "___", "A"):
        base = workflow_base_name(agent, "2026.06.0", "agents")
        assert base == workflow_base_name(agent, "2026.06.0", "agents")
        for attempt in (1, 9):
            name = workflow_name(base, attempt)
            assert len(name) <= 63 and DNS_LABEL.fullmatch(name), name
    assert workflow_base_name("billing-agent", "2026.06.0", "agents").startswith("rollback-billing-agent-")


def test_agents_sharing_a_long_prefix_and_different_versions_or_policies_get_different_names() -> None:
    prefix = "a" * 100
    names = {
        workflow_base_name(prefix + "1", "v1", "agents"),
        workflow_base_name(prefix + "2", "v1", "agents"),
        workflow_base_name(prefix + "1", "v2", "agents"),
        workflow_base_name(prefix + "1", "v1", "critical"),
        workflow_base_name(prefix + "1", None, "agents"),
        workflow_base_name(prefix + "1", "v1", "agents", {"env": "prod"}),
        workflow_base_name(prefix + "1", "v1", "agents", {"env": "staging"}),
    }
    assert len(names) == 7
    assert workflow_base_name("a", "v1", "p", {"env": "prod", "region": "eu"}) == workflow_base_name(
        "a", "v1", "p", {"region": "eu", "env": "prod"}
    )


def test_suffix_attempts_are_bounded() -> None:
    assert workflow_name("rollback-a-0123456789", 2) == "rollback-a-0123456789-2"
    with pytest.raises(ValueError, match="outside"):
        workflow_name("rollback-a-0123456789", 10)


@pytest.mark.parametrize(
    ("phase", "alert_started", "verdict"),
    [
        ("", T + timedelta(hours=1), "same"),  # Pending: in flight
        ("Running", T + timedelta(hours=1), "same"),
        ("Succeeded", T - timedelta(minutes=3), "same"),  # Alertmanager repeating the answered alert
        ("Failed", T - timedelta(minutes=3), "same"),  # vetoed: a repeat must not resubmit
        ("Succeeded", T + timedelta(minutes=1), "next"),  # the version came back: a new episode
        ("Error", T + timedelta(minutes=1), "next"),
    ],
)
def test_after_a_conflict(phase: str, alert_started: datetime, verdict: str) -> None:
    assert after_conflict(view(phase), alert_started) == verdict


def test_the_deadline_resumes_only_a_waiting_unheld_approve_node() -> None:
    deadline = format_deadline(T)
    waiting = ApproveNode("Running", held_by="", approved_by="")
    assert approval_due(view(approve=waiting, deadline=deadline), T) is True
    assert approval_due(view(approve=waiting, deadline=deadline), T - timedelta(seconds=1)) is False
    assert approval_due(view(approve=waiting, deadline=""), T + timedelta(days=9)) is False  # approval mode
    held = ApproveNode("Running", held_by="carol", approved_by="")
    assert approval_due(view(approve=held, deadline=deadline), T + timedelta(days=9)) is False
    assert approval_due(view(approve=ApproveNode("Succeeded", "", ""), deadline=deadline), T) is False
    assert approval_due(view(approve=None, deadline=deadline), T) is False  # still planning


def test_deadline_round_trip_and_refusals() -> None:
    assert parse_deadline(format_deadline(T)) == T and parse_deadline("") is None
    assert format_deadline(T + timedelta(microseconds=1)) == "2026-12-01T12:00:01Z"  # never early
    with pytest.raises(ValueError, match="not RFC 3339"):
        parse_deadline("tomorrow")
    with pytest.raises(ValueError, match="no time zone"):
        parse_deadline("2026-12-01T12:00:00")
