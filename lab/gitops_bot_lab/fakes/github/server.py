"""FakeGitHub: the repository state, its resource handlers and a loopback server, wired once.

The state (`RepoState`) is one object that every resource handler holds; FakeGitHub is that state
plus the server lifecycle and the test controls, so `gh.issues`, `gh.require_checks = True` and
friends stay plain attributes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitops_bot_lab.fakes.github.accounts import Accounts
from gitops_bot_lab.fakes.github.bare import BareRepo, GitError
from gitops_bot_lab.fakes.github.gateway import Gateway, fault_defaults
from gitops_bot_lab.fakes.github.graphql import GraphQL
from gitops_bot_lab.fakes.github.issues import Issues
from gitops_bot_lab.fakes.github.labels import Labels
from gitops_bot_lab.fakes.github.merge import Merger
from gitops_bot_lab.fakes.github.model import Call, Fault, Json
from gitops_bot_lab.fakes.github.openapi import GitHubContract, contract
from gitops_bot_lab.fakes.github.pulls import Pulls
from gitops_bot_lab.fakes.github.refs import Refs
from gitops_bot_lab.fakes.github.render import Render
from gitops_bot_lab.fakes.github.render_pulls import PullRender
from gitops_bot_lab.fakes.github.state import RepoState
from gitops_bot_lab.fakes.github.statuses import Statuses
from gitops_bot_lab.fakes.github.webhooks import Webhooks, sign, webhook_headers
from gitops_bot_lab.fakes.loopback import LoopbackServer


class FakeGitHub(RepoState):
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
        git = BareRepo(Path(bare_repo).resolve(), default_branch)
        git.ensure()
        super().__init__(
            git,
            owner=owner,
            repo=repo,
            token=token,
            bot_login=bot_login,
            default_branch=default_branch,
            validate=validate,
            delete_branch_on_merge=delete_branch_on_merge,
        )
        for login, role in (permissions or {}).items():
            self.set_permission(login, role)
        if init_files is not None and not self.git.branch_sha(default_branch):
            self.commit_files(default_branch, init_files, "Initial commit")
        self._server: LoopbackServer | None = None
        self._wire(contract_obj or (contract() if validate else None))

    def _wire(self, checker: GitHubContract | None) -> None:
        """Build each resource once around this state; the gateway routes operationIds to them."""
        self.render = render = Render(self)
        self._pull_json = PullRender(self, render)
        merger, refs = Merger(self), Refs(self, render)
        self._pulls = Pulls(self, render, self._pull_json, refs, merger)
        self._statuses = Statuses(self, render, merger)
        self._webhooks = Webhooks(self, render, self._pull_json, checker)
        resources = (refs, self._pulls, self._statuses, Accounts(self, render), Issues(self, render))
        routes = {op: h for r in (*resources, Labels(self, render)) for op, h in r.routes().items()}
        self._gateway = Gateway(self, checker, routes, GraphQL(self, render))

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        """Serve in a daemon thread on a free loopback port."""
        self._server = LoopbackServer(self._gateway, poll_interval=0.05)
        self._server.start()
        self.url = self._server.url
        return self

    def stop(self) -> None:
        """Stop serving (bounded wait)."""
        if self._server is not None:
            self._server.stop()
        self._server = None

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
    def graphql_url(self) -> str:
        """Where PyGithub sends GraphQL for base_url=self.url."""
        return f"{self.url}/graphql"

    # -- test controls -----------------------------------------------------------------------

    def reset_calls(self) -> None:
        """Forget recorded calls and the request log."""
        with self.lock:
            self.calls.clear()
            self.log.clear()

    def calls_to(self, method: str, path_regex: str) -> list[Call]:
        """Recorded calls whose method and path match."""
        rx = re.compile(path_regex)
        return [c for c in self.calls if c.method == method.upper() and rx.search(c.path)]

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
        default_body, default_headers = fault_defaults(status)
        with self.lock:
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

    def user(self, login: str) -> dict[str, Any]:
        """simple-user JSON for a login (creating the account if needed)."""
        return self.render.user(login)

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
        user = self.account(login)
        base = parent or self.git.branch_sha(branch) or self.git.branch_sha(self.default_branch)
        sha = self.git.write_commit(base, files, message, (login, user.email))
        old = self.git.branch_sha(branch)
        if not self.git.update_ref(f"refs/heads/{branch}", sha, old or ""):
            raise GitError(f"branch {branch} moved concurrently")
        return sha

    def open_pull_as(self, login: str, head: str, title: str, body: str = "", base: str | None = None) -> int:
        """Open a PR directly (as a human would in the UI); returns its number."""
        with self.lock:
            return self._pulls.create(login, head, base or self.default_branch, title, body).number

    def pull(self, number: int) -> dict[str, Any]:
        """Current REST JSON of a PR."""
        with self.lock:
            return self._pull_json.pull(self.find_issue(number, pulls_only=True))

    def add_status(self, sha: str, state: str, context: str = "ci", creator: str = "ci-bot") -> None:
        """Post a commit status as an external CI would (may trigger auto-merge)."""
        with self.lock:
            self._statuses.post(sha, state, context, creator)

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
        with self.lock:
            return self._webhooks.issue_comment(login, number, body, action, comment_id=comment_id)

    def pull_request_event(
        self, number: int, action: str = "opened", *, sender: str | None = None
    ) -> dict[str, Any]:
        """`pull_request` webhook payload for a PR's current state, from GitHub's real example."""
        with self.lock:
            return self._webhooks.pull_request(number, action, sender=sender)

    sign = staticmethod(sign)
    webhook_headers = staticmethod(webhook_headers)
