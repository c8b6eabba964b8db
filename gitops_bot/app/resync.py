"""Alertmanager is the source of truth: pull what fires, so a webhook lost in transit still counts."""

import logging
import threading

from gitops_bot.adapters.alertmanager import AlertmanagerAPI
from gitops_bot.app.service import Bot
from gitops_bot.core.errors import GitopsBotError

log = logging.getLogger("gitops_bot")


class Resync:
    """On start and every interval, queue active, unsilenced, uninhibited alerts not yet seen."""

    def __init__(self, bot: Bot, alertmanager: AlertmanagerAPI, *, interval: float) -> None:
        self.bot, self.alertmanager, self.interval = bot, alertmanager, interval
        # Only an optimisation: repeats are harmless because git decides (stale / predates / limits).
        self._seen: set[tuple[str, str]] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def once(self) -> int:
        """Pull once; return how many alerts were queued."""
        queued = 0
        for state in self.alertmanager.firing():
            key = (state.alert.fingerprint, state.alert.starts_at.isoformat())
            if key not in self._seen:
                self.bot.enqueue(state.alert)  # a JournalError leaves it unseen, so it is pulled again
                self._seen.add(key)
                queued += 1
        return queued

    def start(self) -> None:
        """Resync now and then every interval, in the background."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="gitops-bot-resync", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                if queued := self.once():
                    log.info("resync: queued %d alert(s) pulled from Alertmanager", queued)
            except GitopsBotError as e:
                log.warning("resync: %s", e)
            if self._stop.wait(self.interval):
                return

    def stop(self) -> None:
        """Stop pulling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
