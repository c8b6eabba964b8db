"""Rollback rate limits and the fleet breaker, counted from rollback records (pure)."""

from datetime import datetime

from gitops_bot.core.culprit import Verdict
from gitops_bot.core.policy import Limit
from gitops_bot.core.trailers import RollbackRecord


def _count(records: tuple[RollbackRecord, ...], limit: Limit, now: datetime, agent: str | None) -> int:
    since = now - limit.window
    return sum(1 for r in records if r.committed_at > since and (agent is None or r.agent == agent))


def check_limits(
    records: tuple[RollbackRecord, ...],
    *,
    agent: str,
    per_agent: Limit | None,
    fleet: Limit | None,
    now: datetime,
) -> Verdict | None:
    """Escalate when this rollback would exceed the agent's limit or the fleet breaker."""
    if per_agent is not None and (n := _count(records, per_agent, now, agent)) >= per_agent.max:
        return Verdict(
            "escalate",
            f"limit: {agent} was rolled back {n} time(s) in the last {per_agent.window} (max {per_agent.max})",
            "limit",
        )
    if fleet is not None and (n := _count(records, fleet, now, None)) >= fleet.max:
        return Verdict(
            "escalate",
            f"breaker open: {n} rollbacks across the fleet in the last {fleet.window} (max {fleet.max})",
            "breaker",
        )
    return None


def lookback(*limits: Limit | None) -> float:
    """Seconds of history the limits need."""
    return max((lim.window.total_seconds() for lim in limits if lim is not None), default=0.0)
