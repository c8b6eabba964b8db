"""Rollback branches that never got their PR: driven through the alert path again, or deleted.

A crash between the branch push and the PR is resumed by the journal's replay; this sweep covers
what the journal no longer holds (an alert given up during a long GitHub outage, a replica that
died for good). The alert is rebuilt from the branch's commit, so only git and GitHub are read.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from gitops_bot.adapters.github.api import GitHubAPI
from gitops_bot.adapters.github.git import delete_branch, rollback_branches
from gitops_bot.app.engine import Engine
from gitops_bot.core.github.orphans import alert_of, due
from gitops_bot.core.policy import policy_named
from gitops_bot.core.refs import ROLLBACK_BRANCH_PREFIX
from gitops_bot.core.route import Routed
from gitops_bot.core.templates import label_bindings
from gitops_bot.core.trailers import message_trailers

EVERY = timedelta(minutes=1)  # a git fetch of the rollback branches, not on every short pass


class OrphanSweep:
    """Finds the bot's rollback branches with no PR at all and settles each one once."""

    def __init__(self, api: GitHubAPI, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.api, self.engine, self.clock = api, engine, clock
        self._settled: set[str] = set()  # branches with a PR (any state) or already dealt with
        self._last: datetime | None = None

    def sweep(self, open_heads: set[str]) -> list[str]:
        """One look at the remote's rollback branches (at most once a minute)."""
        now = self.clock()
        if self._last is not None and now - self._last < EVERY:
            return []
        self._last = now
        with self.engine.exclusive():
            branches = rollback_branches(self.engine.repo, ROLLBACK_BRANCH_PREFIX)
        done = []
        for branch, sha, committed_at in branches:
            if branch in open_heads or branch in self._settled or not due(committed_at, now):
                continue
            if self.api.pulls_for_branch(branch):  # merged, closed, or opened meanwhile
                self._settled.add(branch)
                continue
            done.append(f"{branch} had no PR: {self._redrive(branch, sha)}")
        return done

    def _redrive(self, branch: str, sha: str) -> str:
        """Replay the alert the branch answered; delete the branch when the rollback is not right now."""
        message = self.engine.repo.commit_info(sha).message
        trailers = message_trailers(message)
        policy = policy_named(self.engine.policies, trailers.get("Policy", ""))
        alert = alert_of(message, policy) if policy is not None else None
        if policy is None or alert is None:
            self._settled.add(branch)
            return "not a rollback this bot's policies can replay; left to people"
        labels, missing = label_bindings(policy.template_labels, alert.labels)
        if missing:  # the commit does not record the other labels the policy's templates need
            self._settled.add(branch)
            return f"cannot replay ({missing}); left to people"
        routed = Routed(alert, policy, trailers["Rollback-Agent"], trailers["Rollback-From"], labels=labels)
        outcome = self.engine.handle_routed(routed)
        if outcome.kind in ("held", "failed"):
            return f"{outcome.kind}, tried again later: {outcome.reason}"
        self._settled.add(branch)
        if outcome.kind in ("proposed", "rolled_back"):
            return outcome.reason
        with self.engine.exclusive():
            delete_branch(self.engine.repo, branch)
        return f"branch deleted ({outcome.kind}: {outcome.reason})"
