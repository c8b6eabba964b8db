"""Alertmanager is the source of truth: pull what fires, so a webhook lost in transit still counts."""

import logging
import time
from collections.abc import Callable

from gitops_bot.adapters.alertmanager import AlertmanagerAPI
from gitops_bot.app.loops import Loop
from gitops_bot.app.service import Bot

log = logging.getLogger("gitops_bot")


class Resync:
    """On start and every interval, queue active, unsilenced, uninhibited alerts not yet seen."""

    def __init__(
        self,
        bot: Bot,
        alertmanager: AlertmanagerAPI,
        *,
        interval: float,
        max_seen: int = 10_000,
        max_age: float = 24 * 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot, self.alertmanager, self.interval = bot, alertmanager, interval
        self.max_seen, self.max_age, self.clock = max_seen, max_age, clock
        # Only an optimisation: repeats are harmless because git decides (stale / predates / limits).
        # (fingerprint, startsAt) -> when first queued; pruned on every pull so it stays bounded.
        self._seen: dict[tuple[str, str], float] = {}
        self._loop = Loop("resync", self._pass, interval=interval)

    def once(self) -> int:
        """Pull once; return how many alerts were queued."""
        queued, now, seen_now = 0, self.clock(), set()
        firing = self.alertmanager.firing()
        self.bot.metrics.last_sync.labels("alertmanager").set(time.time())
        for state in firing:
            key = (state.alert.fingerprint, state.alert.starts_at.isoformat())
            seen_now.add(key)
            if key not in self._seen:
                self.bot.enqueue(state.alert)  # a JournalError leaves it unseen, so it is pulled again
                self._seen[key] = now
                queued += 1
        self._prune(seen_now, now)
        return queued

    def _prune(self, firing: set[tuple[str, str]], now: float) -> None:
        """Forget alerts no longer firing (a new episode has a new startsAt) and old or excess keys."""
        kept = {k: t for k, t in self._seen.items() if k in firing and now - t < self.max_age}
        if len(kept) > self.max_seen:  # a storm of distinct alerts: keep the newest
            kept = dict(sorted(kept.items(), key=lambda kv: kv[1])[-self.max_seen :])
        self._seen = kept

    @property
    def seen(self) -> int:
        """How many alert episodes are remembered (for tests and debugging)."""
        return len(self._seen)

    def start(self) -> None:
        """Resync now and then every interval, in the background."""
        self._loop.start()

    def _pass(self) -> None:
        if queued := self.once():
            log.info("resync: queued %d alert(s) pulled from Alertmanager", queued)

    def stop(self) -> None:
        """Stop pulling."""
        self._loop.stop()
