"""The local forge: push the rollback commit straight onto the branch."""

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.app.crashpoints import NEVER, CrashPoints, Point
from gitops_bot.app.forge import Delivery
from gitops_bot.core.errors import AlreadyPublishedError
from gitops_bot.core.plan import Plan


class LocalForge:
    """Pushes to `branch` of the configured remote; git's fast-forward check is the race guard."""

    crash: CrashPoints = NEVER  # a class default too: subclasses (tests, benchmarks) keep their own __init__

    def __init__(self, crash: CrashPoints = NEVER) -> None:
        self.crash = crash

    def publish(self, repo: GitRepo, plan: Plan, sha: str) -> Delivery:
        """Push the commit; a moved branch raises PushRejectedError for the engine to redo."""
        if not repo.push(f"{sha}:refs/heads/{repo.branch}"):
            raise AlreadyPublishedError(f"{sha[:12]} is already on {repo.branch}")
        self.crash.hit(Point.AFTER_PUSH)
        return Delivery(f"pushed {sha[:12]} to {repo.branch}", landed=True)
