"""POST /api/v1/flux/events and /api/v1/argocd/events: authenticate, parse, wake the cluster watch.

Thin on purpose: nothing is decided here. An event makes the cluster watch poll now; the controller's
API stays the source of truth (core.cluster_events says why).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, Response, jsonify, request

from gitops_bot.app.metrics import Metrics
from gitops_bot.core.cluster_events import ClusterEvent, parse_argo_event, parse_flux_event, verify_hmac
from gitops_bot.core.errors import AuthenticationError

log = logging.getLogger("gitops_bot")


@dataclass(frozen=True)
class ClusterEventKeys:
    """The Flux Provider's HMAC key and the Argo CD notifications bearer token (None: endpoint off)."""

    flux_hmac: str | None = None
    argo_token: str | None = None


def add_cluster_routes(
    app: Flask,
    keys: ClusterEventKeys,
    metrics: Metrics,
    on_event: Callable[[ClusterEvent], None],
    read_body: Callable[[], bytes | None],
) -> None:
    """Register both endpoints on the bot's Flask app."""

    def handle(source: str, event: ClusterEvent) -> tuple[Response, int]:
        metrics.cluster_events.labels(source, "accepted").inc()
        log.info(
            "cluster event from %s: %s %s at %s", source, event.object, event.summary, event.revision or "-"
        )
        on_event(event)
        return jsonify({"status": "accepted"}), 200

    @app.post("/api/v1/flux/events")
    def flux_events() -> tuple[Response, int]:
        if keys.flux_hmac is None:
            return jsonify({"status": "error", "error": "flux.events_token_env is not configured"}), 404
        body = read_body()
        if body is None:
            return jsonify({"status": "error", "error": "body too large"}), 413
        if not verify_hmac(body, request.headers.get("X-Signature"), keys.flux_hmac):
            metrics.cluster_events.labels("flux", "rejected").inc()
            raise AuthenticationError("missing or wrong X-Signature")
        return handle("flux", parse_flux_event(body))

    @app.post("/api/v1/argocd/events")
    def argocd_events() -> tuple[Response, int]:
        if keys.argo_token is None:
            return jsonify(
                {"status": "error", "error": "argocd.notifications_token_env is not configured"}
            ), 404
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), keys.argo_token.encode()):
            metrics.cluster_events.labels("argocd", "rejected").inc()
            raise AuthenticationError("missing or wrong bearer token")
        body = read_body()
        if body is None:
            return jsonify({"status": "error", "error": "body too large"}), 413
        return handle("argocd", parse_argo_event(body))
