"""One alert in, one outcome out: sync, plan, commit, publish, and redo on a push race."""

import fcntl
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.adapters.rebase import commit_onto, fetch_branch, moved_under
from gitops_bot.app.crashpoints import NEVER, CrashPoints, Point
from gitops_bot.app.forge import Forge
from gitops_bot.app.manifests import field_files
from gitops_bot.app.planner import plan_rollback
from gitops_bot.app.redo import Backoff
from gitops_bot.app.trusted import Reported, TrustedState
from gitops_bot.core.alerts import Alert
from gitops_bot.core.culprit import Verdict
from gitops_bot.core.errors import AlreadyPublishedError, GitError, PushRejectedError
from gitops_bot.core.kinds import OutcomeKind, ReasonCode, VerdictKind
from gitops_bot.core.pause import PAUSE_FILE, pause_verdict, read_pause
from gitops_bot.core.plan import Plan
from gitops_bot.core.policy import Policy
from gitops_bot.core.route import Routed, route
from gitops_bot.core.statekey import StateKeys

log = logging.getLogger("gitops_bot")
Gate = Callable[[Routed], tuple[Verdict | None, str]]


@dataclass(frozen=True)
class Outcome:
    """What became of one alert: rolled_back, proposed (a PR), planned (dry run), ignored, held,
    escalated or failed."""

    kind: OutcomeKind
    reason: str
    agent: str | None = None
    commit: str | None = None
    plan: Plan | None = None
    code: ReasonCode | None = None
    accepted_at: datetime | None = None  # when the webhook was journaled (the "bot accepted" phase)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Engine:
    """Serialises rollbacks on one work tree; replicas are kept apart by git's push check."""

    def __init__(
        self,
        repo: GitRepo,
        forge: Forge,
        policies: tuple[Policy, ...],
        *,
        clock: Callable[[], datetime] = _utcnow,
        deadline: float = 120.0,
        gate: Gate | None = None,
        keys: StateKeys | None = None,
        crash: CrashPoints = NEVER,
    ) -> None:
        self.repo, self.forge, self.policies = repo, forge, policies
        self.gate, self.crash = gate, crash
        self.keys = keys or StateKeys()  # none: nothing the bot signed can be trusted or written
        self.reported = Reported()
        self.trusted = TrustedState(repo, policies, self.keys, self.reported)
        self.clock, self.deadline = clock, deadline
        self.races_lost = 0  # pushes the remote refused because the branch moved (a metric)
        self.on_race_lost: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._clone_problem: str | None = None
        self.after_sync: list[Callable[[str], None]] = []  # e.g. re-resolve policies on a new head
        self.synced_at = 0.0  # unix time of the last successful fetch (a metric reads it)

    def sync(self) -> str:
        """Fetch and reset onto the remote branch (hold exclusive()); return the head sha."""
        head = self.repo.sync()
        self.synced_at = time.time()
        for hook in self.after_sync:
            hook(head)
        return head

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Threads and other processes on the same work tree take turns."""
        lock_path = self.repo.workdir.parent / f".{self.repo.workdir.name}.lock"
        with self._lock, open(lock_path, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def clone_problem(self) -> str | None:
        """Why the clone cannot be used and was not repaired (for /readyz), else None.

        Repairs only when the work tree is free; while a job holds it, the last answer stands.
        A clone still being made in the background is no problem: alerts are journaled meanwhile.
        """
        if not self.repo.ready:
            return None
        if not self._lock.acquire(blocking=False):
            return self._clone_problem
        try:
            lock_path = self.repo.workdir.parent / f".{self.repo.workdir.name}.lock"
            with open(lock_path, "w") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:  # another process (the CLI) is working in it
                    return self._clone_problem
                try:
                    if repaired := self.repo.repair():
                        log.warning("repaired the clone: %s", repaired)
                    self._clone_problem = None
                except GitError as e:
                    self._clone_problem = f"clone {self.repo.workdir} unusable and not repaired: {e}"
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            self._lock.release()
        return self._clone_problem

    def check(self, routed: Routed) -> tuple[Verdict | None, str]:
        """Ask the outside world whether acting is still right (no gate: always)."""
        return self.gate(routed) if self.gate is not None else (None, "")

    def handle(self, alert: Alert, *, dry_run: bool = False) -> Outcome:
        """Decide and, unless dry-run, carry out the rollback for one alert."""
        routed = route(alert, self.policies)
        if isinstance(routed, Verdict):
            return _from_verdict(routed, None)
        return self.handle_routed(routed, dry_run=dry_run)

    def handle_routed(self, routed: Routed, *, dry_run: bool = False, check: bool = True) -> Outcome:
        """The rollback path once policy, agent and version are known (alerts and operators)."""
        dry_run = dry_run or routed.policy.action.mode == "dry-run"
        with self.exclusive():
            if repaired := self.repo.repair():
                log.warning("repaired the clone: %s", repaired)
            backoff = Backoff(self.deadline)
            while True:
                head = self.sync()
                plan = plan_rollback(self.repo, routed, head=head, now=self.clock(), trust=self.trusted)
                if isinstance(plan, Verdict):
                    return _from_verdict(plan, routed.agent)
                if dry_run:
                    return Outcome("planned", f"would roll back {_what(plan)}", routed.agent, None, plan)
                # The global pause is read from the head just synced: every replica agrees on it.
                if paused := pause_verdict(read_pause(self.repo.read(head, PAUSE_FILE)), routed.agent):
                    return _from_verdict(paused, routed.agent)
                verdict, note = self.check(routed) if check else (None, "")
                if verdict is not None:
                    return _from_verdict(verdict, routed.agent)
                outcome = self._deliver(routed, plan, note)
                while outcome is None:
                    if not self._lost_race(routed.agent, backoff):
                        return Outcome(
                            "failed",
                            f"push lost {backoff.tries} races in {self.deadline:g}s; the branch never stood still",
                            routed.agent,
                        )
                    rebased = self._rebased(plan, routed)
                    if rebased is None:
                        break  # something relevant arrived: plan again from scratch
                    plan, sha = rebased
                    outcome = self._deliver(routed, plan, note, sha=sha)
                if outcome is not None:
                    return outcome

    def _lost_race(self, agent: str, backoff: Backoff) -> bool:
        """Count the lost race and wait a jittered moment; False once the redo deadline has passed."""
        self.races_lost += 1
        for callback in self.on_race_lost:
            callback()
        log.info("branch moved under the rollback of %s (race %d); redoing", agent, backoff.tries + 1)
        return backoff.wait()

    def _rebased(self, plan: Plan, routed: Routed) -> tuple[Plan, str] | None:
        """The same rollback committed on the new head, when what arrived cannot change it; else None.

        Under churn (a CI bot bumping images) a full replan is slow enough to lose every race. If
        the new commits touch none of this agent's version files and record no rollback (limits),
        culprit, target and edit are unchanged, so only the parent moves.
        """
        new = fetch_branch(self.repo)
        files = sorted({*plan.files, *field_files(plan.policy, routed.bindings)})
        if moved_under(self.repo, plan.head, new, files):
            return None
        return replace(plan, head=new), commit_onto(self.repo, new, plan.files, plan.message)

    def _deliver(self, routed: Routed, plan: Plan, note: str, sha: str | None = None) -> Outcome | None:
        """Commit (unless given the commit) and publish; None when the branch or this clone moved."""
        try:
            sha = sha or self.repo.commit_files(plan.files, plan.message, parent=plan.head)
            self.crash.hit(Point.AFTER_LOCAL_COMMIT)
            where = self.forge.publish(self.repo, plan, sha)
        except AlreadyPublishedError as e:
            return Outcome("ignored", f"nothing to do: {e}", routed.agent, code="duplicate")
        except PushRejectedError:
            return None
        what = _what(plan)
        if not where.landed:  # a PR waiting for its veto window, an approval or checks
            return Outcome("proposed", f"proposed {what}: {where.where}{note}", routed.agent, sha, plan)
        return Outcome("rolled_back", f"rolled back {what}: {where.where}{note}", routed.agent, sha, plan)


def _what(plan: Plan) -> str:
    return f"{plan.agent} {plan.from_version} -> {plan.to_version} (culprit {plan.culprit.sha[:12]})"


def _from_verdict(verdict: Verdict, agent: str | None) -> Outcome:
    kinds: dict[VerdictKind, OutcomeKind] = {"ignore": "ignored", "hold": "held", "escalate": "escalated"}
    return Outcome(kinds[verdict.kind], verdict.reason, agent, code=verdict.code)
