"""The Application controller half of the Argo CD stand-in: state, reconcile and sync over a bare repo.

Only what the bot observes is modelled: a reconcile resolves `targetRevision` on the real bare repo and
compares the tree at `source.path` with the tree last synced (Argo CD compares rendered manifests; equal
trees render equal manifests), an automated policy syncs when out of sync, a sync records
`operationState` and `history` as the controller does. Failure modes are plain fields a test sets.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from gitops_bot_lab.fakes.loopback import BareGit

SyncFailure = Literal["Failed", "Error"]
_ids = itertools.count(1)


def now() -> str:
    """Kubernetes timestamp (seconds, UTC, Z), as Argo CD writes v1.Time."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeApp:
    """One Application; the fields after `project` are failure modes and controller state."""

    name: str
    repo_url: str
    path: str
    target_revision: str = "HEAD"
    automated: bool = True
    project: str = "default"
    sync_failure: SyncFailure | None = None  # every sync operation ends in this phase
    health_after_sync: str = "Healthy"  # e.g. Degraded, Progressing, Suspended
    progressing_passes: int = 0  # controller passes a synced app stays Progressing before health_after_sync
    controller_stuck: bool = False  # reconciles never look at git again
    sync_window_denies: bool = False  # a project deny window is active (manualSync false)
    synced_sha: str | None = None
    compared_sha: str | None = None
    health: str = "Healthy"
    health_changed: str = field(default_factory=now)
    operation: dict[str, Any] | None = None  # requested, not yet run
    operation_state: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    reconciled_at: str | None = None
    rollout_left: int = 0
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))
    resource_version: int = 1

    def source(self) -> dict[str, Any]:
        """spec.source as Argo CD serves it."""
        return {"repoURL": self.repo_url, "path": self.path, "targetRevision": self.target_revision}

    def set_health(self, status: str) -> None:
        """Move health, stamping lastTransitionTime only on a real transition."""
        if status != self.health:
            self.health, self.health_changed = status, now()


class SyncRefused(Exception):
    """The API server refuses a sync request (gRPC code and message, as Argo CD words them)."""

    def __init__(self, grpc_code: int, message: str) -> None:
        super().__init__(message)
        self.grpc_code = grpc_code
        self.message = message


class ArgoController:
    """Reconciles FakeApps against the bare repo."""

    def __init__(self, git: BareGit) -> None:
        self.git = git
        self.apps: dict[str, FakeApp] = {}

    def reconcile(self, app: FakeApp) -> None:
        """One controller pass: run a pending operation, compare with git, auto-sync if allowed."""
        self.run_operation(app)
        if app.controller_stuck:
            return
        app.reconciled_at = now()
        if app.rollout_left > 0:  # pods of the last sync are still rolling out
            app.rollout_left -= 1
            if app.rollout_left == 0:
                app.set_health(app.health_after_sync)
        target = self.git.commit(app.target_revision or "HEAD")
        if target is None:
            return  # real Argo CD sets a ComparisonError condition; the bot only sees no progress
        app.compared_sha = target
        if self.in_sync(app) or not app.automated or app.sync_window_denies:
            return
        last = (app.operation_state or {}).get("syncResult", {}).get("revision")
        if last == target and (app.operation_state or {}).get("phase") in ("Failed", "Error"):
            return  # automated sync does not retry a revision that already failed
        app.operation = {"sync": {"revision": target}, "initiatedBy": {"automated": True}}
        self.run_operation(app)

    def in_sync(self, app: FakeApp) -> bool:
        """Synced when the manifests at the compared revision equal the ones last applied."""
        if app.synced_sha is None or app.compared_sha is None:
            return False
        return self.git.tree(app.synced_sha, app.path) == self.git.tree(app.compared_sha, app.path)

    def request_sync(self, app: FakeApp, revision: str) -> None:
        """POST .../sync: the checks Argo CD's API server makes before it records an operation."""
        if app.sync_window_denies:
            raise SyncRefused(7, "Cannot sync: Blocked by sync window")
        target = app.target_revision or "HEAD"
        if app.automated and revision and revision != target:
            raise SyncRefused(9, f"Cannot sync to {revision}: auto-sync currently set to {target}")
        app.operation = {"sync": {"revision": revision or target}, "initiatedBy": {"username": "admin"}}
        app.resource_version += 1

    def run_operation(self, app: FakeApp) -> None:
        """Execute a requested sync: apply the revision's tree, or fail as scripted."""
        if app.operation is None or app.controller_stuck:
            return
        op, app.operation = app.operation, None
        started = now()
        sha = self.git.commit(op["sync"]["revision"])
        phase, message = "Succeeded", "successfully synced (all tasks run)"
        if sha is None:
            phase, message = "Error", f"unable to resolve '{op['sync']['revision']}' to a commit SHA"
        elif app.sync_failure is not None:
            phase = app.sync_failure
            message = "one or more objects failed to apply, reason: admission webhook denied the request"
        result_rev = sha or op["sync"]["revision"]
        op["sync"]["revision"] = result_rev
        app.operation_state = {
            "operation": op,
            "phase": phase,
            "message": message,
            "startedAt": started,
            "finishedAt": now(),
            "syncResult": {"revision": result_rev, "source": app.source()},
        }
        if phase == "Succeeded" and sha is not None:
            app.synced_sha = app.compared_sha = sha
            app.rollout_left = app.progressing_passes
            app.set_health("Progressing" if app.progressing_passes else app.health_after_sync)
            app.history.append(
                {
                    "id": next(_ids),
                    "revision": sha,
                    "deployStartedAt": started,
                    "deployedAt": now(),
                    "source": app.source(),
                }
            )
        app.resource_version += 1

    def document(self, app: FakeApp, namespace: str) -> dict[str, Any]:
        """The Application as GET /api/v1/applications/{name} returns it."""
        spec: dict[str, Any] = {
            "source": app.source(),
            "destination": {"server": "https://kubernetes.default.svc", "namespace": app.name},
            "project": app.project,
        }
        if app.automated:
            spec["syncPolicy"] = {"automated": {"prune": True, "selfHeal": True}}
        status: dict[str, Any] = {
            "sync": {
                "status": "Synced" if self.in_sync(app) else "OutOfSync",
                "comparedTo": {"source": app.source(), "destination": spec["destination"]},
            },
            "health": {"status": app.health, "lastTransitionTime": app.health_changed},
            "sourceType": "Directory",
            "controllerNamespace": namespace,
            "history": app.history[-10:],
        }
        if app.compared_sha:
            status["sync"]["revision"] = app.compared_sha
        if app.reconciled_at:
            status["reconciledAt"] = status["observedAt"] = app.reconciled_at
        if app.operation_state:
            status["operationState"] = app.operation_state
        doc: dict[str, Any] = {
            "metadata": {
                "name": app.name,
                "namespace": namespace,
                "uid": app.uid,
                "resourceVersion": str(app.resource_version),
                "generation": 1,
                "creationTimestamp": app.health_changed,
            },
            "spec": spec,
            "status": status,
        }
        if app.operation:
            doc["operation"] = app.operation
        return doc
