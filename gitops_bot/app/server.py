"""The thin HTTP layer: authenticate, parse, enqueue; errors map to status codes in one place."""

import hmac

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from gitops_bot.app.audit import rollbacks_json
from gitops_bot.app.cluster_events_http import ClusterEventKeys, add_cluster_routes
from gitops_bot.app.service import Bot
from gitops_bot.core.alerts import parse_notification
from gitops_bot.core.errors import (
    AlertPayloadError,
    AuthenticationError,
    GitError,
    GitopsBotError,
    JournalError,
    WebhookPayloadError,
)

MAX_BODY = 8 * 1024 * 1024  # one 10,000-alert Alertmanager group is ~4.7 MiB
_STATUS: dict[type[GitopsBotError], int] = {
    AlertPayloadError: 400,
    WebhookPayloadError: 400,
    AuthenticationError: 401,
    JournalError: 503,  # disk trouble: Alertmanager retrying later can help
    GitError: 503,  # the clone or the remote: retrying later can help
}


def _authenticate(token: str | None) -> None:
    if token is None:
        return
    given = request.headers.get("Authorization", "")
    scheme, _, credentials = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(credentials.encode(), token.encode()):
        raise AuthenticationError("missing or wrong bearer token")


def create_app(
    bot: Bot,
    *,
    token: str | None,
    read_token: str | None = None,
    max_body: int = MAX_BODY,
    cluster_keys: ClusterEventKeys | None = None,
) -> Flask:
    """The Flask app; token None means authentication was explicitly switched off.

    read_token, when given, guards the audit (`/api/v1/rollbacks`); `/metrics` and `/healthz`
    stay open so scrapers and probes need no secret.
    """
    app = Flask(__name__)
    # Cluster events are small JSON documents: 1 MiB is far more than any Flux / Argo CD event.
    event_body = lambda: _read_body(min(max_body, 1024 * 1024))  # noqa: E731
    add_cluster_routes(app, cluster_keys or ClusterEventKeys(), bot.metrics, bot.cluster_event, event_body)

    def read_body() -> bytes | None:
        return _read_body(max_body)

    @app.post("/api/v1/alerts")
    def alerts() -> tuple[Response, int]:
        _authenticate(token)
        body = read_body()
        if body is None:
            return _error(413, f"body over {max_body} bytes")
        notification = parse_notification(body)
        queued = bot.accept(notification)
        return jsonify({"status": "accepted", "queued": queued, "alerts": len(notification.alerts)}), 200

    @app.post("/api/v1/github")
    def github_webhook() -> tuple[Response, int]:
        from gitops_bot.app.github.forge import GitHubForge  # PyGithub only when github mode is used

        forge = bot.engine.forge
        if not isinstance(forge, GitHubForge):
            return _error(404, "forge.kind is not github")
        body = read_body()
        if body is None:
            return _error(413, f"body over {max_body} bytes")
        status, text = forge.receive(
            event=request.headers.get("X-GitHub-Event", ""),
            delivery=request.headers.get("X-GitHub-Delivery", ""),
            signature=request.headers.get("X-Hub-Signature-256"),
            body=body,  # the raw bytes GitHub signed
        )
        return jsonify({"status": text}), status

    @app.get("/api/v1/rollbacks")
    def rollbacks() -> tuple[Response, int]:
        _authenticate(read_token)
        agent = request.args.get("agent") or None
        if not bot.engine.repo.ready:
            return _error(503, "the clone is still being made; alerts are being journaled meanwhile")
        if problem := bot.engine.clone_problem():  # a deleted or locked clone is repaired first
            return _error(503, problem)
        return jsonify(rollbacks_json(bot.engine, agent=agent)), 200

    @app.get("/readyz")
    @app.get("/healthz")  # kept for old probes: same meaning as /readyz
    def readyz() -> tuple[Response, int]:
        problems = bot.not_ready()
        # Ready = alerts are accepted durably. A new pod is ready while its clone is still being
        # made (`cloning`, `ready: false`): it journals alerts and handles them once it is complete.
        repo = bot.engine.repo
        status = "not ready" if problems else ("ok" if repo.ready else "cloning")
        body: dict[str, object] = {"status": status, "ready": repo.ready}
        if repo.clone_error and not repo.ready:
            body["lastCloneError"] = repo.clone_error
        if problems:
            body["problems"] = problems
        if bot.unresolved_policies:  # the bot may run, but these policies protect nothing
            body["unresolvedPolicies"] = dict(bot.unresolved_policies)
        return jsonify(body), 503 if problems else 200

    @app.get("/livez")
    def livez() -> tuple[Response, int]:
        # Only a job stuck well past its own deadline: a slow rollback must not get the pod killed.
        if not bot.alive():
            return jsonify({"status": "worker not running"}), 503
        if stuck := bot.stuck():
            return jsonify({"status": "stuck", "job": stuck}), 503
        return jsonify({"status": "ok"}), 200

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(bot.metrics.render(), mimetype="text/plain; version=0.0.4")

    @app.errorhandler(GitopsBotError)
    def on_bot_error(e: GitopsBotError) -> tuple[Response, int]:
        code = next((c for kind, c in _STATUS.items() if isinstance(e, kind)), 500)
        bot.metrics.webhook_rejected.labels(str(code)).inc()
        return _error(code, str(e))

    @app.errorhandler(HTTPException)
    def on_http_error(e: HTTPException) -> tuple[Response, int]:
        code = e.code or 500
        bot.metrics.webhook_rejected.labels(str(code)).inc()
        return _error(code, e.description or e.name)

    return app


def _read_body(limit: int) -> bytes | None:
    """The raw body, or None when it is over limit (declared or, when chunked, as read)."""
    if (request.content_length or 0) > limit:
        return None
    chunks, size = [], 0
    while size <= limit and (chunk := request.stream.read(limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
    return None if size > limit else b"".join(chunks)


def _error(code: int, message: str) -> tuple[Response, int]:
    return jsonify({"status": "error", "error": message}), code
