"""Argo CD API server STAND-IN on 127.0.0.1, checked against Argo CD's own swagger.json.

Serves the Application endpoints the bot uses (get with `refresh`, sync, syncwindows) over a real
bare repo (see argocd_model.ArgoController). Every request and every response is validated against
tests/contracts/argocd/swagger.json.gz; a violation is recorded in `contract_errors` and answered with
a 500 so the client fails loudly. Errors have Argo CD's gRPC-gateway shape `{error, code, message}`.

Where the real server differs from its description (documented, not papered over):
- `applicationApplicationSyncRequest.sourcePositions` is `string/int64` in the swagger (the proto3
  JSON mapping), but Argo CD's gateway marshals with Kubernetes' encoding/json and expects numbers;
  the override below accepts both. The bot never sends it.
- `v1FieldsV1` (metadata.managedFields[].fieldsV1) and `runtimeRawExtension` are described as
  `{Raw: <base64 string>}` (the Go struct), but both have custom JSON marshallers: the server sends the
  raw JSON value itself (`{"f:metadata": {...}}`). Overridden to "any object" / "any value".
- An Application the caller may not see *or that does not exist* answers 403 "permission denied"
  (Argo CD hides existence); the stand-in does the same, so 404 comes only from `fail_next`.

Usage::

    with FakeArgoCD(bare_repo_path, token="s3cret") as argo:
        argo.add_app("agents-support", repo_url="file:///...", path="apps/support")
        ...
        assert argo.contract_errors == []
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from gitops_bot_lab.fakes.argocd_model import ArgoController, FakeApp, SyncRefused
from gitops_bot_lab.fakes.loopback import BareGit, LoopbackServer, ServedOnLoopback
from gitops_bot_lab.fakes.swagger import NO_BODY, ContractError, SwaggerContract

NAMESPACE = "argocd"
_GRPC_HTTP = {3: 400, 5: 404, 7: 403, 9: 400, 12: 501, 13: 500, 14: 503, 16: 401}
_OVERRIDES = {
    "#/definitions/applicationApplicationSyncRequest/properties/sourcePositions/items": {
        "type": ["integer", "string"]
    },
    "#/definitions/v1FieldsV1": {"type": "object"},
    "#/definitions/runtimeRawExtension": {},
}


def default_contract_path() -> Path:
    """tests/contracts/argocd/swagger.json.gz of this checkout."""
    return Path(__file__).resolve().parents[3] / "tests" / "contracts" / "argocd" / "swagger.json.gz"


@dataclass
class Fault:
    """A scripted answer for the next matching request(s)."""

    method: str
    pattern: re.Pattern[str]
    status: int
    times: int


@dataclass
class Exchange:
    """One request the stand-in answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int


@dataclass
class _State:
    faults: list[Fault] = field(default_factory=list)
    log: list[Exchange] = field(default_factory=list)
    contract_errors: list[str] = field(default_factory=list)


def _error(grpc_code: int, message: str) -> tuple[int, dict[str, Any]]:
    """Argo CD's runtimeError body and the HTTP status grpc-gateway maps the code to."""
    return _GRPC_HTTP.get(grpc_code, 500), {"error": message, "code": grpc_code, "message": message}


class FakeArgoCD(ServedOnLoopback):
    """The stand-in. Test controls: add_app(), app(), fail_next(), refresh_delay_s, log, contract_errors."""

    def __init__(self, bare_repo: Path, token: str, contract: SwaggerContract | None = None) -> None:
        self.controller = ArgoController(BareGit(bare_repo))
        self.token = token
        self.contract = contract or SwaggerContract.load(default_contract_path(), overrides=_OVERRIDES)
        self.refresh_delay_s = 0.0  # a refresh that blocks this long (the real one waits for the controller)
        self._state = _State()
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._wsgi)

    # -- lifecycle and test controls -------------------------------------------------------------

    @property
    def contract_errors(self) -> list[str]:
        """Every contract violation seen (requests and responses)."""
        return list(self._state.contract_errors)

    @property
    def log(self) -> list[Exchange]:
        """Every exchange answered, oldest first."""
        return list(self._state.log)

    def add_app(self, name: str, **kwargs: Any) -> FakeApp:
        """Register an Application, already deployed at its target (as after its first sync)."""
        app = FakeApp(name=name, **kwargs)
        with self._lock:
            app.synced_sha = app.compared_sha = self.controller.git.commit(app.target_revision or "HEAD")
            self.controller.apps[name] = app
        return app

    def app(self, name: str) -> FakeApp:
        """The live model of one Application (tests flip its failure modes)."""
        return self.controller.apps[name]

    def tick(self) -> None:
        """One controller pass over every Application (the 3-minute poll, on demand)."""
        with self._lock:
            for app in self.controller.apps.values():
                self.controller.reconcile(app)

    def fail_next(self, method: str, path_regex: str, status: int, times: int = 1) -> None:
        """Answer the next `times` matching requests with `status` and Argo CD's error body."""
        self._state.faults.append(Fault(method.upper(), re.compile(path_regex), status, times))

    # -- HTTP --------------------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        status, body = self._handle(request)
        if not self._check_response(request, status, body):
            status, body = _error(13, "stand-in: response violates Argo CD's API description")
        return Response(json.dumps(body), status=status, mimetype="application/json")(environ, start_response)

    def _handle(self, request: Request) -> tuple[int, Any]:
        query = {k: request.args.getlist(k) for k in request.args}
        raw = request.get_data()
        try:
            body: Any = json.loads(raw) if raw else NO_BODY
        except ValueError:
            return _error(3, "invalid character in request body")
        status, out = self._answer(request, query, body)
        self._state.log.append(Exchange(request.method, request.path, query, body, status))
        return status, out

    def _answer(self, request: Request, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        try:
            match = self.contract.validate_request(request.method, request.path, query, body)
        except ContractError as e:
            self._state.contract_errors.append(str(e))
            return _error(13, f"stand-in: request violates Argo CD's API description: {e.summary}")
        if not self._authorized(request):
            return _error(16, "invalid session: token signature is invalid")
        fault = self._take_fault(request.method, request.path)
        if fault is not None:
            return _error(
                {404: 5, 500: 13, 503: 14}.get(fault.status, 13), f"scripted failure {fault.status}"
            )
        name = match.path_params.get("name", "")
        with self._lock:
            app = self.controller.apps.get(name)
            if app is None:
                return _error(7, "permission denied")
            return self._dispatch(match.operation.operation_id, app, query, body)

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), self.token.encode())

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self._state.faults:
            if fault.times > 0 and fault.method == method and fault.pattern.search(path):
                fault.times -= 1
                return fault
        return None

    def _dispatch(self, op_id: str, app: FakeApp, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        ctl = self.controller
        if op_id == "ApplicationService_Get":
            refresh = (query.get("refresh") or [""])[0]
            if refresh not in ("", "normal", "hard"):
                return _error(3, f"invalid refresh type {refresh!r}")
            if refresh:
                time.sleep(self.refresh_delay_s)
                ctl.reconcile(app)
            elif not app.controller_stuck:  # the controller works in the background between calls
                ctl.run_operation(app)
                ctl.assess_health(app)
            return 200, ctl.document(app, NAMESPACE)
        if op_id == "ApplicationService_Sync":
            try:
                ctl.request_sync(app, body.get("revision", ""))
            except SyncRefused as e:
                return _error(e.grpc_code, e.message)
            return 200, ctl.document(app, NAMESPACE)
        if op_id == "ApplicationService_GetApplicationSyncWindows":
            return 200, self._windows(app)
        return _error(12, f"stand-in does not implement {op_id}")

    @staticmethod
    def _windows(app: FakeApp) -> dict[str, Any]:
        if not app.sync_window_denies:
            return {"canSync": True}
        window = {"kind": "deny", "schedule": "* * * * *", "duration": "1h", "manualSync": False}
        return {"assignedWindows": [window], "activeWindows": [window], "canSync": False}

    def _check_response(self, request: Request, status: int, body: Any) -> bool:
        try:
            self.contract.validate_response(request.method, request.path, status, body)
        except ContractError as e:
            self._state.contract_errors.append(str(e))
            return False
        return True
