"""Rollbacks as Argo Workflows: deterministic names, and the decisions around submit and approve.

Naming: one workflow per (agent, version, policy) and alert episode, so Alertmanager's repeats and two
bot replicas submit the same name and the cluster's AlreadyExists keeps it to one. The name is
`rollback-<agent slug>-<10 hex of sha256(agent, version, policy)>`, the slug cut so the name stays
within Kubernetes' 63 characters even with a `-N` suffix (agent names can be long; the hash keeps
two agents that share a long prefix apart).

On AlreadyExists (see `after_conflict`):
- the existing workflow is Pending/Running: the rollback is in flight; the submit is acknowledged;
- it finished (Succeeded, Failed, Error) and the alert started before that workflow was created: this
  is a repeat of the alert it answered (Alertmanager re-sends until resolved); acknowledged, nothing new;
- it finished and the alert started after it was created: a new episode (the version came back and
  misbehaves again): submit the next name, `<base>-2`, `-3`, ... (deterministic, so replicas agree).
  A vetoed rollback is a Failed workflow; a new episode gets a new workflow whose `plan` step decides
  again (GitHub mode refuses a vetoed culprit from its `gitops-bot/vetoed/...` tag).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from gitops_bot.core.route import Routed

MAX_NAME = 63
MAX_SUFFIX_ATTEMPTS = 9  # "-9" at most: bounded resubmits for one (agent, version, policy)
_PREFIX = "rollback-"
_HASH_LEN = 10
APPROVE_NODE = "approve"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "gitops-bot"
KEY_LABEL = "gitops-bot/rollback-key"
COMPLETED_LABEL = "workflows.argoproj.io/completed"  # set by Argo's controller
IN_FLIGHT = frozenset({"", "Pending", "Running"})


@dataclass(frozen=True)
class RollbackRequest:
    """What the bot submits for one routed alert."""

    agent: str
    version: str | None
    policy: str
    alertname: str
    fingerprint: str
    starts_at: datetime
    deadline: datetime | None  # end of the veto window; None = wait for an approval
    labels: Mapping[str, str] = field(default_factory=dict)  # the policy's template labels (env=prod)

    def parameters(self) -> dict[str, str]:
        """The WorkflowTemplate's arguments (names as in manifests/argo/workflowtemplate.yaml)."""
        return {
            "agent": self.agent,
            "version": self.version or "",
            "fingerprint": self.fingerprint,
            "alertname": self.alertname,
            "policy": self.policy,
            "startsAt": self.starts_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "deadline": format_deadline(self.deadline),
            "labels": join_labels(self.labels),
        }


def request_for(routed: Routed, now: datetime) -> RollbackRequest:
    """The submission for a routed alert; the policy's mode sets the deadline of `approve`:
    veto-window -> now + vetoWindow; approval -> none (only /approve resumes); auto -> now (the next
    deadline pass resumes it)."""
    action = routed.policy.action
    deadline = {"veto-window": now + action.veto_window, "approval": None}.get(action.mode, now)
    return RollbackRequest(
        agent=routed.agent,
        version=routed.version,
        policy=routed.policy.name,
        alertname=routed.alert.name,
        fingerprint=routed.alert.fingerprint,
        starts_at=routed.alert.starts_at,
        deadline=deadline,
        labels=dict(routed.labels),
    )


@dataclass(frozen=True)
class Submitted:
    """The workflow that carries a rollback; created=False when it already existed (a repeat)."""

    name: str
    created: bool


@dataclass(frozen=True)
class ApproveNode:
    """The `approve` suspend node as the workflow records it."""

    phase: str
    held_by: str  # "" = not held
    approved_by: str  # "" = not supplied yet


@dataclass(frozen=True)
class WorkflowView:
    """What the bot needs to know about one rollback workflow."""

    name: str
    phase: str  # "" while Pending (the controller has not started it)
    created: datetime
    parameters: Mapping[str, str]
    approve: ApproveNode | None
    message: str = ""

    @property
    def in_flight(self) -> bool:
        """Pending or Running."""
        return self.phase in IN_FLIGHT

    @property
    def deadline(self) -> datetime | None:
        """The veto window's end, from the workflow's own parameters (durable across bot restarts)."""
        return parse_deadline(self.parameters.get("deadline", ""))


def _slug(agent: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", agent.lower())).strip("-")


def join_labels(labels: Mapping[str, str]) -> str:
    """`k=v,k2=v2`, sorted: one workflow parameter (label values are plain names, without commas)."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def workflow_base_name(
    agent: str, version: str | None, policy: str, labels: Mapping[str, str] | None = None
) -> str:
    """`rollback-<slug>-<hash>`: a valid DNS-1123 label, leaving room for a `-N` suffix. The template
    labels are hashed too: env=prod and env=staging of one agent are two rollbacks."""
    key = f"{agent}\n{version or ''}\n{policy}\n{join_labels(labels or {})}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:_HASH_LEN]
    room = MAX_NAME - len(_PREFIX) - 1 - _HASH_LEN - len(f"-{MAX_SUFFIX_ATTEMPTS}")
    slug = _slug(agent)[:room].strip("-")
    return f"{_PREFIX}{slug}-{digest}" if slug else f"{_PREFIX}{digest}"


def workflow_name(base: str, attempt: int) -> str:
    """The name for the attempt-th episode: the base first, then `-2`, `-3`, ..."""
    if not 1 <= attempt <= MAX_SUFFIX_ATTEMPTS:
        raise ValueError(f"attempt {attempt} outside 1..{MAX_SUFFIX_ATTEMPTS}")
    return base if attempt == 1 else f"{base}-{attempt}"


def rollback_key(request: RollbackRequest) -> str:
    """The label value shared by every episode's workflow (label values are limited to 63 characters)."""
    return request_base_name(request).rsplit("-", 1)[-1]


def request_base_name(request: RollbackRequest) -> str:
    """The base workflow name of a submission."""
    return workflow_base_name(request.agent, request.version, request.policy, request.labels)


def after_conflict(existing: WorkflowView, alert_started: datetime) -> Literal["same", "next"]:
    """A workflow of this name exists: is it this alert's rollback ("same") or a past episode's?"""
    if existing.in_flight or alert_started <= existing.created:
        return "same"
    return "next"


def approval_due(view: WorkflowView, now: datetime) -> bool:
    """Resume `approve` for the deadline: it waits, is not held, and the window has passed."""
    node = view.approve
    deadline = view.deadline
    if node is None or node.phase != "Running" or node.held_by or deadline is None:
        return False
    return view.phase == "Running" and now >= deadline


def format_deadline(deadline: datetime | None) -> str:
    """RFC 3339 in UTC, whole seconds rounded up (never early), or "" for none."""
    if deadline is None:
        return ""
    deadline = deadline.astimezone(UTC)
    if deadline.microsecond:
        deadline = deadline.replace(microsecond=0) + timedelta(seconds=1)
    return deadline.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_deadline(text: str) -> datetime | None:
    """The `deadline` parameter back; "" means none. A malformed value is refused loudly."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as e:
        raise ValueError(f"deadline parameter {text!r} is not RFC 3339") from e
    if parsed.tzinfo is None:
        raise ValueError(f"deadline parameter {text!r} has no time zone")
    return parsed
