"""The phases of one rollback, each persisted as it happens, and the times between them (pure).

alert started -> bot accepted -> landed (pushed or merged) -> cluster synced -> healthy -> alert
resolved. The first comes from the commit body, the last from the recovery record; the others are
annotated tags `gitops-bot/phase/<sha12>/<phase>` written the moment the bot sees them, so a restart
mid-watch loses nothing and two replicas agree (the first tag pushed wins). `cluster-failed` records
an escalation (sync failed, Degraded, pinned, suspended, timed out) with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from gitops_bot.core.alerts import format_time, parse_time
from gitops_bot.core.errors import AlertPayloadError
from gitops_bot.core.trailers import one_line, parse_trailers

Phase = Literal["started", "accepted", "landed", "synced", "healthy", "resolved", "cluster-failed", "refired"]
# `refired`: the agent alerted again within the confirmation window after the rollback's alert resolved.
PERSISTED: tuple[Phase, ...] = ("accepted", "landed", "synced", "healthy", "cluster-failed", "refired")
ORDER: tuple[Phase, ...] = ("started", "accepted", "landed", "synced", "healthy", "resolved")
# The spans shown in the audit and exported as histograms: (name, from, to).
SPANS: tuple[tuple[str, Phase, Phase], ...] = (
    ("alert_to_accepted", "started", "accepted"),
    ("accepted_to_landed", "accepted", "landed"),
    ("landed_to_synced", "landed", "synced"),
    ("synced_to_healthy", "synced", "healthy"),
    ("healthy_to_resolved", "healthy", "resolved"),
    ("synced_to_resolved", "synced", "resolved"),  # the recovery clock: from the cluster running the revert
    ("alert_to_resolved", "started", "resolved"),
)


@dataclass(frozen=True)
class PhaseMark:
    """One phase of one rollback."""

    phase: Phase
    at: datetime
    detail: str = ""


def phase_message(agent: str, rollback_sha: str, mark: PhaseMark) -> str:
    """The annotated tag message of a phase mark."""
    return (
        f"{agent} {mark.phase} for rollback {rollback_sha[:12]}\n\n"
        f"Rollback-Commit: {rollback_sha}\n"
        f"Phase: {mark.phase}\n"
        f"Phase-At: {format_time(mark.at)}\n"
        f"Detail: {one_line(mark.detail) or '-'}\n"
    )


def parse_phase(message: str) -> PhaseMark | None:
    """A phase mark read back from a tag message; None when it is not one (never trusted blindly)."""
    trailers = parse_trailers(message.strip().rsplit("\n\n", 1)[-1])
    phase = trailers.get("Phase", "")
    if phase not in PERSISTED or "Phase-At" not in trailers:
        return None
    try:
        at = parse_time(trailers["Phase-At"], where="phase tag")
    except AlertPayloadError:
        return None
    detail = trailers.get("Detail", "")
    return PhaseMark(phase, at, "" if detail == "-" else detail)


@dataclass(frozen=True)
class Timeline:
    """Every known phase time of one rollback."""

    times: dict[Phase, datetime]
    failure: str | None = None  # the cluster-failed reason, when the watch escalated
    refired: bool = False

    def spans(self) -> dict[str, float]:
        """Seconds between phases both known (negative spans, from skewed clocks, are dropped)."""
        out = {}
        for name, start, end in SPANS:
            if start in self.times and end in self.times:
                seconds = (self.times[end] - self.times[start]).total_seconds()
                if seconds >= 0:
                    out[name] = round(seconds, 3)
        return out

    def to_json(self) -> dict[str, object]:
        """The `phases` object of an audit record."""
        return {
            "times": {p: format_time(self.times[p]) for p in ORDER if p in self.times},
            "seconds": self.spans(),
            "clusterFailed": self.failure,
            "refired": self.refired,
        }


def timeline(marks: list[PhaseMark], *, started: datetime | None, resolved: datetime | None) -> Timeline:
    """Merge the persisted marks with the alert start and the recovery time."""
    times: dict[Phase, datetime] = {}
    failure, refired = None, False
    if started is not None:
        times["started"] = started
    for mark in marks:
        if mark.phase == "cluster-failed":
            failure = mark.detail
        elif mark.phase == "refired":
            refired = True
        elif mark.phase not in times or mark.at < times[mark.phase]:
            times[mark.phase] = mark.at
    if resolved is not None:
        times["resolved"] = resolved
    return Timeline(times, failure, refired)
