"""Push mode for Flux: call a notification-controller Receiver webhook (`generic` or `generic-hmac`).

The URL's path must equal the Receiver's `status.webhookPath` (`/hook/sha256(token+name+namespace)`)
exactly; the controller matches the whole request URI, so no query string may be added. For
`generic-hmac` the body is signed with the Receiver's token: `X-Signature: sha256=<hex>`.
The controller answers 404 (no such path), 400 (signature or payload rejected), 503 (Receiver
suspended or not Ready), 500 (a listed resource could not be annotated).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

import requests

from gitops_bot.adapters.flux import FluxError, FluxErrorKind, status_kind

__all__ = ["call_receiver", "sign"]

_HINTS = {
    404: "no Receiver has this path",
    400: "payload or signature rejected",
    503: "Receiver suspended or not Ready",
}


def sign(body: bytes, token: str) -> str:
    """The X-Signature value for a generic-hmac Receiver."""
    return "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def call_receiver(
    url: str,
    kind: Literal["generic", "generic-hmac"],
    token: str = "",
    body: bytes = b"{}",
    timeout_s: float = 10.0,
    ca_bundle: str | None = None,
) -> None:
    """POST to a Receiver webhook; the URL path must be the Receiver's status.webhookPath exactly."""
    headers = {"Content-Type": "application/json"}
    if kind == "generic-hmac":
        headers["X-Signature"] = sign(body, token)
    try:
        resp = requests.post(url, data=body, headers=headers, timeout=timeout_s, verify=ca_bundle or True)
    except requests.Timeout as e:
        raise FluxError(FluxErrorKind.TIMEOUT, f"Receiver {url}: no answer within {timeout_s}s") from e
    except requests.RequestException as e:
        raise FluxError(FluxErrorKind.UNREACHABLE, f"Receiver {url}: {e}") from e
    if resp.status_code >= 300:
        raise FluxError(
            status_kind(resp.status_code),
            f"Receiver {url}: {resp.status_code} ({_HINTS.get(resp.status_code, 'error')})",
            resp.status_code,
        )
