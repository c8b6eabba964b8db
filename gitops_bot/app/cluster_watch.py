"""The cluster watch: after a revert lands, make Argo CD / Flux reconcile now and watch until the
cluster runs it; escalate with the reason when it cannot get there, never wait a hopeless case out.

State lives in git: the rollback commits (trailers) and their phase tags. A rollback whose policy has
`spec.cluster` and that has neither a `healthy` nor a `cluster-failed` mark is still being watched,
so `resume()` after a restart rebuilds every watch and the phases already recorded are kept.
Push-mode events (Flux generic-hmac, Argo CD notifications) only `wake()` the loop: the verdict always
comes from the controller's API, never from an event body.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from gitops_bot.app.agent_values import carried_after
from gitops_bot.app.cluster_targets import ClusterCallError, ClusterClients, Observation, Target
from gitops_bot.app.engine import Engine, Outcome
from gitops_bot.app.image_hold import hold_quietly
from gitops_bot.app.loops import Loop
from gitops_bot.app.metrics import Metrics
from gitops_bot.app.phase_store import read_phases, write_phase
from gitops_bot.core.alerts import Alert
from gitops_bot.core.cluster import ClusterVerdict
from gitops_bot.core.cluster_policy import ClusterPolicy
from gitops_bot.core.phases import PhaseMark
from gitops_bot.core.policy import Policy
from gitops_bot.core.reach import Carried

log = logging.getLogger("gitops_bot")
ClusterEscalator = Callable[["ClusterWatch", str], None]


@dataclass(frozen=True)
class ClusterWatch:
    """One landed rollback on its way into the cluster."""

    agent: str
    policy: Policy
    cluster: ClusterPolicy
    rollback_sha: str
    from_version: str
    deadline: datetime
    kicked: bool = False
    synced: bool = False
    last_reason: str = "not observed yet"


class ClusterWatcher:
    """Reconcile-now, then poll each watched rollback until healthy, failed or past its deadline."""

    def __init__(
        self,
        engine: Engine,
        metrics: Metrics,
        clients: ClusterClients,
        *,
        interval: float = 10.0,
        escalate: ClusterEscalator | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine, self.metrics, self.clients = engine, metrics, clients
        self.escalate, self.clock = escalate, clock
        self.watches: dict[str, ClusterWatch] = {}
        self.finished: dict[str, str] = {}  # sha -> "healthy" or the failure reason (tests, demo)
        self._lock = threading.Lock()
        self._loop = Loop("cluster", self.poll_once, interval=interval, run_at_start=False)

    # -- entry points ------------------------------------------------------------------------------

    def landed(self, alert: Alert, outcome: Outcome) -> None:
        """A rollback was pushed (local forge): record accepted + landed, watch it, poll at once."""
        plan, sha = outcome.plan, outcome.commit
        if plan is None or sha is None or plan.policy.cluster is None:
            return
        now = self.clock()
        accepted = outcome.accepted_at or now
        with self.engine.exclusive():
            write_phase(self.engine, plan.agent, sha, PhaseMark("accepted", accepted, alert.name))
            write_phase(self.engine, plan.agent, sha, PhaseMark("landed", now, "pushed"))
        self._add(plan.agent, plan.policy, plan.policy.cluster, sha, plan.from_version, now)
        self.wake()

    def resume(self, *, lookback: timedelta = timedelta(hours=6)) -> int:
        """Rebuild every unfinished watch from git (after a restart, or when a PR merged)."""
        now = self.clock()
        phases = read_phases(self.engine)
        policies = {p.name: p for p in self.engine.policies}
        count = 0
        for record in self.engine.trusted.rollbacks(now=now, since=now - lookback):
            policy = policies.get(record.policy)
            marks = {m.phase: m for m in phases.get(record.sha[:12], [])}
            if policy is None or policy.cluster is None or record.sha in self.watches:
                continue
            if "healthy" in marks or "cluster-failed" in marks:
                continue
            landed = marks["landed"].at if "landed" in marks else record.committed_at
            if "landed" not in marks:
                with self.engine.exclusive():
                    write_phase(self.engine, record.agent, record.sha, PhaseMark("landed", landed, "merged"))
            self._add(record.agent, policy, policy.cluster, record.sha, record.from_version, landed)
            if "synced" in marks:
                self._update(replace(self.watches[record.sha], synced=True))
            count += 1
        if count:
            self.wake()
        return count

    def wake(self) -> None:
        """Poll now (a push-mode event arrived, or a rollback just landed)."""
        self._loop.wake()

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    # -- the loop ------------------------------------------------------------------------------------

    def poll_once(self) -> None:
        """Kick new watches, observe all, record phases as they happen, end finished ones."""
        with self._lock:
            watches = list(self.watches.values())
        for watch in watches:
            try:
                self._step(watch)
            except ClusterCallError as e:  # keep watching: the deadline decides, with this reason
                log.warning("cluster watch of %s: %s", watch.agent, e)
                self._update(replace(self.watches.get(watch.rollback_sha, watch), last_reason=str(e)))

    def _step(self, watch: ClusterWatch) -> None:
        targets = self.clients.targets(watch.cluster, watch.agent)
        if not watch.kicked:
            watch = self._kick(watch, targets)
        reach = self._carried(watch)
        if reach.undone_by is not None:
            self._fail(
                watch,
                f"commit {reach.undone_by[:12]} brought {watch.from_version} back after the "
                "revert (image automation re-bumping the tag, or a person overriding it)",
            )
            return
        seen = [t.observe(watch.rollback_sha, reach.acceptable, self.engine.repo.branch) for t in targets]
        self._judge(watch, seen)

    def _kick(self, watch: ClusterWatch, targets: list[Target]) -> ClusterWatch:
        watch = replace(watch, kicked=True)
        self._update(watch)
        problems = self._hold_image(watch)
        for target in targets:
            try:
                log.info(
                    "cluster: %s for rollback %s", target.kick(watch.rollback_sha), watch.rollback_sha[:12]
                )
            except ClusterCallError as e:
                problems.append(str(e))
        if problems:  # worth a person's eyes now; the controller's own polling may still get there
            reason = "could not ask the cluster to reconcile now: " + "; ".join(problems)
            self.metrics.cluster_escalations.labels(watch.policy.name, "reconcile-request-failed").inc()
            self._escalate(watch, reason)
            watch = replace(watch, last_reason=reason)
            self._update(watch)
        return watch

    def _hold_image(self, watch: ClusterWatch) -> list[str]:
        """Opt-in: keep the rolled-back version out of image automation (problems, if any)."""
        spec = watch.cluster.image_automation
        if spec is None:
            return []
        with self.engine.exclusive():
            return hold_quietly(
                self.clients.flux, self.engine, spec, watch.agent, watch.from_version, watch.rollback_sha
            )

    def _judge(self, watch: ClusterWatch, seen: list[Observation]) -> None:
        now = self.clock()
        failed = [
            o.outcome
            for o in seen
            if o.outcome.verdict.final and o.outcome.verdict is not ClusterVerdict.DEPLOYED
        ]
        if failed:
            self._fail(
                watch, "; ".join(f"{o.verdict.value}: {o.reason}" for o in failed), failed[0].verdict.value
            )
            return
        if not watch.synced and all(o.synced for o in seen):
            self._mark(watch, PhaseMark("synced", now, "; ".join(o.outcome.reason for o in seen)))
            watch = replace(watch, synced=True)
        if all(o.outcome.verdict is ClusterVerdict.DEPLOYED for o in seen):
            if not watch.synced:
                self._mark(watch, PhaseMark("synced", now, "synced and healthy in one poll"))
            self._mark(watch, PhaseMark("healthy", now, "; ".join(o.outcome.reason for o in seen)))
            self._end(watch, "healthy")
            log.info("CLUSTER runs the revert %s of %s and is healthy", watch.rollback_sha[:12], watch.agent)
            return
        watch = replace(watch, last_reason="; ".join(o.outcome.reason for o in seen))
        self._update(watch)
        if now >= watch.deadline:
            self._fail(watch, f"timed out: {watch.last_reason}", "timeout")

    def _carried(self, watch: ClusterWatch) -> Carried:
        """The commits after the revert that still carry it."""
        with self.engine.exclusive():
            self.engine.repo.sync()
            return carried_after(
                self.engine.repo, watch.policy, watch.agent, watch.rollback_sha, watch.from_version
            )

    # -- bookkeeping ---------------------------------------------------------------------------------

    def _add(
        self,
        agent: str,
        policy: Policy,
        cluster: ClusterPolicy,
        sha: str,
        from_version: str,
        landed: datetime,
    ) -> None:
        self._update(ClusterWatch(agent, policy, cluster, sha, from_version, landed + cluster.timeout))

    def _update(self, watch: ClusterWatch) -> None:
        with self._lock:
            if watch.rollback_sha not in self.finished:
                self.watches[watch.rollback_sha] = watch

    def _mark(self, watch: ClusterWatch, mark: PhaseMark) -> None:
        with self.engine.exclusive():
            write_phase(self.engine, watch.agent, watch.rollback_sha, mark)

    def _end(self, watch: ClusterWatch, result: str) -> None:
        with self._lock:
            self.watches.pop(watch.rollback_sha, None)
            self.finished[watch.rollback_sha] = result

    def _fail(self, watch: ClusterWatch, reason: str, kind: str = "overridden") -> None:
        self._mark(watch, PhaseMark("cluster-failed", self.clock(), f"{kind}: {reason}"))
        self._end(watch, f"{kind}: {reason}")
        self.metrics.cluster_escalations.labels(watch.policy.name, kind).inc()
        self._escalate(watch, reason)

    def _escalate(self, watch: ClusterWatch, reason: str) -> None:
        text = f"rollback {watch.rollback_sha[:12]} of {watch.agent} is not running in the cluster: {reason}"
        log.warning("ESCALATE %s; not rolling back further", text)
        if self.escalate is not None:
            self.escalate(watch, text)
