"""The recovery watcher thread: polls `recovered`, hears `resolved`, records the end in git."""

import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from gitops_bot.adapters.prometheus import PrometheusReader
from gitops_bot.app.crashpoints import Point
from gitops_bot.app.engine import Engine, Outcome
from gitops_bot.app.logs import event
from gitops_bot.app.loops import Loop
from gitops_bot.app.metrics import Metrics
from gitops_bot.core.alerts import Alert, parse_time
from gitops_bot.core.errors import GitopsBotError
from gitops_bot.core.promql import render
from gitops_bot.core.recovery import Result, Watch, judge_watch, tag_message
from gitops_bot.core.refs import RECOVERY_PREFIX

log = logging.getLogger("gitops_bot")
_STARTED = re.compile(r"started at (\S+Z)\.")
Escalator = Callable[[Watch, str], None]


class RecoveryWatcher:
    """Watches landed rollbacks; never rolls back further on its own, only escalates."""

    def __init__(
        self,
        engine: Engine,
        metrics: Metrics,
        *,
        prometheus_url: str | None,
        interval: float = 10.0,
        escalate: Escalator | None = None,
        reader: PrometheusReader | None = None,
    ) -> None:
        self.engine, self.metrics, self.prometheus_url = engine, metrics, prometheus_url
        self.reader = reader or PrometheusReader()
        self.interval, self.escalate = interval, escalate
        self.watches: dict[str, Watch] = {}
        self.results: dict[str, Result] = {}
        # fingerprint -> when that alert resolved; fingerprints repeat across firing episodes, so
        # only a resolution after the rollback was pushed counts.
        self._resolved: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self.on_finished: list[Callable[[], None]] = []  # a watch ended (escalations re-derive)
        self.on_problem: list[Callable[[Watch, str], None]] = []  # the policy cannot be checked
        # The first poll waits one interval: a watch just resumed from git needs no instant re-check.
        self._loop = Loop("recovery", self.poll_once, interval=interval, run_at_start=False)

    def watch(self, alert: Alert, outcome: Outcome, *, now: datetime | None = None) -> None:
        """Start watching a rollback that just landed."""
        if outcome.plan is None or outcome.commit is None:
            return
        policy, at = outcome.plan.policy, now or datetime.now(UTC)
        verify = policy.verify
        timeout = verify.timeout if verify else timedelta(minutes=10)
        labels = {**alert.labels, "agent": outcome.plan.agent, "version": outcome.plan.from_version}
        with self._lock:
            self.watches[outcome.commit] = Watch(
                agent=outcome.plan.agent,
                rollback_sha=outcome.commit,
                fingerprint=alert.fingerprint,
                alertname=alert.name,
                labels=labels,
                alert_started=alert.starts_at,
                pushed_at=at,
                deadline=at + timeout,
                recovered_query=verify.recovered if verify else None,
                prometheus_url=(verify.prometheus if verify else None) or self.prometheus_url,
                policy=policy.name,
            )

    def resolved(self, alert: Alert) -> None:
        """A `resolved` notification arrived (from the webhook)."""
        with self._lock:
            self._resolved[alert.fingerprint] = alert.ends_at or datetime.now(UTC)
            cutoff = datetime.now(UTC) - timedelta(days=1)
            self._resolved = {fp: at for fp, at in self._resolved.items() if at > cutoff}

    def resolved_at(self, fingerprint: str) -> datetime | None:
        """When the alert with this fingerprint last resolved (None: not heard of)."""
        with self._lock:
            return self._resolved.get(fingerprint)

    def resume(self, *, now: datetime | None = None, lookback: timedelta = timedelta(hours=6)) -> int:
        """After a restart: watch again every recent rollback that has no recovery record yet."""
        now = now or datetime.now(UTC)
        repo, trusted = self.engine.repo, self.engine.trusted
        done = trusted.tag_messages(RECOVERY_PREFIX)  # a pushed, unauthenticated tag ends no watch
        policies = {p.name: p for p in self.engine.policies}
        count = 0
        for record in trusted.rollbacks(now=now, since=now - lookback):
            policy = policies.get(record.policy)
            if record.sha[:12] in done or policy is None:
                continue
            found = _STARTED.search(repo.commit_info(record.sha).message)
            started = parse_time(found[1], where="commit body") if found else record.committed_at
            verify = policy.verify
            timeout = verify.timeout if verify else timedelta(minutes=10)
            labels = {"agent": record.agent, "alertname": record.alert_name, "version": record.from_version}
            with self._lock:
                self.watches[record.sha] = Watch(
                    record.agent,
                    record.sha,
                    record.fingerprint,
                    record.alert_name,
                    labels,
                    started,
                    record.committed_at,
                    record.committed_at + timeout,
                    verify.recovered if verify else None,
                    (verify.prometheus if verify else None) or self.prometheus_url,
                    policy.name,
                )
            count += 1
        return count

    def _query_holds(self, watch: Watch) -> bool | None:
        if watch.recovered_query is None:
            return None
        if watch.prometheus_url is None:
            self._problem(watch, "verify.recovered is set but there is no Prometheus URL to ask")
            return None
        try:
            query = render(watch.recovered_query, watch.labels)
        except ValueError as e:
            self._problem(watch, f"verify.recovered cannot be rendered: {e}")
            return None
        holds, error = self.reader.nonempty(watch.prometheus_url, query)
        if holds is None:
            event(log, logging.WARNING, f"recovery check for {watch.agent}: {error}", agent=watch.agent)
        return holds

    def _problem(self, watch: Watch, text: str) -> None:
        """A policy that cannot work as written: recovery can only time out. Say so to people."""
        event(log, logging.WARNING, f"policy problem: {text}", agent=watch.agent, policy=watch.policy)
        for callback in self.on_problem:
            callback(watch, text)

    def poll_once(self, *, now: datetime | None = None) -> list[tuple[Watch, Result]]:
        """Judge every open watch once; record and forget the finished ones."""
        with self._lock:
            watches = list(self.watches.values())
            resolved = dict(self._resolved)
        finished = []
        for watch in watches:
            result = judge_watch(
                watch,
                now=now or datetime.now(UTC),
                resolved=resolved.get(watch.fingerprint, watch.pushed_at) > watch.pushed_at,
                query_holds=self._query_holds(watch),
            )
            if result is not None and self._record(watch, result):
                finished.append((watch, result))
        return finished

    def _record(self, watch: Watch, result: Result) -> bool:
        try:
            with self.engine.exclusive():
                message = self.engine.trusted.seal(watch.tag, watch.rollback_sha, tag_message(watch, result))
                self.engine.repo.tag(watch.tag, watch.rollback_sha, message, replace=False)
            self.engine.crash.hit(Point.AFTER_RECOVERY_TAG)
        except GitopsBotError as e:
            log.warning("cannot record recovery of %s yet: %s", watch.agent, e)
            return False
        with self._lock:
            self.watches.pop(watch.rollback_sha, None)
            self.results[watch.rollback_sha] = result
        self.metrics.recoveries.labels(result.status).inc()
        seconds = (result.at - watch.alert_started).total_seconds()
        if result.status == "recovered":
            self.metrics.alert_to_recovery.observe(seconds)
            event(
                log,
                logging.INFO,
                f"RECOVERED {watch.agent} {seconds:.1f}s after the alert started ({result.signal})",
                outcome="recovered",
                agent=watch.agent,
                policy=watch.policy,
                fingerprint=watch.fingerprint,
                commit=watch.rollback_sha,
            )
        else:
            reason = (
                f"{watch.agent} did not recover within the timeout after rollback {watch.rollback_sha[:12]}"
            )
            event(
                log,
                logging.WARNING,
                f"ESCALATE {reason}; not rolling back further",
                outcome="recovery_timeout",
                agent=watch.agent,
                policy=watch.policy,
                fingerprint=watch.fingerprint,
                commit=watch.rollback_sha,
            )
            if self.escalate is not None:
                self.escalate(watch, reason)
        for callback in self.on_finished:
            callback()
        return True

    def start(self) -> None:
        """Poll in the background until stop()."""
        self._loop.start()

    def stop(self) -> None:
        """Stop polling; open watches resume from git on the next start."""
        self._loop.stop()
