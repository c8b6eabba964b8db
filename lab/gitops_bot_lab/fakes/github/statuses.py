"""Commit statuses: create, list, the combined status, and the auto-merge a passing check triggers."""

from __future__ import annotations

import re
from typing import Any

from gitops_bot_lab.fakes.github.merge import Merger
from gitops_bot_lab.fakes.github.model import (
    DOCS,
    Handler,
    Json,
    Params,
    Query,
    Reply,
    Status,
    node_id,
    not_found,
    now,
    validation_failed,
)
from gitops_bot_lab.fakes.github.render import Render, Resource
from gitops_bot_lab.fakes.github.state import RepoState

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


class Statuses(Resource):
    """repos/*commit-status* operations; a new status may complete a pending auto-merge."""

    def __init__(self, state: RepoState, render: Render, merger: Merger) -> None:
        super().__init__(state, render)
        self._merger = merger

    def routes(self) -> dict[str, Handler]:
        """operationId -> handler."""
        return {
            "repos/create-commit-status": self._h_create_status,
            "repos/list-commit-statuses-for-ref": self._h_list_statuses,
            "repos/get-combined-status-for-ref": self._h_combined_status,
        }

    def _status_json(self, s: Status) -> dict[str, Any]:
        """status JSON."""
        return {
            "url": f"{self._s.api_repo_url}/statuses/{s.sha}",
            "avatar_url": None,
            "id": s.id,
            "node_id": node_id("SC", str(s.id)),
            "state": s.state,
            "description": s.description,
            "target_url": s.target_url,
            "context": s.context,
            "created_at": s.created_at,
            "updated_at": s.created_at,
            "creator": self._render.user(s.creator),
        }

    def _h_create_status(self, p: Params, q: Query, body: Json) -> Reply:
        """POST /repos/{o}/{r}/statuses/{sha}; may trigger a pending auto-merge."""
        sha = p["sha"]
        if not re.fullmatch(r"[0-9a-f]{40}", sha) or self._git.rev(sha) != sha:
            raise validation_failed(
                f"{DOCS}/commits/statuses#create-a-commit-status",
                {
                    "resource": "Status",
                    "code": "custom",
                    "field": "sha",
                    "message": f"No commit found for SHA: {sha}",
                },
            )
        status = Status(
            id=self._s.next_id(),
            sha=sha,
            state=body["state"],
            context=body.get("context", "default"),
            description=body.get("description"),
            target_url=body.get("target_url"),
            creator=self._s.bot_login,
            created_at=now(),
        )
        self._s.statuses.append(status)
        self._merger.maybe_auto_merge(sha)
        out = self._status_json(status)
        return 201, out, {"Location": out["url"]}

    def post(self, sha: str, state: str, context: str, creator: str) -> None:
        """Post a commit status as an external CI would (may trigger auto-merge)."""
        self._s.account(creator)
        self._s.statuses.append(Status(self._s.next_id(), sha, state, context, None, None, creator, now()))
        self._merger.maybe_auto_merge(sha)

    def _h_list_statuses(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /repos/{o}/{r}/commits/{ref}/statuses (newest first)."""
        sha = self._s.resolve_ref(p["ref"])
        items = [self._status_json(s) for s in reversed(self._s.statuses) if s.sha == sha]
        return self._render.paginate(items, q, f"commits/{p['ref']}/statuses")

    def _h_combined_status(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /repos/{o}/{r}/commits/{ref}/status."""
        sha = self._s.resolve_ref(p["ref"])
        if sha is None:
            raise not_found()
        latest: dict[str, Status] = {}
        for s in self._s.statuses:
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
            "repository": self._render.repo(),
            "commit_url": f"{self._s.api_repo_url}/commits/{sha}",
            "url": f"{self._s.api_repo_url}/commits/{sha}/status",
        }
        return 200, out, {}
