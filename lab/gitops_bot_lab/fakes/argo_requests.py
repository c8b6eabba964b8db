"""The stand-in's reading of request bodies and its gRPC-gateway error answers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from gitops_bot_lab.fakes.argo_nodes import now_rfc3339

_GRPC_HTTP = {2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 10: 409, 12: 501, 13: 500, 14: 503, 16: 401}
_SUBMIT_OPTIONS = {"name", "generateName", "labels", "parameters"}


class ApiError(Exception):
    """An error answer: gRPC code and message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def error_body(code: int, message: str) -> tuple[int, dict[str, Any]]:
    """The HTTP status grpc-gateway maps the code to, and its body."""
    return _GRPC_HTTP.get(code, 500), {"error": message, "code": code, "message": message}


def parse_create(body: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """POST /api/v1/workflows/{ns}: only `spec.workflowTemplateRef` workflows (no inline templates)."""
    extra = set(body) - {"namespace", "workflow"}
    workflow = body.get("workflow", {})
    spec, meta = workflow.get("spec", {}), workflow.get("metadata", {})
    extra |= {f"spec.{k}" for k in set(spec) - {"workflowTemplateRef", "arguments"}}
    extra |= {f"metadata.{k}" for k in set(meta) - {"name", "generateName", "labels", "namespace"}}
    if extra or "workflowTemplateRef" not in spec:
        raise ApiError(
            3, f"the stand-in runs workflowTemplateRef workflows only; unsupported: {sorted(extra)}"
        )
    ref = spec["workflowTemplateRef"]
    if set(ref) != {"name"}:
        raise ApiError(3, "workflowTemplateRef: only `name` (no clusterScope)")
    params = {p["name"]: p.get("value") for p in spec.get("arguments", {}).get("parameters", [])}
    return str(ref["name"]), dict(meta), params


def parse_submit(body: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """POST /submit from a WorkflowTemplate, with `submitOptions` name/generateName/labels/parameters."""
    options = body.get("submitOptions", {})
    extra = set(options) - _SUBMIT_OPTIONS
    if body.get("resourceKind") != "WorkflowTemplate" or extra:
        raise ApiError(3, f"the stand-in submits WorkflowTemplates only; unsupported: {sorted(extra)}")
    labels = dict(kv.split("=", 1) for kv in options.get("labels", "").split(",") if kv)
    params = dict(kv.split("=", 1) for kv in options.get("parameters", []))
    meta = {"name": options.get("name"), "generateName": options.get("generateName"), "labels": labels}
    return str(body.get("resourceName", "")), {k: v for k, v in meta.items() if v}, params


def object_meta(ns: str) -> dict[str, Any]:
    return {
        "namespace": ns,
        "uid": str(uuid.uuid4()),
        "resourceVersion": "1",
        "creationTimestamp": now_rfc3339(),
    }


def declared_parameters(spec: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, str]:
    declared = {p["name"]: p for p in spec.get("arguments", {}).get("parameters", [])}
    unknown = set(given) - set(declared)
    if unknown:
        raise ApiError(3, f"parameters {sorted(unknown)} are not declared by the template")
    values = {}
    for name, param in declared.items():
        value = given.get(name, param.get("value"))
        if value is None:
            raise ApiError(3, f"spec.arguments.{name}.value is required")
        if param.get("enum") and value not in param["enum"]:
            raise ApiError(3, f"spec.arguments.{name}.value {value!r} not in {param['enum']}")
        values[name] = str(value)
    return values


def json_object(text: str) -> dict[str, str]:
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ApiError(3, f"outputParameters is not JSON: {e}") from e
    if not isinstance(data, dict):
        raise ApiError(3, "outputParameters must be a JSON object")
    return {str(k): str(v) for k, v in data.items()}


def label_filter(selector: str) -> Callable[[Mapping[str, str]], bool]:
    """An equality-based label selector (`k=v`, `k==v`, `k!=v`, comma = and); others are refused."""
    terms = [t.partition("!=") if "!=" in t else t.partition("=") for t in selector.split(",") if t]
    if any(not key or not sep for key, sep, _ in terms):
        raise ApiError(3, f"labelSelector {selector!r}: the stand-in supports k=v and k!=v terms")

    def keep(labels: Mapping[str, str]) -> bool:
        return all((labels.get(k) == v.lstrip("=")) == (sep == "=") for k, sep, v in terms)

    return keep


def resource_version() -> str:
    """A list's metadata.resourceVersion (monotonic)."""
    return str(time.monotonic_ns())
