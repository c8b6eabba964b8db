"""Named crash points: every step between two durable writes of a rollback, in one registry.

`GITOPS_BOT_CRASHPOINT=<name>` makes the process die at that point with `os._exit(137)` (what a
kill -9 or an OOM kill looks like: no cleanup, no flush). The crash-matrix test enumerates REGISTRY,
so a step added later (another forge, another record) fails the test until it has a scenario. The
environment is read once by the wiring and passed in; nothing below the app reads it.
"""

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from gitops_bot.core.errors import ConfigError

ENV = "GITOPS_BOT_CRASHPOINT"
EXIT_CODE = 137  # 128 + SIGKILL: the crash looks like the kill it stands for

log = logging.getLogger("gitops_bot")


class Point(StrEnum):
    """Where a rollback can be cut short; each is right after (or right before) one outside write."""

    AFTER_JOURNAL_WRITE = "after-journal-write"  # alert fsynced, 2xx not yet sent
    AFTER_LOCAL_COMMIT = "after-local-commit"  # rollback committed in the clone, nothing pushed
    AFTER_PUSH = "after-push"  # local forge: on the branch, journal entry not yet cleared
    AFTER_BRANCH_PUSH = "after-branch-push"  # github: rollback branch pushed, no PR yet
    AFTER_PR_CREATE = "after-pr-create"  # github: PR (with its ticket) open, no labels yet
    AFTER_LABELS = "after-labels"  # github: labelled, the mode's first step not taken
    AFTER_TICKET = "after-ticket"  # github: a new ticket (hold/unhold) written, labels/reply not yet
    BEFORE_MERGE = "before-merge"  # github: every check passed, merge not yet asked
    AFTER_MERGE = "after-merge"  # github: merged, nothing after it done
    AFTER_RECOVERY_TAG = "after-recovery-tag"  # recovery tag pushed, watch not yet forgotten
    AFTER_VETO_TAG = "after-veto-tag"  # github: veto tag pushed, PR not yet closed
    INBOX_AFTER_WRITE = "inbox-after-write"  # github webhook stored, 202 not yet sent
    INBOX_BEFORE_DONE = "inbox-before-done"  # github webhook acted on, not yet removed


REGISTRY: tuple[Point, ...] = tuple(Point)


@dataclass(frozen=True)
class CrashPoints:
    """The one armed point of this process (None: never crash)."""

    armed: Point | None = None

    def hit(self, point: Point) -> None:
        """Die here if this is the armed point."""
        if point is self.armed:
            log.critical("crash point %s reached: exiting with %d", point, EXIT_CODE)
            logging.shutdown()
            os._exit(EXIT_CODE)


NEVER = CrashPoints()


def from_env(env: Mapping[str, str]) -> CrashPoints:
    """The armed point named by GITOPS_BOT_CRASHPOINT; an unknown name is a configuration error."""
    name = env.get(ENV, "").strip()
    if not name:
        return NEVER
    try:
        return CrashPoints(Point(name))
    except ValueError as e:
        known = ", ".join(p.value for p in REGISTRY)
        raise ConfigError(f"${ENV}={name!r} is not a crash point (known: {known})") from e
