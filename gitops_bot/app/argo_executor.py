"""`executor: argo-workflows`: the bot as a thin submitter; each rollback runs as an Argo Workflow.

The worker routes each journaled alert and submits the rollback workflow (idempotent, see
core/workflow.py); the journal entry is done only once Argo acknowledged the submit (a failure keeps
it journaled and retried, as in inline mode). A loop on every replica resumes the `approve` node of
rollbacks whose veto deadline passed and that nobody held; the state it reads is in the workflows, so
it survives the bot's restarts and needs no leader.
"""

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime

from gitops_bot.adapters.argo_workflows import ArgoWorkflows
from gitops_bot.app.config import ExecutorConfig
from gitops_bot.app.engine import Outcome
from gitops_bot.app.loops import Loop
from gitops_bot.core.alerts import Alert
from gitops_bot.core.culprit import Verdict
from gitops_bot.core.errors import ConfigError, NodeNotSuspendedError
from gitops_bot.core.github.commands import Command
from gitops_bot.core.kinds import OutcomeKind, VerdictKind
from gitops_bot.core.policy import Policy
from gitops_bot.core.route import route
from gitops_bot.core.workflow import request_for

log = logging.getLogger("gitops_bot")
_KINDS: dict[VerdictKind, OutcomeKind] = {"ignore": "ignored", "hold": "held", "escalate": "escalated"}


def make_argo(executor: ExecutorConfig) -> ArgoWorkflows:
    """The adapter from the config; the token comes from the environment."""
    token = os.environ.get(executor.token_env)
    if not token:
        raise ConfigError(f"executor: ${executor.token_env} is not set (the Argo Server bearer token)")
    return ArgoWorkflows(
        executor.server,
        executor.namespace,
        token,
        template=executor.workflow_template,
        ca_file=executor.ca_file,
    )


class ArgoExecutor:
    """Alert in, workflow submitted; plus the deadline loop."""

    def __init__(
        self,
        argo: ArgoWorkflows,
        policies: tuple[Policy, ...],
        *,
        poll_seconds: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.argo, self.policies, self.clock = argo, policies, clock
        self.deadlines = Loop("argo-deadlines", self.resume_due, interval=poll_seconds)

    def handle(self, alert: Alert) -> Outcome:
        """Submit the alert's rollback workflow; ArgoWorkflowsError propagates (the entry stays journaled)."""
        routed = route(alert, self.policies)
        if isinstance(routed, Verdict):
            return Outcome(_KINDS[routed.kind], routed.reason, None, code=routed.code)
        if routed.policy.action.mode == "dry-run":
            return Outcome("planned", "dry-run policy: no workflow submitted", routed.agent)
        submitted = self.argo.submit(request_for(routed, self.clock()))
        link = self.argo.ui_link(submitted.name)
        if not submitted.created:
            return Outcome(
                "ignored",
                f"workflow {submitted.name} already submitted: {link}",
                routed.agent,
                code="duplicate",
            )
        return Outcome("proposed", f"submitted workflow {submitted.name}: {link}", routed.agent)

    def resume_due(self) -> None:
        """One deadline pass."""
        for name in self.argo.resume_due(self.clock()):
            log.info("veto window over: resumed the approve node of %s", name)


def drive(argo: ArgoWorkflows, name: str, command: Command, login: str) -> str:
    """Carry out an authorised PR command on the rollback's workflow; return the reply to post.

    Authorisation stays the bot's (GitHub permission API) and happens before this call."""
    try:
        if command.name in ("approve", "unhold"):  # releasing a hold approves it
            argo.approve(name, login)
            return f"{'Approved' if command.name == 'approve' else 'Hold released'} by @{login}: applying the rollback."
        if command.name == "hold":
            argo.hold(name, login)
            return f"Held by @{login}: the veto window will not apply it; `/unhold` or `/approve` to go on."
        argo.veto(name, login, command.argument)
        return f"Vetoed by @{login}: workflow {name} stopped before apply; nothing lands."
    except NodeNotSuspendedError:
        return f"Too late for `/{command.name}`: workflow {name} is past its approve step."


def in_flight(argo: ArgoWorkflows) -> list[dict[str, str]]:
    """Rollbacks still running as workflows (for `audit --in-flight`): phase, approve state, deadline."""
    rows = []
    for view in argo.list_rollbacks(in_flight_only=True):
        node = view.approve
        state = "planning" if node is None else node.phase.lower()
        if node is not None and node.held_by:
            state = f"held by {node.held_by}"
        rows.append(
            {
                "workflow": view.name,
                "phase": view.phase or "Pending",
                "agent": view.parameters.get("agent", ""),
                "version": view.parameters.get("version", ""),
                "approve": state,
                "deadline": view.parameters.get("deadline", "") or "on /approve",
                "link": argo.ui_link(view.name),
            }
        )
    return rows


def in_flight_table(rows: list[dict[str, str]]) -> str:
    """The rows as aligned text."""
    if not rows:
        return "no rollback workflows in flight"
    keys = ("workflow", "phase", "agent", "version", "approve", "deadline")
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in keys}
    lines = ["  ".join(k.upper().ljust(widths[k]) for k in keys)]
    lines += ["  ".join(r[k].ljust(widths[k]) for k in keys) for r in rows]
    return "\n".join(lines)
