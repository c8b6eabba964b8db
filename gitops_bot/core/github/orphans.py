"""A rollback branch whose PR never opened: when to look at it, and the alert it answered (pure)."""

import re
from datetime import datetime, timedelta

from gitops_bot.core.alerts import Alert, parse_alert
from gitops_bot.core.errors import AlertPayloadError
from gitops_bot.core.policy import Policy
from gitops_bot.core.trailers import message_trailers

# A publisher opens its PR within seconds of the push; retries of an outage take a minute or two.
GRACE = timedelta(minutes=2)
# Older rollback branches are history (their PRs merged or closed): not looked up on every start.
HORIZON = timedelta(days=1)
_STARTED = re.compile(r"^Alert .* started at (\S+Z)\.$", re.MULTILINE)
_GENERATOR = re.compile(r"^Generator URL: (\S+)$", re.MULTILINE)


def due(committed_at: datetime, now: datetime) -> bool:
    """Whether a branch without a PR is old enough to be orphaned and young enough to matter."""
    return now - HORIZON <= committed_at <= now - GRACE


def alert_of(message: str, policy: Policy) -> Alert | None:
    """The firing alert a rollback commit answered, from its trailers and body (None: not ours)."""
    trailers = message_trailers(message)
    agent, version = trailers.get("Rollback-Agent"), trailers.get("Rollback-From")
    name, started = trailers.get("Alert-Name"), _STARTED.search(message)
    if not agent or not version or not name or started is None or trailers.get("Policy") != policy.name:
        return None
    labels = {"alertname": name, policy.agent_label: agent}
    if policy.version_label:
        labels[policy.version_label] = version
    paragraphs = message.split("\n\n")
    generator = _GENERATOR.search(message)
    raw = {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": paragraphs[1].strip() if len(paragraphs) > 2 else ""},
        "startsAt": started[1],
        "generatorURL": generator[1] if generator and generator[1] != "(none)" else "",
        "fingerprint": trailers.get("Alert-Fingerprint", ""),
    }
    try:
        return parse_alert(raw, where="rollback commit")
    except AlertPayloadError:
        return None
