"""Small helpers the Argo Workflows tests share: the adapter on the stand-in, requests, git trailers."""

from datetime import UTC, datetime, timedelta
from typing import Any

from gitops_bot.adapters.argo_workflows import ArgoWorkflows
from gitops_bot.core.workflow import RollbackRequest
from gitops_bot_lab.fakes.argo_workflows import FakeArgoWorkflows
from tests.argo.conftest import NAMESPACE, TOKEN
from tests.gitfix import Remote, git


def adapter(argo: FakeArgoWorkflows, **kw: Any) -> ArgoWorkflows:
    """The bot's adapter pointed at the stand-in (no real sleeping between retries)."""
    kw.setdefault("sleep", lambda _s: None)
    return ArgoWorkflows(argo.url, NAMESPACE, TOKEN, **kw)


def request(
    agent: str = "billing-agent",
    version: str | None = "2026.06.0",
    *,
    started: datetime | None = None,
    deadline: datetime | None = None,
    labels: dict[str, str] | None = None,
) -> RollbackRequest:
    """What the bot submits for one routed alert."""
    return RollbackRequest(
        agent=agent,
        version=version,
        policy="agents",
        alertname="AgentPolicyViolations",
        fingerprint="3ecc831ed00f1c68",
        starts_at=started or datetime.now(UTC) - timedelta(minutes=1),
        deadline=deadline,
        labels=labels or {},
    )


def trailers(remote: Remote, rev: str = "main") -> dict[str, str]:
    """The trailers of a commit on the remote."""
    text = git(remote.bare, "log", "-1", "--format=%(trailers:only,unfold)", rev)
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def node(workflow: dict[str, Any], display_name: str) -> dict[str, Any] | None:
    """A node of a workflow's status by displayName."""
    for item in (workflow["status"].get("nodes") or {}).values():
        if item["displayName"] == display_name:
            return dict(item)
    return None


def waiting_at_approve(workflow: dict[str, Any]) -> bool:
    """The approve suspend node is waiting."""
    found = node(workflow, "approve")
    return found is not None and found["phase"] == "Running"


def finished(workflow: dict[str, Any]) -> bool:
    """The workflow has ended."""
    return workflow["status"].get("finishedAt") is not None
