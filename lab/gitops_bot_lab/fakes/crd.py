"""Validate Kubernetes custom objects against their CRD's `openAPIV3Schema` (structural schema).

The schema is turned into Draft 4 JSON Schema the way the API server reads it: `nullable` admits
null, `x-kubernetes-int-or-string` admits both, `x-kubernetes-preserve-unknown-fields` keeps an
object open. Every other object with `properties` is *closed*: the API server would prune an unknown
field silently (or reject it with `fieldValidation=Strict`); here it is a violation, because a field the
CRD does not know is a bug in the stand-in or the client. `metadata` gets the ObjectMeta rules the API
server enforces on every object (name required, labels/annotations map string to string).
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator

from gitops_bot_lab.fakes.swagger import format_errors

_OBJECT_META = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "namespace": {"type": "string"},
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer"},
        "creationTimestamp": {"type": "string", "format": "date-time"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": False,
}


def _structural(schema: Any) -> Any:
    """Rewrite one OpenAPI v3 structural schema node (recursively) into Draft 4."""
    if not isinstance(schema, dict):
        return schema
    out = {k: v for k, v in schema.items() if not k.startswith("x-kubernetes-") and k != "nullable"}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if "properties" in schema:
        out["properties"] = {k: _structural(v) for k, v in schema["properties"].items()}
        if "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            out[key] = _structural(schema[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            out[key] = [_structural(s) for s in schema[key]]
    return out


def _apply_defaults(schema: Any, value: Any) -> None:
    """Structural defaulting: a missing field whose schema has `default` gets it (inside existing parents)."""
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name not in value and isinstance(sub, dict) and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                _apply_defaults(sub, value[name])
    elif isinstance(value, list):
        for item in value:
            _apply_defaults(schema.get("items"), item)


@dataclass(frozen=True)
class CustomResource:
    """One served version of a CRD: its coordinates and a validator for its objects."""

    group: str
    version: str
    plural: str
    kind: str
    status_subresource: bool
    schema: dict[str, Any]

    @property
    def api_version(self) -> str:
        """`group/version` as objects carry it."""
        return f"{self.group}/{self.version}"

    @functools.cached_property
    def _validator(self) -> Draft4Validator:
        return Draft4Validator(self.schema, format_checker=Draft4Validator.FORMAT_CHECKER)

    def default(self, obj: Any) -> None:
        """Fill in the schema's `default`s, in place, as the API server does on every write."""
        _apply_defaults(self.schema, obj)

    def errors(self, obj: Any) -> list[str]:
        """Schema violations of one object (empty list when it conforms)."""
        problems = format_errors(self._validator.iter_errors(obj))
        if isinstance(obj, dict) and (obj.get("apiVersion"), obj.get("kind")) != (
            self.api_version,
            self.kind,
        ):
            problems.append(
                f"apiVersion/kind {obj.get('apiVersion')}/{obj.get('kind')} is not {self.api_version}/{self.kind}"
            )
        return problems


def load_crd(path: Path, version: str | None = None) -> CustomResource:
    """Read a CRD YAML and pick the served version (the storage version unless named)."""
    crd = yaml.safe_load(path.read_text())
    versions = [v for v in crd["spec"]["versions"] if v.get("served")]
    chosen = next(
        (v for v in versions if v["name"] == version or (version is None and v.get("storage"))), None
    )
    if chosen is None:
        raise ValueError(
            f"{path.name}: version {version!r} is not served (served: {[v['name'] for v in versions]})"
        )
    schema = _structural(copy.deepcopy(chosen["schema"]["openAPIV3Schema"]))
    schema["properties"]["metadata"] = _OBJECT_META
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
    return CustomResource(
        group=crd["spec"]["group"],
        version=chosen["name"],
        plural=crd["spec"]["names"]["plural"],
        kind=crd["spec"]["names"]["kind"],
        status_subresource="status" in chosen.get("subresources", {}),
        schema=schema,
    )
