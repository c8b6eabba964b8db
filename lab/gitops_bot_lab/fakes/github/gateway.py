"""The fake GitHub's HTTP pipeline: validate, authenticate, inject faults, dispatch, check, record.

Every REST request is validated against GitHub's OpenAPI description before a handler sees it,
and every answer after; a violation is recorded in `contract_errors` and answered with a 500 so
the client fails loudly. A crash in a handler is recorded the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from werkzeug.wrappers import Request, Response

from gitops_bot_lab.fakes.github.graphql import GraphQL
from gitops_bot_lab.fakes.github.model import (
    DOCS,
    Call,
    Handler,
    HttpError,
    Json,
    LoggedRequest,
    Reply,
    error,
    not_found,
)
from gitops_bot_lab.fakes.github.openapi import NO_BODY, ContractError, GitHubContract, Match, contract
from gitops_bot_lab.fakes.github.state import RepoState


def fault_defaults(status: int) -> tuple[Json, dict[str, str]]:
    """Realistic body/headers for common injected failures."""
    reset = str(int(time.time()) + 60)
    rate_doc = f"{DOCS}/overview/rate-limits-for-the-rest-api"
    if status == 403:
        return (
            {"message": "API rate limit exceeded for installation ID 1.", "documentation_url": rate_doc},
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset, "x-ratelimit-used": "5000"},
        )
    if status == 429:
        msg = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
        return {"message": msg, "documentation_url": rate_doc}, {"retry-after": "1"}
    messages = {
        405: "Pull Request is not mergeable",
        409: "Head branch was modified. Review and try the merge again.",
        422: "Validation Failed",
        500: "Server Error",
        502: "Server Error",
        503: "Service Unavailable",
    }
    return {"message": messages.get(status, "Error"), "documentation_url": DOCS}, {}


class Gateway:
    """WSGI app over the shared state: one lock for all state so concurrent clients stay consistent."""

    def __init__(
        self,
        state: RepoState,
        contract_obj: GitHubContract | None,
        routes: Mapping[str, Handler],
        graphql: GraphQL,
    ) -> None:
        self._s, self._contract, self._routes, self._graphql_api = state, contract_obj, dict(routes), graphql
        self._request_count = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """WSGI entry point."""
        request = Request(environ)
        with self._s.lock:
            response = self._handle(request)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        """Validate, authenticate, inject faults, dispatch, validate the answer, record it."""
        self._request_count += 1
        method, path = request.method.upper(), request.path
        query = {k: request.args.getlist(k) for k in request.args}
        raw = request.get_data()
        op_id: str | None = None
        try:
            body = json.loads(raw) if raw else NO_BODY
        except ValueError:
            status, out, headers = error(400, "Problems parsing JSON").reply()
            return self._finish(method, path, query, None, status, out, headers, op_id)
        if path == "/graphql":
            status, out, headers = self._graphql(request, body)
            return self._finish(method, path, query, body, status, out, headers, "graphql")
        status, out, headers, op_id = self._rest(request, method, path, query, body)
        return self._finish(method, path, query, body, status, out, headers, op_id)

    def _graphql(self, request: Request, body: Json) -> Reply:
        """POST /graphql: authenticated like REST, then handed to the GraphQL resource."""
        try:
            self._authenticate(request)
        except HttpError as exc:
            return exc.reply()
        if request.method != "POST":
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/graphql"}, {}
        return self._graphql_api.answer(body)

    def _rest(
        self, request: Request, method: str, path: str, query: dict[str, list[str]], body: Json
    ) -> tuple[int, Json, dict[str, str], str | None]:
        """Handle one REST call end to end; returns status, body, headers, operationId."""
        match: Match | None = None
        try:
            match = self._match_request(method, path, query, body)
            self._authenticate(request)
            fault = self._s.take_fault(method, path)
            if fault is not None:
                status, out, headers = fault.status, fault.body, dict(fault.headers)
            else:
                status, out, headers = self._dispatch(match, query, body)
        except HttpError as exc:
            status, out, headers = exc.reply()
        except Exception:  # a bug in the fake must fail the test, not hide behind a 500
            self._s.contract_errors.append(f"fake crashed on {method} {path}:\n{traceback.format_exc()}")
            status, out, headers = 500, {"message": "Server Error", "documentation_url": DOCS}, {}
        op_id = match.operation_id if match else None
        if match is not None and status != 501 and not isinstance(out, str):
            status, out = self._check_response(method, path, status, out)
        return status, out, headers, op_id

    def _match_request(self, method: str, path: str, query: dict[str, list[str]], body: Json) -> Match:
        """Validate the request against the spec (or just route it when validation is off)."""
        ctr = self._contract or contract()
        try:
            if not self._s.validate:
                return ctr.match(method, path)
            return ctr.validate_request(method, path, query, body)
        except ContractError as exc:
            self._s.contract_errors.append(str(exc))
            raise HttpError(
                500, {"message": f"fake-github contract violation: {exc}", "documentation_url": DOCS}
            ) from exc

    def _check_response(self, method: str, path: str, status: int, out: Json) -> tuple[int, Json]:
        """Validate our own answer; a violation is recorded and turned into a 500."""
        if not self._s.validate or self._contract is None:
            return status, out
        try:
            self._contract.validate_response(method, path, status, NO_BODY if out is None else out)
        except ContractError as exc:
            self._s.contract_errors.append(str(exc))
            return 500, {"message": f"fake-github response violation: {exc}"}
        return status, out

    def _authenticate(self, request: Request) -> None:
        """Accept `token X` / `Bearer X` for the configured token only."""
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() not in ("token", "bearer") or value.strip() != self._s.token:
            raise error(401, "Bad credentials")

    def _dispatch(self, match: Match, query: dict[str, list[str]], body: Json) -> Reply:
        """Route a validated request to its handler by operationId."""
        handler = self._routes.get(match.operation_id)
        if handler is None:
            self._s.contract_errors.append(f"fake does not implement {match.operation_id}")
            return 501, {"message": f"fake-github does not implement {match.operation_id}"}, {}
        params = match.path_params
        if "owner" in params and not self._is_our_repo(params["owner"], params.get("repo", "")):
            raise not_found()
        q = {k: v[-1] for k, v in query.items()}
        return handler(params, q, None if body is NO_BODY else body)

    def _is_our_repo(self, owner: str, repo: str) -> bool:
        """Owner/repo names are case-insensitive on GitHub."""
        return owner.lower() == self._s.owner.lower() and repo.lower() == self._s.repo.lower()

    def _finish(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: Json,
        status: int,
        out: Json,
        extra_headers: Mapping[str, str],
        op_id: str | None,
    ) -> Response:
        """Record the exchange and build the HTTP response with GitHub's usual headers."""
        self._s.calls.append(Call(method, path, status))
        self._s.log.append(
            LoggedRequest(method, path, query, None if body is NO_BODY else body, status, out, op_id)
        )
        payload = b"" if out is None else (out if isinstance(out, str) else json.dumps(out)).encode()
        headers = self._standard_headers(payload, method, status)
        headers.update(extra_headers)
        return Response(payload, status=status, headers=headers)

    def _standard_headers(self, payload: bytes, method: str, status: int) -> dict[str, str]:
        """x-ratelimit-*, request id, media type, etag: what api.github.com always sends."""
        used = self._request_count
        headers = {
            "content-type": "application/json; charset=utf-8",
            "x-github-media-type": "github.v3; format=json",
            "x-github-api-version-selected": "2022-11-28",
            "x-github-request-id": f"FAKE:{used:04X}:{os.getpid():05X}:{used * 7919:07X}:{int(time.time()):08X}",
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(max(0, 5000 - used)),
            "x-ratelimit-used": str(used),
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-ratelimit-resource": "core",
            "x-oauth-scopes": "",
            "x-accepted-oauth-scopes": "",
        }
        if method == "GET" and status == 200:
            headers["etag"] = 'W/"' + hashlib.sha256(payload).hexdigest()[:32] + '"'
        if not payload:
            del headers["content-type"]
        return headers

    # -- handlers ----------------------------------------------------------------------------
