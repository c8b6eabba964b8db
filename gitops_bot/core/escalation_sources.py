"""Conditions that hold an escalation open, read from what git records (pure).

After a restart the bot re-derives these from git alone: the fleet breaker from rollback trailers,
a recovery that timed out from its `gitops-bot/recovery/<sha12>` tag.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from gitops_bot.core.alerts import parse_time
from gitops_bot.core.errors import AlertPayloadError
from gitops_bot.core.escalation import Escalation
from gitops_bot.core.policy import Policy
from gitops_bot.core.trailers import RollbackRecord, message_trailers


def breaker_escalation(
    policy: Policy, records: tuple[RollbackRecord, ...], now: datetime
) -> Escalation | None:
    """Open while the policy's fleet breaker would refuse the next rollback."""
    fleet = policy.fleet
    if fleet is None:
        return None
    recent = sorted(r.committed_at for r in records if r.committed_at > now - fleet.window)
    if len(recent) < fleet.max:
        return None
    return Escalation(
        reason="breaker",
        agent=None,
        policy=policy.name,
        summary=f"gitops-bot breaker open for policy {policy.name}: rollbacks refused",
        description=(
            f"{len(recent)} rollbacks across the fleet in the last {fleet.window} (max {fleet.max}); "
            "further rollbacks escalate instead. It closes when the window passes."
        ),
        started=recent[0] if recent else now,
    )


def recovery_escalation(
    tag_message: str,
    rollback_message: str,
    *,
    now: datetime,
    lookback: timedelta,
    resolved_at: Callable[[str], datetime | None],
) -> Escalation | None:
    """Open while a rollback's recovery tag says `timeout`, for `lookback` after it timed out,
    unless the alert resolved after the timeout (recovery confirmed late)."""
    tag, rollback = message_trailers(tag_message), message_trailers(rollback_message)
    if tag.get("Recovery") != "timeout":
        return None
    try:
        at = parse_time(tag.get("Recovery-At", ""), where="recovery tag")
    except AlertPayloadError:
        return None
    fingerprint = rollback.get("Alert-Fingerprint", "")
    resolved = resolved_at(fingerprint) if fingerprint else None
    if at + lookback <= now or (resolved is not None and resolved > at):
        return None
    agent, sha = rollback.get("Rollback-Agent"), tag.get("Rollback-Commit", "")
    return Escalation(
        reason="recovery_timeout",
        agent=agent,
        policy=rollback.get("Policy"),
        summary=f"{agent} did not recover after gitops-bot rollback {sha[:12]}",
        description=(
            f"The rollback {sha} landed but the agent did not recover before the policy's timeout "
            f"({at.isoformat()}). gitops-bot never rolls back further on its own: people must decide."
        ),
        started=at,
        extra=(("rollback", sha[:12]),),
    )


def policy_problems(
    policies: tuple[Policy, ...], *, prometheus_url: str | None, now: datetime, expires: datetime
) -> list[Escalation]:
    """Policies that cannot work as written with this config: queries with no Prometheus to ask.
    (Their gate would hold every alert; their recovery could only time out.)"""
    found = []
    for policy in policies:
        verify = policy.verify
        if verify is None or (verify.prometheus or prometheus_url):
            continue
        queries = [
            k for k, q in (("still_firing", verify.still_firing), ("recovered", verify.recovered)) if q
        ]
        if queries:
            found.append(
                Escalation(
                    reason="policy_problem",
                    agent=None,
                    policy=policy.name,
                    summary=f"gitops-bot policy {policy.name} has queries but no Prometheus to ask",
                    description=(
                        f"verify.{' and verify.'.join(queries)} need verify.prometheus or prometheus.url "
                        "in gitops-bot.yaml; until then alerts are held and recoveries can only time out."
                    ),
                    started=now,
                    expires=expires,
                )
            )
    return found
