"""Known-good marking: a version that ran for bakeTime with no matching alert earns a tag (pure)."""

from datetime import datetime, timedelta

from gitops_bot.core.promql import escape_string


def bake_decision(
    *, since: datetime, now: datetime, bake_time: timedelta, alert_seen: bool | None, already_tagged: bool
) -> tuple[bool, str]:
    """Whether to tag now, and why (or why not)."""
    if already_tagged:
        return False, "already tagged known-good"
    if now - since < bake_time:
        return False, f"baking: {now - since} of {bake_time} so far"
    if alert_seen is None:
        return False, "Prometheus unavailable: cannot prove it was quiet"
    if alert_seen:
        return False, "a matching alert fired since this version shipped"
    return True, f"ran {now - since} with no matching alert"


def alerts_query(
    *, agent_label: str, agent: str, version_label: str | None, version: str, seconds: int
) -> str:
    """PromQL: did any alert for this agent (and version) fire in the last `seconds`?"""
    selector = ['alertstate="firing"', f'{agent_label}="{escape_string(agent)}"']
    if version_label:
        selector.append(f'{version_label}="{escape_string(version)}"')
    return f"max_over_time(ALERTS{{{','.join(selector)}}}[{max(seconds, 1)}s])"
