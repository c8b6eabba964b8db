"""Forges: where a rollback commit goes (straight to the branch, or a pull request)."""

from dataclasses import dataclass
from typing import Protocol

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.core.plan import Plan


@dataclass(frozen=True)
class Delivery:
    """Where a rollback went, and whether it is on the branch yet (a PR may wait for people)."""

    where: str
    landed: bool


class Forge(Protocol):
    """Delivers a committed rollback; raises PushRejectedError when the branch moved."""

    def publish(self, repo: GitRepo, plan: Plan, sha: str) -> Delivery:
        """Deliver the commit and say where it went."""
        ...
