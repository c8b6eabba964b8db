"""When an escalation is posted to Alertmanager, and until when (pure lifecycle decisions).

Modelled on how Prometheus keeps alerts alive in Alertmanager: while a condition holds the alert is
re-posted every resend interval with `endsAt` a few intervals ahead, so a dead bot lets it lapse on
its own; a cleared condition is posted once more with `endsAt` = now (resolved). A one-shot
escalation (a refused rollback) carries its own expiry as `endsAt`: Alertmanager keeps it that long
even if the bot restarts, since nothing in git records a refusal.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gitops_bot.core.kinds import EscalationReason

ALERTNAME = "GitopsBotEscalation"
RESEND_FACTOR = 4  # endsAt this many resend intervals ahead, as Prometheus does


@dataclass(frozen=True)
class Escalation:
    """Something people must look at. `expires` None: it lasts while its condition holds."""

    reason: EscalationReason
    agent: str | None
    policy: str | None
    summary: str
    description: str
    started: datetime
    expires: datetime | None = None
    extra: tuple[tuple[str, str], ...] = field(default=())  # more identifying labels (e.g. rollback)

    @property
    def labels(self) -> dict[str, str]:
        """Alertmanager labels; they are the alert's identity, so equal labels are one alert."""
        labels = {"alertname": ALERTNAME, "reason": self.reason}
        if self.agent:
            labels["agent"] = self.agent
        if self.policy:
            labels["policy"] = self.policy
        return labels | dict(self.extra)

    @property
    def key(self) -> tuple[tuple[str, str], ...]:
        """Identity: the sorted label pairs."""
        return tuple(sorted(self.labels.items()))


@dataclass(frozen=True)
class Post:
    """One alert for POST /api/v2/alerts."""

    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    resolved: bool = False  # endsAt is now: the condition cleared or the one-shot lapsed


@dataclass(frozen=True)
class Round:
    """One pass: what to post, and what stays open for the next pass."""

    posts: tuple[Post, ...]
    open: Mapping[tuple[tuple[str, str], ...], Escalation]


def should_page(escalation: Escalation, deployed_agents: frozenset[str] | None) -> bool:
    """Never page for an agent the repo does not deploy (a crafted or misrouted alert label);
    fleet-wide escalations (no agent) always page. None: the deployed set is unknown, page."""
    if escalation.agent is None or deployed_agents is None:
        return True
    return escalation.agent in deployed_agents


def _post(esc: Escalation, ends_at: datetime, *, resolved: bool = False) -> Post:
    annotations = {"summary": esc.summary, "description": esc.description}
    return Post(esc.labels, annotations, esc.started, ends_at, resolved)


def plan_round(
    tracked: Mapping[tuple[tuple[str, str], ...], Escalation],
    holding: Iterable[Escalation],
    new_one_shots: Iterable[Escalation],
    *,
    now: datetime,
    resend: timedelta,
) -> Round:
    """Decide this pass's posts.

    `tracked`: what the previous pass left open. `holding`: condition escalations whose condition
    holds now (re-derived from git each pass, so a restart finds them again). `new_one_shots`:
    escalations raised since the last pass; a repeat of an open one extends its expiry.
    """
    open_now: dict[tuple[tuple[str, str], ...], Escalation] = {}
    for esc in holding:
        before = tracked.get(esc.key)
        open_now[esc.key] = esc if before is None else _keep_start(esc, before)
    for esc in tracked.values():
        if esc.expires is not None and esc.expires > now and esc.key not in open_now:
            open_now[esc.key] = esc
    for esc in new_one_shots:
        before = open_now.get(esc.key)
        open_now[esc.key] = esc if before is None else _keep_start(esc, before)
    posts = [_post(e, e.expires or now + resend * RESEND_FACTOR) for e in open_now.values()]
    # Conditions that cleared and one-shots that lapsed: resolve them now.
    posts += [_post(e, now, resolved=True) for k, e in tracked.items() if k not in open_now]
    return Round(posts=tuple(posts), open=open_now)


def _keep_start(new: Escalation, old: Escalation) -> Escalation:
    """Same alert again: keep when it started, take the newest text and the later expiry."""
    expires = new.expires
    if new.expires is not None and old.expires is not None:
        expires = max(new.expires, old.expires)
    return Escalation(
        new.reason, new.agent, new.policy, new.summary, new.description, old.started, expires, new.extra
    )
