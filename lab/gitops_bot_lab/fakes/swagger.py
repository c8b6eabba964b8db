"""Validate HTTP exchanges against a Swagger 2.0 description (Argo CD, Argo Workflows).

openapi-core reads only OpenAPI 3, so routing is done here and bodies are checked with `jsonschema`
(Draft 4, which Swagger 2.0 schemas are a subset of) over a `referencing` registry holding the whole
document, so every `$ref: #/definitions/...` resolves lazily.

Objects are *closed* by default: a field a definition does not declare is a violation, although the
gRPC gateways behind these servers would drop it silently. A stand-in that invents a field, or a client
that sends a misspelt one, is exactly what the check is for. `overrides` replace single schema nodes
where the real server provably differs from its description; each caller documents why.
"""

from __future__ import annotations

import copy
import gzip
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from gitops_bot_lab.fakes.swagger_routes import ContractError, Match, Operation, Router

__all__ = ["NO_BODY", "ContractError", "Match", "Operation", "SwaggerContract", "format_errors"]


class _Absent:
    """Marker for 'no body at all' (distinct from a JSON null body)."""

    def __repr__(self) -> str:
        return "NO_BODY"


NO_BODY: Any = _Absent()


def _close_objects(schema: Any) -> None:
    """Make every schema with `properties` reject undeclared fields (in place, schema-aware walk)."""
    if not isinstance(schema, dict):
        return
    if "properties" in schema and "additionalProperties" not in schema:
        schema["additionalProperties"] = False
    for sub in schema.get("properties", {}).values():
        _close_objects(sub)
    for key in ("items", "additionalProperties"):
        _close_objects(schema.get(key))
    for sub in schema.get("allOf", []):
        _close_objects(sub)


def _pointer(tokens: Iterable[str]) -> str:
    """`#/a/b~1c` from tokens."""
    return "#/" + "/".join(t.replace("~", "~0").replace("/", "~1") for t in tokens)


def format_errors(errors: Iterable[Any], limit: int = 6) -> list[str]:
    """Render jsonschema errors as short 'at <path>: <message>' lines."""
    out = []
    for err in sorted(errors, key=lambda e: list(map(str, e.absolute_path)))[:limit]:
        where = "/".join(str(p) for p in err.absolute_path) or "<root>"
        msg = err.message if len(err.message) < 240 else err.message[:240] + "..."
        out.append(f"at {where}: {msg}")
    return out


class SwaggerContract:
    """Routes concrete requests to Swagger 2.0 operations and validates bodies against their schemas."""

    def __init__(
        self,
        spec: Mapping[str, Any],
        *,
        uri: str,
        closed_objects: bool = True,
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        doc = copy.deepcopy(dict(spec))
        for pointer, schema in (overrides or {}).items():
            self._replace(doc, pointer, schema)
        if closed_objects:
            for definition in doc.get("definitions", {}).values():
                _close_objects(definition)
        self.spec = doc
        self.uri = uri
        self.base_path = doc.get("basePath", "").rstrip("/")
        self.registry: Registry[Any] = Registry().with_resource(
            uri, Resource.from_contents(doc, default_specification=DRAFT4)
        )
        self.router = Router(doc)
        self._validators: dict[str, Draft4Validator] = {}

    @classmethod
    def load(cls, path: Path, **kwargs: Any) -> SwaggerContract:
        """Read a (gzip'd) swagger.json from disk."""
        opener: Any = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            return cls(json.load(fh), uri=f"urn:swagger:{path.name}", **kwargs)

    @staticmethod
    def _replace(doc: dict[str, Any], pointer: str, schema: Any) -> None:
        """Put `schema` at `pointer` (`#/definitions/x/properties/y`), which must already exist."""
        *parents, last = [t.replace("~1", "/").replace("~0", "~") for t in pointer.lstrip("#/").split("/")]
        node: Any = doc
        for token in parents:
            node = node[int(token)] if isinstance(node, list) else node[token]
        if (isinstance(node, list) and not 0 <= int(last) < len(node)) or (
            isinstance(node, dict) and last not in node
        ):
            raise KeyError(f"override {pointer}: no such node in the description")
        node[int(last) if isinstance(node, list) else last] = schema

    # -- validation ----------------------------------------------------------------------------

    def schema_errors(self, pointer: str, instance: Any) -> list[str]:
        """Validate `instance` against the schema at `pointer` (`#/definitions/...`)."""
        validator = self._validators.get(pointer)
        if validator is None:
            validator = Draft4Validator(
                {"$ref": self.uri + pointer},
                registry=self.registry,
                format_checker=Draft4Validator.FORMAT_CHECKER,
            )
            self._validators[pointer] = validator
        return format_errors(validator.iter_errors(instance))

    def validate_request(
        self, method: str, path: str, query: Mapping[str, Sequence[str]] | None = None, body: Any = NO_BODY
    ) -> Match:
        """Check path, query parameters and JSON body; return the match."""
        match = self.router.match(method, path)
        op = match.operation
        problems = self._check_query(op, query or {})
        problems += self._check_body(op, body)
        if problems:
            raise ContractError(
                f"request {method.upper()} {path} ({op.operation_id}) violates the contract", problems
            )
        return match

    def _check_query(self, op: Operation, query: Mapping[str, Sequence[str]]) -> list[str]:
        """Unknown, repeated, missing or ill-typed query parameters."""
        declared = {name: p for (loc, name), p in op.params.items() if loc == "query"}
        problems = []
        for name, values in query.items():
            param = declared.get(name)
            if param is None:
                problems.append(f"unknown query parameter {name!r}")
            elif param.get("type") != "array" and len(values) != 1:
                problems.append(f"query parameter {name!r} given {len(values)} times")
            else:
                problems += [f"query {name}: {e}" for e in self._query_value_errors(param, values)]
        problems += [
            f"missing query parameter {n!r}"
            for n, p in declared.items()
            if p.get("required") and n not in query
        ]
        return problems

    @staticmethod
    def _query_value_errors(param: Mapping[str, Any], values: Sequence[str]) -> list[str]:
        """Type-check the raw strings of one query parameter (Swagger 2.0 keeps the schema inline)."""
        kind = param.get("type")
        items = param.get("items", {}) if kind == "array" else param
        shapes = {"integer": r"-?\d+", "boolean": r"true|false", "number": r"-?\d+(\.\d+)?"}
        shape = shapes.get(items.get("type", "string"), r"(?s).*")
        errors = [f"{v!r} is not a {items.get('type')}" for v in values if not re.fullmatch(shape, v)]
        enum = items.get("enum")
        return errors + [f"{v!r} not in {enum}" for v in values if enum and v not in enum]

    def _check_body(self, op: Operation, body: Any) -> list[str]:
        """Validate the JSON body against the operation's `in: body` parameter."""
        found = [
            (i, p) for i, p in enumerate(self._operation(op).get("parameters", [])) if p.get("in") == "body"
        ]
        if not found:
            return [] if body is NO_BODY else [f"operation takes no body, got {json.dumps(body)[:120]}"]
        index, param = found[0]
        if body is NO_BODY:
            return ["request body is required"] if param.get("required") else []
        pointer = _pointer([*op.tokens, "parameters", str(index), "schema"])
        return [f"body {e}" for e in self.schema_errors(pointer, body)]

    def _operation(self, op: Operation) -> Mapping[str, Any]:
        """The operation object in the (overridden) document."""
        result: Mapping[str, Any] = self.spec["paths"][op.template][op.tokens[2]]
        return result

    def validate_response(self, method: str, path: str, status: int, body: Any = NO_BODY) -> None:
        """Check a response's status and JSON body against the operation's responses (or `default`)."""
        op = self.router.match(method, path).operation
        responses = self._operation(op).get("responses", {})
        key = str(status) if str(status) in responses else "default" if "default" in responses else None
        label = f"response {status} to {method.upper()} {path} ({op.operation_id})"
        if key is None:
            raise ContractError(f"{label}: status not declared (declared: {sorted(responses)})")
        if "schema" not in responses[key]:
            if body is not NO_BODY:
                raise ContractError(f"{label}: declares no body, got {json.dumps(body)[:120]}")
            return
        if body is NO_BODY:
            raise ContractError(f"{label}: a JSON body is required")
        problems = self.schema_errors(_pointer([*op.tokens, "responses", key, "schema"]), body)
        if problems:
            raise ContractError(f"{label} violates the contract", problems)

    def match(self, method: str, path: str) -> Match:
        """The operation a concrete request goes to (ContractError if none)."""
        return self.router.match(method, path)
