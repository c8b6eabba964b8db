"""Pure rules of the monitoring loop: PromQL escaping, the pre-act gate, recovery and bake judgements."""

from datetime import UTC, datetime, timedelta

import pytest

from gitops_bot.core.bake import alerts_query, bake_decision
from gitops_bot.core.gate import Evidence, decide_gate, on_error_default
from gitops_bot.core.promql import escape_string, render, template_problems
from gitops_bot.core.recovery import Watch, judge_watch, tag_message
from gitops_bot.core.trailers import parse_trailers
from tests.conftest import make_policy

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
STILL = 'ALERTS{alertname="{alertname}",agent="{agent}",alertstate="firing"}'


def test_crafted_label_values_cannot_escape_their_string() -> None:
    evil = 'x"} or vector(1) or up{a="'
    query = render(STILL, {"alertname": "AgentX", "agent": evil})
    assert query == 'ALERTS{alertname="AgentX",agent="x\\"} or vector(1) or up{a=\\"",alertstate="firing"}'
    assert escape_string("a\\b\nc") == "a\\\\b\\nc"


def test_placeholders_outside_quotes_are_refused_by_render_and_policy_check() -> None:
    assert template_problems("rate(x[5m]) > {threshold}") != []
    assert template_problems(STILL) == []
    with pytest.raises(ValueError):
        render("up > {agent}", {"agent": "1"})
    with pytest.raises(AssertionError, match=r"spec\.verify\.recovered"):
        make_policy(verify={"recovered": 'sum(up{job="x"}) < {agent}'})


@pytest.mark.parametrize(
    ("evidence", "on_error", "kind"),
    [
        (Evidence(am_state="active", still_firing=True), "hold", None),
        (Evidence(am_state="suppressed", still_firing=True), "proceed", "ignore"),
        (Evidence(am_state="gone"), "proceed", "ignore"),
        (Evidence(still_firing=False), "proceed", "ignore"),
        (Evidence(prometheus_error="connection refused"), "hold", "hold"),
        (Evidence(prometheus_error="connection refused"), "proceed", None),
        (Evidence(am_state="error", am_error="timeout", still_firing=True), "hold", "hold"),
        (Evidence(), "hold", None),  # nothing configured: act
    ],
)
def test_gate(evidence: Evidence, on_error: str, kind: str | None) -> None:
    verdict = decide_gate(evidence, on_error=on_error)
    assert (verdict.kind if verdict else None) == kind


def test_prometheus_outage_default_is_hold_unless_critical() -> None:
    assert on_error_default("warning", None) == "hold"
    assert on_error_default("critical", None) == "proceed"
    assert on_error_default("critical", "hold") == "hold"


def watch(deadline_minutes: int = 10) -> Watch:
    return Watch(
        "bot",
        "a" * 40,
        "fp",
        "AgentX",
        {"agent": "bot"},
        NOW - timedelta(minutes=3),
        NOW - timedelta(minutes=1),
        NOW + timedelta(minutes=deadline_minutes),
        None,
        None,
        "agents",
    )


def test_recovery_judgement_and_its_record() -> None:
    assert judge_watch(watch(), now=NOW, resolved=False, query_holds=None) is None
    assert judge_watch(watch(), now=NOW, resolved=False, query_holds=False) is None
    got = judge_watch(watch(), now=NOW, resolved=True, query_holds=False)
    assert got is not None and (got.status, got.signal) == ("recovered", "resolved-notification")
    late = judge_watch(watch(0), now=NOW, resolved=False, query_holds=False)
    assert late is not None and late.status == "timeout"
    record = parse_trailers(tag_message(watch(), got))
    assert record["Recovery"] == "recovered" and record["Alert-To-Recovery-Seconds"] == "180.0"
    assert record["Revert-To-Recovery-Seconds"] == "60.0"


def test_bake_decision() -> None:
    hour = timedelta(hours=1)
    args = {"now": NOW, "bake_time": hour, "already_tagged": False}
    assert bake_decision(since=NOW - 2 * hour, alert_seen=False, **args)[0]  # type: ignore[arg-type]
    assert not bake_decision(since=NOW - 2 * hour, alert_seen=True, **args)[0]  # type: ignore[arg-type]
    assert not bake_decision(since=NOW - 2 * hour, alert_seen=None, **args)[0]  # type: ignore[arg-type]
    assert not bake_decision(since=NOW - hour / 2, alert_seen=False, **args)[0]  # type: ignore[arg-type]
    query = alerts_query(agent_label="agent", agent='a"b', version_label="version", version="1", seconds=90)
    assert query == 'max_over_time(ALERTS{alertstate="firing",agent="a\\"b",version="1"}[90s])'
