"""Route concrete HTTP requests to the operations of a Swagger 2.0 description (path templates)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


class ContractError(AssertionError):
    """A request or response does not conform to the description."""

    def __init__(self, summary: str, details: Sequence[str] = ()) -> None:
        self.summary = summary
        self.details = list(details)
        super().__init__(summary if not details else summary + ":\n  - " + "\n  - ".join(details))


@dataclass(frozen=True)
class Operation:
    """One (method, path template) of the description."""

    method: str
    template: str
    operation_id: str
    tokens: tuple[str, ...]  # JSON-pointer tokens of the operation object
    params: Mapping[tuple[str, str], Mapping[str, Any]]  # (in, name) -> parameter object
    regex: re.Pattern[str]
    literal_segments: int


@dataclass(frozen=True)
class Match:
    """An operation matched by a concrete request path, with its path parameters."""

    operation: Operation
    path_params: Mapping[str, str]


class Router:
    """All operations of a description, most specific template first."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.base_path = doc.get("basePath", "").rstrip("/")
        self._ops = self._build_operations(doc)

    # -- routing -------------------------------------------------------------------------------

    def _build_operations(self, doc: Mapping[str, Any]) -> list[Operation]:
        """Compile each path template into an anchored regex; literal segments win over placeholders."""
        ops = []
        for template, item in doc.get("paths", {}).items():
            for method in HTTP_METHODS:
                op = item.get(method)
                if not isinstance(op, dict):
                    continue
                params = {
                    (p["in"], p["name"]): p for p in [*item.get("parameters", []), *op.get("parameters", [])]
                }
                regex, literals = self._template_regex(self.base_path + template)
                ops.append(
                    Operation(
                        method=method.upper(),
                        template=template,
                        operation_id=op.get("operationId", f"{method} {template}"),
                        tokens=("paths", template, method),
                        params=params,
                        regex=regex,
                        literal_segments=literals,
                    )
                )
        ops.sort(key=lambda o: (-o.literal_segments, -o.template.count("/")))
        return ops

    @staticmethod
    def _template_regex(template: str) -> tuple[re.Pattern[str], int]:
        """`/api/v1/applications/{name}` -> regex with one named group per placeholder."""
        parts, literals = [], 0
        for segment in template.strip("/").split("/"):
            if "{" not in segment:
                literals += 1
                parts.append(re.escape(segment))
                continue
            pattern = re.escape(segment)
            for name in re.findall(r"\{([^}]+)\}", segment):
                group = "p_" + re.sub(r"\W", "_", name)
                pattern = pattern.replace(re.escape("{" + name + "}"), f"(?P<{group}>[^/]+)")
            parts.append(pattern)
        return re.compile("^/" + "/".join(parts) + "$"), literals

    def match(self, method: str, path: str) -> Match:
        """Find the operation for a concrete request, or raise ContractError."""
        method, path = method.upper(), path.split("?", 1)[0]
        allowed = []
        for op in self._ops:
            m = op.regex.match(path)
            if not m:
                continue
            if op.method != method:
                allowed.append(op.method)
                continue
            names = [name for (loc, name) in op.params if loc == "path"]
            return Match(op, {n: m.group("p_" + re.sub(r"\W", "_", n)) for n in names})
        if allowed:
            raise ContractError(f"{method} {path}: method not allowed (allowed: {sorted(set(allowed))})")
        raise ContractError(f"{method} {path}: no such path in the description")
