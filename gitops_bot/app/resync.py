"""Alertmanager is the source of truth: pull what fires, so a webhook lost in transit still counts."""

import logging
import time

from gitops_bot.adapters.alertmanager import AlertmanagerAPI
from gitops_bot.app.loops import Loop
from gitops_bot.app.service import Bot

log = logging.getLogger("gitops_bot")


class Resync:
    """On start and every interval, queue active, unsilenced, uninhibited alerts not yet seen."""

    def __init__(self, bot: Bot, alertmanager: AlertmanagerAPI, *, interval: float) -> None:
        self.bot, self.alertmanager, self.interval = bot, alertmanager, interval
        # Only an optimisation: repeats are harmless because git decides (stale / predates / limits).
        self._seen: set[tuple[str, str]] = set()
        self._loop = Loop("resync", self._pass, interval=interval)

    def once(self) -> int:
        """Pull once; return how many alerts were queued."""
        queued = 0
        firing = self.alertmanager.firing()
        self.bot.metrics.last_sync.labels("alertmanager").set(time.time())
        for state in firing:
            key = (state.alert.fingerprint, state.alert.starts_at.isoformat())
            if key not in self._seen:
                self.bot.enqueue(state.alert)  # a JournalError leaves it unseen, so it is pulled again
                self._seen.add(key)
                queued += 1
        return queued

    def start(self) -> None:
        """Resync now and then every interval, in the background."""
        self._loop.start()

    def _pass(self) -> None:
        if queued := self.once():
            log.info("resync: queued %d alert(s) pulled from Alertmanager", queued)

    def stop(self) -> None:
        """Stop pulling."""
        self._loop.stop()
