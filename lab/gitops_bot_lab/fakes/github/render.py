"""JSON rendering of the fake GitHub's objects, in the shapes GitHub's OpenAPI description gives them.

Handlers, webhook payloads and test helpers all render through one `Render`, so an object looks
the same wherever it appears (a PR in `GET /pulls/1`, in a list, in a `pull_request` webhook).
"""

from __future__ import annotations

from typing import Any

from gitops_bot_lab.fakes.github.model import (
    Comment,
    Handler,
    Issue,
    Label,
    Query,
    Reply,
    node_id,
    now,
    permission_flags,
)
from gitops_bot_lab.fakes.github.state import RepoState

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


class Render:
    """Renders state as GitHub JSON (simple-user, repository, issue, pull-request, label ...)."""

    def __init__(self, state: RepoState) -> None:
        self._s = state

    def user(self, login: str) -> dict[str, Any]:
        """simple-user JSON."""
        user = self._s.account(login)
        api = f"{self._s.url}/users/{login}"
        return {
            "login": login,
            "id": user.id,
            "node_id": node_id("U" if user.type == "User" else "BOT", login),
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

    def private_user(self, login: str) -> dict[str, Any]:
        """private-user JSON (what GET /user returns for the token's account)."""
        return {
            **self.user(login),
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
            "created_at": self._s.created_at,
            "updated_at": self._s.created_at,
            "private_gists": 0,
            "total_private_repos": 1,
            "owned_private_repos": 0,
            "disk_usage": 0,
            "collaborators": 0,
            "two_factor_authentication": False,
        }

    def repo(self, full: bool = False) -> dict[str, Any]:
        """repository JSON (full-repository when `full`)."""
        api = self._s.api_repo_url
        html = f"https://github.com/{self._s.full_name}"
        out: dict[str, Any] = {
            "id": self._s.repo_id,
            "node_id": node_id("R", self._s.full_name),
            "name": self._s.repo,
            "full_name": self._s.full_name,
            "owner": self.user(self._s.owner),
            "private": True,
            "html_url": html,
            "description": "GitOps manifests (fake GitHub)",
            "fork": False,
            "url": api,
            **{f"{k}_url": f"{api}/{v}" for k, v in _REPO_URL_SUFFIXES.items()},
            "git_url": f"git://github.com/{self._s.full_name}.git",
            "ssh_url": f"git@github.com:{self._s.full_name}.git",
            "clone_url": self._s.clone_url,
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
            "default_branch": self._s.default_branch,
            "open_issues_count": sum(1 for i in self._s.issues.values() if i.state == "open"),
            "open_issues": sum(1 for i in self._s.issues.values() if i.state == "open"),
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
            "pushed_at": now(),
            "created_at": self._s.created_at,
            "updated_at": self._s.created_at,
            "license": None,
            "allow_forking": False,
            "web_commit_signoff_required": False,
            "allow_rebase_merge": "rebase" in self._s.allowed_merge_methods,
            "allow_squash_merge": "squash" in self._s.allowed_merge_methods,
            "allow_merge_commit": "merge" in self._s.allowed_merge_methods,
            "allow_auto_merge": self._s.automerge_error is None,
            "delete_branch_on_merge": self._s.delete_branch_on_merge,
            "permissions": permission_flags(self._s.roles.get(self._s.bot_login, "write")),
        }
        if full:
            out.update({"subscribers_count": 0, "network_count": 0})
        return out

    def label(self, label: Label) -> dict[str, Any]:
        """label JSON."""
        return {
            "id": label.id,
            "node_id": node_id("LA", label.name),
            "url": f"{self._s.api_repo_url}/labels/{label.name}",
            "name": label.name,
            "description": label.description,
            "color": label.color,
            "default": False,
        }

    def issue(self, issue: Issue) -> dict[str, Any]:
        """issue JSON (with the `pull_request` link object for PRs)."""
        api = f"{self._s.api_repo_url}/issues/{issue.number}"
        kind = "pull" if issue.pull else "issues"
        out: dict[str, Any] = {
            "id": issue.id,
            "node_id": node_id("I", str(issue.id)),
            "url": api,
            "repository_url": self._s.api_repo_url,
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": f"https://github.com/{self._s.full_name}/{kind}/{issue.number}",
            "number": issue.number,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "title": issue.title,
            "body": issue.body,
            "user": self.user(issue.user),
            "labels": [self.label(self._s.labels[n]) for n in issue.labels],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": self._s.comment_count(issue),
            "closed_at": issue.closed_at,
            "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "closed_by": self.user(issue.closed_by) if issue.closed_by else None,
            "author_association": self._s.author_association(issue.user),
            "reactions": self.reactions(api),
        }
        if issue.pull:
            pulls = f"{self._s.api_repo_url}/pulls/{issue.number}"
            html = f"https://github.com/{self._s.full_name}/pull/{issue.number}"
            out["draft"] = issue.pull.draft
            out["pull_request"] = {
                "url": pulls,
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": issue.pull.merged_at,
            }
        return out

    def comment(self, c: Comment) -> dict[str, Any]:
        """issue-comment JSON."""
        url = f"{self._s.api_repo_url}/issues/comments/{c.id}"
        issue = self._s.issues[c.issue_number]
        kind = "pull" if issue.pull else "issues"
        return {
            "id": c.id,
            "node_id": node_id("IC", str(c.id)),
            "url": url,
            "html_url": f"https://github.com/{self._s.full_name}/{kind}/{c.issue_number}#issuecomment-{c.id}",
            "body": c.body,
            "user": self.user(c.user),
            "created_at": c.created_at,
            "updated_at": c.updated_at,
            "issue_url": f"{self._s.api_repo_url}/issues/{c.issue_number}",
            "author_association": self._s.author_association(c.user),
            "reactions": self.reactions(url),
        }

    @staticmethod
    def reactions(url: str) -> dict[str, Any]:
        """Empty reaction-rollup."""
        keys = ("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket")
        return {"url": f"{url}/reactions", "total_count": 0, **dict.fromkeys(keys, 0)}

    def paginate(self, items: list[Any], q: Query, rel_path: str) -> Reply:
        """Slice by page/per_page and add a Link header like GitHub."""
        per_page = max(1, min(100, int(q.get("per_page", 30))))
        page = max(1, int(q.get("page", 1)))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers: dict[str, str] = {}
        extra = "&".join(f"{k}={v}" for k, v in sorted(q.items()) if k not in ("page", "per_page"))
        base = f"{self._s.api_repo_url}/{rel_path}?{extra + '&' if extra else ''}per_page={per_page}&page="
        links = []
        if page < last:
            links += [f'<{base}{page + 1}>; rel="next"', f'<{base}{last}>; rel="last"']
        if page > 1:
            links += [f'<{base}1>; rel="first"', f'<{base}{page - 1}>; rel="prev"']
        if links:
            headers["Link"] = ", ".join(links)
        return 200, chunk, headers


class Resource:
    """Base of the REST handler groups: the shared state, the renderer and an operationId table."""

    def __init__(self, state: RepoState, render: Render) -> None:
        self._s, self._render, self._git = state, render, state.git

    def routes(self) -> dict[str, Handler]:
        """operationId -> handler for the operations this group answers."""
        raise NotImplementedError
