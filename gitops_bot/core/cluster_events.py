"""Push-mode cluster events (pure): Flux's Event (generic-hmac Provider) and the Argo CD notifications
webhook body the project ships (manifests/argocd/argocd-notifications-cm.yaml).

An event only says "look now": the watch re-reads the controller's API before judging anything, so a
forged or reordered event can at worst cause one extra poll. The signature (Flux) / bearer token (Argo
CD) is still checked so nobody can make the bot hammer the API.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Literal

from gitops_bot.core.errors import WebhookPayloadError

Source = Literal["flux", "argocd"]
_HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
# The keys of the body template in manifests/argocd/argocd-notifications-cm.yaml.
ARGO_KEYS = ("app", "revision", "sync", "health", "phase")


@dataclass(frozen=True)
class ClusterEvent:
    """Which object changed, and what the event claims (logged, never trusted for the verdict)."""

    source: Source
    object: str
    revision: str
    summary: str


def verify_hmac(body: bytes, header: str | None, key: str) -> bool:
    """`X-Signature: <hash>=<hex>` as Flux's generic-hmac Provider sends it (sha256 by default)."""
    algo, _, digest = (header or "").partition("=")
    if algo not in _HASHES or not digest or not key:
        return False
    expected = hmac.new(key.encode(), body, _HASHES[algo]).hexdigest()
    return hmac.compare_digest(expected, digest.strip())


def _json(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except ValueError as e:
        raise WebhookPayloadError(f"not JSON: {e}") from e
    if not isinstance(doc, dict):
        raise WebhookPayloadError("body must be a JSON object")
    return doc


def parse_flux_event(body: bytes) -> ClusterEvent:
    """A Flux Event (tests/contracts/flux/doc-events.md): involvedObject, severity, reason, message."""
    doc = _json(body)
    obj = doc.get("involvedObject")
    if not isinstance(obj, dict) or not all(isinstance(obj.get(k), str) for k in ("kind", "name")):
        raise WebhookPayloadError("involvedObject with kind and name is required")
    for key in ("severity", "reason", "message"):
        if not isinstance(doc.get(key), str):
            raise WebhookPayloadError(f"{key} must be a string")
    raw_meta = doc.get("metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    revision = next((str(v) for k, v in meta.items() if k.endswith("/revision") or k == "revision"), "")
    where = f"{obj['kind']} {obj.get('namespace', '')}/{obj['name']}"
    return ClusterEvent("flux", where, revision, f"{doc['severity']} {doc['reason']}: {doc['message'][:200]}")


def parse_argo_event(body: bytes) -> ClusterEvent:
    """The project's Argo CD notifications body: {app, revision, sync, health, phase} (all strings)."""
    doc = _json(body)
    missing = [k for k in ARGO_KEYS if not isinstance(doc.get(k), str)]
    if missing or not doc["app"]:
        raise WebhookPayloadError(
            f"want string keys {', '.join(ARGO_KEYS)}; bad or missing: {missing or ['app']}"
        )
    summary = f"sync {doc['sync']}, health {doc['health']}, operation {doc['phase'] or '-'}"
    return ClusterEvent("argocd", f"Application {doc['app']}", doc["revision"], summary)
