"""One workflow executed for real by the stand-in's "controller": steps in order, pods as processes,
suspend nodes waiting for resume/set/stop or their duration. All state changes happen under one lock;
API calls (resume, set, stop) change node phases and wake the run thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from gitops_bot_lab.fakes.argo_nodes import (
    FAILED,
    PENDING,
    POD,
    RUNNING,
    SKIPPED,
    STEP_GROUP,
    STEPS,
    SUCCEEDED,
    SUSPEND,
    Node,
    NodeError,
    Selector,
    now_rfc3339,
)
from gitops_bot_lab.fakes.argo_pods import Cluster, Pod, PodFailed
from gitops_bot_lab.fakes.argo_subset import Unsupported, duration_s, substitute, substitute_all, when_holds

NO_SUSPEND = "currently, set only targets suspend nodes: no suspend nodes matching nodeFieldSelector: {}"


class WorkflowRun:
    """The controller's view of one workflow; `status_json()` is what the API serves."""

    def __init__(self, name: str, namespace: str, spec: Mapping[str, Any], params: Mapping[str, str]) -> None:
        self.name, self.namespace, self.spec, self.params = name, namespace, spec, dict(params)
        self.phase: str | None = None  # None = Pending: the controller has not picked it up
        self.started_at: str | None = None
        self.finished_at: str | None = None
        self.message = ""
        self.shutdown = ""
        self.nodes: dict[str, Node] = {}  # by node name, in creation order
        self.cond = threading.Condition()
        self._pod: Pod | None = None
        self._templates = {t["name"]: t for t in spec["templates"]}

    # -- API-side operations (server threads) ----------------------------------------------------

    def update_suspended(
        self,
        selector: Selector,
        *,
        phase: str = "",
        message: str = "",
        outputs: Mapping[str, str] | None = None,
    ) -> None:
        """Argo's updateSuspendedNode: act on matching ACTIVE suspend nodes only."""
        with self.cond:
            hits = [n for n in self.nodes.values() if n.active_suspend and selector.matches(n)]
            if not hits:
                raise NodeError(NO_SUSPEND.format(selector))
            for node in hits:
                for key, value in (outputs or {}).items():
                    node.supply(key, value)
                if message:
                    node.message = message
                if phase:
                    node.finish(phase)
            self.cond.notify_all()

    def resume_all(self) -> None:
        """Resume without a selector (Argo's ResumeWorkflow): unsupplied outputs take their defaults;
        one without a default refuses the whole resume."""
        with self.cond:
            waiting = [n for n in self.nodes.values() if n.active_suspend]
            for node in waiting:
                missing = node.unsupplied_without_default()
                if missing:
                    raise NodeError(_no_default(missing))
            for node in waiting:
                node.apply_defaults()
                node.finish(SUCCEEDED)
            self.cond.notify_all()

    def stop(self) -> None:
        """spec.shutdown=Stop: running pods end, suspended nodes fail, nothing new starts."""
        with self.cond:
            self.shutdown = "Stop"
            for node in self.nodes.values():
                if node.active_suspend:
                    node.finish(FAILED, "Stopped with strategy 'Stop'")
            pod = self._pod
            self.cond.notify_all()
        if pod is not None:
            pod.kill()

    # -- the controller (run thread) -------------------------------------------------------------

    def execute(self, cluster: Cluster) -> None:
        """Run the entrypoint's steps to the end."""
        entry = self._templates[self.spec["entrypoint"]]
        with self.cond:
            self.phase, self.started_at = RUNNING, now_rfc3339()
            root = self._add(self.name, self.name, STEPS, entry["name"], parent=None)
        failed = ""
        for g, group in enumerate(entry["steps"]):
            step = group[0]
            with self.cond:
                group_node = self._add(f"{self.name}[{g}]", f"[{g}]", STEP_GROUP, None, root)
                if self.shutdown:
                    group_node.finish(FAILED, "Stopped with strategy 'Stop'")
                    failed = "Stopped with strategy 'Stop'"
                    break
            node = self._step(cluster, f"{self.name}[{g}].{step['name']}", step, group_node)
            with self.cond:
                group_node.finish(SUCCEEDED if node.phase != FAILED else FAILED)
            if node.phase == FAILED:
                failed = "Stopped with strategy 'Stop'" if self.shutdown else f"child '{node.id}' failed"
                break
        with self.cond:
            root.finish(FAILED if failed else SUCCEEDED, failed)
            self.phase, self.message, self.finished_at = root.phase, failed, now_rfc3339()
            self.cond.notify_all()

    def _add(self, name: str, display: str, kind: str, template: str | None, parent: Node | None) -> Node:
        node = Node(self.name, name, display, kind, template)
        if parent is not None:
            parent.children.append(name)
        self.nodes[name] = node
        return node

    def _step(self, cluster: Cluster, name: str, step: Mapping[str, Any], parent: Node) -> Node:
        template = self._templates[step["template"]]
        try:
            when = step.get("when")
            if when is not None and not when_holds(substitute(str(when), self._lookup({}))):
                with self.cond:
                    node = self._add(name, step["name"], SKIPPED, template["name"], parent)
                    node.finish(SKIPPED, f"when '{substitute(str(when), self._lookup({}))}' evaluated false")
                return node
            inputs = self._inputs(template, step)
        except Unsupported as e:
            with self.cond:
                node = self._add(name, step["name"], POD, template["name"], parent)
                node.finish(FAILED, str(e))
            return node
        kind = SUSPEND if "suspend" in template else POD
        with self.cond:
            node = self._add(name, step["name"], kind, template["name"], parent)
            node.inputs = [{"name": k, "value": v} for k, v in inputs.items()]
            node.phase = RUNNING if kind == SUSPEND else PENDING
        if kind == SUSPEND:
            self._suspend(node, template)
        else:
            self._container(cluster, node, template, inputs)
        return node

    def _inputs(self, template: Mapping[str, Any], step: Mapping[str, Any]) -> dict[str, str]:
        given = {p["name"]: p.get("value") for p in step.get("arguments", {}).get("parameters", [])}
        values = {}
        for param in template.get("inputs", {}).get("parameters", []):
            raw = given.get(param["name"], param.get("value", param.get("default")))
            if raw is None:
                raise Unsupported(f"inputs.parameters.{param['name']} was not supplied")
            values[param["name"]] = substitute(str(raw), self._lookup({}))
        return values

    def _lookup(self, inputs: Mapping[str, str]) -> Any:
        def lookup(name: str) -> str | None:
            parts = name.split(".")
            if name in ("workflow.name", "workflow.namespace"):
                return self.name if parts[1] == "name" else self.namespace
            if parts[:2] == ["workflow", "parameters"]:
                return self.params.get(parts[2])
            if parts[:2] == ["inputs", "parameters"]:
                return inputs.get(parts[2])
            node = self.nodes.get(next((n for n in self.nodes if n.endswith(f"].{parts[1]}")), ""))
            return node.output(parts[4]) if node is not None and parts[0] == "steps" else None

        return lookup

    def _suspend(self, node: Node, template: Mapping[str, Any]) -> None:
        outputs = template.get("outputs", {}).get("parameters", [])
        duration = template["suspend"].get("duration")
        with self.cond:
            node.outputs = [{"name": p["name"], "valueFrom": dict(p["valueFrom"])} for p in outputs]
            deadline = time.monotonic() + duration_s(str(duration)) if duration is not None else None
            while node.phase == RUNNING:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:  # the duration ran out: defaults, as the controller does
                    missing = node.unsupplied_without_default()
                    node.apply_defaults()
                    node.finish(FAILED if missing else SUCCEEDED, _no_default(missing) if missing else "")
                    break
                self.cond.wait(timeout=left)
            # Resumed with a nodeFieldSelector (updateSuspendedNode): the node succeeds and outputs
            # nobody supplied stay unset, so a later `{{steps.X.outputs.parameters.Y}}` cannot resolve.

    def _container(
        self, cluster: Cluster, node: Node, template: Mapping[str, Any], inputs: Mapping[str, str]
    ) -> None:
        lookup = self._lookup(inputs)
        try:
            spec = substitute_all(template["container"], lookup)
            paths = {
                p["name"]: p["valueFrom"]["path"] for p in template.get("outputs", {}).get("parameters", [])
            }
            pod = Pod(cluster, cluster.root / self.name / node.id, spec, list(self.spec.get("volumes", [])))
            with self.cond:
                if self.shutdown:
                    raise PodFailed("Stopped with strategy 'Stop'")
                self._pod, node.phase = pod, RUNNING
            result = pod.run(paths)
        except (PodFailed, Unsupported) as e:
            with self.cond:
                self._pod = None
                node.finish(FAILED, str(e))
            return
        with self.cond:
            self._pod = None
            node.exit_code = str(result.exit_code)
            node.outputs = [{"name": k, "value": v} for k, v in result.outputs.items()]
            node.finish(SUCCEEDED)

    def status_json(self) -> dict[str, Any]:
        """WorkflowStatus: a Pending workflow has `startedAt: null`, as Argo's zero metav1.Time."""
        with self.cond:
            status: dict[str, Any] = {"startedAt": self.started_at, "finishedAt": self.finished_at}
            if self.phase is None:
                return status
            status |= {"phase": self.phase, "nodes": {n.id: n.to_json() for n in self.nodes.values()}}
            if self.message:
                status["message"] = self.message
            return status


def _no_default(name: str) -> str:
    return f"raw output parameter '{name}' has not been set and does not have a default value"
