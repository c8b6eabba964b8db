"""Validate custom resources against a CRD's own openAPIV3Schema, strictly, as `kubectl apply` would.

The API server prunes unknown fields and `kubectl apply` (strict field validation) rejects them; a bare
JSON Schema run would let a typo such as `intervall:` through. So every object schema that lists its
properties and does not say `x-kubernetes-preserve-unknown-fields` gets `additionalProperties: false`.
"""

from collections.abc import Mapping
from copy import deepcopy
from pathlib import Path
from typing import Any

import jsonschema
import yaml


def strict(schema: Any) -> Any:
    """A copy of `schema` in which unlisted fields are errors wherever Kubernetes would drop them."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    closed = "properties" in out and "additionalProperties" not in out
    if closed and not out.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


class CrdValidator:
    """Validates objects of one CRD's kind and served versions."""

    def __init__(self, crd_file: Path) -> None:
        crd = yaml.safe_load(crd_file.read_text(encoding="utf-8"))
        self.group: str = crd["spec"]["group"]
        self.kind: str = crd["spec"]["names"]["kind"]
        self.schemas = {
            f"{self.group}/{v['name']}": strict(deepcopy(v["schema"]["openAPIV3Schema"]))
            for v in crd["spec"]["versions"]
            if v.get("served")
        }

    def errors(self, obj: Mapping[str, Any]) -> list[str]:
        """Every schema error in `obj` (empty when valid), with the path to the offending field."""
        if obj.get("kind") != self.kind or obj.get("apiVersion") not in self.schemas:
            return [f"not a served {self.kind}: {obj.get('apiVersion')}/{obj.get('kind')}"]
        validator = jsonschema.Draft202012Validator(self.schemas[str(obj["apiVersion"])])
        found = sorted(validator.iter_errors(dict(obj)), key=lambda e: list(e.absolute_path))
        return [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in found]
