"""Has the cluster run the revert yet? Pure verdicts over Argo CD / Flux status snapshots.

The adapters read a snapshot; the caller computes `acceptable`, the full shas of the revert commit and
of its descendants on the branch (a later commit also carries the revert). No I/O, clock or env here.
Argo CD's verdict follows the `on-deployed` catalog trigger (tests/contracts/argocd/); Flux's follows
the kustomize-/helm-controller status contract (`lastAppliedRevision` + `Ready`).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

FluxKind = Literal["Kustomization", "HelmRelease"]
GitRefKind = Literal["branch", "tag", "semver", "commit", "name"]

# An Argo CD Application tracks the bot's branch when targetRevision is one of these spellings.
_HEADLESS = frozenset({"", "HEAD"})
# Health changes more than this before a sync finished predate the sync (on-deployed trigger).
_ON_DEPLOYED_SLACK = timedelta(minutes=1)
_FAILED_PHASES = frozenset({"Failed", "Error"})
# Flux Ready=False reasons that mean "applied, but the workloads are unhealthy".
_FLUX_UNHEALTHY = frozenset({"HealthCheckFailed", "ProgressingWithRetry"})


class ClusterVerdict(enum.Enum):
    """Where a rollback stands in the cluster."""

    WAITING = "waiting"
    DEPLOYED = "deployed"
    SYNC_FAILED = "sync-failed"
    DEGRADED = "degraded"
    PINNED = "pinned"
    SYNC_WINDOW_DENIED = "sync-window-denied"
    SUSPENDED = "suspended"

    @property
    def final(self) -> bool:
        """Everything but WAITING ends the watch (success, or an escalation with a reason)."""
        return self is not ClusterVerdict.WAITING


@dataclass(frozen=True)
class ClusterOutcome:
    """A verdict and the sentence an operator reads in the log / PR comment."""

    verdict: ClusterVerdict
    reason: str


@dataclass(frozen=True)
class ArgoAppStatus:
    """The fields of one Argo CD Application the verdict needs (see adapters.argocd)."""

    name: str
    target_revision: str
    automated: bool
    sync_status: str | None = None
    sync_revision: str | None = None
    health_status: str | None = None
    health_message: str = ""
    health_changed_at: datetime | None = None
    operation_phase: str | None = None
    operation_message: str = ""
    operation_revision: str | None = None
    operation_started_at: datetime | None = None
    operation_finished_at: datetime | None = None
    can_sync: bool | None = None  # from the sync windows; None = not asked


@dataclass(frozen=True)
class FluxStatus:
    """One Flux Kustomization or HelmRelease plus the GitRepository it reads (see adapters.flux)."""

    kind: FluxKind
    name: str
    namespace: str
    suspended: bool
    source_suspended: bool
    source_ref_kind: GitRefKind  # the GitRepository spec.ref field that wins (commit > name > semver > ...)
    source_ref: str
    generation: int
    observed_generation: int | None
    ready: Literal["True", "False", "Unknown"] | None
    ready_reason: str = ""
    ready_message: str = ""
    applied_revision: str | None = None  # Kustomization lastAppliedRevision / HelmRelease chartVersion
    attempted_revision: str | None = None


def revision_sha(revision: str | None) -> str | None:
    """The commit in a Flux revision: `main@sha1:<sha>`, `sha1:<sha>`, legacy `main/<sha>`, or a
    Helm chart version whose build metadata is the (short) sha, `1.2.0+<sha12>`."""
    if not revision:
        return None
    for pattern in (
        r"sha1:([0-9a-f]{7,40})$",
        r"/([0-9a-f]{40})$",
        r"\+([0-9a-f]{7,40})$",
        r"^([0-9a-f]{40})$",
    ):
        m = re.search(pattern, revision)
        if m:
            return m.group(1)
    return None


def _accepted(sha: str | None, acceptable: frozenset[str]) -> bool:
    """True when `sha` (possibly abbreviated, as in Helm chart versions) names an acceptable commit."""
    if not sha or len(sha) < 7:
        return False
    return any(full.startswith(sha) for full in acceptable)


def _tracks_branch(target: str, branch: str) -> bool:
    """An Application target that follows the branch (so a push reaches it)."""
    return target in _HEADLESS or target in (branch, f"refs/heads/{branch}")


def _health_settled_after_sync(s: ArgoAppStatus) -> bool:
    """The on-deployed trigger's timing clause: health did not flip long before the sync finished."""
    changed, started, finished = s.health_changed_at, s.operation_started_at, s.operation_finished_at
    if changed is None or finished is None:
        return True  # nothing to compare: Argo CD omits the times only when they do not apply
    if started is not None and changed < started:
        return True
    return not changed + _ON_DEPLOYED_SLACK < finished


def argo_verdict(s: ArgoAppStatus, revert: str, acceptable: frozenset[str], branch: str) -> ClusterOutcome:
    """Judge one Application against the revert (`acceptable` = revert and its descendants)."""
    out = ClusterOutcome
    if not _tracks_branch(s.target_revision, branch):
        return out(
            ClusterVerdict.PINNED,
            f"Application {s.name} targets {s.target_revision!r}, not branch {branch!r}: "
            f"the revert {revert[:12]} can never reach it",
        )
    # status.sync.revision is what Argo CD *compared* with; only Synced means the cluster runs it.
    compared = _accepted(s.sync_revision, acceptable)
    running = compared and s.sync_status == "Synced"
    op_on_revert = _accepted(s.operation_revision, acceptable)
    if s.operation_phase in _FAILED_PHASES and (op_on_revert or (compared and not s.operation_revision)):
        return out(
            ClusterVerdict.SYNC_FAILED,
            f"Application {s.name}: sync to {revert[:12]} {s.operation_phase}: {s.operation_message}",
        )
    applied = running or (op_on_revert and s.operation_phase == "Succeeded")
    if applied and s.health_status == "Degraded":
        return out(
            ClusterVerdict.DEGRADED,
            f"Application {s.name} runs {s.sync_revision} but is Degraded: {s.health_message}",
        )
    if running and s.health_status == "Healthy":
        deployed = _argo_deployed_reason(s, op_on_revert)
        if deployed:
            return out(ClusterVerdict.DEPLOYED, deployed)
    if not running and s.can_sync is False:
        return out(
            ClusterVerdict.SYNC_WINDOW_DENIED,
            f"Application {s.name}: a sync window denies syncs now; revert {revert[:12]} waits for it",
        )
    return out(ClusterVerdict.WAITING, _argo_waiting_reason(s, running, revert))


def _argo_deployed_reason(s: ArgoAppStatus, op_on_revert: bool) -> str | None:
    """The DEPLOYED sentence, or None while the last operation on the revert is not done."""
    if op_on_revert:
        if s.operation_phase != "Succeeded" or not _health_settled_after_sync(s):
            return None
        return f"Application {s.name} synced {s.sync_revision} and is Healthy"
    if s.operation_phase in ("Running", "Terminating"):
        return None
    # No operation for this revision: Argo CD moved sync.revision without one, nothing to apply.
    return f"Application {s.name} is Synced and Healthy at {s.sync_revision} (no resource changed)"


def _argo_waiting_reason(s: ArgoAppStatus, running: bool, revert: str) -> str:
    """Why the watch goes on (shown when it times out)."""
    if not running:
        how = "automated sync" if s.automated else "a manual sync"
        return (
            f"Application {s.name} compared {s.sync_revision or 'no revision'} ({s.sync_status}); "
            f"waiting for {how} of {revert[:12]}"
        )
    if s.health_status == "Suspended":
        return f"Application {s.name} runs the revert but a rollout is paused (health Suspended): {s.health_message}"
    return (
        f"Application {s.name} at the revert: sync {s.sync_status}, health {s.health_status}, "
        f"operation {s.operation_phase or 'none'}"
    )


def _flux_tracks_branch(s: FluxStatus, branch: str) -> bool:
    """A GitRepository ref that follows the branch (tag, semver, commit or another name pin it)."""
    if s.source_ref_kind == "name":
        return s.source_ref == f"refs/heads/{branch}"
    return s.source_ref_kind == "branch" and s.source_ref == branch


def flux_verdict(s: FluxStatus, revert: str, acceptable: frozenset[str], branch: str) -> ClusterOutcome:
    """Judge one Kustomization / HelmRelease against the revert."""
    out, who = ClusterOutcome, f"{s.kind} {s.namespace}/{s.name}"
    if s.suspended or s.source_suspended:
        what = who if s.suspended else f"the GitRepository behind {who}"
        return out(ClusterVerdict.SUSPENDED, f"{what} is suspended: revert {revert[:12]} will not be applied")
    if not _flux_tracks_branch(s, branch):
        return out(
            ClusterVerdict.PINNED,
            f"{who} reads git {s.source_ref_kind} {s.source_ref!r}, not branch {branch!r}: the revert "
            f"{revert[:12]} can never reach it",
        )
    current = s.observed_generation == s.generation
    applied = _accepted(revision_sha(s.applied_revision), acceptable)
    attempted = _accepted(revision_sha(s.attempted_revision), acceptable)
    if current and applied and s.ready == "True":
        return out(ClusterVerdict.DEPLOYED, f"{who} applied {s.applied_revision} and is Ready")
    if current and s.ready == "False" and (attempted or applied):
        kind = ClusterVerdict.DEGRADED if s.ready_reason in _FLUX_UNHEALTHY else ClusterVerdict.SYNC_FAILED
        return out(kind, f"{who} Ready=False ({s.ready_reason}): {s.ready_message}")
    return out(
        ClusterVerdict.WAITING,
        f"{who} applied {s.applied_revision or 'nothing'} (Ready={s.ready}, reason {s.ready_reason or '-'}); "
        f"waiting for {revert[:12]}",
    )
