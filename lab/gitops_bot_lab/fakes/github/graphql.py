"""POST /graphql: the two auto-merge mutations PyGithub sends, checked against GitHub's GraphQL schema.

GitHub's REST description does not cover GraphQL, so the request shape is checked by hand here
(operation, `$input` type, input fields and their types); violations land in contract_errors.
"""

from __future__ import annotations

import re
from typing import Any

from gitops_bot_lab.fakes.github.model import Issue, Json, Reply, pr_node_id
from gitops_bot_lab.fakes.github.render import Render
from gitops_bot_lab.fakes.github.state import RepoState

GRAPHQL_AUTOMERGE_INPUT = {
    "pullRequestId",
    "mergeMethod",
    "commitHeadline",
    "commitBody",
    "authorEmail",
    "clientMutationId",
    "expectedHeadOid",
}


class GraphQL:
    """enablePullRequestAutoMerge / disablePullRequestAutoMerge on the shared state."""

    def __init__(self, state: RepoState, render: Render) -> None:
        self._s, self._render, self._git = state, render, state.git

    def answer(self, body: Json) -> Reply:
        """An authenticated POST /graphql: shape-check, record, maybe fault, then run the mutation."""
        problems = _graphql_shape_problems(body)
        if problems:
            self._s.contract_errors.append("graphql request violates the contract: " + "; ".join(problems))
            return 200, {"errors": [{"message": p} for p in problems]}, {}
        self._s.graphql_calls.append(body)
        fault = self._s.take_fault("POST", "/graphql")
        if fault is not None:
            return fault.status, fault.body, dict(fault.headers)
        mutation = _graphql_mutation_name(body["query"])
        inp = body["variables"]["input"]
        issue = next(
            (i for i in self._s.issues.values() if i.pull and pr_node_id(i.pull.id) == inp["pullRequestId"]),
            None,
        )
        if issue is None:
            return (
                200,
                _graphql_error(
                    mutation,
                    "NOT_FOUND",
                    f"Could not resolve to a node with the global id of '{inp['pullRequestId']}'",
                ),
                {},
            )
        if mutation == "disablePullRequestAutoMerge":
            issue.pr.auto_merge = None
            return 200, {"data": {mutation: self._output(issue, inp)}}, {}
        return 200, self._enable_auto_merge(issue, inp), {}

    def _enable_auto_merge(self, issue: Issue, inp: dict[str, Any]) -> dict[str, Any]:
        """Arm auto-merge like GitHub: refused when disallowed or when already mergeable."""
        mutation = "enablePullRequestAutoMerge"
        pr = issue.pr
        if self._s.automerge_error:
            return _graphql_error(mutation, "UNPROCESSABLE", self._s.automerge_error)
        if issue.state != "open":
            return _graphql_error(mutation, "UNPROCESSABLE", "Pull request is closed")
        if inp.get("expectedHeadOid") and inp["expectedHeadOid"] != self._s.live_head(issue):
            return _graphql_error(mutation, "UNPROCESSABLE", "Head branch was modified")
        base = self._git.branch_sha(pr.base)
        if base and self._git.merge_tree(base, self._s.live_head(issue)) is None:
            return _graphql_error(mutation, "UNPROCESSABLE", "Pull request has merge conflicts")
        if not self._s.missing_checks(issue):
            # GitHub only arms auto-merge while requirements are pending.
            return _graphql_error(mutation, "UNPROCESSABLE", "Pull request is in clean status")
        pr.auto_merge = {
            "enabled_by": self._render.user(self._s.bot_login),
            "merge_method": inp.get("mergeMethod", "MERGE").lower(),
            "commit_title": inp.get("commitHeadline", ""),
            "commit_message": inp.get("commitBody", ""),
        }
        return {"data": {mutation: self._output(issue, inp)}}

    def _output(self, issue: Issue, inp: dict[str, Any]) -> dict[str, Any]:
        """Payload fields PyGithub asks for (actor, clientMutationId) plus the PR."""
        return {
            "actor": {
                "avatarUrl": f"https://avatars.githubusercontent.com/u/{self._s.account(self._s.bot_login).id}",
                "login": self._s.bot_login,
                "resourcePath": f"/apps/{self._s.bot_login.removesuffix('[bot]')}",
                "url": f"https://github.com/apps/{self._s.bot_login.removesuffix('[bot]')}",
            },
            "clientMutationId": inp.get("clientMutationId"),
            "pullRequest": {"id": pr_node_id(issue.pull.id if issue.pull else 0), "number": issue.number},
        }


def _graphql_mutation_name(query: str) -> str | None:
    """Name of the first field of a `mutation` operation."""
    m = re.search(r"\bmutation\b[^{]*\{\s*(\w+)", query)
    return m.group(1) if m else None


def _graphql_shape_problems(body: Json) -> list[str]:
    """Hand-rolled check of an auto-merge mutation request (not in the REST description)."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return ["body must be an object with a string `query`"]
    extra = set(body) - {"query", "variables", "operationName"}
    if extra:
        return [f"unknown top-level keys {sorted(extra)}"]
    name = _graphql_mutation_name(body["query"])
    if name not in ("enablePullRequestAutoMerge", "disablePullRequestAutoMerge"):
        return [f"fake-github implements only (en|dis)ablePullRequestAutoMerge, got {name!r}"]
    input_type = name[:1].upper() + name[1:] + "Input!"
    if not re.search(rf"\$input\s*:\s*{re.escape(input_type)}", body["query"]):
        return [f"mutation must declare `$input: {input_type}`"]
    variables = body.get("variables")
    inp = variables.get("input") if isinstance(variables, dict) else None
    if not isinstance(inp, dict):
        return ["variables.input must be an object"]
    return _graphql_input_problems(name, inp)


def _graphql_input_problems(name: str, inp: dict[str, Any]) -> list[str]:
    """Field-level checks of the mutation input against GitHub's GraphQL schema."""
    allowed = GRAPHQL_AUTOMERGE_INPUT if name.startswith("enable") else {"pullRequestId", "clientMutationId"}
    problems = [f"unknown input field {k!r}" for k in inp if k not in allowed]
    if not isinstance(inp.get("pullRequestId"), str):
        problems.append("input.pullRequestId (ID!) is required")
    if "mergeMethod" in inp and inp["mergeMethod"] not in ("MERGE", "SQUASH", "REBASE"):
        problems.append(f"input.mergeMethod {inp['mergeMethod']!r} is not a PullRequestMergeMethod")
    for key in ("commitHeadline", "commitBody", "authorEmail", "clientMutationId", "expectedHeadOid"):
        if key in inp and not isinstance(inp[key], str):
            problems.append(f"input.{key} must be a string")
    return problems


def _graphql_error(mutation: str | None, kind: str, message: str) -> dict[str, Any]:
    """GraphQL error document (HTTP 200, data null), as GitHub answers refused mutations."""
    return {
        "data": {mutation: None} if mutation else None,
        "errors": [
            {
                "type": kind,
                "path": [mutation] if mutation else [],
                "locations": [{"line": 1, "column": 60}],
                "message": message,
            }
        ],
    }


_EXAMPLES: dict[str, list[dict[str, Any]]] = {}
