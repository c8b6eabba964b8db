"""Validate GitHub REST requests/responses against GitHub's official OpenAPI description.

The description (api.github.com, OpenAPI 3.0.3, ~900 KB gzip) is loaded once per process and
shared. Schemas are checked with openapi-schema-validator's OAS 3.0 validators (they know
`nullable`, `readOnly`/`writeOnly` and the OAS formats) over a `referencing` registry holding the
whole document, so every `$ref` resolves lazily. Path routing is done here rather than with
openapi-core because openapi-core cannot match GitHub's multi-segment parameters
(`git/ref/{ref}` with `ref=heads/main`), which GitHub marks with `x-multi-segment: true`.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import validators as _jsonschema_validators
from jsonschema.protocols import Validator
from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30Validator,
    OAS30WriteValidator,
    oas30_format_checker,
)
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_URI = "urn:github:api.github.com.json"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


class _Absent:
    """Marker for 'no body at all' (distinct from a JSON null body)."""

    def __repr__(self) -> str:
        return "NO_BODY"


NO_BODY: Any = _Absent()

# Statuses GitHub can answer on any operation although the description does not list them
# (auth, rate limits, outages). They must still carry GitHub's error shape.
GENERIC_ERROR_STATUSES = frozenset({400, 401, 403, 404, 405, 409, 410, 422, 429, 500, 502, 503, 504})

# Documented request shapes the description's schema omits. Each is accepted *in addition* to the
# spec's schema, only for that operation. PyGithub's Issue.add_to_labels sends a bare JSON array,
# which the endpoint's description text allows but its `oneOf` (one branch only) does not.
REQUEST_BODY_ALTERNATIVES: dict[str, dict[str, Any]] = {
    "issues/add-labels": {"type": "array", "minItems": 1, "items": {"type": "string"}},
    "issues/set-labels": {"type": "array", "items": {"type": "string"}},
}

_BASIC_ERROR = {
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string"}, "documentation_url": {"type": "string"}},
}


def _nullable_keywords(cls: Any) -> Any:
    """Let `nullable: true` admit null next to `enum`/`oneOf`/`anyOf`/`allOf`.

    Strict OAS 3.0.3 only honours `nullable` alongside `type` (and wants null inside `enum`).
    GitHub's description writes e.g. `state_reason: {type: string, nullable: true, enum: [...]}`
    and `author: {nullable: true, oneOf: [simple-user, empty-object]}`, and really sends null.
    """

    def wrap(original: Any) -> Any:
        def keyword(validator: Any, value: Any, instance: Any, schema: Mapping[str, Any]) -> Any:
            if instance is None and schema.get("nullable") is True:
                return
            yield from original(validator, value, instance, schema)

        return keyword

    names = ("enum", "oneOf", "anyOf", "allOf")
    return _jsonschema_validators.extend(cls, {n: wrap(cls.VALIDATORS[n]) for n in names})  # type: ignore[no-untyped-call]


_PLAIN = _nullable_keywords(OAS30Validator)
_READ = _nullable_keywords(OAS30ReadValidator)
_WRITE = _nullable_keywords(OAS30WriteValidator)


class ContractError(AssertionError):
    """A request or response does not conform to GitHub's OpenAPI description."""

    def __init__(self, summary: str, details: Sequence[str] = ()) -> None:
        self.summary = summary
        self.details = list(details)
        text = summary if not details else summary + ":\n  - " + "\n  - ".join(details)
        super().__init__(text)


def contracts_dir() -> Path:
    """The contracts folder: `$GITOPS_CONTRACTS_DIR`, else the checkout's `tests/contracts`."""
    env = os.environ.get("GITOPS_CONTRACTS_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[4] / "tests" / "contracts")
    for cand in candidates:
        if (cand / "github" / "api.github.com.json.gz").is_file():
            return cand
    raise FileNotFoundError(f"GitHub contracts not found in any of {candidates}")


def _escape_pointer(token: str) -> str:
    """Escape one JSON-pointer token."""
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    """Build an absolute `$ref` into the registered description."""
    return SPEC_URI + "#/" + "/".join(_escape_pointer(str(t)) for t in tokens)


@dataclass(frozen=True)
class Param:
    """One path or query parameter of an operation."""

    name: str
    location: str
    required: bool
    schema_ref: str
    schema: Mapping[str, Any]
    multi_segment: bool


@dataclass
class Operation:
    """One (method, path template) of the description."""

    method: str
    template: str
    operation_id: str
    spec: Mapping[str, Any]
    params: dict[tuple[str, str], Param]
    regex: re.Pattern[str]
    literal_segments: int
    base_tokens: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Match:
    """An operation matched by a concrete request path, with typed path parameters."""

    operation: Operation
    path_params: dict[str, Any]

    @property
    def operation_id(self) -> str:
        """The spec's operationId, e.g. `pulls/merge`."""
        return self.operation.operation_id


def _coerce(raw: str, schema: Mapping[str, Any]) -> Any:
    """Turn a URL string into the parameter's declared scalar type (as GitHub parses it)."""
    kind = schema.get("type")
    if kind == "integer" and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            return raw
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


def _format_errors(errors: Iterable[Any], limit: int = 6) -> list[str]:
    """Render jsonschema errors as short 'at <path>: <message>' lines."""
    out = []
    for err in sorted(errors, key=lambda e: list(map(str, e.absolute_path)))[:limit]:
        where = "/".join(str(p) for p in err.absolute_path) or "<root>"
        msg = err.message if len(err.message) < 240 else err.message[:240] + "..."
        out.append(f"at {where}: {msg}")
    return out


class GitHubContract:
    """Routes concrete paths to OpenAPI operations and validates bodies against their schemas."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self.registry: Registry[Any] = Registry().with_resource(
            SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT4)
        )
        self._ops = self._build_operations(spec)
        self._validators: dict[tuple[str, str], Validator] = {}

    @classmethod
    def load(cls, path: Path | None = None) -> GitHubContract:
        """Read the gzip description from disk and build a contract."""
        path = path or contracts_dir() / "github" / "api.github.com.json.gz"
        with gzip.open(path, "rb") as fh:
            return cls(json.load(fh))

    # -- routing -----------------------------------------------------------------------------

    def _resolve(self, obj: Mapping[str, Any]) -> tuple[Mapping[str, Any], str | None]:
        """Follow a local `$ref` (one level), returning the target and its pointer tokens."""
        ref = obj.get("$ref")
        if not ref:
            return obj, None
        target: Any = self.spec
        for token in ref.lstrip("#/").split("/"):
            target = target[token.replace("~1", "/").replace("~0", "~")]
        return target, ref

    def _build_params(
        self, item: Mapping[str, Any], op: Mapping[str, Any], base: tuple[str, ...]
    ) -> dict[tuple[str, str], Param]:
        """Collect path-item and operation parameters (operation wins), resolving `$ref`s."""
        params: dict[tuple[str, str], Param] = {}
        sources = [(item.get("parameters", []), base[:2]), (op.get("parameters", []), base)]
        for plist, owner in sources:
            for idx, raw in enumerate(plist):
                resolved, ref = self._resolve(raw)
                if ref:
                    schema_ref = SPEC_URI + ref + "/schema"
                else:
                    schema_ref = pointer(*owner, "parameters", idx, "schema")
                p = Param(
                    name=resolved["name"],
                    location=resolved["in"],
                    required=bool(resolved.get("required")),
                    schema_ref=schema_ref,
                    schema=resolved.get("schema", {}),
                    multi_segment=bool(resolved.get("x-multi-segment")),
                )
                params[(p.location, p.name)] = p
        return params

    def _build_operations(self, spec: Mapping[str, Any]) -> list[Operation]:
        """Compile every operation's path template into an anchored regex, most specific first."""
        ops: list[Operation] = []
        for template, item in spec["paths"].items():
            for method in HTTP_METHODS:
                op = item.get(method)
                if not isinstance(op, dict):
                    continue
                base = ("paths", template, method)
                params = self._build_params(item, op, base)
                regex, literals = self._template_regex(template, params)
                ops.append(
                    Operation(
                        method=method.upper(),
                        template=template,
                        operation_id=op.get("operationId", f"{method} {template}"),
                        spec=op,
                        params=params,
                        regex=regex,
                        literal_segments=literals,
                        base_tokens=base,
                    )
                )
        # Literal segments beat placeholders (`pulls/comments` before `pulls/{pull_number}`);
        # among equals prefer more segments so a greedy multi-segment param matches last.
        ops.sort(key=lambda o: (-o.literal_segments, -o.template.count("/")))
        return ops

    @staticmethod
    def _template_regex(
        template: str, params: Mapping[tuple[str, str], Param]
    ) -> tuple[re.Pattern[str], int]:
        """Translate `/repos/{owner}/{repo}/git/ref/{ref}` into a regex with named groups."""
        parts, literals = [], 0
        for segment in template.strip("/").split("/"):
            names = re.findall(r"\{([^}]+)\}", segment)
            if not names:
                literals += 1
                parts.append(re.escape(segment))
                continue
            pattern = re.escape(segment)
            for name in names:
                p = params.get(("path", name))
                group = ".+" if p and p.multi_segment else "[^/]+"
                pattern = pattern.replace(re.escape("{" + name + "}"), f"(?P<{_group_name(name)}>{group})")
            parts.append(pattern)
        return re.compile("^/" + "/".join(parts) + "$"), literals

    def match(self, method: str, path: str) -> Match:
        """Find the operation for a concrete request; raise ContractError if GitHub has none."""
        method = method.upper()
        path_only = path.split("?", 1)[0]
        if len(path_only) > 1:
            path_only = path_only.rstrip("/")
        allowed = []
        for op in self._ops:
            m = op.regex.match(path_only)
            if not m:
                continue
            if op.method != method:
                allowed.append(op.method)
                continue
            return Match(op, self._path_values(op, m))
        if allowed:
            raise ContractError(
                f"{method} {path_only}: method not in GitHub's API for this path "
                f"(allowed: {sorted(set(allowed))})"
            )
        raise ContractError(f"{method} {path_only}: no such path in GitHub's REST API")

    @staticmethod
    def _path_values(op: Operation, m: re.Match[str]) -> dict[str, Any]:
        """Extract the named groups back into parameter names, typed like the spec says."""
        values: dict[str, Any] = {}
        for (loc, name), p in op.params.items():
            if loc == "path":
                values[name] = _coerce(m.group(_group_name(name)), p.schema)
        return values

    # -- schema validation -------------------------------------------------------------------

    def _validator(self, ref: str, kind: str) -> Validator:
        """Build (and cache) a validator for the schema at `ref` (read/write/plain semantics)."""
        key = (ref, kind)
        cached = self._validators.get(key)
        if cached is None:
            cls = {"read": _READ, "write": _WRITE}.get(kind, _PLAIN)
            cached = cls({"$ref": ref}, registry=self.registry, format_checker=oas30_format_checker)
            self._validators[key] = cached
        return cached

    def _schema_errors(self, ref: str, instance: Any, kind: str) -> list[str]:
        """Validate `instance` against the schema at `ref`; return rendered errors."""
        return _format_errors(self._validator(ref, kind).iter_errors(instance))

    def validate_request(
        self,
        method: str,
        path: str,
        query: Mapping[str, str | Sequence[str]] | None = None,
        body: Any = NO_BODY,
    ) -> Match:
        """Check path, path params, query params and JSON body; return the typed match."""
        match = self.match(method, path)
        op = match.operation
        label = f"{method.upper()} {path} ({op.operation_id})"
        problems = self._check_path_params(match)
        problems += self._check_query(op, query or {})
        problems += self._check_request_body(op, body)
        if problems:
            raise ContractError(f"request {label} violates the contract", problems)
        return match

    def _check_path_params(self, match: Match) -> list[str]:
        """Validate the (already typed) path params against their schemas."""
        problems = []
        for (loc, name), p in match.operation.params.items():
            if loc != "path":
                continue
            value = match.path_params[name]
            problems += [f"path param {name}: {e}" for e in self._schema_errors(p.schema_ref, value, "")]
        return problems

    def _check_query(self, op: Operation, query: Mapping[str, str | Sequence[str]]) -> list[str]:
        """Reject unknown query params, missing required ones, and ill-typed values."""
        problems = []
        declared = {name: p for (loc, name), p in op.params.items() if loc == "query"}
        for name, raw in query.items():
            p = declared.get(name)
            if p is None:
                problems.append(f"unknown query parameter {name!r} (declared: {sorted(declared)})")
                continue
            values = [raw] if isinstance(raw, str) else list(raw)
            if p.schema.get("type") == "array":
                value: Any = [v for item in values for v in item.split(",")]
            elif len(values) != 1:
                problems.append(f"query parameter {name!r} given {len(values)} times")
                continue
            else:
                value = _coerce(values[0], p.schema)
            errs = self._schema_errors(p.schema_ref, value, "")
            problems += [f"query param {name}: {e}" for e in errs]
        for name, p in declared.items():
            if p.required and name not in query:
                problems.append(f"missing required query parameter {name!r}")
        return problems

    def _check_request_body(self, op: Operation, body: Any) -> list[str]:
        """Validate the JSON body against the operation's requestBody (plus documented quirks)."""
        rb = op.spec.get("requestBody")
        if rb is not None:
            rb, _ = self._resolve(rb)
        if body is NO_BODY:
            return ["request body is required"] if rb and rb.get("required") else []
        if rb is None:
            return [f"operation takes no request body, got {json.dumps(body)[:120]}"]
        if "application/json" not in rb.get("content", {}):
            return [f"operation does not accept JSON (accepts {sorted(rb['content'])})"]
        ref = pointer(*op.base_tokens, "requestBody", "content", "application/json", "schema")
        if "$ref" in op.spec["requestBody"]:
            ref = SPEC_URI + op.spec["requestBody"]["$ref"] + "/content/application~1json/schema"
        errors = self._schema_errors(ref, body, "write")
        alternative = REQUEST_BODY_ALTERNATIVES.get(op.operation_id)
        if errors and alternative is not None and not list(_PLAIN(alternative).iter_errors(body)):
            errors = []
        if errors:
            return [f"body {e}" for e in errors]
        return self._unknown_fields(ref, body)

    def _unknown_fields(self, ref: str, body: Any) -> list[str]:
        """Flag top-level body fields the schema does not declare (GitHub silently drops them)."""
        if not isinstance(body, dict):
            return []
        schema = self.registry.resolver().lookup(ref).contents
        declared = self._declared_properties(schema)
        if declared is None:
            return []
        return [f"body field {k!r} is not part of the operation" for k in body if k not in declared]

    def _declared_properties(self, schema: Mapping[str, Any]) -> set[str] | None:
        """Property names an object schema declares, through refs and combinators; None=open."""
        schema, _ = self._resolve(schema)
        if schema.get("additionalProperties") not in (None, False):
            return None
        names = set(schema.get("properties", {}))
        for key in ("allOf", "oneOf", "anyOf"):
            for sub in schema.get(key, []):
                more = self._declared_properties(sub)
                if more is None:
                    return None
                names |= more
        return names or None

    def validate_response(self, method: str, path: str, status: int, body: Any = NO_BODY) -> None:
        """Check a response status and JSON body against the operation's declared responses."""
        op = self.match(method, path).operation
        label = f"response {status} to {method.upper()} {path} ({op.operation_id})"
        problems = self._check_response(op, status, body)
        if problems:
            raise ContractError(f"{label} violates the contract", problems)

    def _check_response(self, op: Operation, status: int, body: Any) -> list[str]:
        """Find the declared response for `status` and validate `body` against it."""
        responses = op.spec.get("responses", {})
        key = next((k for k in (str(status), f"{status // 100}XX", "default") if k in responses), None)
        if key is None:
            if status not in GENERIC_ERROR_STATUSES:
                return [f"status {status} is not declared (declared: {sorted(responses)})"]
            if body is NO_BODY or not isinstance(body, dict):
                return [f"undeclared error status {status} must carry a JSON error object"]
            return _format_errors(_PLAIN(_BASIC_ERROR).iter_errors(body))
        declared, ref = self._resolve(responses[key])
        content = declared.get("content") or {}
        if not content:
            if body is NO_BODY:
                return []
            if status >= 400 and isinstance(body, dict):
                # e.g. git/delete-ref's 422 is declared without content, yet GitHub sends one.
                return _format_errors(_PLAIN(_BASIC_ERROR).iter_errors(body))
            return [f"status {status} declares no body, got {json.dumps(body)[:120]}"]
        if "application/json" not in content:
            return [f"status {status} does not declare application/json ({sorted(content)})"]
        if body is NO_BODY:
            return [f"status {status} requires a JSON body, got none"]
        if ref:
            schema_ref = SPEC_URI + ref + "/content/application~1json/schema"
        else:
            schema_ref = pointer(*op.base_tokens, "responses", key, "content", "application/json")
            schema_ref += "/schema"
        return self._schema_errors(schema_ref, body, "read")

    def validate_webhook(self, name: str, payload: Any) -> None:
        """Validate a webhook payload against `x-webhooks/<name>` (e.g. issue-comment-created)."""
        hooks = self.spec.get("x-webhooks", {})
        if name not in hooks:
            raise ContractError(f"no webhook {name!r} in GitHub's description")
        ref = pointer("x-webhooks", name, "post", "requestBody", "content", "application/json")
        problems = self._schema_errors(ref + "/schema", payload, "")
        if problems:
            raise ContractError(f"webhook payload {name} violates the contract", problems)


def _group_name(param: str) -> str:
    """Regex group names must be identifiers; GitHub's param names mostly are already."""
    return "p_" + re.sub(r"\W", "_", param)


@functools.lru_cache(maxsize=1)
def contract() -> GitHubContract:
    """The process-wide contract, loaded on first use (about half a second)."""
    return GitHubContract.load()


def validate_request(
    method: str,
    path: str,
    query: Mapping[str, str | Sequence[str]] | None = None,
    body: Any = NO_BODY,
) -> Match:
    """Validate a request with the shared contract (see GitHubContract.validate_request)."""
    return contract().validate_request(method, path, query, body)


def validate_response(method: str, path: str, status: int, body: Any = NO_BODY) -> None:
    """Validate a response with the shared contract (see GitHubContract.validate_response)."""
    contract().validate_response(method, path, status, body)
