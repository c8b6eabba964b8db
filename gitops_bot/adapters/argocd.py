"""Argo CD REST API: refresh an Application, sync it to a revision, read its status.

Plain `requests` against the API server's documented REST gateway (the swagger in
tests/contracts/argocd/); no maintained Python client earns its place for three calls. Every call has
a timeout; `refresh` gets its own, longer one because Argo CD answers a refresh only once the
controller has reconciled. TLS is verified unless turned off explicitly; `ca_bundle` names a CA file.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests

from gitops_bot.core.cluster import ArgoAppStatus

__all__ = ["ArgoAppStatus", "ArgoCD", "ArgoCDConfig", "ArgoCDError", "ArgoErrorKind", "parse_application"]


class ArgoErrorKind(enum.Enum):
    """Why a call failed, so the caller can tell 'fix the config' from 'try again'."""

    AUTH = "auth"  # 401: missing, wrong or expired token
    FORBIDDEN = "forbidden"  # 403: no RBAC grant, no such Application (Argo CD hides which), sync window
    NOT_FOUND = "not-found"
    REFUSED = "refused"  # 400: e.g. sync blocked, auto-sync set to another revision
    SERVER = "server"  # 5xx
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    PROTOCOL = "protocol"  # an answer that is not the Application document Argo CD describes


class ArgoCDError(Exception):
    """A failed Argo CD call: kind, HTTP status when there was one, and Argo CD's own message."""

    def __init__(self, kind: ArgoErrorKind, message: str, status: int | None = None) -> None:
        super().__init__(f"Argo CD {kind.value}: {message}")
        self.kind = kind
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ArgoCDConfig:
    """Where the API server is and how to talk to it."""

    url: str
    token: str
    ca_bundle: str | None = None
    verify_tls: bool = True
    timeout_s: float = 10.0
    refresh_timeout_s: float = 60.0

    @classmethod
    def from_env(cls, url: str, token_env: str, **kwargs: Any) -> ArgoCDConfig:
        """Read the token from the environment variable the policy names."""
        token = os.environ.get(token_env, "")
        if not token:
            raise ArgoCDError(ArgoErrorKind.AUTH, f"environment variable {token_env} holds no Argo CD token")
        return cls(url=url, token=token, **kwargs)


def _time(value: Any) -> datetime | None:
    """v1.Time (RFC 3339) or None."""
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def parse_application(doc: Any, can_sync: bool | None = None) -> ArgoAppStatus:
    """The status fields of an Application document; ArgoCDError(PROTOCOL) when it is not one."""
    try:
        spec, status = doc["spec"], doc.get("status", {})
        if "source" not in spec:
            raise ArgoCDError(ArgoErrorKind.PROTOCOL, "multi-source Applications are not supported yet")
        op = status.get("operationState") or {}
        op_revision = (op.get("syncResult") or {}).get("revision") or (
            ((op.get("operation") or {}).get("sync") or {}).get("revision")
        )
        automated = (spec.get("syncPolicy") or {}).get("automated")
        return ArgoAppStatus(
            name=doc["metadata"]["name"],
            target_revision=spec["source"].get("targetRevision", "HEAD"),
            automated=automated is not None and automated.get("enabled", True) is not False,
            sync_status=status.get("sync", {}).get("status"),
            sync_revision=status.get("sync", {}).get("revision"),
            health_status=status.get("health", {}).get("status"),
            health_message=status.get("health", {}).get("message", ""),
            health_changed_at=_time(status.get("health", {}).get("lastTransitionTime")),
            operation_phase=op.get("phase"),
            operation_message=op.get("message", ""),
            operation_revision=op_revision,
            operation_started_at=_time(op.get("startedAt")),
            operation_finished_at=_time(op.get("finishedAt")),
            can_sync=can_sync,
        )
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        raise ArgoCDError(ArgoErrorKind.PROTOCOL, f"not an Application document: {e!r}") from e


class ArgoCD:
    """The three Application calls the bot makes."""

    def __init__(self, config: ArgoCDConfig, session: requests.Session | None = None) -> None:
        self.config = config
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {config.token}"
        self.session.verify = config.ca_bundle or config.verify_tls

    def _url(self, app: str, suffix: str = "") -> str:
        return f"{self.config.url.rstrip('/')}/api/v1/applications/{quote(app, safe='')}{suffix}"

    def _call(self, method: str, url: str, timeout: float, **kwargs: Any) -> Any:
        """One request with a deadline; every failure becomes an ArgoCDError from the cause."""
        try:
            resp = self.session.request(method, url, timeout=timeout, **kwargs)
        except requests.Timeout as e:
            raise ArgoCDError(ArgoErrorKind.TIMEOUT, f"{method} {url} took over {timeout}s") from e
        except requests.RequestException as e:
            raise ArgoCDError(ArgoErrorKind.UNREACHABLE, f"{method} {url}: {e}") from e
        try:
            body = resp.json()
        except ValueError as e:
            raise ArgoCDError(
                ArgoErrorKind.PROTOCOL, f"{method} {url}: non-JSON answer", resp.status_code
            ) from e
        if resp.status_code >= 400:
            message = body.get("message") or body.get("error") if isinstance(body, dict) else str(body)
            raise ArgoCDError(_kind(resp.status_code), f"{method} {url}: {message}", resp.status_code)
        return body

    def status(self, app: str, *, with_windows: bool = True) -> ArgoAppStatus:
        """Read the Application as it is now (no refresh)."""
        doc = self._call("GET", self._url(app), self.config.timeout_s)
        return parse_application(doc, self.can_sync(app) if with_windows else None)

    def refresh(self, app: str, *, hard: bool = False, with_windows: bool = True) -> ArgoAppStatus:
        """Make Argo CD compare with git now (blocks until reconciled), then read the status."""
        params = {"refresh": "hard" if hard else "normal"}
        doc = self._call("GET", self._url(app), self.config.refresh_timeout_s, params=params)
        return parse_application(doc, self.can_sync(app) if with_windows else None)

    def sync(self, app: str, revision: str) -> None:
        """Start a sync to `revision` (for Applications without automated sync)."""
        self._call(
            "POST", self._url(app, "/sync"), self.config.timeout_s, json={"name": app, "revision": revision}
        )

    def can_sync(self, app: str) -> bool:
        """Whether the project's sync windows allow a sync now."""
        body = self._call("GET", self._url(app, "/syncwindows"), self.config.timeout_s)
        return bool(body.get("canSync", True)) if isinstance(body, dict) else True


def _kind(status: int) -> ArgoErrorKind:
    """HTTP status -> error kind."""
    if status == 401:
        return ArgoErrorKind.AUTH
    if status == 403:
        return ArgoErrorKind.FORBIDDEN
    if status == 404:
        return ArgoErrorKind.NOT_FOUND
    return ArgoErrorKind.SERVER if status >= 500 else ArgoErrorKind.REFUSED
