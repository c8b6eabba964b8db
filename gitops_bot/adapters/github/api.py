"""The GitHub adapter over PyGithub: our dataclasses out, our exceptions up, retries in one place."""

import logging
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import requests
from github import Github, GithubException

from gitops_bot.adapters.github.convert import from_pull
from gitops_bot.core.errors import GitHubError, GitHubUnavailableError, MergeRefusedError, PullExistsError
from gitops_bot.core.github.types import PullInfo, error_text, label_style, retry_delay
from gitops_bot.core.refs import ROLLBACK_BRANCH_PREFIX

log = logging.getLogger("gitops_bot")
T = TypeVar("T")


class GitHubAPI:
    """One repository's REST/GraphQL calls; each public method is one call unless it says otherwise."""

    def __init__(
        self,
        client: Github,
        repo: str,
        *,
        attempts: int = 5,
        max_wait: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        bot_login: str | None = None,
    ) -> None:
        self.client, self.full_name = client, repo
        self.owner = repo.split("/", 1)[0]
        self.attempts, self.max_wait, self.sleep = attempts, max_wait, sleep
        self._bot_login = bot_login
        self._labels: set[str] | None = None  # repo labels known to exist (lower case)
        self._lock = threading.RLock()  # the alert worker and the PR loop share PyGithub's connection
        self._repo = client.get_repo(repo)  # lazy client: no request until used

    def _call(self, what: str, fn: Callable[[], T], *, done: Callable[[], T | None] | None = None) -> T:
        """Run fn, retrying rate limits, 5xx and lost connections with bounded back-off.

        `done` makes a non-idempotent POST safe to retry: it says whether the lost attempt landed.
        """
        for attempt in range(self.attempts):
            try:
                with self._lock:
                    if attempt and done is not None and (found := done()) is not None:
                        return found
                    return fn()
            except GithubException as e:
                delay = retry_delay(e.status, e.headers or {}, attempt, time.time())
                error: GitHubError = _wrap(what, e.status, error_text(e.data))
                cause: Exception = e
            except requests.RequestException as e:
                delay = retry_delay(0, {}, attempt, time.time())
                error, cause = GitHubError(f"GitHub {what}: no answer: {e}", status=0), e
            if delay is None:
                raise error from cause
            if attempt == self.attempts - 1 or delay > self.max_wait:
                raise GitHubUnavailableError(
                    f"{error} (gave up after {attempt + 1} tries)", status=error.status
                ) from cause
            log.warning("%s; retrying in %.0fs (try %d of %d)", error, delay, attempt + 1, self.attempts)
            self.sleep(delay)
        raise AssertionError("unreachable")

    # -- reads --------------------------------------------------------------------------------

    def pulls_for_branch(self, branch: str) -> list[PullInfo]:
        """Every PR (any state) whose head is the branch, newest first."""
        head = f"{self.owner}:{branch}"
        return self._call(
            "list pulls", lambda: [from_pull(p) for p in self._repo.get_pulls(state="all", head=head)]
        )

    def pull(self, number: int) -> PullInfo:
        """One PR, fresh."""
        return self._call(f"get pull #{number}", lambda: from_pull(self._repo.get_pull(number)))

    def open_rollbacks(self) -> list[PullInfo]:
        """Open PRs the bot opened from a rollback branch, found by head branch and author.

        Not by label: labels are written after the PR is opened, so a crash in between would
        leave a PR no pass ever finds. The pulls list carries head, author, labels and body.
        """
        me = self.bot_login()
        pulls = self._call(
            "list open PRs",
            lambda: [
                from_pull(p) for p in self._repo.get_pulls(state="open", sort="created", direction="asc")
            ],
        )
        return [p for p in pulls if p.author == me and p.head_ref.startswith(ROLLBACK_BRANCH_PREFIX)]

    def _get_json_or_none(self, what: str, url: str) -> dict[str, Any] | None:
        """GET a raw endpoint PyGithub has no method for; None when GitHub answers 404."""
        try:
            _, data = self._call(what, lambda: self.client.requester.requestJsonAndCheck("GET", url))
        except GitHubError as e:
            if e.status == 404:
                return None
            raise
        return dict(data)

    def permission(self, login: str) -> tuple[str, str]:
        """(role_name, legacy permission) of a user on the repository; ('none', 'none') if unknown."""
        url = f"{self._repo.url}/collaborators/{urllib.parse.quote(login, safe='')}/permission"
        data = self._get_json_or_none(f"permission of {login}", url) or {}
        return str(data.get("role_name") or "none"), str(data.get("permission") or "none")

    def in_team(self, team: str, login: str) -> bool:
        """Active member of `org/slug` (or `slug` in the repo owner's organisation)."""
        org, _, slug = team.rpartition("/")
        url = f"/orgs/{org or self.owner}/teams/{slug}/memberships/{urllib.parse.quote(login, safe='')}"
        data = self._get_json_or_none(f"team {team}", url) or {}
        return data.get("state") == "active"

    @property
    def known_bot_login(self) -> str | None:
        """The bot's login if configured or already looked up (never calls GitHub)."""
        return self._bot_login

    def bot_login(self) -> str:
        """The bot's own login (configured, else GET /user once for a token)."""
        if self._bot_login is None:
            self._bot_login = self._call("who am I", lambda: self.client.get_user().login)
        return self._bot_login

    # -- writes -------------------------------------------------------------------------------

    def create_pull(self, *, head: str, base: str, title: str, body: str) -> PullInfo:
        """Open a PR; PullExistsError when GitHub says one exists or there is nothing to merge."""
        try:
            pr = self._call(
                "open pull", lambda: self._repo.create_pull(base=base, head=head, title=title, body=body)
            )
        except GitHubError as e:
            if e.status == 422 and ("already exists" in str(e) or "No commits between" in str(e)):
                raise PullExistsError(str(e), status=422) from e
            raise
        return from_pull(pr)

    def ensure_labels(self, names: Iterable[str]) -> None:
        """Create the bot's labels with colour and description once (repo labels listed once)."""
        if self._labels is None:
            listed = self._call("list labels", lambda: [lb.name for lb in self._repo.get_labels()])
            self._labels = {n.lower() for n in listed}
        for name in sorted(set(names)):
            if name.lower() in self._labels:
                continue
            try:
                self._create_label(name)
            except GitHubError as e:
                if e.status != 422:  # 422: another replica created it first
                    raise
            self._labels.add(name.lower())

    def _create_label(self, name: str) -> None:
        color, text = label_style(name)
        self._call(f"create label {name}", lambda: self._repo.create_label(name, color, text))

    def add_labels(self, number: int, labels: Iterable[str]) -> None:
        """Add labels (created first if missing); idempotent."""
        names = sorted(set(labels))
        self.ensure_labels(names)
        issue = self._repo.get_issue(number)
        self._call(f"label #{number}", lambda: issue.add_to_labels(*names))

    def set_labels(self, number: int, labels: Iterable[str]) -> None:
        """Replace the label set (names with `/` cannot be removed one by one through the path)."""
        names = sorted(set(labels))
        self.ensure_labels(names)
        issue = self._repo.get_issue(number)
        self._call(f"set labels on #{number}", lambda: issue.set_labels(*names))

    def comment(self, number: int, body: str) -> None:
        """Comment once even if the POST is retried: a marker tells whether a lost try landed."""
        marker = f"<!-- gitops-bot:comment {uuid.uuid4().hex} -->"
        issue = self._repo.get_issue(number)

        def landed() -> bool | None:
            return True if any(marker in c.body for c in issue.get_comments()) else None

        self._call(
            f"comment on #{number}", lambda: bool(issue.create_comment(f"{body}\n\n{marker}")), done=landed
        )

    def edit(self, number: int, *, body: str | None = None, close: bool = False) -> None:
        """Rewrite the body and/or close the PR."""
        fields: dict[str, Any] = {"state": "closed"} if close else {}
        if body is not None:
            fields["body"] = body
        issue = self._repo.get_issue(number)
        self._call(f"edit #{number}", lambda: issue.edit(**fields))

    def merge(self, number: int, *, method: str, sha: str, title: str, message: str) -> str:
        """Merge with the head sha as guard; MergeRefusedError on 405/409/422. Returns the new sha."""
        pr = self._repo.get_pull(number)
        try:
            result = self._call(
                f"merge #{number}",
                lambda: (
                    pr.merge(commit_title=title, commit_message=message, merge_method=method, sha=sha)
                    if method != "rebase"
                    else pr.merge(merge_method=method, sha=sha)
                ),
            )
        except GitHubError as e:
            if e.status in (405, 409, 422):
                raise MergeRefusedError(str(e), status=e.status) from e
            raise
        return str(result.sha)

    def enable_automerge(self, pull: PullInfo, *, method: str, title: str, message: str) -> None:
        """Arm GitHub auto-merge (GraphQL); MergeRefusedError with GitHub's reason when refused."""
        inp: dict[str, Any] = {
            "pullRequestId": pull.node_id,
            "mergeMethod": method.upper(),
            "expectedHeadOid": pull.head_sha,
        }
        if method != "rebase":
            inp |= {"commitHeadline": title, "commitBody": message}
        mutation = self.client.requester.graphql_named_mutation
        try:
            self._call(
                f"auto-merge #{pull.number}",
                lambda: mutation("enablePullRequestAutoMerge", inp, "actor { login } clientMutationId"),
            )
        except GitHubError as e:
            raise MergeRefusedError(str(e), status=e.status) from e

    def set_status(self, sha: str, *, state: str, context: str, description: str) -> None:
        """A commit status on sha (repeats just add a newer one)."""
        url = f"{self._repo.url}/statuses/{sha}"
        body = {"state": state, "context": context, "description": description}
        self._call(
            f"status on {sha[:12]}",
            lambda: self.client.requester.requestJsonAndCheck("POST", url, input=body),
        )


def _wrap(what: str, status: int, text: str) -> GitHubError:
    return GitHubError(f"GitHub {what}: {status} {text}", status=status)
