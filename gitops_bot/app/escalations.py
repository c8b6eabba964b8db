"""Escalations reach people: each one is also an alert in Alertmanager (`GitopsBotEscalation`).

One Loop pass: fetch git, re-derive the conditions that hold (fleet breaker, recoveries that timed
out), add the one-shots raised since the last pass (refused rollbacks, pauses), drop those for agents
the repo does not deploy, and post the round. A failed post keeps everything for the next pass.
"""

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from gitops_bot.adapters.alertmanager import AlertmanagerAPI
from gitops_bot.app.engine import Engine, Outcome
from gitops_bot.app.logs import event
from gitops_bot.app.loops import Loop
from gitops_bot.app.manifests import values_at
from gitops_bot.app.metrics import Metrics
from gitops_bot.core.alerts import Alert
from gitops_bot.core.errors import GitopsBotError
from gitops_bot.core.escalation import Escalation, Round, plan_round, should_page
from gitops_bot.core.escalation_sources import breaker_escalation, recovery_escalation
from gitops_bot.core.limits import lookback
from gitops_bot.core.policy import Policy
from gitops_bot.core.recovery import Watch
from gitops_bot.core.refs import RECOVERY_PREFIX
from gitops_bot.core.route import Routed, route

log = logging.getLogger("gitops_bot")
Key = tuple[tuple[str, str], ...]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Escalations:
    """Keeps the bot's escalations alive in Alertmanager, Prometheus-style."""

    def __init__(
        self,
        engine: Engine,
        alertmanager: AlertmanagerAPI,
        metrics: Metrics,
        *,
        resend: float = 60.0,
        one_shot_ttl: float = 4 * 3600.0,
        recovery_lookback: float = 24 * 3600.0,
        resolved_at: Callable[[str], datetime | None] = lambda _fp: None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.engine, self.alertmanager, self.metrics = engine, alertmanager, metrics
        self.resend, self.clock, self.resolved_at = timedelta(seconds=resend), clock, resolved_at
        self.one_shot_ttl, self.recovery_lookback = timedelta(seconds=one_shot_ttl), recovery_lookback
        self.open: dict[Key, Escalation] = {}
        self._raised: list[Escalation] = []
        self._lock = threading.Lock()
        self._loop = Loop("escalations", self.pass_once, interval=resend)

    def on_outcome(self, alert: Alert, outcome: Outcome) -> None:
        """Bot callback: an escalated outcome becomes a one-shot escalation (the breaker is a
        condition, re-derived from git on the pass this wakes)."""
        if outcome.kind != "escalated":
            return
        if outcome.code != "breaker":
            routed = route(alert, self.engine.policies)
            now = self.clock()
            self.raise_one_shot(
                Escalation(
                    reason=outcome.code or "other",
                    agent=outcome.agent,
                    policy=routed.policy.name if isinstance(routed, Routed) else None,
                    summary=f"gitops-bot escalated {alert.name} for {outcome.agent}: {outcome.code}",
                    description=outcome.reason,
                    started=now,
                    expires=now + self.one_shot_ttl,
                )
            )
        self._loop.wake()

    def policy_problem(self, watch: Watch, text: str) -> None:
        """Watcher callback: a policy that cannot be checked as written."""
        now = self.clock()
        self.raise_one_shot(
            Escalation(
                reason="policy_problem",
                agent=watch.agent,
                policy=watch.policy,
                summary=f"gitops-bot policy {watch.policy} cannot check {watch.agent}'s recovery",
                description=f"{text}. The rollback {watch.rollback_sha[:12]} can only time out; fix the policy.",
                started=now,
                expires=now + self.one_shot_ttl,
            )
        )

    def raise_one_shot(self, escalation: Escalation) -> None:
        """Queue a one-shot escalation for the next pass."""
        with self._lock:
            self._raised.append(escalation)

    def _holding(self, now: datetime) -> list[Escalation]:
        repo = self.engine.repo
        holding: list[Escalation] = []
        since = now - timedelta(seconds=lookback(*(p.fleet for p in self.engine.policies)))
        trusted = self.engine.trusted  # forged records and tags page nobody
        records = trusted.rollbacks(now=now, since=since) if since < now else ()
        for policy in self.engine.policies:
            if found := breaker_escalation(policy, records, now):
                holding.append(found)
        window = timedelta(seconds=self.recovery_lookback)
        for sha12, message in trusted.tag_messages(RECOVERY_PREFIX).items():
            if "Recovery: timeout" not in message:
                continue
            found = recovery_escalation(
                message,
                repo.commit_info(sha12).message,
                now=now,
                lookback=window,
                resolved_at=self.resolved_at,
            )
            if found is not None:
                holding.append(found)
        return holding

    def _deployed(self, head: str, escalations: list[Escalation]) -> frozenset[str]:
        """Of the escalations' agents, those with a version field at head under some policy."""
        agents = {e.agent for e in escalations if e.agent}
        return frozenset(a for a in agents if any(self._deploys(head, p, a) for p in self.engine.policies))

    def _deploys(self, head: str, policy: Policy, agent: str) -> bool:
        try:
            return any(v is not None for v in values_at(self.engine.repo, head, policy, {"agent": agent}))
        except (GitopsBotError, ValueError, KeyError):
            # The policy needs more labels than the agent (e.g. {env}) to find its files. The engine
            # only escalates for agents it resolved, so when in doubt the page goes out.
            return True

    def pass_once(self) -> Round:
        """Fetch, re-derive, post; returns the round (for tests and the log)."""
        now = self.clock()
        with self.engine.exclusive():
            head = self.engine.sync()
            holding = self._holding(now)
            with self._lock:
                raised, self._raised = self._raised, []
            deployed = self._deployed(head, [*holding, *raised])
        fresh = [e for e in (*holding, *raised) if should_page(e, deployed)]
        skipped = len(holding) + len(raised) - len(fresh)
        if skipped:
            log.info("escalations: %d for agents this repo does not deploy were not paged", skipped)
        held = [e for e in fresh if e.expires is None]
        shots = [e for e in fresh if e.expires is not None]
        result = plan_round(self.open, held, shots, now=now, resend=self.resend)
        # What should be open, posted or not: the GitopsBotEscalationPending rule is the backstop
        # for exactly the case where posting to Alertmanager keeps failing.
        self._gauge(result)
        try:
            if result.posts:
                self.alertmanager.post(list(result.posts))
        except Exception:
            with self._lock:  # nothing is lost: post the same one-shots again next pass
                self._raised = raised + self._raised
            raise
        self._account(result)
        return result

    def _account(self, result: Round) -> None:
        for key, esc in result.open.items():
            if key not in self.open:
                self.metrics.escalations.labels(esc.reason).inc()
                event(
                    log,
                    logging.WARNING,
                    f"ESCALATION {esc.summary}",
                    reason=esc.reason,
                    agent=esc.agent,
                    policy=esc.policy,
                    outcome="escalated",
                )
        for post in result.posts:
            if post.resolved:
                event(
                    log,
                    logging.INFO,
                    "escalation resolved",
                    reason=post.labels.get("reason"),
                    agent=post.labels.get("agent"),
                    policy=post.labels.get("policy"),
                )
        self.open = dict(result.open)

    def _gauge(self, result: Round) -> None:
        reasons: dict[str, int] = {}
        for esc in result.open.values():
            reasons[esc.reason] = reasons.get(esc.reason, 0) + 1
        self.metrics.escalations_open.clear()
        for reason, n in reasons.items():
            self.metrics.escalations_open.labels(reason).set(n)

    def start(self) -> None:
        """Post in the background every resend interval until stop()."""
        self._loop.start()

    def wake(self) -> None:
        """Run the next pass now (a condition may have changed)."""
        self._loop.wake()

    def stop(self) -> None:
        """Stop posting; Alertmanager lets held alerts lapse at their endsAt."""
        self._loop.stop()
