"""Issues and their conversation comments (pull requests are issues too, as on GitHub)."""

from __future__ import annotations

from gitops_bot_lab.fakes.github.model import Comment, Handler, Json, Params, Query, Reply, not_found, now
from gitops_bot_lab.fakes.github.render import Resource


class Issues(Resource):
    """issues/get, list, update and the issue-comment operations."""

    def routes(self) -> dict[str, Handler]:
        """operationId -> handler."""
        return {
            "issues/get": self._h_get_issue,
            "issues/list-for-repo": self._h_list_issues,
            "issues/update": self._h_update_issue,
            "issues/create-comment": self._h_create_comment,
            "issues/list-comments": self._h_list_comments,
            "issues/get-comment": self._h_get_comment,
            "issues/update-comment": self._h_update_comment,
            "issues/delete-comment": self._h_delete_comment,
        }

    def _h_get_issue(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /repos/{o}/{r}/issues/{n}."""
        return 200, self._render.issue(self._s.find_issue(p["issue_number"])), {}

    def _h_list_issues(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /repos/{o}/{r}/issues (includes PRs, as GitHub does) filtered by state/labels."""
        state = q.get("state", "open")
        wanted = [x.strip() for x in q.get("labels", "").split(",") if x.strip()]
        items = [
            self._render.issue(i)
            for i in self._s.sorted_issues(q)
            if (state == "all" or i.state == state)
            and all(w.lower() in (n.lower() for n in i.labels) for w in wanted)
            and (not q.get("creator") or i.user == q["creator"])
        ]
        return self._render.paginate(items, q, "issues")

    def _h_update_issue(self, p: Params, q: Query, body: Json) -> Reply:
        """PATCH /repos/{o}/{r}/issues/{n}: title, body, state, state_reason, labels."""
        issue = self._s.find_issue(p["issue_number"])
        body = body or {}
        if body.get("title") is not None:
            issue.title = str(body["title"])
        if "body" in body:
            issue.body = body["body"]
        if body.get("labels") is not None:
            issue.labels = []
            self._s.apply_labels(issue, body["labels"])
        if "state" in body:
            self._s.set_state(issue, body["state"], body.get("state_reason"))
        issue.updated_at = now()
        return 200, self._render.issue(issue), {}

    # comments

    def _h_create_comment(self, p: Params, q: Query, body: Json) -> Reply:
        """POST /repos/{o}/{r}/issues/{n}/comments (as the bot)."""
        comment = self._s.add_comment(self._s.find_issue(p["issue_number"]), self._s.bot_login, body["body"])
        out = self._render.comment(comment)
        return 201, out, {"Location": out["url"]}

    def _h_list_comments(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /repos/{o}/{r}/issues/{n}/comments (oldest first, optional since)."""
        number = self._s.find_issue(p["issue_number"]).number
        since = q.get("since", "")
        items = [
            self._render.comment(c)
            for c in self._s.comments
            if c.issue_number == number and c.updated_at >= since
        ]
        return self._render.paginate(items, q, f"issues/{number}/comments")

    def _comment_by_id(self, comment_id: int) -> Comment:
        """Comment lookup or 404."""
        found = next((c for c in self._s.comments if c.id == comment_id), None)
        if found is None:
            raise not_found()
        return found

    def _h_get_comment(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /repos/{o}/{r}/issues/comments/{id}."""
        return 200, self._render.comment(self._comment_by_id(p["comment_id"])), {}

    def _h_update_comment(self, p: Params, q: Query, body: Json) -> Reply:
        """PATCH /repos/{o}/{r}/issues/comments/{id}."""
        comment = self._comment_by_id(p["comment_id"])
        comment.body, comment.updated_at = body["body"], now()
        return 200, self._render.comment(comment), {}

    def _h_delete_comment(self, p: Params, q: Query, body: Json) -> Reply:
        """DELETE /repos/{o}/{r}/issues/comments/{id}."""
        self._s.comments.remove(self._comment_by_id(p["comment_id"]))
        return 204, None, {}

    # labels
