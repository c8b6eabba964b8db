"""notification-controller's Receiver webhook endpoint, STAND-IN, beside the Kubernetes stand-in.

Behaves as fluxcd/notification-controller `internal/server/receiver_handlers.go` does: the request
URI must equal a Receiver's `status.webhookPath` (`/hook/sha256(token+name+namespace)`, doc-receivers.md)
exactly, query string included, else 404; a suspended or not-Ready Receiver answers 503; `generic`
accepts any request; `generic-hmac` verifies `X-Signature: <sha1|sha256|sha512>=<hex HMAC of the
body keyed by the token>` and answers **400** when it does not match (the real controller's status for
any failed validation, not 401); then every listed resource is annotated with
`reconcile.fluxcd.io/requestedAt` (a missing one makes the answer 500). Bodies are empty, as there.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from gitops_bot_lab.fakes.flux_model import REQUESTED_AT, condition
from gitops_bot_lab.fakes.kube import FakeKube
from gitops_bot_lab.fakes.loopback import LoopbackServer, ServedOnLoopback

# notification-controller's defaults for a resource listed without apiVersion.
_DEFAULT_API_VERSIONS = {
    "GitRepository": "source.toolkit.fluxcd.io/v1",
    "ImageRepository": "image.toolkit.fluxcd.io/v1",
}
_HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


def webhook_path(token: str, name: str, namespace: str) -> str:
    """The path the controller publishes in `status.webhookPath`."""
    return "/hook/" + hashlib.sha256((token + name + namespace).encode()).hexdigest()


def signature_ok(header: str, body: bytes, token: str) -> bool:
    """go-github's ValidateSignature: `<algo>=<hex>` with sha1, sha256 or sha512."""
    algo, _, digest = header.partition("=")
    if algo not in _HASHES or not digest:
        return False
    expected = hmac.new(token.encode(), body, _HASHES[algo]).hexdigest()
    return hmac.compare_digest(expected, digest)


class FakeReceiver(ServedOnLoopback):
    """The webhook server. `add_receiver()` creates the Secret and the Receiver in the FakeKube."""

    def __init__(self, kube: FakeKube) -> None:
        self.kube = kube
        self.tokens: dict[tuple[str, str], str] = {}  # (namespace, secret name) -> token
        self.log: list[tuple[str, str, int]] = []
        self._server = LoopbackServer(self._wsgi)

    def add_receiver(
        self,
        name: str,
        kind: str,
        token: str,
        resources: list[dict[str, str]],
        namespace: str = "flux-system",
    ) -> str:
        """Create a Ready Receiver of type `kind`; return its full webhook URL."""
        secret = f"{name}-token"
        self.tokens[(namespace, secret)] = token
        path = webhook_path(token, name, namespace)
        self.kube.create(
            {
                "apiVersion": "notification.toolkit.fluxcd.io/v1",
                "kind": "Receiver",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"type": kind, "secretRef": {"name": secret}, "resources": resources},
                "status": {
                    "webhookPath": path,
                    "observedGeneration": 1,
                    "conditions": [
                        condition("True", "Succeeded", f"Receiver initialized for path: {path}", 1)
                    ],
                },
            }
        )
        return self.url + path

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path.rstrip("?")
        status = self._handle(request, uri)
        self.log.append((request.method, uri, status))
        return Response(b"", status=status)(environ, start_response)

    def _handle(self, request: Request, uri: str) -> int:
        with self.kube.lock:
            found = [
                (key, obj)
                for key, obj in self.kube.objects.items()
                if key[0] == "receivers" and obj.get("status", {}).get("webhookPath") == uri
            ]
            if not found:
                return 404
            (_, namespace, _), receiver = found[0]
            ready = any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in receiver["status"].get("conditions", [])
            )
            if receiver["spec"].get("suspend") or not ready:
                return 503
            token = self.tokens.get((namespace, receiver["spec"]["secretRef"]["name"]))
            if token is None:
                return 400
            kind = receiver["spec"]["type"]
            if kind == "generic-hmac" and not signature_ok(
                request.headers.get("X-Signature", ""), request.get_data(), token
            ):
                return 400
            if kind not in ("generic", "generic-hmac"):
                return 400  # other types are not modelled by the stand-in
            return (
                500 if not all(self._annotate(r, namespace) for r in receiver["spec"]["resources"]) else 200
            )

    def _annotate(self, ref: dict[str, str], namespace: str) -> bool:
        """Set requestedAt on one listed resource through the normal patch path (so it is validated)."""
        api_version = ref.get("apiVersion") or _DEFAULT_API_VERSIONS.get(ref["kind"], "")
        try:
            crd = self.kube.crd_for(api_version, ref["kind"])
        except KeyError:
            return False
        key = (crd.plural, ref.get("namespace") or namespace, ref["name"])
        current = self.kube.objects.get(key)
        if current is None:
            return False
        patched = {**current, "metadata": {**current["metadata"]}}
        patched["metadata"]["annotations"] = {
            **current["metadata"].get("annotations", {}),
            REQUESTED_AT: _now_nano(),
        }
        self.kube.store(crd, key, current, patched)
        return True


def _now_nano() -> str:
    """time.Now().Format(time.RFC3339Nano), which the controller writes as the annotation value."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
