"""The Flux controllers half of the Kubernetes stand-in: reconcile objects against the real bare repo.

source-controller: a GitRepository resolves its ref on the bare repo and publishes
`status.artifact.revision` (`main@sha1:<sha>`); a new artifact makes the Kustomizations / HelmReleases
that read it reconcile, as the real controllers watch their sources. kustomize-controller sets
`lastAttemptedRevision`, `lastAppliedRevision` and `Ready`; helm-controller sets the chart version
`<version>+<sha12>` (the `Revision` reconcile strategy) in `history` and `Ready`. A `spec.suspend: true`
object is never reconciled. Failure modes per object live in `Mode`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gitops_bot_lab.fakes.loopback import BareGit

REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
Key = tuple[str, str, str]  # (plural, namespace, name)


def now() -> str:
    """metav1.Time: RFC 3339, seconds, UTC."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Mode:
    """Scripted controller behaviour for one object."""

    stuck: bool = False  # the controller never reconciles it again
    fail_reason: str | None = None  # e.g. ReconciliationFailed, HealthCheckFailed, UpgradeFailed
    fail_message: str = "apply failed: admission webhook denied the request"


def condition(status: str, reason: str, message: str, generation: int) -> dict[str, Any]:
    """A metav1.Condition of type Ready."""
    return {
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": now(),
        "observedGeneration": generation,
    }


class FluxControllers:
    """source-, kustomize- and helm-controller over an object store shared with the API server."""

    def __init__(self, git: BareGit, objects: dict[Key, dict[str, Any]]) -> None:
        self.git = git
        self.objects = objects
        self.modes: dict[Key, Mode] = {}

    def mode(self, key: Key) -> Mode:
        """The (possibly default) failure modes of one object."""
        return self.modes.setdefault(key, Mode())

    def reconcile(self, key: Key) -> None:
        """Run the controller that owns this kind, unless suspended or stuck."""
        obj = self.objects.get(key)
        if obj is None or obj["spec"].get("suspend") or self.mode(key).stuck:
            return
        handled = obj["metadata"].get("annotations", {}).get(REQUESTED_AT)
        if handled is not None:
            obj.setdefault("status", {})["lastHandledReconcileAt"] = handled
        if key[0] == "gitrepositories":
            self._source(key, obj)
        elif key[0] in ("kustomizations", "helmreleases"):
            self._apply(key, obj)

    def _git_ref(self, ref: dict[str, str]) -> tuple[str, str]:
        """(revision prefix, git rev) for a GitRepository spec.ref, in source-controller's precedence."""
        if ref.get("commit"):
            return "", ref["commit"]
        if ref.get("name"):
            return ref["name"], ref["name"]
        if ref.get("tag"):
            return ref["tag"], f"refs/tags/{ref['tag']}"
        branch = ref.get("branch", "master")
        return branch, f"refs/heads/{branch}"

    def _source(self, key: Key, obj: dict[str, Any]) -> None:
        prefix, rev = self._git_ref(obj["spec"].get("ref", {}))
        sha = self.git.commit(rev)
        status, gen = obj.setdefault("status", {}), obj["metadata"]["generation"]
        status["observedGeneration"] = gen
        if sha is None:
            status["conditions"] = [
                condition("False", "GitOperationFailed", f"unable to resolve {rev!r}", gen)
            ]
            return
        revision = f"{prefix}@sha1:{sha}" if prefix else f"sha1:{sha}"
        previous = status.get("artifact", {}).get("revision")
        status["artifact"] = {
            "revision": revision,
            "digest": "sha256:" + hashlib.sha256(sha.encode()).hexdigest(),
            "lastUpdateTime": now(),
            "path": f"gitrepository/{key[1]}/{key[2]}/{sha}.tar.gz",
            "url": f"http://source-controller.flux-system.svc/gitrepository/{key[1]}/{key[2]}/{sha}.tar.gz",
        }
        status["conditions"] = [
            condition("True", "Succeeded", f"stored artifact for revision '{revision}'", gen)
        ]
        if previous != revision:
            for other in [k for k, o in self.objects.items() if self._reads(o, key)]:
                self.reconcile(other)

    @staticmethod
    def _source_ref(obj: dict[str, Any]) -> dict[str, Any]:
        spec = obj["spec"]
        return dict(spec.get("sourceRef") or spec.get("chart", {}).get("spec", {}).get("sourceRef") or {})

    def _reads(self, obj: dict[str, Any], source: Key) -> bool:
        """Whether a Kustomization / HelmRelease reads this GitRepository."""
        ref = self._source_ref(obj)
        ns = ref.get("namespace") or obj["metadata"]["namespace"]
        return ref.get("kind") == "GitRepository" and (ns, ref.get("name")) == source[1:]

    def _apply(self, key: Key, obj: dict[str, Any]) -> None:
        ref = self._source_ref(obj)
        src_key = ("gitrepositories", ref.get("namespace") or key[1], ref.get("name", ""))
        artifact = self.objects.get(src_key, {}).get("status", {}).get("artifact")
        status, gen = obj.setdefault("status", {}), obj["metadata"]["generation"]
        status["observedGeneration"] = gen
        if artifact is None:
            status["conditions"] = [
                condition("False", "ArtifactFailed", f"Source {src_key[2]!r} not ready", gen)
            ]
            return
        revision, mode = artifact["revision"], self.mode(key)
        if key[0] == "helmreleases":
            self._helm(obj, revision, mode)
            return
        status["lastAttemptedRevision"] = revision
        if mode.fail_reason is None or mode.fail_reason == "HealthCheckFailed":
            status["lastAppliedRevision"] = revision
        if mode.fail_reason is None:
            status["conditions"] = [
                condition("True", "ReconciliationSucceeded", f"Applied revision: {revision}", gen)
            ]
        else:
            status["conditions"] = [condition("False", mode.fail_reason, mode.fail_message, gen)]

    def _helm(self, obj: dict[str, Any], revision: str, mode: Mode) -> None:
        """helm-controller: a chart from a GitRepository is versioned `<version>+<sha12>`."""
        status, gen, meta = obj["status"], obj["metadata"]["generation"], obj["metadata"]
        chart = obj["spec"]["chart"]["spec"]["chart"].strip("./").split("/")[-1]
        version = f"0.1.0+{revision.rsplit(':', 1)[-1][:12]}"
        status["lastAttemptedRevision"] = version
        status["lastAttemptedGeneration"] = gen
        if mode.fail_reason is not None:
            status["conditions"] = [condition("False", mode.fail_reason, mode.fail_message, gen)]
            return
        history = status.setdefault("history", [])
        number = (history[0]["version"] + 1) if history else 1
        snapshot = {
            "chartName": chart,
            "chartVersion": version,
            "configDigest": "sha256:" + hashlib.sha256(version.encode()).hexdigest(),
            "digest": "sha256:" + hashlib.sha256(f"{number}{version}".encode()).hexdigest(),
            "firstDeployed": history[-1]["firstDeployed"] if history else now(),
            "lastDeployed": now(),
            "name": meta["name"],
            "namespace": meta["namespace"],
            "status": "deployed",
            "version": number,
        }
        for old in history:
            old["status"] = "superseded"
        status["history"] = [snapshot, *history][:5]
        message = f"Helm upgrade succeeded for release {meta['namespace']}/{meta['name']}.v{number} with chart {chart}@{version}"
        status["conditions"] = [condition("True", "UpgradeSucceeded", message, gen)]
