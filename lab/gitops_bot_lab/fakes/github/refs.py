"""Git refs, branches and commits: REST handlers and JSON rendered from the real bare repository."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from gitops_bot_lab.fakes.github.model import (
    DOCS,
    Handler,
    Json,
    Params,
    Query,
    Reply,
    error,
    node_id,
    not_found,
)
from gitops_bot_lab.fakes.github.render import Resource

# git's well-known empty tree: the "parent" a root commit's diff is taken against.
_EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class Refs(Resource):
    """git/refs, branches and commits of the one repository."""

    def routes(self) -> dict[str, Handler]:
        """operationId -> handler."""
        return {
            "git/get-ref": self._h_get_ref,
            "git/create-ref": self._h_create_ref,
            "git/update-ref": self._h_update_ref,
            "git/delete-ref": self._h_delete_ref,
            "repos/get-branch": self._h_get_branch,
            "repos/list-branches": self._h_list_branches,
            "repos/get-commit": self._h_get_commit,
        }

    def _ref_json(self, ref: str, sha: str) -> dict[str, Any]:
        """git-ref JSON."""
        return {
            "ref": ref,
            "node_id": node_id("REF", ref),
            "url": f"{self._s.api_repo_url}/git/{ref}",
            "object": {"type": "commit", "sha": sha, "url": f"{self._s.api_repo_url}/git/commits/{sha}"},
        }

    def _h_get_ref(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /repos/{o}/{r}/git/ref/{ref} (ref like heads/main)."""
        full = "refs/" + p["ref"]
        sha = self._git.refs(full).get(full)
        if sha is None:
            raise not_found(f"{DOCS}/git/refs#get-a-reference")
        return 200, self._ref_json(full, sha), {}

    def _h_create_ref(self, p: Params, q: Query, body: Json) -> Reply:
        """POST /repos/{o}/{r}/git/refs."""
        doc = f"{DOCS}/git/refs#create-a-reference"
        ref, sha = body["ref"], body["sha"]
        if not ref.startswith("refs/") or ref.count("/") < 2:
            raise error(422, f"{ref} is not a valid ref name.", doc)
        if not re.fullmatch(r"[0-9a-f]{40}", sha) or self._git.rev(sha) != sha:
            raise error(422, "Object does not exist", doc)
        if not self._git.update_ref(ref, sha, ""):
            raise error(422, "Reference already exists", doc)
        out = self._ref_json(ref, sha)
        return 201, out, {"Location": out["url"]}

    def _h_update_ref(self, p: Params, q: Query, body: Json) -> Reply:
        """PATCH /repos/{o}/{r}/git/refs/{ref}: fast-forward unless force."""
        doc = f"{DOCS}/git/refs#update-a-reference"
        full = "refs/" + p["ref"]
        old = self._git.refs(full).get(full)
        if old is None:
            raise error(422, "Reference does not exist", doc)
        sha = body["sha"]
        if self._git.rev(sha) != sha:
            raise error(422, "Object does not exist", doc)
        if not body.get("force") and not self._git.is_ancestor(old, sha):
            raise error(422, "Update is not a fast forward", doc)
        if not self._git.update_ref(full, sha, old):
            raise error(409, "Reference update failed", doc)
        return 200, self._ref_json(full, sha), {}

    def _h_delete_ref(self, p: Params, q: Query, body: Json) -> Reply:
        """DELETE /repos/{o}/{r}/git/refs/{ref}."""
        full = "refs/" + p["ref"]
        if full == f"refs/heads/{self._s.default_branch}":
            raise error(422, "Cannot delete the default branch", f"{DOCS}/git/refs#delete-a-reference")
        if not self._git.delete_ref(full):
            raise error(422, "Reference does not exist", f"{DOCS}/git/refs#delete-a-reference")
        return 204, None, {}

    # branches and commits
    def _h_get_branch(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /repos/{o}/{r}/branches/{branch}."""
        name = p["branch"]
        sha = self._git.branch_sha(name)
        if sha is None:
            raise error(404, "Branch not found", f"{DOCS}/branches/branches#get-a-branch")
        contexts = self._s.protection_contexts() if name == self._s.default_branch else []
        protection: dict[str, Any] = {"enabled": bool(contexts)}
        if contexts:
            protection["required_status_checks"] = {
                "enforcement_level": "non_admins",
                "contexts": contexts,
                "checks": [{"context": c, "app_id": None} for c in contexts],
            }
        out = {
            "name": name,
            "commit": self.commit_json(sha),
            "_links": {
                "html": f"https://github.com/{self._s.full_name}/tree/{name}",
                "self": f"{self._s.api_repo_url}/branches/{name}",
            },
            "protected": bool(contexts),
            "protection": protection,
            "protection_url": f"{self._s.api_repo_url}/branches/{name}/protection",
        }
        return 200, out, {}

    def _h_list_branches(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /repos/{o}/{r}/branches."""
        items = [
            {
                "name": ref.removeprefix("refs/heads/"),
                "commit": {"sha": sha, "url": f"{self._s.api_repo_url}/commits/{sha}"},
                "protected": ref == f"refs/heads/{self._s.default_branch}" and bool(self._s.require_checks),
            }
            for ref, sha in sorted(self._git.refs("refs/heads/").items())
        ]
        return self._render.paginate(items, q, "branches")

    def _h_get_commit(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /repos/{o}/{r}/commits/{ref}."""
        sha = self._s.resolve_ref(p["ref"])
        if sha is None:
            raise error(
                422, f"No commit found for SHA: {p['ref']}", f"{DOCS}/commits/commits#get-a-commit", errors=[]
            )
        return 200, self.commit_json(sha, with_files=True), {}

    def _git_user(self, name: str, email: str, date: str) -> dict[str, str]:
        """git-user JSON (dates normalized to Z)."""
        stamp = datetime.fromisoformat(date).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"name": name, "email": email, "date": stamp}

    def commit_json(self, sha: str, with_files: bool = False) -> dict[str, Any]:
        """commit JSON from the real git object."""
        info = self._git.commit_info(sha)
        api = self._s.api_repo_url
        author_login = self._s.login_for_email(info["ae"])
        committer_login = self._s.login_for_email(info["ce"])
        out: dict[str, Any] = {
            "sha": sha,
            "node_id": node_id("C", sha),
            "url": f"{api}/commits/{sha}",
            "html_url": f"https://github.com/{self._s.full_name}/commit/{sha}",
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
            "author": self._render.user(author_login) if author_login else None,
            "committer": self._render.user(committer_login) if committer_login else None,
            "parents": [
                {
                    "sha": s,
                    "url": f"{api}/commits/{s}",
                    "html_url": f"https://github.com/{self._s.full_name}/commit/{s}",
                }
                for s in info["parents"]
            ],
        }
        if with_files:
            parent = info["parents"][0] if info["parents"] else _EMPTY_TREE
            files = self.diff_entries(parent, sha)
            adds = sum(f["additions"] for f in files)
            dels = sum(f["deletions"] for f in files)
            out["stats"] = {"additions": adds, "deletions": dels, "total": adds + dels}
            out["files"] = files
        return out

    def diff_entries(self, a: str, b: str) -> list[dict[str, Any]]:
        """diff-entry JSON for a..b."""
        entries = []
        for status, adds, dels, path in self._git.numstat(a, b):
            blob = self._git.run("rev-parse", f"{b}:{path}", check=False).stdout.strip() or None
            entries.append(
                {
                    "sha": blob,
                    "filename": path,
                    "status": status,
                    "additions": adds,
                    "deletions": dels,
                    "changes": adds + dels,
                    "blob_url": f"https://github.com/{self._s.full_name}/blob/{b}/{path}",
                    "raw_url": f"https://github.com/{self._s.full_name}/raw/{b}/{path}",
                    "contents_url": f"{self._s.api_repo_url}/contents/{path}?ref={b}",
                }
            )
        return entries

    # pulls
