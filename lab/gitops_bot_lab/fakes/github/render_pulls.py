"""Pull-request JSON (pull-request and pull-request-simple), live from the bare repository.

Head and base follow their branches while the PR is open; mergeability, `mergeable_state` and the
diff counters are computed from real git (merge-tree, merge-base, numstat) on every render.
"""

from __future__ import annotations

from typing import Any

from gitops_bot_lab.fakes.github.model import Issue, pr_node_id
from gitops_bot_lab.fakes.github.render import Render
from gitops_bot_lab.fakes.github.state import RepoState


class PullRender:
    """Renders an issue that is a pull request as GitHub's pull-request JSON."""

    def __init__(self, state: RepoState, render: Render) -> None:
        self._s, self._render = state, render

    def pull(self, issue: Issue, simple: bool = False) -> dict[str, Any]:
        """pull-request JSON (pull-request-simple for lists)."""
        pr = issue.pr
        api = f"{self._s.api_repo_url}/pulls/{issue.number}"
        html = f"https://github.com/{self._s.full_name}/pull/{issue.number}"
        issue_api = f"{self._s.api_repo_url}/issues/{issue.number}"
        head = self._s.live_head(issue)
        base_sha = (self._s.git.branch_sha(pr.base) if issue.state == "open" else None) or pr.base_sha
        link = {
            "self": api,
            "html": html,
            "issue": issue_api,
            "comments": f"{issue_api}/comments",
            "review_comments": f"{api}/comments",
            "review_comment": f"{self._s.api_repo_url}/pulls/comments{{/number}}",
            "commits": f"{api}/commits",
            "statuses": f"{self._s.api_repo_url}/statuses/{head}",
        }
        out: dict[str, Any] = {
            "url": api,
            "id": pr.id,
            "node_id": pr_node_id(pr.id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_api,
            "commits_url": f"{api}/commits",
            "review_comments_url": f"{api}/comments",
            "review_comment_url": f"{self._s.api_repo_url}/pulls/comments{{/number}}",
            "comments_url": f"{issue_api}/comments",
            "statuses_url": f"{self._s.api_repo_url}/statuses/{head}",
            "number": issue.number,
            "state": issue.state,
            "locked": False,
            "title": issue.title,
            "user": self._render.user(issue.user),
            "body": issue.body,
            # GitHub's description types a pull's label description as a plain string (an issue's
            # may be null): a label made without one is rendered as "" here.
            "labels": [
                {**(lj := self._render.label(self._s.labels[n])), "description": lj["description"] or ""}
                for n in issue.labels
            ],
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
            "author_association": self._s.author_association(issue.user),
            "auto_merge": pr.auto_merge,
            "draft": pr.draft,
        }
        if simple:
            return out
        out.update(self._pull_stats(issue, head, base_sha))
        return out

    def _branch_end(self, branch: str, sha: str) -> dict[str, Any]:
        """head/base object of a PR."""
        return {
            "label": f"{self._s.owner}:{branch}",
            "ref": branch,
            "sha": sha,
            "user": self._render.user(self._s.owner),
            "repo": self._render.repo(),
        }

    def _pull_stats(self, issue: Issue, head: str, base_sha: str) -> dict[str, Any]:
        """Mergeability and diff counters of a full pull-request object."""
        pr = issue.pr
        mergeable: bool | None = None
        state = "unknown"
        if issue.state == "open":
            mergeable = self._s.git.merge_tree(base_sha, head) is not None
            state = "dirty" if not mergeable else ("blocked" if self._s.missing_checks(issue) else "clean")
        merge_base = self._s.merge_base(issue)
        files = self._s.git.numstat(merge_base, head)
        return {
            "merged": pr.merged,
            "mergeable": mergeable,
            "rebaseable": mergeable,
            "mergeable_state": state,
            "merged_by": self._render.user(pr.merged_by) if pr.merged_by else None,
            "comments": self._s.comment_count(issue),
            "review_comments": 0,
            "maintainer_can_modify": False,
            "commits": len(self._s.git.commits_between(merge_base, head)),
            "additions": sum(f[1] for f in files),
            "deletions": sum(f[2] for f in files),
            "changed_files": len(files),
        }
