"""What the fake GitHub knows about its one repository, and the lookups every resource shares.

One object holds all mutable state (users, roles, issues/PRs, comments, labels, statuses, the
request log and the test knobs); every resource handler holds a reference to it. FakeGitHub *is*
this state plus a server, so test controls like `gh.require_checks = True` stay plain attributes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

from gitops_bot_lab.fakes.github.bare import BareRepo
from gitops_bot_lab.fakes.github.model import (
    DOCS,
    MERGE_METHODS,
    ROLES,
    Call,
    Comment,
    Fault,
    Issue,
    Json,
    Label,
    LoggedRequest,
    Query,
    Status,
    User,
    not_found,
    now,
    validation_failed,
)


class RepoState:
    """In-memory GitHub for one repository `owner/repo` over a real bare git repo."""

    def __init__(
        self,
        git: BareRepo,
        *,
        owner: str,
        repo: str,
        token: str,
        bot_login: str,
        default_branch: str,
        validate: bool,
        delete_branch_on_merge: bool,
    ) -> None:
        self.owner, self.repo, self.token = owner, repo, token
        self.bot_login = bot_login
        self.default_branch = default_branch
        self.validate = validate
        self.delete_branch_on_merge = delete_branch_on_merge
        self.git = git
        # One lock for all state so concurrent clients (and test controls) stay consistent.
        self.lock = threading.RLock()
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
        self.graphql_calls: list[dict[str, Json]] = []
        self.faults: list[Fault] = []
        # Branch protection on the default branch: True means the context "ci" is required.
        self.require_checks: bool | Sequence[str] = False
        self.allowed_merge_methods: set[str] = set(MERGE_METHODS)
        # Message of a GraphQL error answered to enablePullRequestAutoMerge, or None to accept.
        self.automerge_error: str | None = None
        self.repo_id = 700_000_001
        self.created_at = now()
        self.url = ""
        self.account(owner)
        self.account(bot_login)
        self.roles[bot_login] = "write"
        self.roles[owner] = "admin"

    def next_id(self) -> int:
        """A fresh database id (issues, PRs, comments, labels and statuses share the sequence)."""
        return next(self._ids)

    @property
    def full_name(self) -> str:
        """`owner/repo`."""
        return f"{self.owner}/{self.repo}"

    @property
    def api_repo_url(self) -> str:
        """REST URL of the repository on this fake."""
        return f"{self.url}/repos/{self.full_name}"

    @property
    def clone_url(self) -> str:
        """Git URL of the backing bare repo (what `repository.clone_url` reports)."""
        return self.git.path.as_uri()

    # -- accounts ------------------------------------------------------------------------------

    def account(self, login: str) -> User:
        """Get or create an account; `[bot]` logins are Bots."""
        user = self.users.get(login)
        if user is None:
            kind = "Bot" if login.endswith("[bot]") else "User"
            user = User(login=login, id=100_000 + len(self.users) * 17 + 1, type=kind)
            self.users[login] = user
        return user

    def set_permission(self, login: str, role: str) -> None:
        """Give a user a repository role: admin/maintain/write/triage/read/none."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        self.account(login)
        self.roles[login] = role

    def login_for_email(self, email: str) -> str | None:
        """Map a noreply email back to a known user."""
        return next((u.login for u in self.users.values() if u.email == email), None)

    def author_association(self, login: str) -> str:
        """OWNER / COLLABORATOR / NONE, from the repo roles."""
        if login == self.owner:
            return "OWNER"
        return "COLLABORATOR" if self.roles.get(login, "none") != "none" else "NONE"

    # -- issues and pull requests ------------------------------------------------------------

    def find_issue(self, number: int, *, pulls_only: bool = False) -> Issue:
        """Look up an issue/PR or 404."""
        issue = self.issues.get(number)
        if issue is None or (pulls_only and issue.pull is None):
            raise not_found()
        return issue

    def new_issue(self, login: str, title: str, body: str | None) -> Issue:
        """Allocate the next issue/PR number."""
        self.account(login)
        number = max(self.issues, default=0) + 1
        stamp = now()
        issue = Issue(
            number=number,
            id=self.next_id(),
            title=title,
            body=body,
            user=login,
            created_at=stamp,
            updated_at=stamp,
        )
        self.issues[number] = issue
        return issue

    def sorted_issues(self, q: Query) -> list[Issue]:
        """Issues ordered like GitHub (created desc by default)."""
        key = {"updated": lambda i: i.updated_at, "comments": lambda i: self.comment_count(i)}.get(
            q.get("sort", "created"), lambda i: i.number
        )
        return sorted(self.issues.values(), key=key, reverse=q.get("direction", "desc") == "desc")

    def comment_count(self, issue: Issue) -> int:
        """Number of conversation comments on an issue."""
        return sum(1 for c in self.comments if c.issue_number == issue.number)

    def set_state(self, issue: Issue, state: str, reason: str | None) -> None:
        """Open/close an issue or PR (merged PRs cannot be reopened)."""
        if state == issue.state:
            return
        if state == "open" and issue.pull and issue.pull.merged:
            raise validation_failed(
                f"{DOCS}/pulls/pulls#update-a-pull-request",
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": "Cannot reopen a merged pull request",
                },
            )
        if state == "closed" and issue.pull:
            issue.pull.head_sha = self.live_head(issue)
            issue.pull.auto_merge = None
        issue.state = state
        issue.state_reason = reason if state == "closed" else ("reopened" if reason is None else reason)
        issue.closed_at = now() if state == "closed" else None
        issue.closed_by = self.bot_login if state == "closed" else None

    def live_head(self, issue: Issue) -> str:
        """Head sha: follows the branch while open, frozen once closed or branch deleted."""
        pr = issue.pr
        if issue.state == "open":
            sha = self.git.branch_sha(pr.head)
            if sha:
                pr.head_sha = sha
        return pr.head_sha

    def merge_base(self, issue: Issue) -> str:
        """Merge base of head and base (or the recorded base sha once merged/gone)."""
        pr = issue.pr
        base = self.git.branch_sha(pr.base) if not pr.merged else pr.base_sha
        if base is None:
            return pr.base_sha
        proc = self.git.run("merge-base", base, self.live_head(issue), check=False)
        return proc.stdout.strip() or pr.base_sha

    # -- checks --------------------------------------------------------------------------------

    def protection_contexts(self) -> list[str]:
        """Required status contexts on the default branch."""
        if not self.require_checks:
            return []
        if self.require_checks is True:
            return ["ci"]
        return list(self.require_checks)

    def latest_statuses(self, sha: str) -> dict[str, str]:
        """context -> latest state for a commit."""
        latest: dict[str, str] = {}
        for s in self.statuses:
            if s.sha == sha:
                latest[s.context] = s.state
        return latest

    def missing_checks(self, issue: Issue) -> list[str]:
        """Required contexts without a latest `success` status on the PR head (base protected)."""
        if issue.pr.base != self.default_branch:
            return []
        latest = self.latest_statuses(self.live_head(issue))
        return [c for c in self.protection_contexts() if latest.get(c) != "success"]

    def resolve_ref(self, ref: str) -> str | None:
        """A sha, branch name, heads/x or tags/x -> commit sha."""
        for cand in (ref, f"refs/heads/{ref}", f"refs/{ref}", f"refs/tags/{ref}"):
            if cand == ref and not re.fullmatch(r"[0-9a-f]{7,40}", ref):
                continue
            sha = self.git.rev(cand)
            if sha:
                return sha
        return None

    # -- labels, comments and faults -----------------------------------------------------------

    def label(self, name: str) -> Label:
        """Repo label by name (case-insensitive), created on first use like GitHub does."""
        for label in self.labels.values():
            if label.name.lower() == name.lower():
                return label
        label = Label(self.next_id(), name)
        self.labels[name] = label
        return label

    def apply_labels(self, issue: Issue, raw: Json) -> None:
        """Add labels given as names, {"labels": [...]} or label objects."""
        names = raw.get("labels", []) if isinstance(raw, dict) else raw
        for item in names:
            name = item["name"] if isinstance(item, dict) else str(item)
            label = self.label(name)
            if label.name not in issue.labels:
                issue.labels.append(label.name)

    def add_comment(self, issue: Issue, login: str, body: str) -> Comment:
        """Store a new comment."""
        self.account(login)
        stamp = now()
        comment = Comment(self.next_id(), issue.number, login, body, stamp, stamp)
        self.comments.append(comment)
        issue.updated_at = stamp
        return comment

    def take_fault(self, method: str, path: str) -> Fault | None:
        """Pop one use of the first queued fault matching this request."""
        for fault in self.faults:
            if fault.method in (method, "*") and fault.pattern.search(path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None
