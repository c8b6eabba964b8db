"""Argo Workflows server STAND-IN on 127.0.0.1, checked against Argo's own swagger.json, that EXECUTES
the workflows it is given (see argo_exec / argo_pods; the template subset is in argo_subset).

Endpoints: create/get WorkflowTemplate; create a workflow from `spec.workflowTemplateRef` (POST
/api/v1/workflows/{ns}) or `/submit`; get; list (`listOptions.labelSelector`, equality terms); PUT
resume / stop / set (with `nodeFieldSelector`, Argo's updateSuspendedNode semantics). Every request and
response is validated against tests/contracts/argo-workflows/swagger.json.gz: a violation is recorded in
`contract_errors` and answered 500. Other endpoints answer 501; unsupported fields, options and template
features answer 400 naming them. Errors have the gRPC-gateway shape `{error, code, message}`; Argo's own
codes: 409 AlreadyExists, 404 NotFound, 400 InvalidArgument, 401 Unauthenticated, and 500 for what
updateSuspendedNode refuses ("currently, set only targets suspend nodes ...").

Documented difference from the description: `metav1.Time` may be `null`. Go's zero `metav1.Time`
marshals to `null`, so a workflow the controller has not started is served with `startedAt: null,
finishedAt: null`, as the real server does (the case the Python SDK's models reject).
"""

from __future__ import annotations

import hmac
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from gitops_bot_lab.fakes.argo_api import Store
from gitops_bot_lab.fakes.argo_pods import Cluster
from gitops_bot_lab.fakes.argo_requests import ApiError, error_body
from gitops_bot_lab.fakes.loopback import LoopbackServer
from gitops_bot_lab.fakes.swagger import NO_BODY, ContractError, SwaggerContract

NULLABLE_TIME = {
    "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Time": {
        "type": ["string", "null"],
        "format": "date-time",
    }
}


def default_contract_path() -> Path:
    """tests/contracts/argo-workflows/swagger.json.gz of this checkout."""
    return Path(__file__).resolve().parents[3] / "tests" / "contracts" / "argo-workflows" / "swagger.json.gz"


@dataclass
class Fault:
    """A scripted answer for the next matching request(s)."""

    status: int
    method: str
    pattern: re.Pattern[str]
    times: int


@dataclass
class Exchange:
    """One request the stand-in answered."""

    status: int
    method: str
    path: str
    body: Any


@dataclass
class _Log:
    faults: list[Fault] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    contract_errors: list[str] = field(default_factory=list)


class FakeArgoWorkflows:
    """The stand-in. Test controls: fail_next(), start_delay_s, log, contract_errors, store."""

    def __init__(self, cluster: Cluster, token: str, contract: SwaggerContract | None = None) -> None:
        self.token = token
        self.contract = contract or SwaggerContract.load(default_contract_path(), overrides=NULLABLE_TIME)
        self.store = Store(cluster)
        self._log = _Log()
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._wsgi)

    def __enter__(self) -> FakeArgoWorkflows:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
        self.store.close()

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return self._server.url

    @property
    def start_delay_s(self) -> float:
        """How long a new workflow stays Pending (the controller's pick-up latency)."""
        return self.store.start_delay_s

    @start_delay_s.setter
    def start_delay_s(self, value: float) -> None:
        self.store.start_delay_s = value

    @property
    def contract_errors(self) -> list[str]:
        """Every contract violation seen (requests and responses)."""
        with self._lock:
            return list(self._log.contract_errors)

    @property
    def log(self) -> list[Exchange]:
        """Every exchange answered, oldest first."""
        with self._lock:
            return list(self._log.exchanges)

    def fail_next(self, method: str, path_regex: str, status: int, times: int = 1) -> None:
        """Answer the next `times` matching requests with `status` (and the gateway's error body)."""
        with self._lock:
            self._log.faults.append(Fault(status, method.upper(), re.compile(path_regex), times))

    def wait_for(self, namespace: str, name: str, predicate: Any, timeout_s: float = 60.0) -> dict[str, Any]:
        """Poll the stored workflow until predicate(workflow_json) holds (bounded)."""
        deadline = time.monotonic() + timeout_s
        for _ in itertools.count():
            data = self.store.workflow_json(namespace, name)
            if predicate(data):
                return data
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"workflow {name} did not reach the state in {timeout_s}s: {data['status']}"
                )
            time.sleep(0.05)
        raise AssertionError("unreachable")

    # -- HTTP ----------------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        status, body = self._answer(request)
        response = Response(json.dumps(body), status=status, content_type="application/json")
        return response(environ, start_response)

    def _answer(self, request: Request) -> tuple[int, Any]:
        method, path = request.method, request.path
        body: Any = NO_BODY
        if request.get_data():
            try:
                body = json.loads(request.get_data())
            except ValueError:
                return self._reply(method, path, body, *error_body(3, "request body is not JSON"))
        if not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {self.token}"):
            return self._reply(method, path, body, *error_body(16, "token not valid"))
        fault = self._take_fault(method, path)
        if fault is not None:
            code = {500: 13, 502: 14, 503: 14, 504: 4, 409: 10}.get(fault, 2)
            return self._reply(method, path, body, fault, error_body(code, "injected fault")[1])
        try:
            match = self.contract.validate_request(method, path, request.args.to_dict(flat=False), body)
        except ContractError as e:
            return self._violation(method, path, body, str(e))
        try:
            status, answer = self.store.handle(
                match.operation.operation_id, match.path_params, request.args, body
            )
        except ApiError as e:
            status, answer = error_body(e.code, e.message)
        return self._reply(method, path, body, status, answer)

    def _take_fault(self, method: str, path: str) -> int | None:
        with self._lock:
            for fault in self._log.faults:
                if fault.times > 0 and fault.method == method and fault.pattern.search(path):
                    fault.times -= 1
                    return fault.status
        return None

    def _reply(self, method: str, path: str, request_body: Any, status: int, answer: Any) -> tuple[int, Any]:
        try:
            self.contract.validate_response(method, path, status, answer)
        except ContractError as e:
            if "no such path" not in str(e) and "method not allowed" not in str(e):
                return self._violation(method, path, request_body, str(e))
        with self._lock:
            self._log.exchanges.append(Exchange(status, method, path, request_body))
        return status, answer

    def _violation(self, method: str, path: str, body: Any, message: str) -> tuple[int, Any]:
        with self._lock:
            self._log.contract_errors.append(message)
            self._log.exchanges.append(Exchange(500, method, path, body))
        return 500, {"error": message, "code": 13, "message": message}
