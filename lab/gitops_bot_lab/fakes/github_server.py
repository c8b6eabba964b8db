"""A fake GitHub REST API on loopback, backed by a real bare git repo, checked against the spec.

PyGithub (or anything else) talks to it for real over HTTP via `base_url=server.url`. Every
request and response is validated against GitHub's official OpenAPI description
(tests/fakes/github_openapi.py); a violation is recorded in `server.contract_errors` and answered
with a 500 so the client fails loudly. Refs and merges act on a real bare repository, so branches
the bot pushes with plain `git push <server.clone_url>` show up, and merges move the base branch.

Typical use::

    with FakeGitHub(tmp_path / "gitops.git", init_files={"app.yaml": "v: 1\\n"}) as gh:
        g = gh.client()   # PyGithub with retry=None and no client-side throttling sleeps
        ...
        assert gh.contract_errors == []

Test controls: `calls` / `reset_calls()` / `calls_to()`, `log` (full exchanges), `fail_next()`,
`require_checks`, `allowed_merge_methods`, `automerge_error`, `set_permission()`,
`commit_files()`, `open_pull_as()`, `add_status()`, `add_comment_as()`, `pull_request_event()`,
`sign()` and `webhook_headers()`.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import os
import re
import subprocess
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from gitops_bot_lab.fakes.github_openapi import NO_BODY, ContractError, GitHubContract, Match, contract
from gitops_bot_lab.fakes.github_openapi import contracts_dir as _contracts_dir

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
GIT_TIMEOUT_S = 30
GITHUB_COMMITTER = ("GitHub", "noreply@github.com")
GRAPHQL_AUTOMERGE_INPUT = {
    "pullRequestId",
    "mergeMethod",
    "commitHeadline",
    "commitBody",
    "authorEmail",
    "clientMutationId",
    "expectedHeadOid",
}

_GIT_LOCATION_VARS = frozenset(
    {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR"}
)

Json = Any
Reply = tuple[int, Json, dict[str, str]]


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


def _now() -> str:
    """Current UTC time in GitHub's timestamp format."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, message: str, doc: str = DOCS, **extra: Json) -> HttpError:
    """GitHub's basic error body: message + documentation_url (+ status string, as today)."""
    return HttpError(status, {"message": message, "documentation_url": doc, "status": str(status), **extra})


def _validation_failed(doc: str, *errors: Mapping[str, Json]) -> HttpError:
    """GitHub's 422 body with an `errors` list (see recorded/errors.json)."""
    return _error(422, "Validation Failed", doc, errors=[dict(e) for e in errors])


def _not_found(doc: str = DOCS) -> HttpError:
    """Plain 404 as GitHub sends it for anything missing or invisible."""
    return _error(404, "Not Found", doc)


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


# --------------------------------------------------------------------------------------------
# git plumbing over the bare repository
# --------------------------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    """Request handler that does not print an access-log line per request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Access logging is what `server.calls` is for."""


class GitError(RuntimeError):
    """A git command failed."""


class BareRepo:
    """Thin wrapper around `git --git-dir=<bare>` for the few operations GitHub performs."""

    def __init__(self, path: Path, default_branch: str) -> None:
        self.path = path
        self.default_branch = default_branch

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run git against the bare repo with a bounded timeout and a neutral config."""
        # Drop repo-pinning variables a caller (e.g. a git hook running pytest) may have set.
        full_env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARS}
        full_env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"})
        full_env.update(env or {})
        cmd = ["git", "--git-dir", str(self.path), *args] if cwd is None else ["git", *args]
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
        if check and proc.returncode != 0:
            raise GitError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc

    def out(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        """stdout of a successful git command, stripped."""
        return self.run(*args, env=env).stdout.strip()

    def ensure(self) -> None:
        """Create the bare repo if missing."""
        if not (self.path / "HEAD").exists():
            self.path.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                ["git", "init", "--quiet", "--bare", "-b", self.default_branch, str(self.path)],
                check=True,
                capture_output=True,
                timeout=GIT_TIMEOUT_S,
            )

    def rev(self, ref: str) -> str | None:
        """Commit sha a ref/sha points to, or None."""
        proc = self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    def branch_sha(self, branch: str) -> str | None:
        """Tip of refs/heads/<branch>, or None."""
        return self.rev(f"refs/heads/{branch}")

    def refs(self, prefix: str = "refs/") -> dict[str, str]:
        """All refs under prefix, name -> sha."""
        out = self.out("for-each-ref", "--format=%(refname) %(objectname)", prefix)
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def update_ref(self, ref: str, new: str, old: str | None = None) -> bool:
        """Compare-and-swap a ref (old='' means must not exist); False if the CAS lost."""
        args = ["update-ref", ref, new] + ([old] if old is not None else [])
        return self.run(*args, check=False).returncode == 0

    def delete_ref(self, ref: str) -> bool:
        """Delete a ref; False if it did not exist."""
        if self.run("show-ref", "--verify", "--quiet", ref, check=False).returncode != 0:
            return False
        return self.run("update-ref", "-d", ref, check=False).returncode == 0

    def is_ancestor(self, a: str, b: str) -> bool:
        """Whether commit a is reachable from b."""
        return self.run("merge-base", "--is-ancestor", a, b, check=False).returncode == 0

    def merge_tree(self, base: str, head: str) -> str | None:
        """Tree of merging head into base, or None on conflict (git >= 2.38 --write-tree)."""
        proc = self.run("merge-tree", "--write-tree", "--no-messages", base, head, check=False)
        if proc.returncode == 0:
            return proc.stdout.split()[0]
        if proc.returncode == 1:
            return None
        raise GitError(f"git merge-tree failed: {proc.stderr.strip()}")

    def commit_tree(
        self,
        tree: str,
        parents: Sequence[str],
        message: str,
        author: tuple[str, str],
        committer: tuple[str, str] = GITHUB_COMMITTER,
    ) -> str:
        """Create a commit object from a tree."""
        args = ["commit-tree", tree]
        for p in parents:
            args += ["-p", p]
        args += ["-m", message]
        return self.out(*args, env=_ident_env(author, committer))

    def commits_between(self, base: str, head: str) -> list[str]:
        """Commits in head not in base, oldest first."""
        out = self.out("rev-list", "--reverse", f"{base}..{head}")
        return out.split()

    def message(self, sha: str) -> str:
        """Full commit message."""
        return self.run("show", "-s", "--format=%B", sha).stdout.rstrip("\n")

    def commit_info(self, sha: str) -> dict[str, Any]:
        """Tree, parents, author/committer identity and message of a commit."""
        fmt = "%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B"
        parts = self.run("show", "-s", f"--format={fmt}", sha).stdout.split("\x00", 8)
        keys = ("tree", "parents", "an", "ae", "ad", "cn", "ce", "cd", "message")
        info: dict[str, Any] = dict(zip(keys, parts, strict=True))
        info["parents"] = info["parents"].split()
        info["message"] = info["message"].rstrip("\n")
        return info

    def numstat(self, a: str, b: str) -> list[tuple[str, int, int, str]]:
        """(status, additions, deletions, path) for each file changed from a to b."""
        stats: dict[str, tuple[int, int]] = {}
        for line in self.out("diff", "--numstat", "--no-renames", a, b).splitlines():
            add, dele, path = line.split("\t", 2)
            stats[path] = (int(add) if add != "-" else 0, int(dele) if dele != "-" else 0)
        status: dict[str, str] = {}
        for line in self.out("diff", "--name-status", "--no-renames", a, b).splitlines():
            code, path = line.split("\t", 1)
            status[path] = {"A": "added", "D": "removed"}.get(code[:1], "modified")
        return [(status.get(p, "modified"), *stats[p], p) for p in sorted(stats)]

    def write_commit(
        self,
        parent: str | None,
        files: Mapping[str, str | bytes | None],
        message: str,
        author: tuple[str, str],
    ) -> str:
        """Commit file changes (None deletes) on top of parent using a throwaway index."""
        with tempfile.TemporaryDirectory(prefix="fakegh-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if parent:
                self.run("read-tree", parent, env=env)
            for path, content in files.items():
                if content is None:
                    self.run("update-index", "--force-remove", path, env=env)
                    continue
                blob = self._hash_blob(content)
                self.run("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            tree = self.out("write-tree", env=env)
        return self.commit_tree(tree, [parent] if parent else [], message, author, author)

    def _hash_blob(self, content: str | bytes) -> str:
        """Store content as a blob."""
        data = content.encode() if isinstance(content, str) else content
        proc = subprocess.run(
            ["git", "--git-dir", str(self.path), "hash-object", "-w", "--stdin"],
            input=data,
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=True,
        )
        return proc.stdout.decode().strip()

    def replay(self, onto: str, commits: Sequence[str]) -> str | None:
        """Cherry-pick commits onto `onto` in a temp worktree (rebase merge); None on conflict."""
        with tempfile.TemporaryDirectory(prefix="fakegh-rebase-") as tmp:
            wt = Path(tmp) / "wt"
            self.run("worktree", "add", "--quiet", "--detach", str(wt), onto)
            try:
                env = _ident_env(GITHUB_COMMITTER, GITHUB_COMMITTER)
                for sha in commits:
                    proc = self.run(
                        "cherry-pick",
                        "--allow-empty",
                        "--keep-redundant-commits",
                        sha,
                        env={k: v for k, v in env.items() if "COMMITTER" in k},
                        cwd=wt,
                        check=False,
                    )
                    if proc.returncode != 0:
                        return None
                return self.run("rev-parse", "HEAD", cwd=wt).stdout.strip()
            finally:
                self.run("worktree", "remove", "--force", str(wt), check=False)
                self.run("worktree", "prune", check=False)


def _ident_env(author: tuple[str, str], committer: tuple[str, str]) -> dict[str, str]:
    """Environment pinning author and committer identities for git."""
    return {
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_COMMITTER_NAME": committer[0],
        "GIT_COMMITTER_EMAIL": committer[1],
    }


# --------------------------------------------------------------------------------------------
# in-memory state
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# the server
# --------------------------------------------------------------------------------------------


class FakeGitHub:
    """In-memory GitHub for one repository `owner/repo`, served on 127.0.0.1:<free port>."""

    def __init__(
        self,
        bare_repo: str | Path,
        *,
        owner: str = "acme",
        repo: str = "gitops",
        token: str = "ghs_fake_installation_token",
        bot_login: str = "gitops-bot[bot]",
        default_branch: str = "main",
        init_files: Mapping[str, str] | None = None,
        permissions: Mapping[str, str] | None = None,
        validate: bool = True,
        delete_branch_on_merge: bool = False,
        contract_obj: GitHubContract | None = None,
    ) -> None:
        self.owner, self.repo, self.token = owner, repo, token
        self.bot_login = bot_login
        self.default_branch = default_branch
        self.validate = validate
        self.delete_branch_on_merge = delete_branch_on_merge
        self.git = BareRepo(Path(bare_repo).resolve(), default_branch)
        self.git.ensure()
        self._contract = contract_obj or (contract() if validate else None)
        self._lock = threading.RLock()
        self._ids = iter(range(1_000_001, 10**9))
        self.users: dict[str, User] = {}
        self.roles: dict[str, str] = {}
        self.issues: dict[int, Issue] = {}
        self.comments: list[Comment] = []
        self.labels: dict[str, Label] = {}
        self.statuses: list[Status] = []
        self.calls: list[Call] = []
        self.log: list[LoggedRequest] = []
        self.contract_errors: list[str] = []
        self.graphql_calls: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        # Branch protection on the default branch: True means the context "ci" is required.
        self.require_checks: bool | Sequence[str] = False
        self.allowed_merge_methods: set[str] = set(MERGE_METHODS)
        # Message of a GraphQL error answered to enablePullRequestAutoMerge, or None to accept.
        self.automerge_error: str | None = None
        self.repo_id = 700_000_001
        self.created_at = _now()
        self._request_count = 0
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self._user(owner)
        self._user(bot_login)
        self.roles[bot_login] = "write"
        self.roles[owner] = "admin"
        for login, role in (permissions or {}).items():
            self.set_permission(login, role)
        if init_files is not None and not self.git.branch_sha(default_branch):
            self.commit_files(default_branch, init_files, "Initial commit")
        self._handlers = self._handler_table()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        """Serve in a daemon thread on a free loopback port."""
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (bounded wait)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, **kwargs: Any) -> Any:
        """A PyGithub client for this fake: no retries and none of PyGithub's throttling sleeps.

        PyGithub otherwise waits 0.25 s between requests and 1 s between writes.
        """
        import github  # local: the fake itself does not need PyGithub

        options: dict[str, Any] = {
            "base_url": self.url,
            "retry": None,
            "timeout": 10,
            "seconds_between_requests": 0,
            "seconds_between_writes": 0,
        }
        options.update(kwargs)
        return github.Github(auth=github.Auth.Token(self.token), **options)

    @property
    def full_name(self) -> str:
        """`owner/repo`."""
        return f"{self.owner}/{self.repo}"

    @property
    def api_repo_url(self) -> str:
        """REST URL of the repository on this fake."""
        return f"{self.url}/repos/{self.full_name}"

    @property
    def graphql_url(self) -> str:
        """Where PyGithub sends GraphQL for base_url=self.url."""
        return f"{self.url}/graphql"

    @property
    def clone_url(self) -> str:
        """Git URL of the backing bare repo (what `repository.clone_url` reports)."""
        return self.git.path.as_uri()

    # -- test controls -----------------------------------------------------------------------

    def reset_calls(self) -> None:
        """Forget recorded calls and the request log."""
        with self._lock:
            self.calls.clear()
            self.log.clear()

    def calls_to(self, method: str, path_regex: str) -> list[Call]:
        """Recorded calls whose method and path match."""
        rx = re.compile(path_regex)
        return [c for c in self.calls if c.method == method.upper() and rx.search(c.path)]

    def set_permission(self, login: str, role: str) -> None:
        """Give a user a repository role: admin/maintain/write/triage/read/none."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        self._user(login)
        self.roles[login] = role

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        body: Json = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` matching requests with `status` (GitHub-like defaults)."""
        default_body, default_headers = self._fault_defaults(status)
        with self._lock:
            self.faults.append(
                Fault(
                    method=method.upper(),
                    pattern=re.compile(path_regex),
                    status=status,
                    body=default_body if body is None else body,
                    headers={**default_headers, **(headers or {})},
                    times=times,
                )
            )

    def _fault_defaults(self, status: int) -> tuple[Json, dict[str, str]]:
        """Realistic body/headers for common injected failures."""
        reset = str(int(time.time()) + 60)
        rate_doc = f"{DOCS}/overview/rate-limits-for-the-rest-api"
        if status == 403:
            return (
                {"message": "API rate limit exceeded for installation ID 1.", "documentation_url": rate_doc},
                {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset, "x-ratelimit-used": "5000"},
            )
        if status == 429:
            msg = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
            return {"message": msg, "documentation_url": rate_doc}, {"retry-after": "1"}
        messages = {
            405: "Pull Request is not mergeable",
            409: "Head branch was modified. Review and try the merge again.",
            422: "Validation Failed",
            500: "Server Error",
            502: "Server Error",
            503: "Service Unavailable",
        }
        return {"message": messages.get(status, "Error"), "documentation_url": DOCS}, {}

    def user(self, login: str) -> dict[str, Any]:
        """simple-user JSON for a login (creating the account if needed)."""
        return self._user_json(login)

    def branch_sha(self, branch: str) -> str | None:
        """Tip of a branch in the bare repo."""
        return self.git.branch_sha(branch)

    def commit_files(
        self,
        branch: str,
        files: Mapping[str, str | bytes | None],
        message: str,
        *,
        parent: str | None = None,
        author: str | None = None,
    ) -> str:
        """Commit files onto a branch (as if someone pushed); returns the new sha."""
        login = author or self.owner
        user = self._user(login)
        base = parent or self.git.branch_sha(branch) or self.git.branch_sha(self.default_branch)
        sha = self.git.write_commit(base, files, message, (login, user.email))
        old = self.git.branch_sha(branch)
        if not self.git.update_ref(f"refs/heads/{branch}", sha, old or ""):
            raise GitError(f"branch {branch} moved concurrently")
        return sha

    def open_pull_as(self, login: str, head: str, title: str, body: str = "", base: str | None = None) -> int:
        """Open a PR directly (as a human would in the UI); returns its number."""
        with self._lock:
            return self._create_pull(login, head, base or self.default_branch, title, body).number

    def pull(self, number: int) -> dict[str, Any]:
        """Current REST JSON of a PR."""
        with self._lock:
            return self._pull_json(self._issue(number, pulls_only=True))

    # -- webhook payloads --------------------------------------------------------------------

    def add_comment_as(
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
        with self._lock:
            issue = self._issue(number)
            changes = None
            if action == "created":
                comment = self._add_comment(issue, login, body)
            else:
                comment = self._find_comment(number, login, comment_id)
                if action == "edited":
                    changes = {"body": {"from": comment.body}}
                    comment.body, comment.updated_at = body, _now()
                elif action == "deleted":
                    self.comments.remove(comment)
                else:
                    raise ValueError(f"unsupported issue_comment action {action!r}")
            payload = self._example("issue_comment", action)
            payload["action"] = action
            payload["issue"] = {**payload["issue"], **self._issue_json(issue)}
            payload["issue"].setdefault("performed_via_github_app", None)
            payload["comment"] = {**payload["comment"], **self._comment_json(comment)}
            payload["comment"].setdefault("performed_via_github_app", None)
            payload["comment"]["reactions"] = self._reactions(payload["comment"]["url"])
            if changes:
                payload["changes"] = changes
            self._finish_payload(payload, login)
            self._check_webhook(f"issue-comment-{action}", payload)
            return payload

    def pull_request_event(
        self, number: int, action: str = "opened", *, sender: str | None = None
    ) -> dict[str, Any]:
        """`pull_request` webhook payload for a PR's current state, from GitHub's real example."""
        with self._lock:
            issue = self._issue(number, pulls_only=True)
            payload = self._example("pull_request", action)
            payload["action"] = action
            payload["number"] = number
            payload["pull_request"] = {**payload["pull_request"], **self._pull_json(issue)}
            if action in ("labeled", "unlabeled") and issue.labels:
                payload["label"] = self._label_json(self.labels[issue.labels[-1]])
            self._finish_payload(payload, sender or issue.user)
            self._check_webhook(f"pull-request-{action.replace('_', '-')}", payload)
            return payload

    sign = staticmethod(sign)
    webhook_headers = staticmethod(webhook_headers)

    def _example(self, event: str, action: str) -> dict[str, Any]:
        """A deep copy of GitHub's example payload for event/action (prefer app installs)."""
        examples = _webhook_examples(event)
        same = [e for e in examples if e.get("action") == action] or examples
        # GitHub Apps always get `installation`; a user-owned repo has no `organization`.
        best = min(same, key=lambda e: ("installation" not in e, "organization" in e))
        return copy.deepcopy(best)

    def _finish_payload(self, payload: dict[str, Any], sender: str) -> None:
        """Swap in this fake's repository and sender; drop the example's organization."""
        payload["repository"] = {**payload["repository"], **self._repo_json()}
        payload["sender"] = self._user_json(sender)
        payload.pop("organization", None)

    def _check_webhook(self, name: str, payload: Any) -> None:
        """Validate a generated payload; record violations."""
        if self._contract is None:
            return
        try:
            self._contract.validate_webhook(name, payload)
        except ContractError as exc:
            self.contract_errors.append(str(exc))

    # -- WSGI --------------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """WSGI entry point: one lock for all state so concurrent clients stay consistent."""
        request = Request(environ)
        with self._lock:
            response = self._handle(request)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        """Validate, authenticate, inject faults, dispatch, validate the answer, record it."""
        self._request_count += 1
        method, path = request.method.upper(), request.path
        query = {k: request.args.getlist(k) for k in request.args}
        raw = request.get_data()
        op_id: str | None = None
        try:
            body = json.loads(raw) if raw else NO_BODY
        except ValueError:
            status, out, headers = self._answer_error(_error(400, "Problems parsing JSON"))
            return self._finish(method, path, query, None, status, out, headers, op_id)
        if path == "/graphql":
            status, out, headers = self._graphql(request, body)
            return self._finish(method, path, query, body, status, out, headers, "graphql")
        status, out, headers, op_id = self._rest(request, method, path, query, body)
        return self._finish(method, path, query, body, status, out, headers, op_id)

    def _rest(
        self, request: Request, method: str, path: str, query: dict[str, list[str]], body: Json
    ) -> tuple[int, Json, dict[str, str], str | None]:
        """Handle one REST call end to end; returns status, body, headers, operationId."""
        match: Match | None = None
        try:
            match = self._match_request(method, path, query, body)
            self._authenticate(request)
            fault = self._take_fault(method, path)
            if fault is not None:
                status, out, headers = fault.status, fault.body, dict(fault.headers)
            else:
                status, out, headers = self._dispatch(match, query, body)
        except HttpError as exc:
            status, out, headers = self._answer_error(exc)
        except Exception:  # a bug in the fake must fail the test, not hide behind a 500
            self.contract_errors.append(f"fake crashed on {method} {path}:\n{traceback.format_exc()}")
            status, out, headers = 500, {"message": "Server Error", "documentation_url": DOCS}, {}
        op_id = match.operation_id if match else None
        if match is not None and status != 501 and not isinstance(out, str):
            status, out = self._check_response(method, path, status, out)
        return status, out, headers, op_id

    def _match_request(self, method: str, path: str, query: dict[str, list[str]], body: Json) -> Match:
        """Validate the request against the spec (or just route it when validation is off)."""
        ctr = self._contract or contract()
        try:
            if not self.validate:
                return ctr.match(method, path)
            return ctr.validate_request(method, path, query, body)
        except ContractError as exc:
            self.contract_errors.append(str(exc))
            raise HttpError(
                500, {"message": f"fake-github contract violation: {exc}", "documentation_url": DOCS}
            ) from exc

    def _check_response(self, method: str, path: str, status: int, out: Json) -> tuple[int, Json]:
        """Validate our own answer; a violation is recorded and turned into a 500."""
        if not self.validate or self._contract is None:
            return status, out
        try:
            self._contract.validate_response(method, path, status, NO_BODY if out is None else out)
        except ContractError as exc:
            self.contract_errors.append(str(exc))
            return 500, {"message": f"fake-github response violation: {exc}"}
        return status, out

    def _authenticate(self, request: Request) -> None:
        """Accept `token X` / `Bearer X` for the configured token only."""
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() not in ("token", "bearer") or value.strip() != self.token:
            raise _error(401, "Bad credentials")

    def _take_fault(self, method: str, path: str) -> Fault | None:
        """Pop one use of the first queued fault matching this request."""
        for fault in self.faults:
            if fault.method in (method, "*") and fault.pattern.search(path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _dispatch(self, match: Match, query: dict[str, list[str]], body: Json) -> Reply:
        """Route a validated request to its handler by operationId."""
        handler = self._handlers.get(match.operation_id)
        if handler is None:
            self.contract_errors.append(f"fake does not implement {match.operation_id}")
            return 501, {"message": f"fake-github does not implement {match.operation_id}"}, {}
        params = match.path_params
        if "owner" in params and not self._is_our_repo(params["owner"], params.get("repo", "")):
            raise _not_found()
        q = {k: v[-1] for k, v in query.items()}
        return handler(params, q, None if body is NO_BODY else body)

    def _is_our_repo(self, owner: str, repo: str) -> bool:
        """Owner/repo names are case-insensitive on GitHub."""
        return owner.lower() == self.owner.lower() and repo.lower() == self.repo.lower()

    def _answer_error(self, exc: HttpError) -> Reply:
        """Turn an HttpError into a reply."""
        return exc.status, exc.body, exc.headers

    def _finish(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: Json,
        status: int,
        out: Json,
        extra_headers: Mapping[str, str],
        op_id: str | None,
    ) -> Response:
        """Record the exchange and build the HTTP response with GitHub's usual headers."""
        self.calls.append(Call(method, path, status))
        self.log.append(
            LoggedRequest(method, path, query, None if body is NO_BODY else body, status, out, op_id)
        )
        payload = b"" if out is None else (out if isinstance(out, str) else json.dumps(out)).encode()
        headers = self._standard_headers(payload, method, status)
        headers.update(extra_headers)
        return Response(payload, status=status, headers=headers)

    def _standard_headers(self, payload: bytes, method: str, status: int) -> dict[str, str]:
        """x-ratelimit-*, request id, media type, etag: what api.github.com always sends."""
        used = self._request_count
        headers = {
            "content-type": "application/json; charset=utf-8",
            "x-github-media-type": "github.v3; format=json",
            "x-github-api-version-selected": "2022-11-28",
            "x-github-request-id": f"FAKE:{used:04X}:{os.getpid():05X}:{used * 7919:07X}:{int(time.time()):08X}",
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(max(0, 5000 - used)),
            "x-ratelimit-used": str(used),
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-ratelimit-resource": "core",
            "x-oauth-scopes": "",
            "x-accepted-oauth-scopes": "",
        }
        if method == "GET" and status == 200:
            headers["etag"] = 'W/"' + hashlib.sha256(payload).hexdigest()[:32] + '"'
        if not payload:
            del headers["content-type"]
        return headers

    # -- handlers ----------------------------------------------------------------------------

    def _handler_table(self) -> dict[str, Callable[[dict[str, Any], dict[str, str], Json], Reply]]:
        """operationId -> handler."""
        return {
            "repos/get": self._h_repo,
            "users/get-authenticated": self._h_me,
            "users/get-by-username": self._h_user,
            "git/get-ref": self._h_get_ref,
            "git/create-ref": self._h_create_ref,
            "git/update-ref": self._h_update_ref,
            "git/delete-ref": self._h_delete_ref,
            "repos/get-branch": self._h_get_branch,
            "repos/list-branches": self._h_list_branches,
            "repos/get-commit": self._h_get_commit,
            "pulls/create": self._h_create_pull,
            "pulls/list": self._h_list_pulls,
            "pulls/get": self._h_get_pull,
            "pulls/update": self._h_update_pull,
            "pulls/merge": self._h_merge,
            "pulls/check-if-merged": self._h_check_merged,
            "pulls/list-files": self._h_pull_files,
            "pulls/list-commits": self._h_pull_commits,
            "issues/get": self._h_get_issue,
            "issues/list-for-repo": self._h_list_issues,
            "issues/update": self._h_update_issue,
            "issues/create-comment": self._h_create_comment,
            "issues/list-comments": self._h_list_comments,
            "issues/get-comment": self._h_get_comment,
            "issues/update-comment": self._h_update_comment,
            "issues/delete-comment": self._h_delete_comment,
            "issues/add-labels": self._h_add_labels,
            "issues/set-labels": self._h_set_labels,
            "issues/remove-label": self._h_remove_label,
            "issues/list-labels-on-issue": self._h_issue_labels,
            "issues/get-label": self._h_get_label,
            "issues/create-label": self._h_create_label,
            "issues/list-labels-for-repo": self._h_repo_labels,
            "repos/get-collaborator-permission-level": self._h_permission,
            "repos/create-commit-status": self._h_create_status,
            "repos/list-commit-statuses-for-ref": self._h_list_statuses,
            "repos/get-combined-status-for-ref": self._h_combined_status,
        }

    def _h_repo(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /repos/{owner}/{repo}."""
        return 200, self._repo_json(full=True), {}

    def _h_me(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /user: the token's account (the bot)."""
        return 200, self._private_user_json(self.bot_login), {}

    def _h_user(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /users/{username}."""
        if p["username"] not in self.users:
            raise _not_found(f"{DOCS}/users/users#get-a-user")
        user = self._private_user_json(p["username"])
        for key in (
            "private_gists",
            "total_private_repos",
            "owned_private_repos",
            "disk_usage",
            "collaborators",
            "two_factor_authentication",
        ):
            user.pop(key)
        return 200, {**user, "user_view_type": "public"}, {}

    # git refs

    def _ref_json(self, ref: str, sha: str) -> dict[str, Any]:
        """git-ref JSON."""
        return {
            "ref": ref,
            "node_id": _node_id("REF", ref),
            "url": f"{self.api_repo_url}/git/{ref}",
            "object": {"type": "commit", "sha": sha, "url": f"{self.api_repo_url}/git/commits/{sha}"},
        }

    def _h_get_ref(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /repos/{o}/{r}/git/ref/{ref} (ref like heads/main)."""
        full = "refs/" + p["ref"]
        sha = self.git.refs(full).get(full)
        if sha is None:
            raise _not_found(f"{DOCS}/git/refs#get-a-reference")
        return 200, self._ref_json(full, sha), {}

    def _h_create_ref(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """POST /repos/{o}/{r}/git/refs."""
        doc = f"{DOCS}/git/refs#create-a-reference"
        ref, sha = body["ref"], body["sha"]
        if not ref.startswith("refs/") or ref.count("/") < 2:
            raise _error(422, f"{ref} is not a valid ref name.", doc)
        if not re.fullmatch(r"[0-9a-f]{40}", sha) or self.git.rev(sha) != sha:
            raise _error(422, "Object does not exist", doc)
        if not self.git.update_ref(ref, sha, ""):
            raise _error(422, "Reference already exists", doc)
        out = self._ref_json(ref, sha)
        return 201, out, {"Location": out["url"]}

    def _h_update_ref(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """PATCH /repos/{o}/{r}/git/refs/{ref}: fast-forward unless force."""
        doc = f"{DOCS}/git/refs#update-a-reference"
        full = "refs/" + p["ref"]
        old = self.git.refs(full).get(full)
        if old is None:
            raise _error(422, "Reference does not exist", doc)
        sha = body["sha"]
        if self.git.rev(sha) != sha:
            raise _error(422, "Object does not exist", doc)
        if not body.get("force") and not self.git.is_ancestor(old, sha):
            raise _error(422, "Update is not a fast forward", doc)
        if not self.git.update_ref(full, sha, old):
            raise _error(409, "Reference update failed", doc)
        return 200, self._ref_json(full, sha), {}

    def _h_delete_ref(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """DELETE /repos/{o}/{r}/git/refs/{ref}."""
        full = "refs/" + p["ref"]
        if full == f"refs/heads/{self.default_branch}":
            raise _error(422, "Cannot delete the default branch", f"{DOCS}/git/refs#delete-a-reference")
        if not self.git.delete_ref(full):
            raise _error(422, "Reference does not exist", f"{DOCS}/git/refs#delete-a-reference")
        return 204, None, {}

    # branches and commits

    def _protection_contexts(self) -> list[str]:
        """Required status contexts on the default branch."""
        if not self.require_checks:
            return []
        if self.require_checks is True:
            return ["ci"]
        return list(self.require_checks)

    def _h_get_branch(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /repos/{o}/{r}/branches/{branch}."""
        name = p["branch"]
        sha = self.git.branch_sha(name)
        if sha is None:
            raise _error(404, "Branch not found", f"{DOCS}/branches/branches#get-a-branch")
        contexts = self._protection_contexts() if name == self.default_branch else []
        protection: dict[str, Any] = {"enabled": bool(contexts)}
        if contexts:
            protection["required_status_checks"] = {
                "enforcement_level": "non_admins",
                "contexts": contexts,
                "checks": [{"context": c, "app_id": None} for c in contexts],
            }
        out = {
            "name": name,
            "commit": self._commit_json(sha),
            "_links": {
                "html": f"https://github.com/{self.full_name}/tree/{name}",
                "self": f"{self.api_repo_url}/branches/{name}",
            },
            "protected": bool(contexts),
            "protection": protection,
            "protection_url": f"{self.api_repo_url}/branches/{name}/protection",
        }
        return 200, out, {}

    def _h_list_branches(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /repos/{o}/{r}/branches."""
        items = [
            {
                "name": ref.removeprefix("refs/heads/"),
                "commit": {"sha": sha, "url": f"{self.api_repo_url}/commits/{sha}"},
                "protected": ref == f"refs/heads/{self.default_branch}" and bool(self.require_checks),
            }
            for ref, sha in sorted(self.git.refs("refs/heads/").items())
        ]
        return self._paginate(items, q, "branches")

    def _resolve_ref(self, ref: str) -> str | None:
        """A sha, branch name, heads/x or tags/x -> commit sha."""
        for cand in (ref, f"refs/heads/{ref}", f"refs/{ref}", f"refs/tags/{ref}"):
            if cand == ref and not re.fullmatch(r"[0-9a-f]{7,40}", ref):
                continue
            sha = self.git.rev(cand)
            if sha:
                return sha
        return None

    def _h_get_commit(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /repos/{o}/{r}/commits/{ref}."""
        sha = self._resolve_ref(p["ref"])
        if sha is None:
            raise _error(
                422, f"No commit found for SHA: {p['ref']}", f"{DOCS}/commits/commits#get-a-commit", errors=[]
            )
        return 200, self._commit_json(sha, with_files=True), {}

    def _git_user(self, name: str, email: str, date: str) -> dict[str, str]:
        """git-user JSON (dates normalized to Z)."""
        stamp = datetime.fromisoformat(date).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"name": name, "email": email, "date": stamp}

    def _login_for_email(self, email: str) -> str | None:
        """Map a noreply email back to a known user."""
        return next((u.login for u in self.users.values() if u.email == email), None)

    def _commit_json(self, sha: str, with_files: bool = False) -> dict[str, Any]:
        """commit JSON from the real git object."""
        info = self.git.commit_info(sha)
        api = self.api_repo_url
        author_login = self._login_for_email(info["ae"])
        committer_login = self._login_for_email(info["ce"])
        out: dict[str, Any] = {
            "sha": sha,
            "node_id": _node_id("C", sha),
            "url": f"{api}/commits/{sha}",
            "html_url": f"https://github.com/{self.full_name}/commit/{sha}",
            "comments_url": f"{api}/commits/{sha}/comments",
            "commit": {
                "url": f"{api}/git/commits/{sha}",
                "author": self._git_user(info["an"], info["ae"], info["ad"]),
                "committer": self._git_user(info["cn"], info["ce"], info["cd"]),
                "message": info["message"],
                "comment_count": 0,
                "tree": {"sha": info["tree"], "url": f"{api}/git/trees/{info['tree']}"},
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "author": self._user_json(author_login) if author_login else None,
            "committer": self._user_json(committer_login) if committer_login else None,
            "parents": [
                {
                    "sha": s,
                    "url": f"{api}/commits/{s}",
                    "html_url": f"https://github.com/{self.full_name}/commit/{s}",
                }
                for s in info["parents"]
            ],
        }
        if with_files:
            parent = info["parents"][0] if info["parents"] else _EMPTY_TREE
            files = self._diff_entries(parent, sha)
            adds = sum(f["additions"] for f in files)
            dels = sum(f["deletions"] for f in files)
            out["stats"] = {"additions": adds, "deletions": dels, "total": adds + dels}
            out["files"] = files
        return out

    def _diff_entries(self, a: str, b: str) -> list[dict[str, Any]]:
        """diff-entry JSON for a..b."""
        entries = []
        for status, adds, dels, path in self.git.numstat(a, b):
            blob = self.git.run("rev-parse", f"{b}:{path}", check=False).stdout.strip() or None
            entries.append(
                {
                    "sha": blob,
                    "filename": path,
                    "status": status,
                    "additions": adds,
                    "deletions": dels,
                    "changes": adds + dels,
                    "blob_url": f"https://github.com/{self.full_name}/blob/{b}/{path}",
                    "raw_url": f"https://github.com/{self.full_name}/raw/{b}/{path}",
                    "contents_url": f"{self.api_repo_url}/contents/{path}?ref={b}",
                }
            )
        return entries

    # pulls

    def _h_create_pull(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """POST /repos/{o}/{r}/pulls."""
        if "title" not in body:
            raise _validation_failed(
                f"{DOCS}/pulls/pulls#create-a-pull-request",
                {"resource": "PullRequest", "field": "title", "code": "missing_field"},
            )
        issue = self._create_pull(
            self.bot_login,
            body["head"],
            body["base"],
            body["title"],
            body.get("body"),
            draft=bool(body.get("draft", False)),
        )
        out = self._pull_json(issue)
        return 201, out, {"Location": out["url"]}

    def _create_pull(
        self, login: str, head: str, base: str, title: str, body: str | None, *, draft: bool = False
    ) -> Issue:
        """Open a PR after GitHub's checks (head/base exist, no duplicate, has commits)."""
        doc = f"{DOCS}/pulls/pulls#create-a-pull-request"
        branch = head.split(":", 1)[1] if ":" in head else head
        if ":" in head and head.split(":", 1)[0].lower() != self.owner.lower():
            raise _validation_failed(doc, {"resource": "PullRequest", "field": "head", "code": "invalid"})
        head_sha, base_sha = self.git.branch_sha(branch), self.git.branch_sha(base)
        if head_sha is None:
            raise _validation_failed(doc, {"resource": "PullRequest", "field": "head", "code": "invalid"})
        if base_sha is None:
            raise _validation_failed(doc, {"resource": "PullRequest", "field": "base", "code": "invalid"})
        for other in self.issues.values():
            if other.pull and other.state == "open" and other.pull.head == branch and other.pull.base == base:
                raise _validation_failed(
                    doc,
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for {self.owner}:{branch}.",
                    },
                )
        if not self.git.commits_between(base_sha, head_sha):
            raise _validation_failed(
                doc,
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"No commits between {base} and {branch}",
                },
            )
        issue = self._new_issue(login, title, body)
        issue.pull = Pull(
            head=branch, base=base, head_sha=head_sha, base_sha=base_sha, draft=draft, id=next(self._ids)
        )
        return issue

    def _new_issue(self, login: str, title: str, body: str | None) -> Issue:
        """Allocate the next issue/PR number."""
        self._user(login)
        number = max(self.issues, default=0) + 1
        now = _now()
        issue = Issue(
            number=number,
            id=next(self._ids),
            title=title,
            body=body,
            user=login,
            created_at=now,
            updated_at=now,
        )
        self.issues[number] = issue
        return issue

    def _issue(self, number: int, *, pulls_only: bool = False) -> Issue:
        """Look up an issue/PR or 404."""
        issue = self.issues.get(number)
        if issue is None or (pulls_only and issue.pull is None):
            raise _not_found()
        return issue

    def _h_list_pulls(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /repos/{o}/{r}/pulls with state/head/base filters."""
        state = q.get("state", "open")
        head = q.get("head")
        items = []
        for issue in self._sorted_issues(q):
            pr = issue.pull
            if pr is None or (state != "all" and issue.state != state):
                continue
            if head and f"{self.owner}:{pr.head}".lower() != head.lower() and head != pr.head:
                continue
            if q.get("base") and pr.base != q["base"]:
                continue
            items.append(self._pull_json(issue, simple=True))
        return self._paginate(items, q, "pulls")

    def _sorted_issues(self, q: dict[str, str]) -> list[Issue]:
        """Issues ordered like GitHub (created desc by default)."""
        key = {"updated": lambda i: i.updated_at, "comments": lambda i: self._comment_count(i)}.get(
            q.get("sort", "created"), lambda i: i.number
        )
        return sorted(self.issues.values(), key=key, reverse=q.get("direction", "desc") == "desc")

    def _h_get_pull(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /repos/{o}/{r}/pulls/{n}."""
        return 200, self._pull_json(self._issue(p["pull_number"], pulls_only=True)), {}

    def _h_update_pull(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """PATCH /repos/{o}/{r}/pulls/{n}: title, body, state, base."""
        issue = self._issue(p["pull_number"], pulls_only=True)
        assert issue.pull is not None
        body = body or {}
        issue.title = body.get("title", issue.title)
        issue.body = body.get("body", issue.body)
        if "base" in body:
            if self.git.branch_sha(body["base"]) is None:
                raise _validation_failed(
                    f"{DOCS}/pulls/pulls#update-a-pull-request",
                    {"resource": "PullRequest", "field": "base", "code": "invalid"},
                )
            issue.pull.base = body["base"]
        if "state" in body:
            self._set_state(issue, body["state"], None)
        issue.updated_at = _now()
        return 200, self._pull_json(issue), {}

    def _set_state(self, issue: Issue, state: str, reason: str | None) -> None:
        """Open/close an issue or PR (merged PRs cannot be reopened)."""
        if state == issue.state:
            return
        if state == "open" and issue.pull and issue.pull.merged:
            raise _validation_failed(
                f"{DOCS}/pulls/pulls#update-a-pull-request",
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": "Cannot reopen a merged pull request",
                },
            )
        if state == "closed" and issue.pull:
            issue.pull.head_sha = self._live_head(issue)
            issue.pull.auto_merge = None
        issue.state = state
        issue.state_reason = reason if state == "closed" else ("reopened" if reason is None else reason)
        issue.closed_at = _now() if state == "closed" else None
        issue.closed_by = self.bot_login if state == "closed" else None

    def _live_head(self, issue: Issue) -> str:
        """Head sha: follows the branch while open, frozen once closed or branch deleted."""
        pr = issue.pull
        assert pr is not None
        if issue.state == "open":
            sha = self.git.branch_sha(pr.head)
            if sha:
                pr.head_sha = sha
        return pr.head_sha

    def _h_check_merged(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /repos/{o}/{r}/pulls/{n}/merge: 204 if merged else 404 (no body)."""
        pr = self._issue(p["pull_number"], pulls_only=True).pull
        assert pr is not None
        return (204, None, {}) if pr.merged else (404, None, {})

    def _h_pull_files(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /repos/{o}/{r}/pulls/{n}/files."""
        issue = self._issue(p["pull_number"], pulls_only=True)
        assert issue.pull is not None
        head = self._live_head(issue)
        base = self._merge_base(issue)
        return self._paginate(self._diff_entries(base, head), q, f"pulls/{issue.number}/files")

    def _h_pull_commits(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /repos/{o}/{r}/pulls/{n}/commits."""
        issue = self._issue(p["pull_number"], pulls_only=True)
        commits = self.git.commits_between(self._merge_base(issue), self._live_head(issue))
        items = [self._commit_json(sha) for sha in commits]
        return self._paginate(items, q, f"pulls/{issue.number}/commits")

    def _merge_base(self, issue: Issue) -> str:
        """Merge base of head and base (or the recorded base sha once merged/gone)."""
        pr = issue.pull
        assert pr is not None
        base = self.git.branch_sha(pr.base) if not pr.merged else pr.base_sha
        if base is None:
            return pr.base_sha
        proc = self.git.run("merge-base", base, self._live_head(issue), check=False)
        return proc.stdout.strip() or pr.base_sha

    # merging

    def _h_merge(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """PUT /repos/{o}/{r}/pulls/{n}/merge: merge/squash/rebase for real in the bare repo."""
        issue = self._issue(p["pull_number"], pulls_only=True)
        body = body or {}
        sha = self._merge(
            issue,
            self.bot_login,
            body.get("merge_method", "merge"),
            body.get("commit_title"),
            body.get("commit_message"),
            body.get("sha"),
        )
        return 200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}, {}

    def _merge(
        self,
        issue: Issue,
        login: str,
        method: str,
        title: str | None,
        message: str | None,
        expected_sha: str | None,
    ) -> str:
        """Check GitHub's merge preconditions, write the commit(s), move the base branch."""
        doc = f"{DOCS}/pulls/pulls#merge-a-pull-request"
        pr = issue.pull
        assert pr is not None
        if issue.state != "open" or pr.merged:
            raise _error(405, "Pull Request is not mergeable", doc)
        if method not in self.allowed_merge_methods:
            raise _error(405, f"{method.capitalize()} merges are not allowed on this repository.", doc)
        head = self._live_head(issue)
        if expected_sha and expected_sha != head:
            raise _error(409, "Head branch was modified. Review and try the merge again.", doc)
        missing = self._missing_checks(issue)
        if missing:
            raise _error(405, f'Required status check "{missing[0]}" is expected.', doc)
        base = self.git.branch_sha(pr.base)
        if base is None:
            raise _error(405, "Pull Request is not mergeable", doc)
        new = self._write_merge(issue, login, method, base, head, title, message)
        if new is None:
            raise _error(405, "Pull Request is not mergeable", doc)
        if not self.git.update_ref(f"refs/heads/{pr.base}", new, base):
            raise _error(409, "Base branch was modified. Review and try the merge again.", doc)
        self._mark_merged(issue, login, new, base, head)
        return new

    def _write_merge(
        self,
        issue: Issue,
        login: str,
        method: str,
        base: str,
        head: str,
        title: str | None,
        message: str | None,
    ) -> str | None:
        """Create the merge result commit; None on conflicts."""
        pr = issue.pull
        assert pr is not None
        tree = self.git.merge_tree(base, head)
        if tree is None:
            return None
        merger = self._user(login)
        if method == "merge":
            subject = title or f"Merge pull request #{issue.number} from {self.owner}/{pr.head}"
            text = _join_message(subject, issue.title if message is None else message)
            return self.git.commit_tree(tree, [base, head], text, (login, merger.email))
        commits = self.git.commits_between(self.git.out("merge-base", base, head), head)
        if method == "squash":
            author = self._user(issue.user)
            subject, default_body = self._squash_defaults(issue, commits)
            text = _join_message(title or subject, default_body if message is None else message)
            return self.git.commit_tree(tree, [base], text, (author.login, author.email))
        return self.git.replay(base, commits)

    def _squash_defaults(self, issue: Issue, commits: Sequence[str]) -> tuple[str, str]:
        """GitHub's default squash title/body: one commit keeps its message, else a list."""
        if len(commits) == 1:
            subject, _, rest = self.git.message(commits[0]).partition("\n")
            return f"{subject} (#{issue.number})", rest.strip("\n")
        body = "\n\n".join("* " + self.git.message(c) for c in commits)
        return f"{issue.title} (#{issue.number})", body

    def _mark_merged(self, issue: Issue, login: str, new: str, base: str, head: str) -> None:
        """Record the merge on the PR and optionally delete the head branch."""
        pr = issue.pull
        assert pr is not None
        now = _now()
        pr.merged, pr.merged_at, pr.merged_by = True, now, login
        pr.merge_commit_sha, pr.head_sha, pr.base_sha = new, head, base
        pr.auto_merge = None
        issue.state, issue.closed_at, issue.updated_at = "closed", now, now
        issue.closed_by = login
        if self.delete_branch_on_merge:
            self.git.delete_ref(f"refs/heads/{pr.head}")

    def _missing_checks(self, issue: Issue) -> list[str]:
        """Required contexts without a latest `success` status on the PR head (base protected)."""
        pr = issue.pull
        assert pr is not None
        if pr.base != self.default_branch:
            return []
        head = self._live_head(issue)
        latest = self._latest_statuses(head)
        return [c for c in self._protection_contexts() if latest.get(c) != "success"]

    def _maybe_auto_merge(self, sha: str) -> None:
        """Merge PRs with auto-merge enabled once their head's required checks pass."""
        for issue in list(self.issues.values()):
            pr = issue.pull
            if not pr or not pr.auto_merge or issue.state != "open":
                continue
            if self._live_head(issue) != sha or self._missing_checks(issue):
                continue
            am = pr.auto_merge
            try:
                self._merge(
                    issue,
                    am["enabled_by"]["login"],
                    am["merge_method"],
                    am["commit_title"] or None,
                    am["commit_message"] or None,
                    None,
                )
            except HttpError:
                pr.auto_merge = am  # stays armed, like GitHub when a merge is blocked

    # issues

    def _h_get_issue(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /repos/{o}/{r}/issues/{n}."""
        return 200, self._issue_json(self._issue(p["issue_number"])), {}

    def _h_list_issues(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /repos/{o}/{r}/issues (includes PRs, as GitHub does) filtered by state/labels."""
        state = q.get("state", "open")
        wanted = [x.strip() for x in q.get("labels", "").split(",") if x.strip()]
        items = [
            self._issue_json(i)
            for i in self._sorted_issues(q)
            if (state == "all" or i.state == state)
            and all(w.lower() in (n.lower() for n in i.labels) for w in wanted)
            and (not q.get("creator") or i.user == q["creator"])
        ]
        return self._paginate(items, q, "issues")

    def _h_update_issue(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """PATCH /repos/{o}/{r}/issues/{n}: title, body, state, state_reason, labels."""
        issue = self._issue(p["issue_number"])
        body = body or {}
        if body.get("title") is not None:
            issue.title = str(body["title"])
        if "body" in body:
            issue.body = body["body"]
        if body.get("labels") is not None:
            issue.labels = []
            self._apply_labels(issue, body["labels"])
        if "state" in body:
            self._set_state(issue, body["state"], body.get("state_reason"))
        issue.updated_at = _now()
        return 200, self._issue_json(issue), {}

    # comments

    def _add_comment(self, issue: Issue, login: str, body: str) -> Comment:
        """Store a new comment."""
        self._user(login)
        now = _now()
        comment = Comment(next(self._ids), issue.number, login, body, now, now)
        self.comments.append(comment)
        issue.updated_at = now
        return comment

    def _find_comment(self, number: int, login: str, comment_id: int | None) -> Comment:
        """A comment by id, or the user's latest on the issue."""
        for c in reversed(self.comments):
            if (comment_id is not None and c.id == comment_id) or (
                comment_id is None and c.issue_number == number and c.user == login
            ):
                return c
        raise KeyError(f"no comment by {login} on #{number}")

    def _h_create_comment(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """POST /repos/{o}/{r}/issues/{n}/comments (as the bot)."""
        comment = self._add_comment(self._issue(p["issue_number"]), self.bot_login, body["body"])
        out = self._comment_json(comment)
        return 201, out, {"Location": out["url"]}

    def _h_list_comments(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /repos/{o}/{r}/issues/{n}/comments (oldest first, optional since)."""
        number = self._issue(p["issue_number"]).number
        since = q.get("since", "")
        items = [
            self._comment_json(c) for c in self.comments if c.issue_number == number and c.updated_at >= since
        ]
        return self._paginate(items, q, f"issues/{number}/comments")

    def _comment_by_id(self, comment_id: int) -> Comment:
        """Comment lookup or 404."""
        found = next((c for c in self.comments if c.id == comment_id), None)
        if found is None:
            raise _not_found()
        return found

    def _h_get_comment(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /repos/{o}/{r}/issues/comments/{id}."""
        return 200, self._comment_json(self._comment_by_id(p["comment_id"])), {}

    def _h_update_comment(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """PATCH /repos/{o}/{r}/issues/comments/{id}."""
        comment = self._comment_by_id(p["comment_id"])
        comment.body, comment.updated_at = body["body"], _now()
        return 200, self._comment_json(comment), {}

    def _h_delete_comment(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """DELETE /repos/{o}/{r}/issues/comments/{id}."""
        self.comments.remove(self._comment_by_id(p["comment_id"]))
        return 204, None, {}

    # labels

    def _label(self, name: str) -> Label:
        """Repo label by name (case-insensitive), created on first use like GitHub does."""
        for label in self.labels.values():
            if label.name.lower() == name.lower():
                return label
        label = Label(next(self._ids), name)
        self.labels[name] = label
        return label

    def _apply_labels(self, issue: Issue, raw: Json) -> None:
        """Add labels given as names, {"labels": [...]} or label objects."""
        names = raw.get("labels", []) if isinstance(raw, dict) else raw
        for item in names:
            name = item["name"] if isinstance(item, dict) else str(item)
            label = self._label(name)
            if label.name not in issue.labels:
                issue.labels.append(label.name)

    def _labels_reply(self, issue: Issue) -> Reply:
        """The issue's labels as a label list."""
        return 200, [self._label_json(self.labels[n]) for n in issue.labels], {}

    def _h_add_labels(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """POST /repos/{o}/{r}/issues/{n}/labels."""
        issue = self._issue(p["issue_number"])
        self._apply_labels(issue, body or [])
        issue.updated_at = _now()
        return self._labels_reply(issue)

    def _h_set_labels(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """PUT /repos/{o}/{r}/issues/{n}/labels."""
        issue = self._issue(p["issue_number"])
        issue.labels = []
        self._apply_labels(issue, body or [])
        return self._labels_reply(issue)

    def _h_remove_label(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """DELETE /repos/{o}/{r}/issues/{n}/labels/{name}."""
        issue = self._issue(p["issue_number"])
        match = next((n for n in issue.labels if n.lower() == p["name"].lower()), None)
        if match is None:
            raise _error(404, "Label does not exist", f"{DOCS}/issues/labels#remove-a-label-from-an-issue")
        issue.labels.remove(match)
        return self._labels_reply(issue)

    def _h_issue_labels(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /repos/{o}/{r}/issues/{n}/labels."""
        return self._labels_reply(self._issue(p["issue_number"]))

    def _h_get_label(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /repos/{o}/{r}/labels/{name}."""
        label = next((lb for lb in self.labels.values() if lb.name.lower() == p["name"].lower()), None)
        if label is None:
            raise _not_found(f"{DOCS}/issues/labels#get-a-label")
        return 200, self._label_json(label), {}

    def _h_create_label(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """POST /repos/{o}/{r}/labels."""
        doc = f"{DOCS}/issues/labels#create-a-label"
        if any(lb.name.lower() == body["name"].lower() for lb in self.labels.values()):
            raise _validation_failed(doc, {"resource": "Label", "code": "already_exists", "field": "name"})
        color = body.get("color", "ededed").lstrip("#")
        if not re.fullmatch(r"[0-9a-fA-F]{6}", color):
            raise _validation_failed(doc, {"resource": "Label", "code": "invalid", "field": "color"})
        label = self._label(body["name"])
        label.color, label.description = color, body.get("description")
        out = self._label_json(label)
        return 201, out, {"Location": out["url"]}

    def _h_repo_labels(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /repos/{o}/{r}/labels."""
        return self._paginate([self._label_json(lb) for lb in self.labels.values()], q, "labels")

    # permissions and statuses

    def _h_permission(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /repos/{o}/{r}/collaborators/{username}/permission (404 for unknown accounts)."""
        login = next((u for u in self.users if u.lower() == p["username"].lower()), None)
        if login is None:
            raise _not_found(f"{DOCS}/collaborators/collaborators#get-repository-permissions-for-a-user")
        role = self.roles.get(login, "none")
        legacy = LEGACY_PERMISSION[role]
        user = {**self._user_json(login), "permissions": _permission_flags(role), "role_name": role}
        return 200, {"permission": legacy, "role_name": role, "user": user}, {}

    def _status_json(self, s: Status) -> dict[str, Any]:
        """status JSON."""
        return {
            "url": f"{self.api_repo_url}/statuses/{s.sha}",
            "avatar_url": None,
            "id": s.id,
            "node_id": _node_id("SC", str(s.id)),
            "state": s.state,
            "description": s.description,
            "target_url": s.target_url,
            "context": s.context,
            "created_at": s.created_at,
            "updated_at": s.created_at,
            "creator": self._user_json(s.creator),
        }

    def _h_create_status(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """POST /repos/{o}/{r}/statuses/{sha}; may trigger a pending auto-merge."""
        sha = p["sha"]
        if not re.fullmatch(r"[0-9a-f]{40}", sha) or self.git.rev(sha) != sha:
            raise _validation_failed(
                f"{DOCS}/commits/statuses#create-a-commit-status",
                {
                    "resource": "Status",
                    "code": "custom",
                    "field": "sha",
                    "message": f"No commit found for SHA: {sha}",
                },
            )
        status = Status(
            id=next(self._ids),
            sha=sha,
            state=body["state"],
            context=body.get("context", "default"),
            description=body.get("description"),
            target_url=body.get("target_url"),
            creator=self.bot_login,
            created_at=_now(),
        )
        self.statuses.append(status)
        self._maybe_auto_merge(sha)
        out = self._status_json(status)
        return 201, out, {"Location": out["url"]}

    def add_status(self, sha: str, state: str, context: str = "ci", creator: str = "ci-bot") -> None:
        """Post a commit status as an external CI would (may trigger auto-merge)."""
        with self._lock:
            self._user(creator)
            self.statuses.append(Status(next(self._ids), sha, state, context, None, None, creator, _now()))
            self._maybe_auto_merge(sha)

    def _latest_statuses(self, sha: str) -> dict[str, str]:
        """context -> latest state for a commit."""
        latest: dict[str, str] = {}
        for s in self.statuses:
            if s.sha == sha:
                latest[s.context] = s.state
        return latest

    def _h_list_statuses(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /repos/{o}/{r}/commits/{ref}/statuses (newest first)."""
        sha = self._resolve_ref(p["ref"])
        items = [self._status_json(s) for s in reversed(self.statuses) if s.sha == sha]
        return self._paginate(items, q, f"commits/{p['ref']}/statuses")

    def _h_combined_status(self, p: dict[str, Any], q: dict[str, str], body: Json) -> Reply:
        """GET /repos/{o}/{r}/commits/{ref}/status."""
        sha = self._resolve_ref(p["ref"])
        if sha is None:
            raise _not_found()
        latest: dict[str, Status] = {}
        for s in self.statuses:
            if s.sha == sha:
                latest[s.context] = s
        states = {s.state for s in latest.values()}
        state = (
            "failure"
            if states & {"failure", "error"}
            else ("pending" if not states or "pending" in states else "success")
        )
        statuses = []
        for s in latest.values():
            full = self._status_json(s)
            statuses.append({k: full[k] for k in _SIMPLE_STATUS_KEYS} | {"required": None})
        out = {
            "state": state,
            "statuses": statuses,
            "sha": sha,
            "total_count": len(statuses),
            "repository": self._repo_json(),
            "commit_url": f"{self.api_repo_url}/commits/{sha}",
            "url": f"{self.api_repo_url}/commits/{sha}/status",
        }
        return 200, out, {}

    # -- GraphQL -----------------------------------------------------------------------------

    def _graphql(self, request: Request, body: Json) -> Reply:
        """POST /graphql: (dis|en)ablePullRequestAutoMerge only, shape checked by hand."""
        try:
            self._authenticate(request)
        except HttpError as exc:
            return self._answer_error(exc)
        if request.method != "POST":
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/graphql"}, {}
        problems = _graphql_shape_problems(body)
        if problems:
            self.contract_errors.append("graphql request violates the contract: " + "; ".join(problems))
            return 200, {"errors": [{"message": p} for p in problems]}, {}
        self.graphql_calls.append(body)
        fault = self._take_fault("POST", "/graphql")
        if fault is not None:
            return fault.status, fault.body, dict(fault.headers)
        mutation = _graphql_mutation_name(body["query"])
        inp = body["variables"]["input"]
        issue = next(
            (i for i in self.issues.values() if i.pull and _pr_node_id(i.pull.id) == inp["pullRequestId"]),
            None,
        )
        if issue is None:
            return (
                200,
                _graphql_error(
                    mutation,
                    "NOT_FOUND",
                    f"Could not resolve to a node with the global id of '{inp['pullRequestId']}'",
                ),
                {},
            )
        if mutation == "disablePullRequestAutoMerge":
            assert issue.pull is not None
            issue.pull.auto_merge = None
            return 200, {"data": {mutation: self._graphql_output(issue, inp)}}, {}
        return 200, self._enable_auto_merge(issue, inp), {}

    def _enable_auto_merge(self, issue: Issue, inp: dict[str, Any]) -> dict[str, Any]:
        """Arm auto-merge like GitHub: refused when disallowed or when already mergeable."""
        mutation = "enablePullRequestAutoMerge"
        pr = issue.pull
        assert pr is not None
        if self.automerge_error:
            return _graphql_error(mutation, "UNPROCESSABLE", self.automerge_error)
        if issue.state != "open":
            return _graphql_error(mutation, "UNPROCESSABLE", "Pull request is closed")
        if inp.get("expectedHeadOid") and inp["expectedHeadOid"] != self._live_head(issue):
            return _graphql_error(mutation, "UNPROCESSABLE", "Head branch was modified")
        base = self.git.branch_sha(pr.base)
        if base and self.git.merge_tree(base, self._live_head(issue)) is None:
            return _graphql_error(mutation, "UNPROCESSABLE", "Pull request has merge conflicts")
        if not self._missing_checks(issue):
            # GitHub only arms auto-merge while requirements are pending.
            return _graphql_error(mutation, "UNPROCESSABLE", "Pull request is in clean status")
        pr.auto_merge = {
            "enabled_by": self._user_json(self.bot_login),
            "merge_method": inp.get("mergeMethod", "MERGE").lower(),
            "commit_title": inp.get("commitHeadline", ""),
            "commit_message": inp.get("commitBody", ""),
        }
        return {"data": {mutation: self._graphql_output(issue, inp)}}

    def _graphql_output(self, issue: Issue, inp: dict[str, Any]) -> dict[str, Any]:
        """Payload fields PyGithub asks for (actor, clientMutationId) plus the PR."""
        return {
            "actor": {
                "avatarUrl": f"https://avatars.githubusercontent.com/u/{self._user(self.bot_login).id}",
                "login": self.bot_login,
                "resourcePath": f"/apps/{self.bot_login.removesuffix('[bot]')}",
                "url": f"https://github.com/apps/{self.bot_login.removesuffix('[bot]')}",
            },
            "clientMutationId": inp.get("clientMutationId"),
            "pullRequest": {"id": _pr_node_id(issue.pull.id if issue.pull else 0), "number": issue.number},
        }

    # -- JSON rendering ----------------------------------------------------------------------

    def _user(self, login: str) -> User:
        """Get or create an account; `[bot]` logins are Bots."""
        user = self.users.get(login)
        if user is None:
            kind = "Bot" if login.endswith("[bot]") else "User"
            user = User(login=login, id=100_000 + len(self.users) * 17 + 1, type=kind)
            self.users[login] = user
        return user

    def _user_json(self, login: str) -> dict[str, Any]:
        """simple-user JSON."""
        user = self._user(login)
        api = f"{self.url}/users/{login}"
        return {
            "login": login,
            "id": user.id,
            "node_id": _node_id("U" if user.type == "User" else "BOT", login),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user.id}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": f"https://github.com/{login}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": user.type,
            "user_view_type": "public",
            "site_admin": False,
        }

    def _private_user_json(self, login: str) -> dict[str, Any]:
        """private-user JSON (what GET /user returns for the token's account)."""
        return {
            **self._user_json(login),
            "user_view_type": "private",
            "name": login,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": 0,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "private_gists": 0,
            "total_private_repos": 1,
            "owned_private_repos": 0,
            "disk_usage": 0,
            "collaborators": 0,
            "two_factor_authentication": False,
        }

    def _repo_json(self, full: bool = False) -> dict[str, Any]:
        """repository JSON (full-repository when `full`)."""
        api = self.api_repo_url
        html = f"https://github.com/{self.full_name}"
        out: dict[str, Any] = {
            "id": self.repo_id,
            "node_id": _node_id("R", self.full_name),
            "name": self.repo,
            "full_name": self.full_name,
            "owner": self._user_json(self.owner),
            "private": True,
            "html_url": html,
            "description": "GitOps manifests (fake GitHub)",
            "fork": False,
            "url": api,
            **{f"{k}_url": f"{api}/{v}" for k, v in _REPO_URL_SUFFIXES.items()},
            "git_url": f"git://github.com/{self.full_name}.git",
            "ssh_url": f"git@github.com:{self.full_name}.git",
            "clone_url": self.clone_url,
            "svn_url": html,
            "mirror_url": None,
            "homepage": None,
            "language": None,
            "forks_count": 0,
            "forks": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "watchers": 0,
            "size": 1,
            "default_branch": self.default_branch,
            "open_issues_count": sum(1 for i in self.issues.values() if i.state == "open"),
            "open_issues": sum(1 for i in self.issues.values() if i.state == "open"),
            "is_template": False,
            "topics": [],
            "has_issues": True,
            "has_projects": False,
            "has_wiki": False,
            "has_pages": False,
            "has_downloads": True,
            "has_discussions": False,
            "archived": False,
            "disabled": False,
            "visibility": "private",
            "pushed_at": _now(),
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "license": None,
            "allow_forking": False,
            "web_commit_signoff_required": False,
            "allow_rebase_merge": "rebase" in self.allowed_merge_methods,
            "allow_squash_merge": "squash" in self.allowed_merge_methods,
            "allow_merge_commit": "merge" in self.allowed_merge_methods,
            "allow_auto_merge": self.automerge_error is None,
            "delete_branch_on_merge": self.delete_branch_on_merge,
            "permissions": _permission_flags(self.roles.get(self.bot_login, "write")),
        }
        if full:
            out.update({"subscribers_count": 0, "network_count": 0})
        return out

    def _label_json(self, label: Label) -> dict[str, Any]:
        """label JSON."""
        return {
            "id": label.id,
            "node_id": _node_id("LA", label.name),
            "url": f"{self.api_repo_url}/labels/{label.name}",
            "name": label.name,
            "description": label.description,
            "color": label.color,
            "default": False,
        }

    def _author_association(self, login: str) -> str:
        """OWNER / COLLABORATOR / NONE, from the repo roles."""
        if login == self.owner:
            return "OWNER"
        return "COLLABORATOR" if self.roles.get(login, "none") != "none" else "NONE"

    def _comment_count(self, issue: Issue) -> int:
        """Number of conversation comments on an issue."""
        return sum(1 for c in self.comments if c.issue_number == issue.number)

    def _issue_json(self, issue: Issue) -> dict[str, Any]:
        """issue JSON (with the `pull_request` link object for PRs)."""
        api = f"{self.api_repo_url}/issues/{issue.number}"
        kind = "pull" if issue.pull else "issues"
        out: dict[str, Any] = {
            "id": issue.id,
            "node_id": _node_id("I", str(issue.id)),
            "url": api,
            "repository_url": self.api_repo_url,
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": f"https://github.com/{self.full_name}/{kind}/{issue.number}",
            "number": issue.number,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "title": issue.title,
            "body": issue.body,
            "user": self._user_json(issue.user),
            "labels": [self._label_json(self.labels[n]) for n in issue.labels],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": self._comment_count(issue),
            "closed_at": issue.closed_at,
            "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "closed_by": self._user_json(issue.closed_by) if issue.closed_by else None,
            "author_association": self._author_association(issue.user),
            "reactions": self._reactions(api),
        }
        if issue.pull:
            pulls = f"{self.api_repo_url}/pulls/{issue.number}"
            html = f"https://github.com/{self.full_name}/pull/{issue.number}"
            out["draft"] = issue.pull.draft
            out["pull_request"] = {
                "url": pulls,
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": issue.pull.merged_at,
            }
        return out

    def _comment_json(self, c: Comment) -> dict[str, Any]:
        """issue-comment JSON."""
        url = f"{self.api_repo_url}/issues/comments/{c.id}"
        issue = self.issues[c.issue_number]
        kind = "pull" if issue.pull else "issues"
        return {
            "id": c.id,
            "node_id": _node_id("IC", str(c.id)),
            "url": url,
            "html_url": f"https://github.com/{self.full_name}/{kind}/{c.issue_number}#issuecomment-{c.id}",
            "body": c.body,
            "user": self._user_json(c.user),
            "created_at": c.created_at,
            "updated_at": c.updated_at,
            "issue_url": f"{self.api_repo_url}/issues/{c.issue_number}",
            "author_association": self._author_association(c.user),
            "reactions": self._reactions(url),
        }

    @staticmethod
    def _reactions(url: str) -> dict[str, Any]:
        """Empty reaction-rollup."""
        keys = ("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket")
        return {"url": f"{url}/reactions", "total_count": 0, **dict.fromkeys(keys, 0)}

    def _branch_end(self, branch: str, sha: str) -> dict[str, Any]:
        """head/base object of a PR."""
        return {
            "label": f"{self.owner}:{branch}",
            "ref": branch,
            "sha": sha,
            "user": self._user_json(self.owner),
            "repo": self._repo_json(),
        }

    def _pull_json(self, issue: Issue, simple: bool = False) -> dict[str, Any]:
        """pull-request JSON (pull-request-simple for lists)."""
        pr = issue.pull
        assert pr is not None
        api = f"{self.api_repo_url}/pulls/{issue.number}"
        html = f"https://github.com/{self.full_name}/pull/{issue.number}"
        issue_api = f"{self.api_repo_url}/issues/{issue.number}"
        head = self._live_head(issue)
        base_sha = (self.git.branch_sha(pr.base) if issue.state == "open" else None) or pr.base_sha
        link = {
            "self": api,
            "html": html,
            "issue": issue_api,
            "comments": f"{issue_api}/comments",
            "review_comments": f"{api}/comments",
            "review_comment": f"{self.api_repo_url}/pulls/comments{{/number}}",
            "commits": f"{api}/commits",
            "statuses": f"{self.api_repo_url}/statuses/{head}",
        }
        out: dict[str, Any] = {
            "url": api,
            "id": pr.id,
            "node_id": _pr_node_id(pr.id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_api,
            "commits_url": f"{api}/commits",
            "review_comments_url": f"{api}/comments",
            "review_comment_url": f"{self.api_repo_url}/pulls/comments{{/number}}",
            "comments_url": f"{issue_api}/comments",
            "statuses_url": f"{self.api_repo_url}/statuses/{head}",
            "number": issue.number,
            "state": issue.state,
            "locked": False,
            "title": issue.title,
            "user": self._user_json(issue.user),
            "body": issue.body,
            "labels": [self._label_json(self.labels[n]) for n in issue.labels],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "closed_at": issue.closed_at,
            "merged_at": pr.merged_at,
            "merge_commit_sha": pr.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": self._branch_end(pr.head, head),
            "base": self._branch_end(pr.base, base_sha),
            "_links": {k: {"href": v} for k, v in link.items()},
            "author_association": self._author_association(issue.user),
            "auto_merge": pr.auto_merge,
            "draft": pr.draft,
        }
        if simple:
            return out
        out.update(self._pull_stats(issue, head, base_sha))
        return out

    def _pull_stats(self, issue: Issue, head: str, base_sha: str) -> dict[str, Any]:
        """Mergeability and diff counters of a full pull-request object."""
        pr = issue.pull
        assert pr is not None
        mergeable: bool | None = None
        state = "unknown"
        if issue.state == "open":
            mergeable = self.git.merge_tree(base_sha, head) is not None
            state = "dirty" if not mergeable else ("blocked" if self._missing_checks(issue) else "clean")
        merge_base = self._merge_base(issue)
        files = self.git.numstat(merge_base, head)
        return {
            "merged": pr.merged,
            "mergeable": mergeable,
            "rebaseable": mergeable,
            "mergeable_state": state,
            "merged_by": self._user_json(pr.merged_by) if pr.merged_by else None,
            "comments": self._comment_count(issue),
            "review_comments": 0,
            "maintainer_can_modify": False,
            "commits": len(self.git.commits_between(merge_base, head)),
            "additions": sum(f[1] for f in files),
            "deletions": sum(f[2] for f in files),
            "changed_files": len(files),
        }

    def _paginate(self, items: list[Any], q: dict[str, str], rel_path: str) -> Reply:
        """Slice by page/per_page and add a Link header like GitHub."""
        per_page = max(1, min(100, int(q.get("per_page", 30))))
        page = max(1, int(q.get("page", 1)))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers: dict[str, str] = {}
        extra = "&".join(f"{k}={v}" for k, v in sorted(q.items()) if k not in ("page", "per_page"))
        base = f"{self.api_repo_url}/{rel_path}?{extra + '&' if extra else ''}per_page={per_page}&page="
        links = []
        if page < last:
            links += [f'<{base}{page + 1}>; rel="next"', f'<{base}{last}>; rel="last"']
        if page > 1:
            links += [f'<{base}1>; rel="first"', f'<{base}{page - 1}>; rel="prev"']
        if links:
            headers["Link"] = ", ".join(links)
        return 200, chunk, headers


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

_EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_SIMPLE_STATUS_KEYS = (
    "description",
    "id",
    "node_id",
    "state",
    "context",
    "target_url",
    "avatar_url",
    "url",
    "created_at",
    "updated_at",
)
_REPO_URL_SUFFIXES = {
    "archive": "{archive_format}{/ref}",
    "assignees": "assignees{/user}",
    "blobs": "git/blobs{/sha}",
    "branches": "branches{/branch}",
    "collaborators": "collaborators{/collaborator}",
    "comments": "comments{/number}",
    "commits": "commits{/sha}",
    "compare": "compare/{base}...{head}",
    "contents": "contents/{+path}",
    "contributors": "contributors",
    "deployments": "deployments",
    "downloads": "downloads",
    "events": "events",
    "forks": "forks",
    "git_commits": "git/commits{/sha}",
    "git_refs": "git/refs{/sha}",
    "git_tags": "git/tags{/sha}",
    "hooks": "hooks",
    "issue_comment": "issues/comments{/number}",
    "issue_events": "issues/events{/number}",
    "issues": "issues{/number}",
    "keys": "keys{/key_id}",
    "labels": "labels{/name}",
    "languages": "languages",
    "merges": "merges",
    "milestones": "milestones{/number}",
    "notifications": "notifications{?since,all,participating}",
    "pulls": "pulls{/number}",
    "releases": "releases{/id}",
    "stargazers": "stargazers",
    "statuses": "statuses/{sha}",
    "subscribers": "subscribers",
    "subscription": "subscription",
    "tags": "tags",
    "teams": "teams",
    "trees": "git/trees{/sha}",
}


def _node_id(kind: str, key: str) -> str:
    """Stable GitHub-looking global node id."""
    digest = hashlib.sha1(f"{kind}:{key}".encode()).digest()[:9]
    return f"{kind}_kwDO" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _pr_node_id(pr_id: int) -> str:
    """Node id of a pull request (what GraphQL mutations take as pullRequestId)."""
    return _node_id("PR", str(pr_id))


def _permission_flags(role: str) -> dict[str, bool]:
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


def _join_message(subject: str, body: str | None) -> str:
    """Commit message from subject and optional body."""
    return f"{subject}\n\n{body}" if body else subject


def _graphql_mutation_name(query: str) -> str | None:
    """Name of the first field of a `mutation` operation."""
    m = re.search(r"\bmutation\b[^{]*\{\s*(\w+)", query)
    return m.group(1) if m else None


def _graphql_shape_problems(body: Json) -> list[str]:
    """Hand-rolled check of an auto-merge mutation request (not in the REST description)."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return ["body must be an object with a string `query`"]
    extra = set(body) - {"query", "variables", "operationName"}
    if extra:
        return [f"unknown top-level keys {sorted(extra)}"]
    name = _graphql_mutation_name(body["query"])
    if name not in ("enablePullRequestAutoMerge", "disablePullRequestAutoMerge"):
        return [f"fake-github implements only (en|dis)ablePullRequestAutoMerge, got {name!r}"]
    input_type = name[:1].upper() + name[1:] + "Input!"
    if not re.search(rf"\$input\s*:\s*{re.escape(input_type)}", body["query"]):
        return [f"mutation must declare `$input: {input_type}`"]
    variables = body.get("variables")
    inp = variables.get("input") if isinstance(variables, dict) else None
    if not isinstance(inp, dict):
        return ["variables.input must be an object"]
    return _graphql_input_problems(name, inp)


def _graphql_input_problems(name: str, inp: dict[str, Any]) -> list[str]:
    """Field-level checks of the mutation input against GitHub's GraphQL schema."""
    allowed = GRAPHQL_AUTOMERGE_INPUT if name.startswith("enable") else {"pullRequestId", "clientMutationId"}
    problems = [f"unknown input field {k!r}" for k in inp if k not in allowed]
    if not isinstance(inp.get("pullRequestId"), str):
        problems.append("input.pullRequestId (ID!) is required")
    if "mergeMethod" in inp and inp["mergeMethod"] not in ("MERGE", "SQUASH", "REBASE"):
        problems.append(f"input.mergeMethod {inp['mergeMethod']!r} is not a PullRequestMergeMethod")
    for key in ("commitHeadline", "commitBody", "authorEmail", "clientMutationId", "expectedHeadOid"):
        if key in inp and not isinstance(inp[key], str):
            problems.append(f"input.{key} must be a string")
    return problems


def _graphql_error(mutation: str | None, kind: str, message: str) -> dict[str, Any]:
    """GraphQL error document (HTTP 200, data null), as GitHub answers refused mutations."""
    return {
        "data": {mutation: None} if mutation else None,
        "errors": [
            {
                "type": kind,
                "path": [mutation] if mutation else [],
                "locations": [{"line": 1, "column": 60}],
                "message": message,
            }
        ],
    }


_EXAMPLES: dict[str, list[dict[str, Any]]] = {}


def _webhook_examples(event: str) -> list[dict[str, Any]]:
    """GitHub's example payloads for an event (cached)."""
    if event not in _EXAMPLES:
        path = _contracts_dir() / "github" / "webhooks" / f"{event}.json"
        _EXAMPLES[event] = json.loads(path.read_text())
    return _EXAMPLES[event]
