"""Outcome tracking read from git: overridden / confirmed / undecided per rollback, stats per policy and
agent for `audit --stats` and /metrics, and the `refired` mark when an agent alerts again too soon."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.app.agent_values import first_bringing_back
from gitops_bot.app.audit import record_timeline
from gitops_bot.app.engine import Engine
from gitops_bot.app.phase_store import read_phases, write_phase
from gitops_bot.app.service import Bot
from gitops_bot.core.alerts import Alert, parse_time
from gitops_bot.core.errors import GitopsBotError
from gitops_bot.core.outcomes import RollbackOutcome, Stats, aggregate, classify
from gitops_bot.core.phases import SPANS, PhaseMark
from gitops_bot.core.policy import Policy, policy_named
from gitops_bot.core.refs import RECOVERY_PREFIX
from gitops_bot.core.route import Routed, route
from gitops_bot.core.trailers import RollbackRecord, parse_trailers

BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)


def brought_back(repo: GitRepo, record: RollbackRecord, policy: Policy | None) -> bool:
    """Whether a later first-parent commit set the agent's version back to the rolled-back one."""
    if policy is None:
        return False
    return first_bringing_back(repo, policy, record.agent, record.sha, record.from_version) is not None


def _resolved(recovery: str | None) -> datetime | None:
    trailers = parse_trailers(recovery or "")
    if trailers.get("Recovery") != "recovered":
        return None
    try:
        return parse_time(trailers.get("Recovery-At"), where="recovery tag")
    except GitopsBotError:
        return None


def rollback_outcomes(engine: Engine, *, now: datetime, window: timedelta) -> list[RollbackOutcome]:
    """Every rollback on the branch with its verdict and phase spans."""
    repo, policies = engine.repo, engine.policies
    recoveries, phases = engine.trusted.tag_messages(RECOVERY_PREFIX), read_phases(engine)
    out = []
    for record in engine.trusted.rollbacks(now=now):
        recovery = recoveries.get(record.sha[:12])
        line = record_timeline(repo, record, phases.get(record.sha[:12], []), parse_trailers(recovery or ""))
        verdict = classify(
            now=now,
            resolved_at=_resolved(recovery),
            refired=line.refired,
            overridden=brought_back(repo, record, policy_named(policies, record.policy)),
            window=window,
        )
        out.append(RollbackOutcome(record.policy, record.agent, verdict, line.spans()))
    return out


def note_refire(engine: Engine, alert: Alert, *, agent: str, window: timedelta) -> int:
    """Mark `refired` on this agent's rollbacks whose alert resolved less than `window` before this one."""
    marked = 0
    recoveries, phases = engine.trusted.tag_messages(RECOVERY_PREFIX), read_phases(engine)
    since = alert.starts_at - window - timedelta(days=1)
    for record in engine.trusted.rollbacks(now=datetime.now(UTC), agent=agent, since=since):
        resolved = _resolved(recoveries.get(record.sha[:12]))
        if resolved is None or not resolved < alert.starts_at <= resolved + window:
            continue
        if any(m.phase == "refired" for m in phases.get(record.sha[:12], [])):
            continue
        detail = f"{alert.name} fired again at {alert.starts_at.isoformat()}"
        marked += write_phase(engine, agent, record.sha, PhaseMark("refired", alert.starts_at, detail))
    return marked


def stats_table(stats: list[Stats]) -> str:
    """`audit --stats`: one line per policy and agent."""
    header = ["POLICY", "AGENT", "ROLLBACKS", "CONFIRMED", "OVERRIDDEN", "PRECISION"]
    spans = ["landed_to_synced", "synced_to_healthy", "synced_to_resolved", "alert_to_resolved"]
    header += [f"{s} p50/p90" for s in spans]
    rows = [header]
    for s in stats:
        precision = "-" if s.precision is None else f"{s.precision:.2f}"
        cells = [s.policy, s.agent, str(s.rollbacks), str(s.confirmed), str(s.overridden), precision]
        for span in spans:
            p50, p90 = s.quantiles(span)
            cells.append("-" if math.isnan(p50) else f"{p50:.1f}s/{p90:.1f}s")
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines if stats else [*lines, "(no rollbacks)"])


class OutcomeCollector(Collector):
    """Exports outcomes and phase histograms computed from git (cached: a scrape must stay cheap)."""

    def __init__(self, compute: Callable[[], list[RollbackOutcome]], *, ttl: float = 30.0) -> None:
        self.compute, self.ttl = compute, ttl
        self._cache: tuple[float, list[RollbackOutcome]] = (-math.inf, [])
        self._lock = threading.Lock()

    def _outcomes(self) -> list[RollbackOutcome]:
        with self._lock:
            at, outcomes = self._cache
            if time.monotonic() - at > self.ttl:
                with contextlib.suppress(GitopsBotError):  # keep the last good answer; next scrape retries
                    outcomes = self.compute()
                self._cache = (time.monotonic(), outcomes)
            return outcomes

    def collect(self) -> Iterator[GaugeMetricFamily | HistogramMetricFamily]:
        outcomes = self._outcomes()
        counts = GaugeMetricFamily(
            "gitops_bot_rollback_outcomes",
            "Rollbacks in git by outcome.",
            labels=["policy", "agent", "outcome"],
        )
        precision = GaugeMetricFamily(
            "gitops_bot_rollback_precision",
            "confirmed / (confirmed + overridden).",
            labels=["policy", "agent"],
        )
        for s in aggregate(outcomes):
            undecided = s.rollbacks - s.confirmed - s.overridden
            for name, n in (
                ("confirmed", s.confirmed),
                ("overridden", s.overridden),
                ("undecided", undecided),
            ):
                counts.add_metric([s.policy, s.agent, name], n)
            if s.precision is not None:
                precision.add_metric([s.policy, s.agent], s.precision)
        yield counts
        yield precision
        yield self._histogram(outcomes)

    @staticmethod
    def _histogram(outcomes: list[RollbackOutcome]) -> HistogramMetricFamily:
        family = HistogramMetricFamily(
            "gitops_bot_rollback_phase_seconds",
            "Time between rollback phases (alert, accepted, landed, synced, healthy, resolved), from git.",
            labels=["policy", "span"],
        )
        for policy in sorted({o.policy for o in outcomes}):
            for span, _, _ in SPANS:
                values = [o.spans[span] for o in outcomes if o.policy == policy and span in o.spans]
                if not values:
                    continue
                buckets = [(str(b), sum(v <= b for v in values)) for b in BUCKETS] + [("+Inf", len(values))]
                family.add_metric([policy, span], buckets, sum(values))
        return family


def track_outcomes(bot: Bot, window: timedelta) -> None:
    """Outcomes and phase histograms on /metrics; `refired` marks when an agent alerts again."""
    engine = bot.engine

    def compute() -> list[RollbackOutcome]:
        with engine.exclusive():
            return rollback_outcomes(engine, now=datetime.now(UTC), window=window)

    def refire(alert: Alert) -> None:
        routed = route(alert, engine.policies)
        if isinstance(routed, Routed):
            with engine.exclusive():
                note_refire(engine, alert, agent=routed.agent, window=window)

    bot.metrics.registry.register(OutcomeCollector(compute))
    bot.on_firing.append(refire)
