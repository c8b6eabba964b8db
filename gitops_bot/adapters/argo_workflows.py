"""The Argo Workflows adapter: the `argo-workflows` SDK (generated from Argo's OpenAPI) behind one class.

Every call goes through the SDK's WorkflowServiceApi (URL, auth header, request models, transport).
Its response models cannot be used: a workflow the controller has not started carries
`status.startedAt: null` (Go's zero metav1.Time), which the generated model types as a non-nullable
datetime and rejects with ApiTypeError -- the very answer to a create. So every call asks the SDK for
the raw response (`_preload_content=False`) and reads the JSON here into the project's dataclasses.
No call needs `requests`.

Errors: ArgoWorkflowsError (with the HTTP status; 0 = no answer); NodeNotSuspendedError when
resume/set/stop finds no waiting `approve` node (Argo answers 500 for that; it is not retried).
5xx, timeouts and lost connections are retried `attempts` times with bounded back-off.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import urllib3
from argo_workflows.api.workflow_service_api import WorkflowServiceApi
from argo_workflows.api_client import ApiClient
from argo_workflows.configuration import Configuration
from argo_workflows.exceptions import ApiException, ApiTypeError, ApiValueError
from argo_workflows.model.io_argoproj_workflow_v1alpha1_workflow_resume_request import (
    IoArgoprojWorkflowV1alpha1WorkflowResumeRequest as ResumeRequest,
)
from argo_workflows.model.io_argoproj_workflow_v1alpha1_workflow_set_request import (
    IoArgoprojWorkflowV1alpha1WorkflowSetRequest as SetRequest,
)
from argo_workflows.model.io_argoproj_workflow_v1alpha1_workflow_stop_request import (
    IoArgoprojWorkflowV1alpha1WorkflowStopRequest as StopRequest,
)

from gitops_bot.adapters.argo_workflows_view import create_request, error_from, to_view
from gitops_bot.core.errors import ArgoWorkflowsError, NodeNotSuspendedError
from gitops_bot.core.workflow import (
    APPROVE_NODE,
    COMPLETED_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    MAX_SUFFIX_ATTEMPTS,
    RollbackRequest,
    Submitted,
    WorkflowView,
    after_conflict,
    approval_due,
    request_base_name,
    workflow_name,
)

log = logging.getLogger("gitops_bot")
_SELECTOR = f"displayName={APPROVE_NODE}"
VETO_WINDOW_EXPIRED = "veto-window-expired"  # Approved-By when nobody vetoed or held in time
_ALREADY_SET = "already set"


class ArgoWorkflows:
    """Submit and steer rollback workflows in one namespace of one Argo Server."""

    def __init__(
        self,
        server: str,
        namespace: str,
        token: str,
        *,
        template: str = "gitops-bot-rollback",
        timeout_s: float = 10.0,
        attempts: int = 4,
        backoff_s: float = 0.25,
        ca_file: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        config = Configuration(host=server.rstrip("/"))
        config.api_key["BearerToken"] = token
        config.api_key_prefix["BearerToken"] = "Bearer"
        config.retries = False  # retries are ours, bounded and logged
        if ca_file is not None:
            config.ssl_ca_cert = ca_file
        self._api = WorkflowServiceApi(ApiClient(config))
        self.server, self.namespace, self.template = server.rstrip("/"), namespace, template
        self.timeout_s, self.attempts, self.backoff_s, self._sleep = timeout_s, attempts, backoff_s, sleep

    def ui_link(self, name: str) -> str:
        """The workflow in the Argo UI (for the PR, the commit body and `audit`)."""
        return f"{self.server}/workflows/{self.namespace}/{name}"

    # -- submit --------------------------------------------------------------------------------

    def submit(self, request: RollbackRequest) -> Submitted:
        """Create the rollback's workflow once; AlreadyExists for the same episode is success."""
        base = request_base_name(request)
        for attempt in range(1, MAX_SUFFIX_ATTEMPTS + 1):
            name = workflow_name(base, attempt)
            try:
                self._call("create", lambda n=name: self._create(n, request))  # type: ignore[misc]
                return Submitted(name, created=True)
            except ArgoWorkflowsError as e:
                if e.status != 409:
                    raise
            existing = self.get(name)
            if existing is None:  # deleted between the 409 and the read: not acknowledged, retry later
                raise ArgoWorkflowsError(f"workflow {name} vanished after AlreadyExists; not acknowledged")
            if after_conflict(existing, request.starts_at) == "same":
                return Submitted(name, created=False)
            log.info(
                "workflow %s is a finished earlier episode (%s); trying the next name", name, existing.phase
            )
        raise ArgoWorkflowsError(f"{MAX_SUFFIX_ATTEMPTS} rollback workflows exist for {base}; not submitting")

    def _create(self, name: str, request: RollbackRequest) -> Any:
        body = create_request(name, self.template, request)
        return self._api.create_workflow(self.namespace, body, **self._opts())

    # -- reads ---------------------------------------------------------------------------------

    def get(self, name: str) -> WorkflowView | None:
        """One workflow, or None when it does not exist."""
        try:
            data = self._call("get", lambda: self._api.get_workflow(self.namespace, name, **self._opts()))
        except ArgoWorkflowsError as e:
            if e.status == 404:
                return None
            raise
        return to_view(data)

    def list_rollbacks(self, *, in_flight_only: bool = False) -> list[WorkflowView]:
        """The rollback workflows the bot made in the namespace, oldest first (all, or unfinished only)."""
        selector = f"{MANAGED_BY_LABEL}={MANAGED_BY}"
        if in_flight_only:  # Argo's own label; absent on a Pending workflow, so `!=` keeps those
            selector += f",{COMPLETED_LABEL}!=true"
        data = self._call(
            "list",
            lambda: self._api.list_workflows(
                self.namespace, list_options_label_selector=selector, **self._opts()
            ),
        )
        views = [to_view(item) for item in data.get("items") or []]
        return sorted(views, key=lambda v: (v.created, v.name))

    # -- the approve node ----------------------------------------------------------------------

    def approve(self, name: str, who: str) -> None:
        """Record the approver on `approve`, then resume that node only (/approve, /unhold)."""
        self._set_output(name, "approvedBy", who)
        self.resume(name)

    def hold(self, name: str, who: str) -> None:
        """Mark `approve` held: the deadline no longer resumes it (set once; a second hold is a no-op)."""
        self._set_output(name, "heldBy", who)

    def resume(self, name: str) -> None:
        """Resume the `approve` node (never the whole workflow)."""
        body = ResumeRequest(name=name, namespace=self.namespace, node_field_selector=_SELECTOR)
        self._call("resume", lambda: self._api.resume_workflow(self.namespace, name, body, **self._opts()))

    def veto(self, name: str, who: str, reason: str = "") -> None:
        """Stop at `approve` with a message: the node and so the workflow fail; apply never runs."""
        message = f"vetoed by {who}" + (f": {reason}" if reason else "")
        body = StopRequest(
            name=name, namespace=self.namespace, node_field_selector=_SELECTOR, message=message
        )
        try:
            self._call("stop", lambda: self._api.stop_workflow(self.namespace, name, body, **self._opts()))
        except NodeNotSuspendedError:
            view = self.get(name)
            if view is None or not view.in_flight or view.approve is not None:
                raise  # approve already passed (apply may be running) or the workflow ended: too late
            # Still planning: stop the whole workflow (Argo drops the message without a selector;
            # the caller records the veto itself).
            whole = StopRequest(name=name, namespace=self.namespace)
            self._call("stop", lambda: self._api.stop_workflow(self.namespace, name, whole, **self._opts()))

    def resume_due(self, now: datetime) -> list[str]:
        """Resume every rollback whose veto deadline has passed and is not held; return their names.

        Any replica may run this: the state is in the workflows, and a node another replica resumed
        first answers NodeNotSuspendedError, which is skipped."""
        resumed = []
        for view in self.list_rollbacks(in_flight_only=True):
            if not approval_due(view, now):
                continue
            try:
                # Supplied explicitly: Argo resumes a node by selector without applying defaults.
                self.approve(view.name, VETO_WINDOW_EXPIRED)
            except NodeNotSuspendedError:
                continue
            resumed.append(view.name)
        return resumed

    def _set_output(self, name: str, key: str, value: str) -> None:
        body = SetRequest(
            name=name,
            namespace=self.namespace,
            node_field_selector=_SELECTOR,
            output_parameters=json.dumps({key: value}),
        )
        try:
            self._call("set", lambda: self._api.set_workflow(self.namespace, name, body, **self._opts()))
        except ArgoWorkflowsError as e:
            if _ALREADY_SET not in str(e):  # the first approver / holder wins, as Argo records it
                raise

    # -- plumbing ------------------------------------------------------------------------------

    def _opts(self) -> dict[str, Any]:
        return {"_preload_content": False, "_request_timeout": self.timeout_s}

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        """One SDK call: raw JSON back; 5xx and lost connections retried with bounded back-off."""
        for attempt in range(1, self.attempts + 1):
            try:
                response = fn()
                return json.loads(response.data or b"{}")
            except ApiException as e:
                error = error_from(what, int(e.status or 0), e.body, str(e.reason))
                cause: Exception = e
            except (ApiTypeError, ApiValueError) as e:  # our request did not fit the SDK's models
                raise ArgoWorkflowsError(f"Argo Workflows {what}: bad request: {e}") from e
            except (urllib3.exceptions.HTTPError, ValueError) as e:
                error, cause = ArgoWorkflowsError(f"Argo Workflows {what}: no usable answer: {e}"), e
            retryable = error.status == 0 or (
                error.status >= 500 and not isinstance(error, NodeNotSuspendedError)
            )
            if not retryable or attempt == self.attempts:
                raise error from cause
            delay = min(self.backoff_s * 2 ** (attempt - 1), 5.0)
            log.warning("%s; retrying in %.2fs (try %d of %d)", error, delay, attempt, self.attempts)
            self._sleep(delay)
        raise AssertionError("unreachable")
