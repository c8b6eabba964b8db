"""The running bot: journal in, one worker thread draining it through the engine."""

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from gitops_bot.adapters.journal import Entry, Journal
from gitops_bot.app.crashpoints import Point
from gitops_bot.app.engine import Engine, Outcome
from gitops_bot.app.logs import event
from gitops_bot.app.metrics import Metrics
from gitops_bot.core.alerts import Alert, Notification
from gitops_bot.core.cluster_events import ClusterEvent
from gitops_bot.core.culprit import Verdict
from gitops_bot.core.errors import GitopsBotError
from gitops_bot.core.route import route

log = logging.getLogger("gitops_bot")


class Bot:
    """Accepts alerts durably and fast; all git work happens on the worker thread."""

    def __init__(
        self,
        engine: Engine,
        journal: Journal,
        *,
        metrics: Metrics | None = None,
        retries: int = 2,  # in-line, short: the worker is shared by every agent's alerts
        retry_delay: float = 1.0,
        requeue_after: float = 60.0,
        max_age: float = 3600.0,
        job_deadline: float | None = None,
        handler: Callable[[Alert], Outcome] | None = None,
    ) -> None:
        self.engine, self.journal = engine, journal
        # inline: the engine does the git work; argo-workflows: the handler submits a workflow
        self.handler = handler or engine.handle
        self.metrics = metrics or Metrics()
        engine.reported.hooks.append(lambda kind: self.metrics.untrusted_state.labels(kind).inc())
        self.retries, self.retry_delay = retries, retry_delay
        self.requeue_after, self.max_age = requeue_after, max_age
        self.recent: deque[Outcome] = deque(maxlen=200)
        self.accepted: deque[tuple[float, Alert]] = deque(maxlen=200)  # for timelines, not state
        self.unresolved_policies: dict[str, str] = {}  # policy -> why it resolves no agent (/healthz)
        self.on_resolved: list[Callable[[Alert], None]] = []
        self.after_rollback: list[Callable[[Alert, Outcome], None]] = []
        self.on_cluster_event: list[Callable[[ClusterEvent], None]] = []
        self.on_firing: list[Callable[[Alert], None]] = []  # on the worker, before the engine handles it
        self.after_outcome: list[Callable[[Alert, Outcome], None]] = []  # every final or held outcome
        self._queue: queue.Queue[Entry | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        # One job may take every in-line attempt, each up to the engine's redo deadline plus one
        # git call killed at its own deadline: /livez only complains well past that.
        self.job_deadline = (
            job_deadline or (retries + 1) * (engine.deadline + 120.0) + retry_delay * 2**retries
        )
        self.current: tuple[Entry, float] | None = None  # the job in hand and when it started
        self._stopping = threading.Event()
        engine.on_race_lost.append(self.metrics.push_races_lost.inc)
        self.metrics.watch_journal(journal.depth)
        self.metrics.last_sync.labels("git").set_function(lambda: engine.synced_at)

    def accept(self, notification: Notification) -> int:
        """Journal the firing alerts a policy claims (one fsynced batch) and queue them; return how many.

        Routing first keeps alerts no policy claims out of the journal and off the fsync path: in a
        storm most of a group is other teams' alerts.
        """
        claimed = []
        for alert in notification.alerts:
            self.metrics.alerts_received.labels(alert.status).inc()
            if not alert.firing:
                self.metrics.alerts_ignored.labels("resolved").inc()
                for callback in self.on_resolved:
                    callback(alert)
            elif self._claimed(alert):
                claimed.append(alert)
        self._enqueue(claimed)
        return len(claimed)

    def _claimed(self, alert: Alert) -> bool:
        routed = route(alert, self.engine.policies)
        if isinstance(routed, Verdict):
            self.metrics.alerts_ignored.labels(routed.code).inc()
            log.debug("not journaled: %s: %s", alert.name, routed.reason)
            return False
        return True

    def cluster_event(self, event: ClusterEvent) -> None:
        """A push-mode event from Flux / Argo CD: the cluster watch polls now (nothing is journaled:
        the watch state is in git and the controller's API is re-read)."""
        for callback in self.on_cluster_event:
            callback(event)

    def enqueue(self, alert: Alert) -> None:
        """Journal one firing alert durably (when a policy claims it), then hand it to the worker."""
        if self._claimed(alert):
            self._enqueue([alert])

    def _enqueue(self, alerts: list[Alert]) -> None:
        entries = self.journal.append_batch(alerts)
        self.engine.crash.hit(Point.AFTER_JOURNAL_WRITE)
        for entry in entries:
            self.accepted.append((entry.received_at, entry.alert))
            event(
                log,
                logging.DEBUG,
                f"accepted {entry.alert.name}",
                alertname=entry.alert.name,
                fingerprint=entry.alert.fingerprint,
                journal_id=entry.id,
                labels=entry.alert.labels,
            )
            self._queue.put(entry)

    def start(self) -> None:
        """Replay what a previous run accepted but did not finish, then start working."""
        for entry in self.journal.pending():
            event(
                log,
                logging.INFO,
                f"replaying journaled alert {entry.id} ({entry.alert.name})",
                fingerprint=entry.alert.fingerprint,
                journal_id=entry.id,
            )
            self._queue.put(entry)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._work, name="gitops-bot-worker", daemon=True)
        self._thread.start()

    def finish_current_only(self) -> None:
        """Take no further job once the one in hand is done (the rest stays journaled)."""
        self._stopping.set()

    def stop(self, timeout: float | None = None) -> None:
        """Finish the entry in hand and stop; unprocessed entries stay in the journal for the next start."""
        self._stopping.set()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(self.job_deadline if timeout is None else timeout)
            self._thread = None

    def wait_idle(self, timeout: float) -> bool:
        """Block until every queued alert is handled (for the demo and tests)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def _work(self) -> None:
        while (entry := self._queue.get()) is not None:
            batch = [entry, *self._drain()]
            for group in self._by_rollback(batch).values():
                self._handle_group(group)
            for _ in batch:
                self._queue.task_done()
        self._queue.task_done()

    def _drain(self) -> list[Entry]:
        """Whatever else is queued right now; a stop marker is put back to end the loop after it."""
        found: list[Entry] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return found
            if item is None:
                self._queue.task_done()
                self._queue.put(None)
                return found
            found.append(item)

    def _by_rollback(self, entries: list[Entry]) -> dict[tuple[str, ...], list[Entry]]:
        """Entries grouped by the rollback they ask for (policy, agent, version), in arrival order."""
        groups: dict[tuple[str, ...], list[Entry]] = {}
        for entry in entries:
            routed = route(entry.alert, self.engine.policies)
            key = (
                (entry.id,)  # unclaimed now (policies changed?): handled alone, the engine says why
                if isinstance(routed, Verdict)
                else (routed.policy.name, routed.agent, routed.version or "")
            )
            groups.setdefault(key, []).append(entry)
        return groups

    def _handle_group(self, group: list[Entry]) -> None:
        """Copies of one alert (same policy, agent, version) queued together: once an outcome is
        final the rest would only find it stale, so they are answered from it without more git work."""
        final: Outcome | None = None
        for entry in group:
            if self._stopping.is_set():
                return  # draining: the rest stays journaled
            if final is not None:
                why = f"duplicate of an alert just handled: {final.reason}"
                code = final.code if final.kind == "ignored" else "duplicate"  # same reason, same code
                self._record(entry, Outcome("ignored", why, final.agent, code=code))
                self.journal.done(entry)
                continue
            self.current = (entry, time.monotonic())
            try:
                outcome = self.process(entry)
            except Exception:  # a bug must not stop the worker: the entry stays journaled
                log.exception("handling journaled alert %s crashed; it stays journaled", entry.id)
                self.metrics.alerts_handled.labels("crashed").inc()
                continue
            finally:
                self.current = None
            if outcome.kind not in ("failed", "held"):
                final = outcome

    def alive(self) -> bool:
        """Whether the worker thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def stuck(self) -> str | None:
        """Which job has run well past its own deadline (for /livez), else None."""
        current = self.current
        if current is None:
            return None
        entry, started = current
        elapsed = time.monotonic() - started
        if elapsed <= 1.5 * self.job_deadline:
            return None
        return f"alert {entry.id} ({entry.alert.name}) in hand for {elapsed:.0f}s, deadline {self.job_deadline:.0f}s"

    def not_ready(self) -> list[str]:
        """Why alerts cannot be taken right now (for /readyz): worker, journal, clone."""
        problems = [] if self.alive() else ["worker not running"]
        if why := self.journal.writable():
            problems.append(why)
        if why := self.engine.clone_problem():
            problems.append(why)
        return problems

    def process(self, entry: Entry) -> Outcome:
        """Handle one journaled alert; failures of outside systems are retried, never dropped early."""
        outcome = Outcome("failed", "not attempted")
        for callback in self.on_firing:
            try:
                callback(entry.alert)
            except GitopsBotError as e:  # bookkeeping only: never in the way of a rollback
                log.warning("alert %s: %s", entry.id, e)
        for attempt in range(self.retries + 1):
            try:
                outcome = self.handler(entry.alert)
                break
            except GitopsBotError as e:
                event(
                    log,
                    logging.WARNING,
                    f"alert {entry.id} attempt {attempt + 1} failed: {e}",
                    fingerprint=entry.alert.fingerprint,
                    alertname=entry.alert.name,
                    journal_id=entry.id,
                )
                outcome = Outcome("failed", str(e))
                if attempt < self.retries:
                    time.sleep(self.retry_delay * 2**attempt)  # longer outages: the requeue timer
        outcome = replace(outcome, accepted_at=datetime.fromtimestamp(entry.received_at, UTC))
        self._record(entry, outcome)
        if outcome.kind in ("failed", "held") and time.time() - entry.received_at < self.max_age:
            # Keep it journaled and try again later: the remote may be down for a while.
            timer = threading.Timer(self.requeue_after, self._queue.put, args=(entry,))
            timer.daemon = True
            timer.start()
        else:
            if outcome.kind in ("failed", "held"):
                event(
                    log,
                    logging.WARNING,
                    f"GIVING UP on alert {entry.id} after {self.max_age:.0f}s: {outcome.reason}",
                    outcome="given_up",
                    agent=outcome.agent,
                    fingerprint=entry.alert.fingerprint,
                    journal_id=entry.id,
                )
                self.metrics.alerts_handled.labels("given_up").inc()
            self.journal.done(entry)
        return outcome

    def _record(self, entry: Entry, outcome: Outcome) -> None:
        self.recent.append(outcome)
        self.metrics.alerts_handled.labels(outcome.kind).inc()
        if outcome.kind == "ignored":
            self.metrics.alerts_ignored.labels(outcome.code or "other").inc()
        if outcome.kind == "rolled_back":
            self.metrics.alert_to_push.observe(time.time() - entry.received_at)
            for callback in self.after_rollback:
                callback(entry.alert, outcome)
        level = logging.WARNING if outcome.kind in ("escalated", "failed") else logging.INFO
        plan = outcome.plan
        event(
            log,
            level,
            f"{outcome.kind.upper()} {entry.alert.name}: {outcome.reason}",
            outcome=outcome.kind,
            reason=outcome.code,
            agent=outcome.agent,
            alertname=entry.alert.name,
            fingerprint=entry.alert.fingerprint,
            policy=plan.policy.name if plan else None,
            culprit=plan.culprit.sha if plan else None,
            commit=outcome.commit,
            journal_id=entry.id,
        )
        for callback in self.after_outcome:
            callback(entry.alert, outcome)
