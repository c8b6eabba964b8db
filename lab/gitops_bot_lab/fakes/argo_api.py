"""The stand-in's API semantics: WorkflowTemplates and Workflows in memory, one run thread per workflow."""

from __future__ import annotations

import copy
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gitops_bot_lab.fakes.argo_exec import WorkflowRun
from gitops_bot_lab.fakes.argo_nodes import FAILED, SUCCEEDED, NodeError, Selector
from gitops_bot_lab.fakes.argo_pods import Cluster
from gitops_bot_lab.fakes.argo_requests import (
    ApiError,
    declared_parameters,
    json_object,
    label_filter,
    object_meta,
    parse_create,
    parse_submit,
    resource_version,
)
from gitops_bot_lab.fakes.argo_subset import Unsupported, check_spec

_QUERY_OK = {"WorkflowService_ListWorkflows": {"listOptions.labelSelector"}}


@dataclass
class _Workflow:
    metadata: dict[str, Any]
    spec: dict[str, Any]
    run: WorkflowRun
    thread: threading.Thread | None = None


class Store:
    """Templates and workflows by (namespace, name)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.start_delay_s = 0.0
        self.templates: dict[tuple[str, str], dict[str, Any]] = {}
        self.workflows: dict[tuple[str, str], _Workflow] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def close(self) -> None:
        """Stop every run and join the run threads (bounded)."""
        self._closed.set()
        with self._lock:
            flows = list(self.workflows.values())
        for wf in flows:
            wf.run.stop()
        for wf in flows:
            if wf.thread is not None:
                wf.thread.join(timeout=10)

    def handle(self, operation: str, path: Mapping[str, str], query: Any, body: Any) -> tuple[int, Any]:
        """Dispatch one validated request."""
        unsupported = set(query) - _QUERY_OK.get(operation, set())
        if unsupported:
            raise ApiError(3, f"the stand-in does not support query parameters {sorted(unsupported)}")
        ns = path.get("namespace", "")
        handlers = {
            "WorkflowTemplateService_CreateWorkflowTemplate": lambda: self.create_template(ns, body),
            "WorkflowTemplateService_GetWorkflowTemplate": lambda: self._template(ns, path["name"]),
            "WorkflowService_CreateWorkflow": lambda: self.create_from_request(ns, body),
            "WorkflowService_SubmitWorkflow": lambda: self.submit(ns, body),
            "WorkflowService_GetWorkflow": lambda: self.workflow_json(ns, path["name"]),
            "WorkflowService_ListWorkflows": lambda: self.list_json(
                ns, query.get("listOptions.labelSelector", "")
            ),
            "WorkflowService_ResumeWorkflow": lambda: self.act(ns, path["name"], "resume", body),
            "WorkflowService_StopWorkflow": lambda: self.act(ns, path["name"], "stop", body),
            "WorkflowService_SetWorkflow": lambda: self.act(ns, path["name"], "set", body),
        }
        handler = handlers.get(operation)
        if handler is None:
            raise ApiError(12, f"{operation} is not implemented by the stand-in")
        return 200, handler()

    # -- templates -----------------------------------------------------------------------------

    def create_template(self, ns: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Lint against the subset (400 naming what is unsupported), then store."""
        extra = set(body) - {"namespace", "template"}
        if extra:
            raise ApiError(3, f"the stand-in does not support {sorted(extra)}")
        template = copy.deepcopy(dict(body.get("template", {})))
        name = template.get("metadata", {}).get("name", "")
        if template.get("kind", "WorkflowTemplate") != "WorkflowTemplate" or not name:
            raise ApiError(3, "a WorkflowTemplate with metadata.name is required")
        try:
            check_spec(template.get("spec", {}))
        except Unsupported as e:
            raise ApiError(3, f"WorkflowTemplate {name}: {e}") from e
        with self._lock:
            if (ns, name) in self.templates:
                raise ApiError(6, f'workflowtemplates.argoproj.io "{name}" already exists')
            template["metadata"] |= object_meta(ns)
            self.templates[(ns, name)] = template
        return template

    def _template(self, ns: str, name: str) -> dict[str, Any]:
        with self._lock:
            found = self.templates.get((ns, name))
        if found is None:
            raise ApiError(5, f'workflowtemplates.argoproj.io "{name}" not found')
        return found

    # -- workflows -----------------------------------------------------------------------------

    def create_from_request(self, ns: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /api/v1/workflows/{ns}: only `spec.workflowTemplateRef` workflows (no inline templates)."""
        return self._start(ns, *parse_create(body))

    def submit(self, ns: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /submit from a WorkflowTemplate."""
        return self._start(ns, *parse_submit(body))

    def _start(
        self, ns: str, template_name: str, meta: Mapping[str, Any], given: Mapping[str, Any]
    ) -> dict[str, Any]:
        template = self._template(ns, template_name)
        params = declared_parameters(template["spec"], given)
        name = meta.get("name") or f"{meta.get('generateName', '')}{secrets.token_hex(3)[:5]}"
        if not name or len(name) > 253:
            raise ApiError(3, "metadata.name or metadata.generateName is required (<= 253 characters)")
        with self._lock:
            if (ns, name) in self.workflows:
                raise ApiError(6, f'workflows.argoproj.io "{name}" already exists')
            run = WorkflowRun(name, ns, template["spec"], params)
            metadata = {"name": name, "labels": dict(meta.get("labels", {}))} | object_meta(ns)
            spec = {
                "workflowTemplateRef": {"name": template_name},
                "arguments": {"parameters": [{"name": k, "value": v} for k, v in given.items()]},
            }
            wf = self.workflows[(ns, name)] = _Workflow(metadata, spec, run)
            answer = self._json(wf)  # before the run thread exists: Pending, startedAt null
            wf.thread = threading.Thread(target=self._controller, args=(wf,), name=f"wf-{name}", daemon=True)
            wf.thread.start()
        return answer

    def _controller(self, wf: _Workflow) -> None:
        if self._closed.wait(self.start_delay_s):
            return
        wf.run.execute(self.cluster)

    def act(self, ns: str, name: str, action: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """resume / stop / set, with or without nodeFieldSelector."""
        wf = self._get(ns, name)
        text = str(body.get("nodeFieldSelector", ""))
        try:
            selector = Selector.parse(text) if text else None
            if action == "set":
                outputs = body.get("outputParameters")
                values = json_object(outputs) if outputs else None
                if selector is None:
                    raise ApiError(3, "set needs a nodeFieldSelector")
                phase = str(body.get("phase", ""))
                wf.run.update_suspended(
                    selector, phase=phase, message=str(body.get("message", "")), outputs=values
                )
            elif selector is not None:
                phase = SUCCEEDED if action == "resume" else FAILED
                wf.run.update_suspended(selector, phase=phase, message=str(body.get("message", "")))
            elif action == "resume":
                wf.run.resume_all()
            else:
                wf.run.stop()  # Argo drops `message` without a selector: it only patches spec.shutdown
        except Unsupported as e:
            raise ApiError(3, str(e)) from e
        except NodeError as e:
            raise ApiError(2, str(e)) from e
        return self._json(wf)

    def _get(self, ns: str, name: str) -> _Workflow:
        with self._lock:
            wf = self.workflows.get((ns, name))
        if wf is None:
            raise ApiError(5, f'workflows.argoproj.io "{name}" not found')
        return wf

    def workflow_json(self, ns: str, name: str) -> dict[str, Any]:
        """GET one workflow."""
        return self._json(self._get(ns, name))

    def list_json(self, ns: str, selector: str) -> dict[str, Any]:
        """GET the namespace's workflows matching an equality label selector."""
        keep = label_filter(selector)
        with self._lock:
            flows = [wf for (n, _), wf in self.workflows.items() if n == ns]
        items = [item for item in (self._json(wf) for wf in flows) if keep(item["metadata"]["labels"])]
        return {"metadata": {"resourceVersion": resource_version()}, "items": items}

    @staticmethod
    def _json(wf: _Workflow) -> dict[str, Any]:
        status = wf.run.status_json()
        labels = dict(wf.metadata["labels"])
        if "phase" in status:
            labels["workflows.argoproj.io/phase"] = status["phase"]
            labels["workflows.argoproj.io/completed"] = str(status["finishedAt"] is not None).lower()
        return {"metadata": wf.metadata | {"labels": labels}, "spec": wf.spec, "status": status}
