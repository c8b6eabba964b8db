"""Kubernetes API server STAND-IN for Flux objects on 127.0.0.1, checked against the Flux CRD schemas.

Serves GET / LIST / PATCH of the custom resources in tests/contracts/flux/ (GitRepository,
Kustomization, HelmRelease, ImageRepository, ImagePolicy, ImageUpdateAutomation, Receiver) the way
the real API server does for CRDs: bearer token, `Status` error bodies, merge patch and JSON patch
(strategic merge answers 415), `status` ignored on the main resource (status subresource), generation
bumped on spec changes. Every object served and every patch result is validated against the CRD's
`openAPIV3Schema` (gitops_bot_lab.fakes.crd); a violation is recorded in `contract_errors` (and a bad
patch result answered 422 Invalid, as the API server does). CEL `x-kubernetes-validations` rules are not
evaluated. The Flux controllers (flux_model) reconcile on `reconcile.fluxcd.io/requestedAt` and on
spec changes; the notification-controller Receiver endpoint is a second server (receiver.py).
"""

from __future__ import annotations

import copy
import hmac
import json
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from gitops_bot_lab.fakes.crd import CustomResource, load_crd
from gitops_bot_lab.fakes.flux_model import REQUESTED_AT, FluxControllers, Key, Mode, now
from gitops_bot_lab.fakes.loopback import BareGit, LoopbackServer, ServedOnLoopback
from gitops_bot_lab.fakes.patch import PatchError, apply_patch

CRD_FILES = (
    "crd-gitrepositories.yaml",
    "crd-kustomizations.yaml",
    "crd-helmreleases.yaml",
    "crd-imagerepositories.yaml",
    "crd-imagepolicies.yaml",
    "crd-imageupdateautomations.yaml",
    "crd-receivers.yaml",
)
_PATH = re.compile(
    r"^/apis/(?P<g>[^/]+)/(?P<v>[^/]+)/namespaces/(?P<ns>[^/]+)/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?$"
)
_QUERY = {
    "GET": {"resourceVersion", "pretty"},
    "PATCH": {"dryRun", "fieldManager", "fieldValidation", "force", "pretty"},
}
_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    404: "NotFound",
    405: "MethodNotAllowed",
    415: "UnsupportedMediaType",
    422: "Invalid",
    500: "InternalError",
}


def default_contracts_dir() -> Path:
    """tests/contracts/flux/ of this checkout."""
    return Path(__file__).resolve().parents[3] / "tests" / "contracts" / "flux"


class KubeError(Exception):
    """Answer with a metav1.Status."""

    def __init__(self, code: int, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details

    def body(self) -> dict[str, Any]:
        out = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": _REASONS.get(self.code, "Unknown"),
            "code": self.code,
        }
        if self.details:
            out["details"] = self.details
        return out


class FakeKube(ServedOnLoopback):
    """The stand-in. Test controls: create(), obj(), mode(), fail_next(), log, contract_errors."""

    def __init__(self, bare_repo: Path, token: str, contracts: Path | None = None) -> None:
        folder = contracts or default_contracts_dir()
        self.crds = {(c.group, c.version, c.plural): c for c in (load_crd(folder / f) for f in CRD_FILES)}
        self.objects: dict[Key, dict[str, Any]] = {}
        self.controllers = FluxControllers(BareGit(bare_repo), self.objects)
        self.token = token
        self.log: list[tuple[str, str, int]] = []
        self.contract_errors: list[str] = []
        self.faults: list[tuple[str, re.Pattern[str], int]] = []
        self.lock = threading.RLock()
        self.response_delay_s = 0.0  # an API server too slow for the client's deadline
        self._server = LoopbackServer(self._wsgi)

    def crd_for(self, api_version: str, kind: str) -> CustomResource:
        """The served CRD version for an apiVersion/kind."""
        for crd in self.crds.values():
            if crd.api_version == api_version and crd.kind == kind:
                return crd
        raise KeyError(f"no served CRD for {api_version} {kind}")

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Add an object as `kubectl apply` would, then let its controller reconcile it once."""
        crd = self.crd_for(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        meta.update(uid=str(uuid.uuid4()), resourceVersion="1", generation=1, creationTimestamp=now())
        meta.setdefault("namespace", "flux-system")
        key = (crd.plural, meta["namespace"], meta["name"])
        crd.default(obj)
        self._check(crd, obj, "created object")
        with self.lock:
            self.objects[key] = obj
            self.controllers.reconcile(key)
        return obj

    def obj(self, plural: str, namespace: str, name: str) -> dict[str, Any]:
        """The live object (tests may read it; change failure modes through mode())."""
        return self.objects[(plural, namespace, name)]

    def mode(self, plural: str, namespace: str, name: str) -> Mode:
        """Scripted controller behaviour for one object (stuck, fail_reason, fail_message)."""
        return self.controllers.mode((plural, namespace, name))

    def fail_next(self, method: str, path_regex: str, status: int) -> None:
        """Answer the next matching request with `status` and a Status body."""
        self.faults.append((method.upper(), re.compile(path_regex), status))

    def _check(self, crd: CustomResource, obj: Any, what: str) -> bool:
        problems = crd.errors(obj)
        if problems:
            self.contract_errors.append(
                f"{what} {crd.kind} violates its CRD schema:\n  - " + "\n  - ".join(problems)
            )
        return not problems

    # -- HTTP ----------------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            status, body = 200, self._handle(request)
        except KubeError as e:
            status, body = e.code, e.body()
        self.log.append((request.method, request.full_path.rstrip("?"), status))
        return Response(json.dumps(body), status=status, mimetype="application/json")(environ, start_response)

    def _handle(self, request: Request) -> Any:
        time.sleep(self.response_delay_s)
        header = request.headers.get("Authorization", "")
        if not (
            header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), self.token.encode())
        ):
            raise KubeError(401, "Unauthorized")
        for fault in list(self.faults):
            if fault[0] == request.method and fault[1].search(request.path):
                self.faults.remove(fault)
                raise KubeError(fault[2], f"scripted failure {fault[2]}")
        m = _PATH.match(request.path)
        crd = self.crds.get((m["g"], m["v"], m["plural"])) if m else None
        if m is None or crd is None:
            raise KubeError(404, "the server could not find the requested resource")
        unknown = set(request.args) - _QUERY.get(request.method, set())
        if unknown:
            self.contract_errors.append(
                f"{request.method} {request.path}: unknown query parameters {sorted(unknown)}"
            )
        with self.lock:
            if request.method == "GET" and m["name"] is None:
                return self._list(crd, m["ns"])
            if request.method == "GET":
                return self._served(crd, self._get(crd, m["ns"], m["name"]))
            if request.method == "PATCH" and m["name"] is not None:
                return self._served(crd, self._patch(crd, (crd.plural, m["ns"], m["name"]), request))
        raise KubeError(
            405, f"the server does not allow this method on the requested resource: {request.method}"
        )

    def _get(self, crd: CustomResource, ns: str, name: str) -> dict[str, Any]:
        obj = self.objects.get((crd.plural, ns, name))
        if obj is None:
            details = {"name": name, "group": crd.group, "kind": crd.plural}
            raise KubeError(404, f'{crd.plural}.{crd.group} "{name}" not found', details)
        return obj

    def _served(self, crd: CustomResource, obj: dict[str, Any]) -> dict[str, Any]:
        if not self._check(crd, obj, "served"):
            raise KubeError(500, "stand-in: served object violates its CRD schema")
        return copy.deepcopy(obj)

    def _list(self, crd: CustomResource, ns: str) -> dict[str, Any]:
        items = [
            self._served(crd, o)
            for (p, n, _), o in sorted(self.objects.items())
            if p == crd.plural and n == ns
        ]
        return {
            "apiVersion": crd.api_version,
            "kind": f"{crd.kind}List",
            "metadata": {"resourceVersion": "1"},
            "items": items,
        }

    def _patch(self, crd: CustomResource, key: Key, request: Request) -> dict[str, Any]:
        current = self._get(crd, key[1], key[2])
        try:
            patched = apply_patch(current, request.mimetype, request.get_data())
        except PatchError as e:
            raise KubeError(e.code, str(e)) from e
        return self.store(crd, key, current, patched)

    def store(
        self, crd: CustomResource, key: Key, current: dict[str, Any], patched: dict[str, Any]
    ) -> dict[str, Any]:
        """Write a new version of an object as the API server would, then wake its controller."""
        if crd.status_subresource:
            patched["status"] = current.get("status")  # the main resource cannot write status
            if patched["status"] is None:
                patched.pop("status")
        for field in ("uid", "generation", "creationTimestamp", "name", "namespace"):
            patched["metadata"][field] = current["metadata"][field]
        crd.default(patched)
        if not self._check(crd, patched, "patch result"):
            raise KubeError(422, f'{crd.kind} "{key[2]}" is invalid against its CRD schema')
        spec_changed = patched.get("spec") != current.get("spec")
        before = current["metadata"].get("annotations", {}).get(REQUESTED_AT)
        after = patched["metadata"].get("annotations", {}).get(REQUESTED_AT)
        patched["metadata"]["generation"] += int(spec_changed)
        patched["metadata"]["resourceVersion"] = str(int(current["metadata"]["resourceVersion"]) + 1)
        self.objects[key] = patched
        if spec_changed or after != before:
            self.controllers.reconcile(key)
        return patched
