"""Workflow nodes as Argo's controller records them (`status.nodes`), and `nodeFieldSelector` matching."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gitops_bot_lab.fakes.argo_subset import Unsupported

# Argo's node types and phases (closed sets; the stand-in makes no others).
STEPS, STEP_GROUP, POD, SUSPEND, SKIPPED = "Steps", "StepGroup", "Pod", "Suspend", "Skipped"
PENDING, RUNNING, SUCCEEDED, FAILED = "Pending", "Running", "Succeeded", "Failed"
_SELECTOR_FIELDS = {"displayName", "templateName", "name", "id", "phase"}
_TERM = re.compile(r"([A-Za-z.]+)\s*(==|=|!=)\s*(.*)")


class NodeError(Exception):
    """What Argo's updateSuspendedNode returns as an error (the server answers 500)."""


def now_rfc3339() -> str:
    """metav1.Time's wire format: seconds, UTC, `Z`."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(workflow: str, node_name: str) -> str:
    """Argo's node id: the workflow name and an FNV-1a 32-bit hash of the node name."""
    if node_name == workflow:
        return workflow
    h = 0x811C9DC5
    for byte in node_name.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{workflow}-{h}"


@dataclass
class Node:
    """One entry of status.nodes; mutated only under the run's lock."""

    workflow: str
    name: str
    display_name: str
    type: str
    template_name: str | None = None
    phase: str = RUNNING
    message: str = ""
    children: list[str] = field(default_factory=list)
    started_at: str = field(default_factory=now_rfc3339)
    finished_at: str | None = None
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    exit_code: str | None = None

    @property
    def id(self) -> str:
        """Deterministic, as Argo's."""
        return node_id(self.workflow, self.name)

    @property
    def active_suspend(self) -> bool:
        """What resume/set/stop with a nodeFieldSelector may act on."""
        return self.type == SUSPEND and self.phase == RUNNING

    def finish(self, phase: str, message: str = "") -> None:
        """Record the end (idempotent for the first end)."""
        if self.finished_at is None:
            self.phase, self.finished_at = phase, now_rfc3339()
            self.message = message or self.message

    def supply(self, key: str, value: str) -> None:
        """`set` outputParameters: only a declared, still-unset `valueFrom.supplied` parameter."""
        for param in self.outputs:
            if param["name"] == key:
                if "supplied" not in param.get("valueFrom", {}):
                    raise NodeError(
                        f"cannot set output parameter '{key}' because it does not use valueFrom.raw"
                        " or it was already set"
                    )
                param.pop("valueFrom")
                param["value"] = value
                return
        raise NodeError(f"node is not expecting output parameter '{key}'")

    def unsupplied_without_default(self) -> str:
        """The first output still waiting to be supplied that has no default ("" when none)."""
        for param in self.outputs:
            source = param.get("valueFrom", {})
            if "supplied" in source and "default" not in source:
                return str(param["name"])
        return ""

    def apply_defaults(self) -> None:
        """Unsupplied outputs take their `default` (Argo does so on resume-all and on a timeout)."""
        for param in self.outputs:
            source = param.get("valueFrom", {})
            if "supplied" in source and "default" in source:
                param.pop("valueFrom")
                param["value"] = source["default"]

    def output(self, name: str) -> str | None:
        """A resolved output parameter's value."""
        for param in self.outputs:
            if param["name"] == name and "value" in param:
                return str(param["value"])
        return None

    def to_json(self) -> dict[str, Any]:
        """The NodeStatus shape."""
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "displayName": self.display_name,
            "type": self.type,
            "phase": self.phase,
            "boundaryID": self.workflow if self.name != self.workflow else None,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "templateName": self.template_name,
            "templateScope": f"local/{self.workflow}",
            "children": [node_id(self.workflow, c) for c in self.children] or None,
            "message": self.message or None,
        }
        if self.inputs:
            data["inputs"] = {"parameters": self.inputs}
        if self.outputs or self.exit_code is not None:
            data["outputs"] = {"parameters": self.outputs or None, "exitCode": self.exit_code}
            data["outputs"] = {k: v for k, v in data["outputs"].items() if v is not None}
        return {k: v for k, v in data.items() if v is not None or k == "finishedAt"}


@dataclass(frozen=True)
class Selector:
    """A parsed Kubernetes field selector over node fields (AND of terms)."""

    terms: tuple[tuple[str, bool, str], ...]  # (field, equal?, value)

    @classmethod
    def parse(cls, text: str) -> Selector:
        """`displayName=approve,phase!=Failed`; fields beyond Argo's common ones are refused."""
        terms = []
        for raw in text.split(","):
            match = _TERM.fullmatch(raw.strip())
            if match is None or match.group(1) not in _SELECTOR_FIELDS:
                raise Unsupported(
                    f"nodeFieldSelector term {raw!r}: the stand-in supports {sorted(_SELECTOR_FIELDS)}"
                    " with =, == or !="
                )
            terms.append((match.group(1), match.group(2) != "!=", match.group(3).strip()))
        return cls(tuple(terms))

    def __str__(self) -> str:
        return ",".join(f"{f}{'=' if eq else '!='}{v}" for f, eq, v in self.terms)

    def matches(self, node: Node) -> bool:
        """True when every term holds."""
        values = {
            "displayName": node.display_name,
            "templateName": node.template_name or "",
            "name": node.name,
            "id": node.id,
            "phase": node.phase,
        }
        return all((values[f] == v) == equal for f, equal, v in self.terms)
