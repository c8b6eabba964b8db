"""Was a rollback right? Outcome of each rollback and per-policy/agent precision (pure).

overridden: a later commit on the branch brought the rolled-back version back (a person undoing the
rollback, or image automation re-bumping it). confirmed: the alert resolved and the agent's alerts did
not fire again within the confirmation window. Everything else is undecided (still open, re-fired, or
the window has not passed). precision = confirmed / (confirmed + overridden).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

Verdict = Literal["confirmed", "overridden", "undecided"]
QUANTILES = (0.5, 0.9)


def classify(
    *, now: datetime, resolved_at: datetime | None, refired: bool, overridden: bool, window: timedelta
) -> Verdict:
    """The outcome of one rollback."""
    if overridden:
        return "overridden"
    if resolved_at is not None and not refired and now >= resolved_at + window:
        return "confirmed"
    return "undecided"


@dataclass(frozen=True)
class RollbackOutcome:
    """One rollback's outcome and its phase spans (seconds, see core.phases.SPANS)."""

    policy: str
    agent: str
    verdict: Verdict
    spans: dict[str, float] = field(default_factory=dict)


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile (values need not be sorted); NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass(frozen=True)
class Stats:
    """Counts, precision and span quantiles for one (policy, agent)."""

    policy: str
    agent: str
    rollbacks: int
    confirmed: int
    overridden: int
    spans: dict[str, tuple[float, ...]]

    @property
    def precision(self) -> float | None:
        decided = self.confirmed + self.overridden
        return self.confirmed / decided if decided else None

    def quantiles(self, span: str) -> tuple[float, float]:
        """(p50, p90) of one span, NaN when no rollback has it."""
        values = self.spans.get(span, ())
        return quantile(values, QUANTILES[0]), quantile(values, QUANTILES[1])


def aggregate(outcomes: Iterable[RollbackOutcome]) -> list[Stats]:
    """Per (policy, agent), sorted."""
    groups: dict[tuple[str, str], list[RollbackOutcome]] = defaultdict(list)
    for o in outcomes:
        groups[(o.policy, o.agent)].append(o)
    out = []
    for (policy, agent), items in sorted(groups.items()):
        spans: dict[str, list[float]] = defaultdict(list)
        for item in items:
            for name, seconds in item.spans.items():
                spans[name].append(seconds)
        out.append(
            Stats(
                policy,
                agent,
                rollbacks=len(items),
                confirmed=sum(i.verdict == "confirmed" for i in items),
                overridden=sum(i.verdict == "overridden" for i in items),
                spans={k: tuple(v) for k, v in spans.items()},
            )
        )
    return out
