"""The rollback PR state machine: given what GitHub shows and the time, the next step (pure)."""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from gitops_bot.core.alerts import format_time, parse_time
from gitops_bot.core.errors import AlertPayloadError
from gitops_bot.core.github.commands import Command
from gitops_bot.core.kinds import StepKind
from gitops_bot.core.trailers import replace_trailer

LABEL = "rollback"
HELD = "rollback/held"
BLOCKED = "rollback/blocked"
VETOED = "rollback/vetoed"
AUTO_MERGE = "rollback/auto-merge"
OBSOLETE = "rollback/obsolete"  # closed by the bot (stale, alert over): a new alert may open anew
MODE_LABELS = {
    "auto": "rollback/auto",
    "veto-window": "rollback/veto-window",
    "approval": "rollback/approval",
}
# After /unhold people get at least this long to read the reply and still /veto.
MIN_AFTER_UNHOLD = timedelta(minutes=1)


@dataclass(frozen=True)
class Ticket:
    """What the bot wrote into the PR body: the rollback's identity and its clock."""

    agent: str
    culprit: str
    policy: str
    mode: str
    merge_method: str
    from_version: str
    to_version: str
    deadline: datetime | None = None
    held_remaining: float | None = None  # seconds left when /hold stopped the clock
    alert: dict[str, Any] = field(default_factory=dict)
    # State the bot once kept in labels, which anyone with triage rights can set: now only here,
    # under the ticket's authenticator (labels are output for people).
    blocked: bool = False  # GitHub refused the merge: left to people
    armed: bool = False  # GitHub auto-merge is armed
    closed: str = ""  # "vetoed" | "obsolete" once the bot closed the PR

    @property
    def held(self) -> bool:
        """Whether /hold stopped the clock."""
        return self.held_remaining is not None


@dataclass(frozen=True)
class PrView:
    """One rollback PR as the state machine sees it."""

    number: int
    open: bool
    merged: bool
    labels: frozenset[str]
    ticket: Ticket


@dataclass(frozen=True)
class Step:
    """What to do next: none | wait | merge | close | update | reply."""

    kind: StepKind
    reason: str = ""
    approved_by: str = ""
    until: datetime | None = None
    ticket: Ticket | None = None
    reply: str = ""
    add_labels: tuple[str, ...] = ()
    remove_labels: tuple[str, ...] = ()


def on_tick(view: PrView, now: datetime) -> Step:
    """Advance the clock: merge when due, otherwise wait (restart-safe: only GitHub state is read)."""
    ticket = view.ticket
    if not view.open:
        return Step("none", "closed")
    if ticket.blocked:
        return Step("none", "blocked: left to people")
    if ticket.armed:
        return Step("none", "GitHub auto-merge is armed")
    if ticket.mode == "auto":
        return Step("merge", "mode auto", approved_by="auto")
    if ticket.mode == "veto-window":
        if ticket.held:
            return Step("none", "held")
        if ticket.deadline is None:
            return Step("none", "no deadline recorded")
        if now >= ticket.deadline:
            return Step("merge", "veto window expired", approved_by="veto-window-expired")
        return Step("wait", "veto window open", until=ticket.deadline)
    return Step("wait", "waiting for /approve")


def on_command(view: PrView, command: Command, login: str, now: datetime) -> Step:
    """What an authorised command does to this PR (idempotent: repeats change nothing)."""
    if not view.open:
        return Step("none", "closed")
    if command.name == "approve":
        return Step("merge", f"approved by @{login}", approved_by=login)
    if command.name == "veto":
        return Step("close", command.argument or "no reason given", approved_by=login, add_labels=(VETOED,))
    if command.name == "hold":
        return _hold(view.ticket, login, now)
    return _unhold(view.ticket, login, now)


def _hold(ticket: Ticket, login: str, now: datetime) -> Step:
    if ticket.held:
        return Step("reply", reply=f"@{login}: the clock is already stopped.")
    if ticket.mode != "veto-window" or ticket.deadline is None:
        return Step("reply", reply=f"@{login}: nothing to hold, mode `{ticket.mode}` has no clock.")
    left = max(0.0, (ticket.deadline - now).total_seconds())
    return Step(
        "update",
        f"held by @{login}",
        ticket=replace(ticket, deadline=None, held_remaining=left),
        reply=f"Clock stopped by @{login} with {human(left)} left. `/unhold` restarts it.",
        add_labels=(HELD,),
    )


def _unhold(ticket: Ticket, login: str, now: datetime) -> Step:
    if not ticket.held or ticket.held_remaining is None:
        return Step("reply", reply=f"@{login}: the clock is not stopped.")
    left = max(timedelta(seconds=ticket.held_remaining), MIN_AFTER_UNHOLD)
    deadline = ceil_second(now + left)
    return Step(
        "update",
        f"unheld by @{login}",
        ticket=replace(ticket, deadline=deadline, held_remaining=None),
        reply=f"Clock restarted by @{login}: merges at {format_time(deadline)} "
        f"(in {human(left.total_seconds())}) unless vetoed.",
        remove_labels=(HELD,),
    )


def expected_labels(ticket: Ticket, extra: Iterable[str] = ()) -> frozenset[str]:
    """The labels a rollback PR carries from its ticket (a crash may have left them unwritten)."""
    state = [MODE_LABELS[ticket.mode]] if ticket.mode in MODE_LABELS else []
    if ticket.held:
        state.append(HELD)
    return frozenset([LABEL, f"agent/{ticket.agent}", *state, *extra])


def merge_commit(message: str, approved_by: str, number: int) -> tuple[str, str]:
    """Title and body for the merge so the trailer block (final Approved-By) ends the message."""
    final = replace_trailer(message, "Approved-By", approved_by)
    subject, _, rest = final.partition("\n")
    return f"{subject} (#{number})", rest.strip("\n")


def ceil_second(when: datetime) -> datetime:
    """Rounded up to a whole second: deadlines are read by people, and never come early."""
    return when if not when.microsecond else when.replace(microsecond=0) + timedelta(seconds=1)


def human(seconds: float) -> str:
    """A short duration such as 4m 59s or 1h 2m."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def ticket_to_json(ticket: Ticket) -> dict[str, Any]:
    """The ticket as stored in the PR body."""
    return {
        "v": 1,
        "agent": ticket.agent,
        "culprit": ticket.culprit,
        "policy": ticket.policy,
        "mode": ticket.mode,
        "mergeMethod": ticket.merge_method,
        "from": ticket.from_version,
        "to": ticket.to_version,
        "deadline": format_time(ticket.deadline) if ticket.deadline else None,
        "heldRemaining": ticket.held_remaining,
        "alert": ticket.alert,
        "blocked": ticket.blocked,
        "armed": ticket.armed,
        "closed": ticket.closed,
    }


def ticket_from_json(raw: object) -> Ticket | None:
    """A ticket read back from a PR body, or None when it is not one of ours."""
    if not isinstance(raw, dict) or raw.get("v") != 1:
        return None
    try:
        held = raw.get("heldRemaining")
        deadline = raw.get("deadline")
        return Ticket(
            agent=str(raw["agent"]),
            culprit=str(raw["culprit"]),
            policy=str(raw["policy"]),
            mode=str(raw["mode"]),
            merge_method=str(raw.get("mergeMethod", "merge")),
            from_version=str(raw.get("from", "")),
            to_version=str(raw.get("to", "")),
            deadline=parse_time(deadline, where="ticket") if deadline else None,
            held_remaining=float(held) if held is not None else None,
            alert=dict(raw.get("alert") or {}),
            blocked=raw.get("blocked") is True,
            armed=raw.get("armed") is True,
            closed=str(raw.get("closed") or ""),
        )
    except (KeyError, TypeError, ValueError, AlertPayloadError):
        return None
