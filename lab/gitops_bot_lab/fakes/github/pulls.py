"""Pull requests: open, list, read, edit, their files and commits, and the merge endpoint."""

from __future__ import annotations

from gitops_bot_lab.fakes.github.merge import Merger
from gitops_bot_lab.fakes.github.model import (
    DOCS,
    Handler,
    Issue,
    Json,
    Params,
    Pull,
    Query,
    Reply,
    now,
    validation_failed,
)
from gitops_bot_lab.fakes.github.refs import Refs
from gitops_bot_lab.fakes.github.render import Render, Resource
from gitops_bot_lab.fakes.github.render_pulls import PullRender
from gitops_bot_lab.fakes.github.state import RepoState


class Pulls(Resource):
    """pulls/* operations; merging itself is the Merger's (auto-merge and GraphQL share it)."""

    def __init__(
        self, state: RepoState, render: Render, views: PullRender, commits: Refs, merger: Merger
    ) -> None:
        super().__init__(state, render)
        self._views, self._commits, self._merger = views, commits, merger

    def routes(self) -> dict[str, Handler]:
        """operationId -> handler."""
        return {
            "pulls/create": self._h_create_pull,
            "pulls/list": self._h_list_pulls,
            "pulls/get": self._h_get_pull,
            "pulls/update": self._h_update_pull,
            "pulls/merge": self._h_merge,
            "pulls/check-if-merged": self._h_check_merged,
            "pulls/list-files": self._h_pull_files,
            "pulls/list-commits": self._h_pull_commits,
        }

    def _h_create_pull(self, p: Params, q: Query, body: Json) -> Reply:
        """POST /repos/{o}/{r}/pulls."""
        if "title" not in body:
            raise validation_failed(
                f"{DOCS}/pulls/pulls#create-a-pull-request",
                {"resource": "PullRequest", "field": "title", "code": "missing_field"},
            )
        issue = self.create(
            self._s.bot_login,
            body["head"],
            body["base"],
            body["title"],
            body.get("body"),
            draft=bool(body.get("draft", False)),
        )
        out = self._views.pull(issue)
        return 201, out, {"Location": out["url"]}

    def create(
        self, login: str, head: str, base: str, title: str, body: str | None, *, draft: bool = False
    ) -> Issue:
        """Open a PR after GitHub's checks (head/base exist, no duplicate, has commits)."""
        doc = f"{DOCS}/pulls/pulls#create-a-pull-request"
        branch = head.split(":", 1)[1] if ":" in head else head
        if ":" in head and head.split(":", 1)[0].lower() != self._s.owner.lower():
            raise validation_failed(doc, {"resource": "PullRequest", "field": "head", "code": "invalid"})
        head_sha, base_sha = self._git.branch_sha(branch), self._git.branch_sha(base)
        if head_sha is None:
            raise validation_failed(doc, {"resource": "PullRequest", "field": "head", "code": "invalid"})
        if base_sha is None:
            raise validation_failed(doc, {"resource": "PullRequest", "field": "base", "code": "invalid"})
        for other in self._s.issues.values():
            if other.pull and other.state == "open" and other.pull.head == branch and other.pull.base == base:
                raise validation_failed(
                    doc,
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for {self._s.owner}:{branch}.",
                    },
                )
        if not self._git.commits_between(base_sha, head_sha):
            raise validation_failed(
                doc,
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"No commits between {base} and {branch}",
                },
            )
        issue = self._s.new_issue(login, title, body)
        issue.pull = Pull(
            head=branch, base=base, head_sha=head_sha, base_sha=base_sha, draft=draft, id=self._s.next_id()
        )
        return issue

    def _h_list_pulls(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /repos/{o}/{r}/pulls with state/head/base filters."""
        state = q.get("state", "open")
        head = q.get("head")
        items = []
        for issue in self._s.sorted_issues(q):
            pr = issue.pull
            if pr is None or (state != "all" and issue.state != state):
                continue
            if head and f"{self._s.owner}:{pr.head}".lower() != head.lower() and head != pr.head:
                continue
            if q.get("base") and pr.base != q["base"]:
                continue
            items.append(self._views.pull(issue, simple=True))
        return self._render.paginate(items, q, "pulls")

    def _h_get_pull(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /repos/{o}/{r}/pulls/{n}."""
        return 200, self._views.pull(self._s.find_issue(p["pull_number"], pulls_only=True)), {}

    def _h_update_pull(self, p: Params, q: Query, body: Json) -> Reply:
        """PATCH /repos/{o}/{r}/pulls/{n}: title, body, state, base."""
        issue = self._s.find_issue(p["pull_number"], pulls_only=True)
        body = body or {}
        issue.title = body.get("title", issue.title)
        issue.body = body.get("body", issue.body)
        if "base" in body:
            if self._git.branch_sha(body["base"]) is None:
                raise validation_failed(
                    f"{DOCS}/pulls/pulls#update-a-pull-request",
                    {"resource": "PullRequest", "field": "base", "code": "invalid"},
                )
            issue.pr.base = body["base"]
        if "state" in body:
            self._s.set_state(issue, body["state"], None)
        issue.updated_at = now()
        return 200, self._views.pull(issue), {}

    def _h_check_merged(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /repos/{o}/{r}/pulls/{n}/merge: 204 if merged else 404 (no body)."""
        pr = self._s.find_issue(p["pull_number"], pulls_only=True).pr
        return (204, None, {}) if pr.merged else (404, None, {})

    def _h_pull_files(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /repos/{o}/{r}/pulls/{n}/files."""
        issue = self._s.find_issue(p["pull_number"], pulls_only=True)
        head = self._s.live_head(issue)
        base = self._s.merge_base(issue)
        return self._render.paginate(self._commits.diff_entries(base, head), q, f"pulls/{issue.number}/files")

    def _h_pull_commits(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /repos/{o}/{r}/pulls/{n}/commits."""
        issue = self._s.find_issue(p["pull_number"], pulls_only=True)
        commits = self._git.commits_between(self._s.merge_base(issue), self._s.live_head(issue))
        items = [self._commits.commit_json(sha) for sha in commits]
        return self._render.paginate(items, q, f"pulls/{issue.number}/commits")

    def _h_merge(self, p: Params, q: Query, body: Json) -> Reply:
        """PUT /repos/{o}/{r}/pulls/{n}/merge: merge/squash/rebase for real in the bare repo."""
        issue = self._s.find_issue(p["pull_number"], pulls_only=True)
        body = body or {}
        sha = self._merger.merge(
            issue,
            self._s.bot_login,
            body.get("merge_method", "merge"),
            body.get("commit_title"),
            body.get("commit_message"),
            body.get("sha"),
        )
        return 200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}, {}
