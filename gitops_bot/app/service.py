"""The running bot: journal in, one worker thread draining it through the engine."""

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable

from gitops_bot.adapters.journal import Entry, Journal
from gitops_bot.app.crashpoints import Point
from gitops_bot.app.engine import Engine, Outcome
from gitops_bot.app.logs import event
from gitops_bot.app.metrics import Metrics
from gitops_bot.core.alerts import Alert, Notification
from gitops_bot.core.errors import GitopsBotError

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
    ) -> None:
        self.engine, self.journal = engine, journal
        self.metrics = metrics or Metrics()
        self.retries, self.retry_delay = retries, retry_delay
        self.requeue_after, self.max_age = requeue_after, max_age
        self.recent: deque[Outcome] = deque(maxlen=200)
        self.accepted: deque[tuple[float, Alert]] = deque(maxlen=200)  # for timelines, not state
        self.unresolved_policies: dict[str, str] = {}  # policy -> why it resolves no agent (/healthz)
        self.on_resolved: list[Callable[[Alert], None]] = []
        self.after_rollback: list[Callable[[Alert, Outcome], None]] = []
        self.after_outcome: list[Callable[[Alert, Outcome], None]] = []  # every final or held outcome
        self._queue: queue.Queue[Entry | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.metrics.watch_journal(journal.depth)
        self.metrics.last_sync.labels("git").set_function(lambda: engine.synced_at)

    def accept(self, notification: Notification) -> int:
        """Journal every firing alert (fsynced) and queue it; return how many were queued."""
        queued = 0
        for alert in notification.alerts:
            self.metrics.alerts_received.labels(alert.status).inc()
            if not alert.firing:
                self.metrics.alerts_ignored.labels("resolved").inc()
                for callback in self.on_resolved:
                    callback(alert)
                continue
            self.enqueue(alert)
            queued += 1
        return queued

    def enqueue(self, alert: Alert) -> None:
        """Journal one firing alert durably, then hand it to the worker."""
        entry = self.journal.append(alert)
        self.engine.crash.hit(Point.AFTER_JOURNAL_WRITE)
        self.accepted.append((entry.received_at, alert))
        event(
            log,
            logging.DEBUG,
            f"accepted {alert.name}",
            alertname=alert.name,
            fingerprint=alert.fingerprint,
            journal_id=entry.id,
            labels=alert.labels,
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
        self._thread = threading.Thread(target=self._work, name="gitops-bot-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the entry in hand and stop; unprocessed entries stay in the journal."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def wait_idle(self, timeout: float) -> bool:
        """Block until every queued alert is handled (for the demo and tests)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def _work(self) -> None:
        while (entry := self._queue.get()) is not None:
            try:
                self.process(entry)
            except Exception:  # a bug must not stop the worker: the entry stays journaled
                log.exception("handling journaled alert %s crashed; it stays journaled", entry.id)
                self.metrics.alerts_handled.labels("crashed").inc()
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def alive(self) -> bool:
        """Whether the worker thread is running (for /healthz)."""
        return self._thread is not None and self._thread.is_alive()

    def process(self, entry: Entry) -> Outcome:
        """Handle one journaled alert; failures of outside systems are retried, never dropped early."""
        outcome = Outcome("failed", "not attempted")
        for attempt in range(self.retries + 1):
            try:
                outcome = self.engine.handle(entry.alert)
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
