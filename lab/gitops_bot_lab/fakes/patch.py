"""The two patch formats the Kubernetes API server accepts for custom resources.

RFC 7386 JSON merge patch (what the `kubernetes` client sends for a dict body to CustomObjectsApi) and
RFC 6902 JSON patch (a list body). Strategic merge patch is *not* accepted for custom resources.
"""

from __future__ import annotations

import copy
import json
from typing import Any


class PatchError(ValueError):
    """The patch cannot be applied; `code` is the API server's answer (415, 400 or 422)."""

    def __init__(self, message: str, code: int = 422) -> None:
        super().__init__(message)
        self.code = code


def apply_patch(current: Any, content_type: str, raw: bytes) -> Any:
    """Apply a PATCH body of the given media type, as the API server does for a custom resource."""
    if content_type not in ("application/merge-patch+json", "application/json-patch+json"):
        raise PatchError(
            "the body of the request was in an unknown format - accepted media types include: "
            f"application/json-patch+json, application/merge-patch+json (got {content_type})",
            415,
        )
    try:
        body = json.loads(raw or b"null")
    except ValueError as e:
        raise PatchError(f"invalid JSON: {e}", 400) from e
    if content_type == "application/merge-patch+json" and isinstance(body, dict):
        return merge_patch(current, body)
    if content_type == "application/json-patch+json" and isinstance(body, list):
        return json_patch(current, body)
    raise PatchError(f"the body of the request does not fit {content_type}", 400)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _tokens(pointer: str) -> list[str]:
    if pointer and not pointer.startswith("/"):
        raise PatchError(f"invalid JSON pointer {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def _parent(doc: Any, pointer: str) -> tuple[Any, str]:
    *path, last = _tokens(pointer) or [""]
    node = doc
    for token in path:
        try:
            node = node[int(token)] if isinstance(node, list) else node[token]
        except (KeyError, IndexError, ValueError) as e:
            raise PatchError(f"path {pointer!r} does not exist") from e
    return node, last


def json_patch(target: Any, ops: list[Any]) -> Any:
    """RFC 6902 add / remove / replace / test (what a caller needs to edit lists and maps)."""
    doc = copy.deepcopy(target)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"malformed operation {op!r}")
        parent, last = _parent(doc, op["path"])
        kind = op["op"]
        if kind not in ("add", "remove", "replace", "test"):
            raise PatchError(f"unsupported op {kind!r}")
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if kind == "add":
                parent.insert(index, op["value"])
            elif kind in ("remove", "replace", "test") and not 0 <= index < len(parent):
                raise PatchError(f"index {index} out of range at {op['path']!r}")
            elif kind == "remove":
                parent.pop(index)
            elif kind == "replace":
                parent[index] = op["value"]
            elif kind == "test" and parent[index] != op["value"]:
                raise PatchError(f"test failed at {op['path']!r}")
            continue
        if not isinstance(parent, dict):
            raise PatchError(f"path {op['path']!r} does not name an object member")
        if kind in ("remove", "replace", "test") and last not in parent:
            raise PatchError(f"path {op['path']!r} does not exist")
        if kind in ("add", "replace"):
            parent[last] = op["value"]
        elif kind == "remove":
            del parent[last]
        elif kind == "test" and parent[last] != op["value"]:
            raise PatchError(f"test failed at {op['path']!r}")
    return doc
