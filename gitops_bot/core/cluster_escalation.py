"""A cluster watch that ended short of the revert running, as an Alertmanager escalation (pure)."""

from datetime import datetime, timedelta

from gitops_bot.core.escalation import Escalation


def cluster_escalation(
    *, agent: str, policy: str, rollback_sha: str, text: str, now: datetime, ttl: timedelta
) -> Escalation:
    """One-shot: people must look (sync failed, Degraded, pinned, suspended, re-bumped, timed out)."""
    return Escalation(
        reason="cluster_not_running_revert",
        agent=agent,
        policy=policy,
        summary=f"gitops-bot rollback {rollback_sha[:12]} of {agent} is not running in the cluster",
        description=f"{text}. gitops-bot never rolls back further on its own: people must decide.",
        started=now,
        expires=now + ttl,
        extra=(("rollback", rollback_sha[:12]),),
    )
