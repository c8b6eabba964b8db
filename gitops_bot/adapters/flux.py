"""Flux through the Kubernetes API (the `kubernetes` client) and the notification-controller Receiver.

`request_reconcile` does what `flux reconcile kustomization --with-source` does: it sets
`reconcile.fluxcd.io/requestedAt` on the GitRepository, then on the Kustomization / HelmRelease, with
JSON merge patches. `status` reads both objects into a FluxStatus for core.cluster.flux_verdict.
Push mode (a Receiver webhook) is in flux_receiver.py.
Every call has a deadline; ApiException and transport errors become FluxError (raised from the cause).

RBAC the bot needs (namespace of the objects): get/patch on gitrepositories.source.toolkit.fluxcd.io,
kustomizations.kustomize.toolkit.fluxcd.io and helmreleases.helm.toolkit.fluxcd.io.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from gitops_bot.core.cluster import FluxKind, FluxStatus, GitRefKind

__all__ = ["Flux", "FluxError", "FluxErrorKind", "FluxStatus", "FluxTarget", "parse_status", "status_kind"]

REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
_API = {  # kind -> (group, version, plural); the versions served by current Flux (tests/contracts/flux)
    "GitRepository": ("source.toolkit.fluxcd.io", "v1", "gitrepositories"),
    "Kustomization": ("kustomize.toolkit.fluxcd.io", "v1", "kustomizations"),
    "HelmRelease": ("helm.toolkit.fluxcd.io", "v2", "helmreleases"),
}
_REF_PRECEDENCE: tuple[GitRefKind, ...] = ("commit", "name", "semver", "tag", "branch")


class FluxErrorKind(enum.Enum):
    """Why a Flux call failed."""

    AUTH = "auth"  # 401
    FORBIDDEN = "forbidden"  # 403: RBAC
    NOT_FOUND = "not-found"  # 404: object, or a Receiver path that does not match exactly
    INVALID = "invalid"  # 400 / 415 / 422: the request itself is wrong (or a Receiver rejected the signature)
    UNAVAILABLE = "unavailable"  # 503: e.g. Receiver suspended or not Ready
    SERVER = "server"  # other 5xx
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    PROTOCOL = "protocol"  # an object that is not what the CRD describes
    CONFIG = "config"  # no usable kubeconfig / in-cluster credentials


class FluxError(Exception):
    """A failed Flux call."""

    def __init__(self, kind: FluxErrorKind, message: str, status: int | None = None) -> None:
        super().__init__(f"Flux {kind.value}: {message}")
        self.kind, self.message, self.status = kind, message, status


@dataclass(frozen=True)
class FluxTarget:
    """The object that deploys an agent: a Kustomization or HelmRelease, by namespace/name."""

    kind: FluxKind
    namespace: str
    name: str

    @classmethod
    def parse(cls, kind: FluxKind, ref: str) -> FluxTarget:
        """`flux-system/support` (policy template output) -> FluxTarget."""
        namespace, _, name = ref.partition("/")
        if not namespace or not name or "/" in name:
            raise ValueError(f"{kind} reference {ref!r} must be <namespace>/<name>")
        return cls(kind, namespace, name)


def status_kind(code: int) -> FluxErrorKind:
    """HTTP status -> error kind (shared with the Receiver call)."""
    table = {
        401: FluxErrorKind.AUTH,
        403: FluxErrorKind.FORBIDDEN,
        404: FluxErrorKind.NOT_FOUND,
        503: FluxErrorKind.UNAVAILABLE,
    }
    if code in table:
        return table[code]
    return FluxErrorKind.INVALID if 400 <= code < 500 else FluxErrorKind.SERVER


def _status_message(e: ApiException) -> str:
    """The API server's own words: the `message` of the metav1.Status body, else the HTTP reason."""
    try:
        body = json.loads(e.body or "")
    except ValueError:
        body = None
    return str(body["message"]) if isinstance(body, dict) and body.get("message") else str(e.reason)


def _ready(obj: dict[str, Any]) -> dict[str, Any]:
    return next((c for c in obj.get("status", {}).get("conditions", []) if c.get("type") == "Ready"), {})


def _source_ref(source: dict[str, Any]) -> tuple[GitRefKind, str]:
    """The GitRepository ref field that wins, as source-controller applies them."""
    ref = source.get("spec", {}).get("ref") or {}
    for kind in _REF_PRECEDENCE:
        if ref.get(kind):
            return kind, str(ref[kind])
    return "branch", "master"  # the CRD's documented default


def parse_status(kind: FluxKind, obj: dict[str, Any], source: dict[str, Any]) -> FluxStatus:
    """FluxStatus from a Kustomization / HelmRelease and its GitRepository (FluxError PROTOCOL if not)."""
    try:
        status, ready = obj.get("status", {}), _ready(obj)
        if kind == "HelmRelease":
            latest = (status.get("history") or [{}])[0]
            applied = latest.get("chartVersion") if latest.get("status") == "deployed" else None
        else:
            applied = status.get("lastAppliedRevision")
        ref_kind, ref = _source_ref(source)
        return FluxStatus(
            kind=kind,
            name=obj["metadata"]["name"],
            namespace=obj["metadata"]["namespace"],
            suspended=bool(obj["spec"].get("suspend")),
            source_suspended=bool(source["spec"].get("suspend")),
            source_ref_kind=ref_kind,
            source_ref=ref,
            generation=int(obj["metadata"].get("generation", 1)),
            observed_generation=status.get("observedGeneration"),
            ready=ready.get("status"),
            ready_reason=ready.get("reason", ""),
            ready_message=ready.get("message", ""),
            applied_revision=applied,
            attempted_revision=status.get("lastAttemptedRevision"),
        )
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as e:
        raise FluxError(FluxErrorKind.PROTOCOL, f"{kind} is not what its CRD describes: {e!r}") from e


class Flux:
    """Kubernetes API calls on Flux objects, each with a deadline."""

    def __init__(self, api_client: k8s.ApiClient, timeout_s: float = 10.0) -> None:
        self.api = k8s.CustomObjectsApi(api_client)
        self.timeout_s = timeout_s

    @classmethod
    def connect(
        cls, kubeconfig: str | None = None, context: str | None = None, timeout_s: float = 10.0
    ) -> Flux:
        """In-cluster service account when no kubeconfig is given, else that kubeconfig (own Configuration)."""
        configuration = k8s.Configuration()
        try:
            if kubeconfig is None:
                k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            else:
                k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
                    kubeconfig, context, client_configuration=configuration, persist_config=False
                )
        except (ConfigException, OSError) as e:
            raise FluxError(FluxErrorKind.CONFIG, f"no Kubernetes credentials: {e}") from e
        configuration.retries = 0  # our deadline is the deadline; urllib3 must not retry behind it
        return cls(k8s.ApiClient(configuration), timeout_s)

    def call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Run one CustomObjectsApi method with the deadline; errors become FluxError."""
        try:
            return cast(dict[str, Any], fn(*args, _request_timeout=self.timeout_s, **kwargs))
        except ApiException as e:
            raise FluxError(status_kind(e.status or 0), f"{what}: {_status_message(e)}", e.status) from e
        except urllib3.exceptions.HTTPError as e:
            cause = e.reason if isinstance(e, urllib3.exceptions.MaxRetryError) else e
            # NewConnectionError subclasses ConnectTimeoutError in urllib3: refused is not slow.
            slow = isinstance(cause, urllib3.exceptions.TimeoutError)
            if slow and not isinstance(cause, urllib3.exceptions.NewConnectionError):
                raise FluxError(FluxErrorKind.TIMEOUT, f"{what}: no answer within {self.timeout_s}s") from e
            raise FluxError(FluxErrorKind.UNREACHABLE, f"{what}: {e}") from e

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        """One Flux object as a dict."""
        group, version, plural = _API[kind]
        return self.call(
            f"get {kind} {namespace}/{name}",
            self.api.get_namespaced_custom_object,
            group,
            version,
            namespace,
            plural,
            name,
        )

    def annotate(self, kind: str, namespace: str, name: str, value: str) -> None:
        """Set reconcile.fluxcd.io/requestedAt (a JSON merge patch: nothing else is touched)."""
        group, version, plural = _API[kind]
        body = {"metadata": {"annotations": {REQUESTED_AT: value}}}
        what = f"annotate {kind} {namespace}/{name}"
        self.call(
            what, self.api.patch_namespaced_custom_object, group, version, namespace, plural, name, body
        )

    def source_of(self, target: FluxTarget, obj: dict[str, Any]) -> tuple[str, str]:
        """(namespace, name) of the GitRepository a Kustomization / HelmRelease reads."""
        spec = obj.get("spec", {})
        ref = (
            spec.get("sourceRef")
            if target.kind == "Kustomization"
            else spec.get("chart", {}).get("spec", {}).get("sourceRef")
        )
        if not ref or ref.get("kind") != "GitRepository":
            raise FluxError(
                FluxErrorKind.PROTOCOL,
                f"{target.kind} {target.namespace}/{target.name} does not read a GitRepository",
            )
        return ref.get("namespace") or target.namespace, ref["name"]

    def request_reconcile(self, target: FluxTarget, value: str | None = None) -> str:
        """Annotate the GitRepository, then the target (as `flux reconcile --with-source`); returns the value."""
        value = value or datetime.now(UTC).isoformat()
        obj = self.get(target.kind, target.namespace, target.name)
        source_ns, source_name = self.source_of(target, obj)
        self.annotate("GitRepository", source_ns, source_name, value)
        self.annotate(target.kind, target.namespace, target.name, value)
        return value

    def status(self, target: FluxTarget) -> FluxStatus:
        """Read the target and its GitRepository."""
        obj = self.get(target.kind, target.namespace, target.name)
        source = self.get("GitRepository", *self.source_of(target, obj))
        return parse_status(target.kind, obj, source)
