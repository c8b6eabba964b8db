"""GitHub webhook deliveries: signatures, headers and payloads built from GitHub's own examples.

Payloads start from the example deliveries in GitHub's description, take this fake's current
repository, issue, comment or PR JSON, and are validated against the description's `x-webhooks`
schemas; violations land in contract_errors like any other contract breach.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from typing import Any

from gitops_bot_lab.fakes.github.model import Comment, now
from gitops_bot_lab.fakes.github.openapi import ContractError, GitHubContract, contracts_dir
from gitops_bot_lab.fakes.github.render import Render
from gitops_bot_lab.fakes.github.render_pulls import PullRender
from gitops_bot_lab.fakes.github.state import RepoState


def sign(body: bytes, secret: str | bytes) -> str:
    """The X-Hub-Signature-256 value GitHub sends for a webhook body."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def webhook_headers(event: str, body: bytes, secret: str | bytes | None = None) -> dict[str, str]:
    """Headers of a GitHub webhook delivery (event, delivery id, signatures when secret given)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/fake",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "1",
    }
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(body, secret)
    return headers


class Webhooks:
    """Builds `issue_comment` and `pull_request` payloads from the shared state (caller holds the lock)."""

    def __init__(
        self, state: RepoState, render: Render, pulls: PullRender, contract: GitHubContract | None
    ) -> None:
        self._s, self._render, self._pulls, self._contract = state, render, pulls, contract

    def issue_comment(
        self,
        login: str,
        number: int,
        body: str,
        action: str = "created",
        *,
        comment_id: int | None = None,
    ) -> dict[str, Any]:
        """Apply a comment change on an issue/PR and return the `issue_comment` webhook payload.

        created adds a comment; edited/deleted act on `comment_id` (default: the user's latest
        comment on that issue). The payload starts from GitHub's real example and is validated
        against the description's `x-webhooks` schema (violations land in contract_errors).
        """
        issue = self._s.find_issue(number)
        changes = None
        if action == "created":
            comment = self._s.add_comment(issue, login, body)
        else:
            comment = self._find_comment(number, login, comment_id)
            if action == "edited":
                changes = {"body": {"from": comment.body}}
                comment.body, comment.updated_at = body, now()
            elif action == "deleted":
                self._s.comments.remove(comment)
            else:
                raise ValueError(f"unsupported issue_comment action {action!r}")
        payload = self._example("issue_comment", action)
        payload["action"] = action
        payload["issue"] = {**payload["issue"], **self._render.issue(issue)}
        payload["issue"].setdefault("performed_via_github_app", None)
        payload["comment"] = {**payload["comment"], **self._render.comment(comment)}
        payload["comment"].setdefault("performed_via_github_app", None)
        payload["comment"]["reactions"] = self._render.reactions(payload["comment"]["url"])
        if changes:
            payload["changes"] = changes
        self._finish_payload(payload, login)
        self._check_webhook(f"issue-comment-{action}", payload)
        return payload

    def pull_request(
        self, number: int, action: str = "opened", *, sender: str | None = None
    ) -> dict[str, Any]:
        """`pull_request` webhook payload for a PR's current state, from GitHub's real example."""
        issue = self._s.find_issue(number, pulls_only=True)
        payload = self._example("pull_request", action)
        payload["action"] = action
        payload["number"] = number
        payload["pull_request"] = {**payload["pull_request"], **self._pulls.pull(issue)}
        if action in ("labeled", "unlabeled") and issue.labels:
            payload["label"] = self._render.label(self._s.labels[issue.labels[-1]])
        self._finish_payload(payload, sender or issue.user)
        self._check_webhook(f"pull-request-{action.replace('_', '-')}", payload)
        return payload

    def _example(self, event: str, action: str) -> dict[str, Any]:
        """A deep copy of GitHub's example payload for event/action (prefer app installs)."""
        examples = _webhook_examples(event)
        same = [e for e in examples if e.get("action") == action] or examples
        # GitHub Apps always get `installation`; a user-owned repo has no `organization`.
        best = min(same, key=lambda e: ("installation" not in e, "organization" in e))
        return copy.deepcopy(best)

    def _finish_payload(self, payload: dict[str, Any], sender: str) -> None:
        """Swap in this fake's repository and sender; drop the example's organization."""
        payload["repository"] = {**payload["repository"], **self._render.repo()}
        payload["sender"] = self._render.user(sender)
        payload.pop("organization", None)

    def _check_webhook(self, name: str, payload: Any) -> None:
        """Validate a generated payload; record violations."""
        if self._contract is None:
            return
        try:
            self._contract.validate_webhook(name, payload)
        except ContractError as exc:
            self._s.contract_errors.append(str(exc))

    def _find_comment(self, number: int, login: str, comment_id: int | None) -> Comment:
        """A comment by id, or the user's latest on the issue."""
        for c in reversed(self._s.comments):
            if (comment_id is not None and c.id == comment_id) or (
                comment_id is None and c.issue_number == number and c.user == login
            ):
                return c
        raise KeyError(f"no comment by {login} on #{number}")


_EXAMPLES: dict[str, list[dict[str, Any]]] = {}


def _webhook_examples(event: str) -> list[dict[str, Any]]:
    """GitHub's example payloads for an event (cached)."""
    if event not in _EXAMPLES:
        path = contracts_dir() / "github" / "webhooks" / f"{event}.json"
        _EXAMPLES[event] = json.loads(path.read_text())
    return _EXAMPLES[event]
