"""Forges: where a rollback commit goes (straight to the branch, or a pull request)."""

from typing import Protocol

from gitops_bot.gitrepo import GitRepo
from gitops_bot.planner import Plan


class Forge(Protocol):
    """Delivers a committed rollback; raises PushRejectedError when the branch moved."""

    def publish(self, repo: GitRepo, plan: Plan, sha: str) -> str:
        """Deliver the commit and say where it went."""
        ...
