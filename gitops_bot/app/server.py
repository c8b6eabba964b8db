"""The thin HTTP layer: authenticate, parse, enqueue; errors map to status codes in one place."""

import hmac

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from gitops_bot.app.audit import rollbacks_json
from gitops_bot.app.service import Bot
from gitops_bot.core.alerts import parse_notification
from gitops_bot.core.errors import (
    AlertPayloadError,
    AuthenticationError,
    GitopsBotError,
    JournalError,
    WebhookPayloadError,
)

MAX_BODY = 1024 * 1024
_STATUS: dict[type[GitopsBotError], int] = {
    AlertPayloadError: 400,
    WebhookPayloadError: 400,
    AuthenticationError: 401,
    JournalError: 503,  # disk trouble: Alertmanager retrying later can help
}


def _authenticate(token: str | None) -> None:
    if token is None:
        return
    given = request.headers.get("Authorization", "")
    scheme, _, credentials = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(credentials.encode(), token.encode()):
        raise AuthenticationError("missing or wrong bearer token")


def create_app(bot: Bot, *, token: str | None) -> Flask:
    """The Flask app; token None means authentication was explicitly switched off."""
    app = Flask(__name__)

    @app.post("/api/v1/alerts")
    def alerts() -> tuple[Response, int]:
        _authenticate(token)
        body = _read_body()
        if body is None:
            return _error(413, f"body over {MAX_BODY} bytes")
        notification = parse_notification(body)
        queued = bot.accept(notification)
        return jsonify({"status": "accepted", "queued": queued, "alerts": len(notification.alerts)}), 200

    @app.post("/api/v1/github")
    def github_webhook() -> tuple[Response, int]:
        from gitops_bot.app.github.forge import GitHubForge  # PyGithub only when github mode is used

        forge = bot.engine.forge
        if not isinstance(forge, GitHubForge):
            return _error(404, "forge.kind is not github")
        body = _read_body()
        if body is None:
            return _error(413, f"body over {MAX_BODY} bytes")
        status, text = forge.receive(
            event=request.headers.get("X-GitHub-Event", ""),
            delivery=request.headers.get("X-GitHub-Delivery", ""),
            signature=request.headers.get("X-Hub-Signature-256"),
            body=body,  # the raw bytes GitHub signed
        )
        return jsonify({"status": text}), status

    @app.get("/api/v1/rollbacks")
    def rollbacks() -> tuple[Response, int]:
        if not bot.engine.repo.ready:
            return _error(503, "the clone is still being made; alerts are being journaled meanwhile")
        agent = request.args.get("agent") or None
        return jsonify(rollbacks_json(bot.engine.repo, agent=agent)), 200

    @app.get("/livez")
    def livez() -> tuple[Response, int]:
        alive = bot.alive()
        return jsonify({"status": "ok" if alive else "worker not running"}), 200 if alive else 503

    # Kubernetes readiness is the same as health: a pod still cloning already takes alerts durably
    # (that is the point of serving early), so it must receive them.
    @app.get("/readyz")
    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        if not bot.alive():
            return jsonify({"status": "worker not running"}), 503
        # Healthy = alerts are accepted durably and will be handled. `ready` says whether git work
        # can run yet: a new pod serves while its clone is made, and handles the journal after.
        repo = bot.engine.repo
        body: dict[str, object] = {"status": "ok" if repo.ready else "cloning", "ready": repo.ready}
        if repo.clone_error and not repo.ready:
            body["lastCloneError"] = repo.clone_error
        if bot.unresolved_policies:  # the bot may run, but these policies protect nothing
            body["unresolvedPolicies"] = dict(bot.unresolved_policies)
        return jsonify(body), 200

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


def _read_body() -> bytes | None:
    """The raw body, or None when it is over MAX_BODY (declared or, when chunked, as read)."""
    if (request.content_length or 0) > MAX_BODY:
        return None
    chunks, size = [], 0
    while size <= MAX_BODY and (chunk := request.stream.read(MAX_BODY + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
    return None if size > MAX_BODY else b"".join(chunks)


def _error(code: int, message: str) -> tuple[Response, int]:
    return jsonify({"status": "error", "error": message}), code
