"""GitHub webhook deliveries: signature check and the few fields the bot acts on (pure)."""

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from gitops_bot.core.errors import WebhookPayloadError
from gitops_bot.core.github.commands import Command, parse_command

# pull_request actions after which a head may carry a different version than before.
QUARANTINE_ACTIONS = ("opened", "synchronize", "reopened", "edited")


@dataclass(frozen=True)
class CommentEvent:
    """An `issue_comment` delivery."""

    action: str
    repo: str
    number: int
    is_pull: bool
    comment_id: int
    author: str
    author_type: str
    body: str
    created_at: str


@dataclass(frozen=True)
class PullRequestEvent:
    """A `pull_request` delivery."""

    action: str
    repo: str
    number: int
    head_sha: str
    head_ref: str
    head_repo: str
    base_ref: str


Event = CommentEvent | PullRequestEvent


def verify_signature(body: bytes, header: str | None, secret: bytes) -> bool:
    """Whether X-Hub-Signature-256 is the HMAC-SHA256 of the raw body (constant-time compare)."""
    if not header or not secret:
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


def _get(obj: Mapping[str, Any], path: str, kind: type) -> Any:
    value: Any = obj
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            raise WebhookPayloadError(f"webhook body has no {path}")
        value = value[key]
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        raise WebhookPayloadError(f"webhook field {path} must be a {kind.__name__}")
    return value


def parse_webhook(event: str, body: bytes) -> Event | None:
    """The delivery as a dataclass; None for events the bot does not use (ping, push, ...)."""
    if event not in ("issue_comment", "pull_request"):
        return None
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise WebhookPayloadError(f"webhook body is not JSON: {e}") from e
    if not isinstance(raw, dict):
        raise WebhookPayloadError("webhook body must be a JSON object")
    repo = _get(raw, "repository.full_name", str)
    if event == "pull_request":
        return PullRequestEvent(
            action=_get(raw, "action", str),
            repo=repo,
            number=_get(raw, "number", int),
            head_sha=_get(raw, "pull_request.head.sha", str),
            head_ref=_get(raw, "pull_request.head.ref", str),
            head_repo=_head_repo(raw),
            base_ref=_get(raw, "pull_request.base.ref", str),
        )
    issue = _get(raw, "issue", dict)
    return CommentEvent(
        action=_get(raw, "action", str),
        repo=repo,
        number=_get(raw, "issue.number", int),
        is_pull=isinstance(issue.get("pull_request"), dict),
        comment_id=_get(raw, "comment.id", int),
        author=_get(raw, "comment.user.login", str),
        author_type=_get(raw, "comment.user.type", str),
        body=_get(raw, "comment.body", str),
        created_at=_get(raw, "comment.created_at", str),
    )


def _head_repo(raw: Mapping[str, Any]) -> str:
    """The head repository (None on GitHub when a fork was deleted)."""
    head_repo = raw.get("pull_request", {}).get("head", {}).get("repo")
    return str(head_repo.get("full_name", "")) if isinstance(head_repo, dict) else ""


def command_in(event: CommentEvent, *, bot_login: str | None) -> tuple[Command | None, str]:
    """The command a comment gives, or why it gives none (only new human comments on PRs count)."""
    if event.action != "created":
        return None, f"comment {event.action}: only new comments count"
    if not event.is_pull:
        return None, "comment on an issue, not a pull request"
    if event.author_type == "Bot" or (bot_login is not None and event.author == bot_login):
        return None, "comment by a bot"
    command = parse_command(event.body)
    return (command, "") if command else (None, "no command")


def accepted(name: str, body: bytes, *, repo: str, bot_login: str | None) -> tuple[Event | None, str]:
    """The delivery worth queueing, or what to answer instead (ping, other events, non-commands)."""
    if name == "ping":
        return None, "pong"
    parsed = parse_webhook(name, body)
    if parsed is None:
        return None, f"ignored: event {name!r} is not used"
    if parsed.repo.lower() != repo.lower():
        return None, f"ignored: repository {parsed.repo} is not {repo}"
    if isinstance(parsed, CommentEvent):
        command, why = command_in(parsed, bot_login=bot_login)
        if command is None:
            return None, f"ignored: {why}"
    elif parsed.action not in QUARANTINE_ACTIONS:
        return None, f"ignored: pull_request {parsed.action}"
    return parsed, "queued"


def event_key(event: Event, delivery: str) -> str:
    """Idempotency key: a comment is one command whatever the delivery; other events by delivery."""
    if isinstance(event, CommentEvent):
        return f"comment-{event.comment_id}"
    return f"delivery-{delivery}"


def event_to_json(event: Event) -> dict[str, Any]:
    """For the inbox on disk."""
    kind = "issue_comment" if isinstance(event, CommentEvent) else "pull_request"
    return {"kind": kind, **asdict(event)}


def event_from_json(raw: Mapping[str, Any]) -> Event:
    """Back from the inbox on disk."""
    fields = {k: v for k, v in raw.items() if k != "kind"}
    if raw.get("kind") == "issue_comment":
        return CommentEvent(**fields)
    return PullRequestEvent(**fields)
