"""The repository itself and the accounts around it: repos/get, users, collaborator permission."""

from __future__ import annotations

from gitops_bot_lab.fakes.github.model import (
    DOCS,
    LEGACY_PERMISSION,
    Handler,
    Json,
    Params,
    Query,
    Reply,
    not_found,
    permission_flags,
)
from gitops_bot_lab.fakes.github.render import Resource


class Accounts(Resource):
    """repos/get, users/get-*, repos/get-collaborator-permission-level."""

    def routes(self) -> dict[str, Handler]:
        """operationId -> handler."""
        return {
            "repos/get": self._h_repo,
            "users/get-authenticated": self._h_me,
            "users/get-by-username": self._h_user,
            "repos/get-collaborator-permission-level": self._h_permission,
        }

    def _h_repo(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /repos/{owner}/{repo}."""
        return 200, self._render.repo(full=True), {}

    def _h_me(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /user: the token's account (the bot)."""
        return 200, self._render.private_user(self._s.bot_login), {}

    def _h_user(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /users/{username}."""
        if p["username"] not in self._s.users:
            raise not_found(f"{DOCS}/users/users#get-a-user")
        user = self._render.private_user(p["username"])
        for key in (
            "private_gists",
            "total_private_repos",
            "owned_private_repos",
            "disk_usage",
            "collaborators",
            "two_factor_authentication",
        ):
            user.pop(key)
        return 200, {**user, "user_view_type": "public"}, {}

    # git refs
    def _h_permission(self, p: Params, q: Query, body: Json) -> Reply:
        """GET /repos/{o}/{r}/collaborators/{username}/permission (404 for unknown accounts)."""
        login = next((u for u in self._s.users if u.lower() == p["username"].lower()), None)
        if login is None:
            raise not_found(f"{DOCS}/collaborators/collaborators#get-repository-permissions-for-a-user")
        role = self._s.roles.get(login, "none")
        legacy = LEGACY_PERMISSION[role]
        user = {**self._render.user(login), "permissions": permission_flags(role), "role_name": role}
        return 200, {"permission": legacy, "role_name": role, "user": user}, {}
