"""Repository labels and the labels on an issue or pull request."""

from __future__ import annotations

import re

from gitops_bot_lab.fakes.github.model import (
    DOCS,
    Handler,
    Issue,
    Json,
    Params,
    Query,
    Reply,
    error,
    not_found,
    now,
    validation_failed,
)
from gitops_bot_lab.fakes.github.render import Resource


class Labels(Resource):
    """issues/*-label(s) operations (labels are created on first use, like GitHub does)."""

    def routes(self) -> dict[str, Handler]:
        """operationId -> handler."""
        return {
            "issues/add-labels": self._h_add_labels,
            "issues/set-labels": self._h_set_labels,
            "issues/remove-label": self._h_remove_label,
            "issues/list-labels-on-issue": self._h_issue_labels,
            "issues/get-label": self._h_get_label,
            "issues/create-label": self._h_create_label,
            "issues/list-labels-for-repo": self._h_repo_labels,
        }

    def _labels_reply(self, issue: Issue) -> Reply:
        """The issue's labels as a label list."""
        return 200, [self._render.label(self._s.labels[n]) for n in issue.labels], {}

    def _h_add_labels(self, p: Params, q: Query, body: Json) -> Reply:
        """POST /repos/{o}/{r}/issues/{n}/labels."""
        issue = self._s.find_issue(p["issue_number"])
        self._s.apply_labels(issue, body or [])
        issue.updated_at = now()
        return self._labels_reply(issue)

    def _h_set_labels(self, p: Params, q: Query, body: Json) -> Reply:
        """PUT /repos/{o}/{r}/issues/{n}/labels."""
        issue = self._s.find_issue(p["issue_number"])
        issue.labels = []
        self._s.apply_labels(issue, body or [])
        return self._labels_reply(issue)

    def _h_remove_label(self, p: Params, q: Query, body: Json) -> Reply:
        """DELETE /repos/{o}/{r}/issues/{n}/labels/{name}."""
        issue = self._s.find_issue(p["issue_number"])
        match = next((n for n in issue.labels if n.lower() == p["name"].lower()), None)
        if match is None:
            raise error(404, "Label does not exist", f"{DOCS}/issues/labels#remove-a-label-from-an-issue")
        issue.labels.remove(match)
        return self._labels_reply(issue)

    def _h_issue_labels(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /repos/{o}/{r}/issues/{n}/labels."""
        return self._labels_reply(self._s.find_issue(p["issue_number"]))

    def _h_get_label(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /repos/{o}/{r}/labels/{name}."""
        label = next((lb for lb in self._s.labels.values() if lb.name.lower() == p["name"].lower()), None)
        if label is None:
            raise not_found(f"{DOCS}/issues/labels#get-a-label")
        return 200, self._render.label(label), {}

    def _h_create_label(self, p: Params, q: Query, body: Json) -> Reply:
        """POST /repos/{o}/{r}/labels."""
        doc = f"{DOCS}/issues/labels#create-a-label"
        if any(lb.name.lower() == body["name"].lower() for lb in self._s.labels.values()):
            raise validation_failed(doc, {"resource": "Label", "code": "already_exists", "field": "name"})
        color = body.get("color", "ededed").lstrip("#")
        if not re.fullmatch(r"[0-9a-fA-F]{6}", color):
            raise validation_failed(doc, {"resource": "Label", "code": "invalid", "field": "color"})
        label = self._s.label(body["name"])
        label.color, label.description = color, body.get("description")
        out = self._render.label(label)
        return 201, out, {"Location": out["url"]}

    def _h_repo_labels(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /repos/{o}/{r}/labels."""
        return self._render.paginate([self._render.label(lb) for lb in self._s.labels.values()], q, "labels")

    # permissions and statuses
