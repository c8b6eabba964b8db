"""Between the SDK and the project's types: the create request built from a RollbackRequest, Workflow
JSON read into WorkflowView (the SDK's models cannot hold a pending one), gRPC-gateway error bodies
into ArgoWorkflowsError."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from argo_workflows.model.io_argoproj_workflow_v1alpha1_arguments import IoArgoprojWorkflowV1alpha1Arguments
from argo_workflows.model.io_argoproj_workflow_v1alpha1_parameter import IoArgoprojWorkflowV1alpha1Parameter
from argo_workflows.model.io_argoproj_workflow_v1alpha1_workflow import IoArgoprojWorkflowV1alpha1Workflow
from argo_workflows.model.io_argoproj_workflow_v1alpha1_workflow_create_request import (
    IoArgoprojWorkflowV1alpha1WorkflowCreateRequest as CreateRequest,
)
from argo_workflows.model.io_argoproj_workflow_v1alpha1_workflow_spec import (
    IoArgoprojWorkflowV1alpha1WorkflowSpec,
)
from argo_workflows.model.io_argoproj_workflow_v1alpha1_workflow_template_ref import (
    IoArgoprojWorkflowV1alpha1WorkflowTemplateRef,
)
from argo_workflows.model.object_meta import ObjectMeta

from gitops_bot.core.errors import ArgoWorkflowsError, NodeNotSuspendedError
from gitops_bot.core.workflow import (
    APPROVE_NODE,
    KEY_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    ApproveNode,
    RollbackRequest,
    WorkflowView,
    rollback_key,
)


def create_request(name: str, template: str, request: RollbackRequest) -> CreateRequest:
    """POST /api/v1/workflows/{ns}: a workflowTemplateRef workflow with the rollback's parameters."""
    params = [IoArgoprojWorkflowV1alpha1Parameter(name=k, value=v) for k, v in request.parameters().items()]
    labels = {
        MANAGED_BY_LABEL: MANAGED_BY,
        KEY_LABEL: rollback_key(request),
    }
    workflow = IoArgoprojWorkflowV1alpha1Workflow(
        metadata=ObjectMeta(name=name, labels=labels),
        spec=IoArgoprojWorkflowV1alpha1WorkflowSpec(
            workflow_template_ref=IoArgoprojWorkflowV1alpha1WorkflowTemplateRef(name=template),
            arguments=IoArgoprojWorkflowV1alpha1Arguments(parameters=params),
        ),
    )
    return CreateRequest(workflow=workflow)


def to_view(data: Mapping[str, Any]) -> WorkflowView:
    """A workflow from the server; missing status fields mean Pending."""
    meta, spec, status = data.get("metadata") or {}, data.get("spec") or {}, data.get("status") or {}
    params = {
        str(p.get("name")): str(p.get("value", ""))
        for p in (spec.get("arguments") or {}).get("parameters") or []
    }
    return WorkflowView(
        name=str(meta.get("name", "")),
        phase=str(status.get("phase") or ""),
        created=datetime.fromisoformat(str(meta.get("creationTimestamp"))),
        parameters=params,
        approve=_approve(status.get("nodes") or {}),
        message=str(status.get("message") or ""),
    )


def _approve(nodes: Mapping[str, Any]) -> ApproveNode | None:
    for node in nodes.values():
        if node.get("displayName") == APPROVE_NODE and node.get("type") == "Suspend":
            values = {
                str(p.get("name")): str(p["value"])
                for p in (node.get("outputs") or {}).get("parameters") or []
                if "value" in p
            }
            return ApproveNode(
                phase=str(node.get("phase") or ""),
                held_by=values.get("heldBy", ""),
                approved_by=values.get("approvedBy", ""),
            )
    return None


def error_from(what: str, status: int, body: object, reason: str) -> ArgoWorkflowsError:
    """The gateway's `{code, message}` body as our error; updateSuspendedNode's refusal is typed."""
    try:
        message = str(json.loads(str(body or "{}")).get("message", "")) or reason
    except (ValueError, AttributeError):
        message = reason
    text = f"Argo Workflows {what}: HTTP {status}: {message}"
    if "only targets suspend nodes" in message:  # Argo answers 500 for it; retrying cannot help
        return NodeNotSuspendedError(text, status=status)
    return ArgoWorkflowsError(text, status=status)
