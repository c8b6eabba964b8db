"""The fake GitHub's in-memory records, the shapes its handlers exchange, and GitHub's error bodies."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

DOCS = "https://docs.github.com/rest"
ROLES = ("admin", "maintain", "write", "triage", "read", "none")
# `permission` is the legacy base role: maintain maps to write and triage to read (spec text).
LEGACY_PERMISSION = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
    "none": "none",
}
MERGE_METHODS = ("merge", "squash", "rebase")

Json = Any
Reply = tuple[int, Json, dict[str, str]]
Params = dict[str, Any]
Query = dict[str, str]
# A REST handler: path parameters, query (last value of each), JSON body (None when absent).
Handler = Callable[[Params, Query, Json], Reply]


class Call(NamedTuple):
    """One request the fake answered: (method, path, status)."""

    method: str
    path: str
    status: int


@dataclass
class LoggedRequest:
    """Full record of one exchange, for tests that need to look at what the client sent."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Json
    status: int
    response: Json
    operation_id: str | None


@dataclass
class Fault:
    """A queued injected failure (see FakeGitHub.fail_next)."""

    method: str
    pattern: re.Pattern[str]
    status: int
    body: Json
    headers: dict[str, str]
    times: int


class HttpError(Exception):
    """Raised by handlers to answer with a GitHub-shaped error."""

    def __init__(self, status: int, body: Json, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    def reply(self) -> Reply:
        """The error as a handler reply."""
        return self.status, self.body, self.headers


def now() -> str:
    """Current UTC time in GitHub's timestamp format."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def error(status: int, message: str, doc: str = DOCS, **extra: Json) -> HttpError:
    """GitHub's basic error body: message + documentation_url (+ status string, as today)."""
    return HttpError(status, {"message": message, "documentation_url": doc, "status": str(status), **extra})


def validation_failed(doc: str, *errors: Mapping[str, Json]) -> HttpError:
    """GitHub's 422 body with an `errors` list (see recorded/errors.json)."""
    return error(422, "Validation Failed", doc, errors=[dict(e) for e in errors])


def not_found(doc: str = DOCS) -> HttpError:
    """Plain 404 as GitHub sends it for anything missing or invisible."""
    return error(404, "Not Found", doc)


def node_id(kind: str, key: str) -> str:
    """Stable GitHub-looking global node id."""
    digest = hashlib.sha1(f"{kind}:{key}".encode()).digest()[:9]
    return f"{kind}_kwDO" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def pr_node_id(pr_id: int) -> str:
    """Node id of a pull request (what GraphQL mutations take as pullRequestId)."""
    return node_id("PR", str(pr_id))


def permission_flags(role: str) -> dict[str, bool]:
    """The `permissions` object GitHub attaches to collaborators/repos for a role."""
    order = ["read", "triage", "write", "maintain", "admin"]
    rank = order.index(role) if role in order else -1
    return {
        "pull": rank >= 0,
        "triage": rank >= 1,
        "push": rank >= 2,
        "maintain": rank >= 3,
        "admin": rank >= 4,
    }


@dataclass
class User:
    """A GitHub account known to the fake."""

    login: str
    id: int
    type: str = "User"

    @property
    def email(self) -> str:
        """GitHub's noreply address, used as git identity for this user."""
        return f"{self.id}+{self.login}@users.noreply.github.com"


@dataclass
class Label:
    """A repository label."""

    id: int
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class Pull:
    """Pull-request part of an issue."""

    head: str
    base: str
    head_sha: str
    base_sha: str
    draft: bool = False
    merged: bool = False
    merged_at: str | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    auto_merge: dict[str, Any] | None = None
    id: int = 0


@dataclass
class Issue:
    """An issue or pull request (they share numbers, comments and labels on GitHub)."""

    number: int
    id: int
    title: str
    body: str | None
    user: str
    created_at: str
    updated_at: str
    state: str = "open"
    state_reason: str | None = None
    closed_at: str | None = None
    closed_by: str | None = None
    labels: list[str] = field(default_factory=list)
    pull: Pull | None = None

    @property
    def pr(self) -> Pull:
        """The pull-request part; only called where the issue was looked up as a pull request."""
        assert self.pull is not None, f"#{self.number} is not a pull request"
        return self.pull


@dataclass
class Comment:
    """An issue/PR conversation comment."""

    id: int
    issue_number: int
    user: str
    body: str
    created_at: str
    updated_at: str


@dataclass
class Status:
    """A commit status."""

    id: int
    sha: str
    state: str
    context: str
    description: str | None
    target_url: str | None
    creator: str
    created_at: str
