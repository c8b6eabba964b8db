"""Jittered back-off against a deadline, for redoing a rollback that lost a push race."""

import random
import time
from collections.abc import Callable


class Backoff:
    """Waits that grow from `first` to `cap`, each drawn at random from its upper half (full jitter
    would sometimes retry at once; lockstep with a CI bot that pushes on a fixed beat would starve us)."""

    def __init__(
        self,
        deadline: float,
        *,
        first: float = 0.005,
        cap: float = 0.1,  # short: a try is one fetch and one push, and a long pause is a lost window
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ends = clock() + deadline
        self.first, self.cap, self.clock, self.sleep = first, cap, clock, sleep
        self.tries = 0

    def left(self) -> float:
        """Seconds until the deadline."""
        return self.ends - self.clock()

    def wait(self) -> bool:
        """Sleep before the next try; False when the deadline has passed (no more tries)."""
        ceiling = min(self.cap, self.first * 2**self.tries)
        self.tries += 1
        pause = random.uniform(ceiling / 2, ceiling)
        if self.left() <= pause:
            return False
        self.sleep(pause)
        return True
