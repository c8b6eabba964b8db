"""One background-loop helper for every periodic job the bot runs (resync, recovery, GitHub, watch-good).

Each job is a function called once per pass. The loop outlives any one bad pass (logged, with the
traceback for anything that is not one of our own errors), can be woken early, and stops after
the pass in hand: a job's durable state lives in git, on the forge or in the journal, so stopping
between passes loses nothing.
"""

import logging
import threading
from collections.abc import Callable

from gitops_bot.core.errors import GitopsBotError

log = logging.getLogger("gitops_bot")


class Loop:
    """Runs `job` in a daemon thread: first at once (or after one interval), then every interval."""

    def __init__(
        self,
        name: str,
        job: Callable[[], object],
        *,
        interval: float,
        run_at_start: bool = True,
        join_timeout: float = 10.0,
    ) -> None:
        self.name, self.job, self.interval = name, job, interval
        self.run_at_start, self.join_timeout = run_at_start, join_timeout
        self._stop, self._wake = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (a no-op when it is already running)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"gitops-bot-{self.name}", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run the next pass now instead of at the end of the interval."""
        self._wake.set()

    def stop(self) -> None:
        """Stop after the pass in hand."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(self.join_timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        if not self.run_at_start and self._pause():
            return
        while not self._stop.is_set():
            self._pass()
            if self._pause():
                return

    def _pass(self) -> None:
        try:
            self.job()
        except GitopsBotError as e:  # an outside system is down: everything durable is still there
            log.warning("%s pass failed, retrying next pass: %s", self.name, e)
        except Exception:  # the loop must outlive any one bad pass
            log.exception("%s pass crashed", self.name)

    def _pause(self) -> bool:
        """Wait one interval or until woken; True when the loop should end."""
        self._wake.wait(self.interval)
        self._wake.clear()
        return self._stop.is_set()
