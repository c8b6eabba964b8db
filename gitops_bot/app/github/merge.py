"""Merging a rollback PR: stale guard, the sha-guarded merge, and what to do when GitHub says no."""

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from gitops_bot.adapters.github.api import GitHubAPI
from gitops_bot.adapters.github.git import amend_message, delete_branch, fetch_head, force_push
from gitops_bot.app.crashpoints import Point
from gitops_bot.app.engine import Engine
from gitops_bot.app.planner import version_commit
from gitops_bot.core.alerts import Alert, parse_alert
from gitops_bot.core.errors import AlertPayloadError, MergeRefusedError, PushRejectedError
from gitops_bot.core.github.body import with_ticket
from gitops_bot.core.github.pr_state import AUTO_MERGE, BLOCKED, OBSOLETE, VETOED, Ticket, merge_commit
from gitops_bot.core.github.types import PullInfo
from gitops_bot.core.kinds import MergeStatus
from gitops_bot.core.limits import check_limits, lookback
from gitops_bot.core.policy import Approvers, Policy, policy_named
from gitops_bot.core.refs import ROLLBACK_BRANCH_PREFIX, veto_tag
from gitops_bot.core.route import Routed
from gitops_bot.core.templates import label_bindings
from gitops_bot.core.trailers import message_trailers, replace_trailer

log = logging.getLogger("gitops_bot")


@dataclass(frozen=True)
class MergeResult:
    """How a merge attempt ended: merged | already | armed | blocked | closed | holding."""

    status: MergeStatus
    text: str

    def __str__(self) -> str:
        return self.text


class Merger:
    """Lands a rollback PR on `branch` with the trailers on the first-parent commit."""

    def __init__(self, api: GitHubAPI, engine: Engine, *, on_landed: Callable[[], None]) -> None:
        self.api, self.engine, self.on_landed = api, engine, on_landed

    def merge(
        self, pull: PullInfo, ticket: Ticket, approved_by: str, *, gate: bool, locked: bool = False
    ) -> MergeResult:
        """Merge if still right; `gate` asks the pre-act checks too (not for a human's /approve)."""
        lock: AbstractContextManager[None] = nullcontext() if locked else self.engine.exclusive()
        with lock:
            if not pull.head_sha or not locked:  # read before the lock: another thread may have acted
                pull = self.api.pull(pull.number)
            if not pull.open:
                return MergeResult(
                    "already" if pull.merged else "closed", f"#{pull.number} is already closed"
                )
            if not pull.head_ref.startswith(ROLLBACK_BRANCH_PREFIX):
                return self._block(
                    pull, ticket, f"head branch {pull.head_ref} is not a gitops-bot rollback branch"
                )
            why_not = self._stale(ticket, gate)
            if why_not is not None:
                return self._not_now(pull, ticket, *why_not)
            return self._merge(pull, ticket, approved_by)

    def _stale(self, ticket: Ticket, gate: bool) -> tuple[str, str] | None:
        """(close|hold|block, reason) when merging is no longer right; None when it still is."""
        policy = policy_named(self.engine.policies, ticket.policy)
        if policy is None:
            return "block", f"policy {ticket.policy!r} is no longer loaded"
        repo = self.engine.repo
        try:
            alert: Alert | None = parse_alert(ticket.alert, where="ticket")
        except AlertPayloadError:
            alert = None
        labels, _ = label_bindings(policy.template_labels, alert.labels if alert else {})
        head = repo.sync()
        veto = veto_tag(ticket.agent, ticket.culprit)
        if any(tag.name == veto for tag in self.engine.trusted.tags(veto)):
            return "veto", "vetoed: the refusal is recorded in git"  # e.g. a crash before the close
        _, culprit = version_commit(repo, head, policy, {**labels, "agent": ticket.agent})
        if culprit is None or culprit.commit.sha != ticket.culprit:
            now_from = culprit.commit.sha[:12] if culprit else "nowhere"
            return "close", (
                f"stale: {ticket.agent}'s current version now comes from {now_from}, "
                f"not from the culprit {ticket.culprit[:12]}"
            )
        if not gate:  # a person's /approve is their call, limits included
            return None
        if over := self._over_limits(policy, ticket.agent):
            return "block", over
        if alert is None:
            return None
        version = alert.labels.get(policy.version_label) if policy.version_label else None
        verdict, _ = self.engine.check(Routed(alert, policy, ticket.agent, version or None, labels=labels))
        if verdict is None:
            return None
        return {"ignore": "close", "hold": "hold"}.get(verdict.kind, "block"), verdict.reason

    def _over_limits(self, policy: Policy, agent: str) -> str | None:
        """PRs wait while others land: count the limits again at merge time, from git."""
        now = self.engine.clock()
        since = now - timedelta(seconds=lookback(policy.per_agent, policy.fleet))
        records = self.engine.trusted.rollbacks(now=now, since=since)
        verdict = check_limits(records, agent=agent, per_agent=policy.per_agent, fleet=policy.fleet, now=now)
        return verdict.reason if verdict else None

    def _not_now(self, pull: PullInfo, ticket: Ticket, kind: str, reason: str) -> MergeResult:
        if kind == "hold":
            log.info("not merging #%d yet: %s", pull.number, reason)
            return MergeResult("holding", f"#{pull.number} holding: {reason}")
        if kind == "block":
            return self._block(pull, ticket, reason)
        self.api.comment(pull.number, f"Closing without merging: {reason}.")
        closed = "vetoed" if kind == "veto" else "obsolete"  # the ticket says whether a new alert may reopen
        self.api.add_labels(pull.number, [VETOED if kind == "veto" else OBSOLETE])  # output only
        self.api.edit(pull.number, body=self._with(pull, ticket, closed=closed), close=True)
        delete_branch(self.engine.repo, pull.head_ref)
        return MergeResult("closed", f"closed #{pull.number}: {reason}")

    def _merge(self, pull: PullInfo, ticket: Ticket, approved_by: str) -> MergeResult:
        repo = self.engine.repo
        head = fetch_head(repo, pull.number, pull.head_ref)
        message = repo.commit_info(head).message
        trailers = message_trailers(message)
        if head != pull.head_sha or trailers.get("Rollback-Of") != ticket.culprit:
            return self._block(pull, ticket, "the head commit is no longer the bot's rollback commit")
        title, body = merge_commit(message, approved_by, pull.number)
        sha = head
        if ticket.merge_method == "rebase" and trailers.get("Approved-By") != approved_by:
            # Rebase keeps each commit's message, so the approval goes into the commit itself.
            sha = amend_message(repo, head, replace_trailer(message, "Approved-By", approved_by))
            try:
                force_push(repo, sha, pull.head_ref, expected=head)
            except PushRejectedError:
                return self._block(pull, ticket, "the rollback branch moved while approving")
        self.engine.crash.hit(Point.BEFORE_MERGE)
        try:
            landed = self.api.merge(
                pull.number, method=ticket.merge_method, sha=sha, title=title, message=body
            )
        except MergeRefusedError as e:
            return self._refused(pull, sha, ticket, (title, body), e)
        self.engine.crash.hit(Point.AFTER_MERGE)
        self.on_landed()
        return MergeResult("merged", f"merged #{pull.number} as {landed[:12]} (Approved-By: {approved_by})")

    def _refused(
        self, pull: PullInfo, sha: str, ticket: Ticket, message: tuple[str, str], error: MergeRefusedError
    ) -> MergeResult:
        """Say so; arm GitHub auto-merge when allowed; else leave it to people (rollback/blocked)."""
        fresh = self.api.pull(pull.number)
        if fresh.merged:  # a retried PUT that landed, or another replica
            self.on_landed()
            return MergeResult("already", f"#{pull.number} already merged")
        if not fresh.open:
            return MergeResult("closed", f"#{pull.number} is closed")
        said = f"GitHub refused the merge ({error.status}): {error}."
        if fresh.head_sha != sha:
            return self._block(fresh, ticket, f"{said} The head moved to {fresh.head_sha[:12]}")
        try:
            self.api.enable_automerge(fresh, method=ticket.merge_method, title=message[0], message=message[1])
        except MergeRefusedError as e:
            if "clean status" in str(e):  # mergeable right now after all: one direct try
                return self._retry(fresh, ticket, message, said)
            return self._block(fresh, ticket, f"{said} Auto-merge is not available: {e}")
        self.api.add_labels(pull.number, [AUTO_MERGE])
        self.api.edit(pull.number, body=self._with(fresh, ticket, armed=True))
        self.api.comment(
            pull.number, f"{said} Auto-merge is armed: GitHub merges once the requirements pass."
        )
        return MergeResult("armed", f"#{pull.number}: auto-merge armed")

    def _retry(self, pull: PullInfo, ticket: Ticket, message: tuple[str, str], said: str) -> MergeResult:
        try:
            landed = self.api.merge(
                pull.number,
                method=ticket.merge_method,
                sha=pull.head_sha,
                title=message[0],
                message=message[1],
            )
        except MergeRefusedError as e:
            return self._block(pull, ticket, f"{said} Retrying failed too: {e}")
        self.on_landed()
        return MergeResult("merged", f"merged #{pull.number} as {landed[:12]} on the second try")

    def approvers(self, ticket: Ticket) -> Approvers:
        """Who may command this rollback's PR (its policy's approvers)."""
        policy = policy_named(self.engine.policies, ticket.policy)
        return policy.action.approvers if policy else Approvers()

    def _with(self, pull: PullInfo, ticket: Ticket, **changes: Any) -> str:
        """The PR body with the ticket changed and re-sealed: the bot's state lives there, not in labels."""
        now = self.engine.clock()
        return with_ticket(
            pull.body, replace(ticket, **changes), self.approvers(ticket), now, self.engine.keys
        )

    def _block(self, pull: PullInfo, ticket: Ticket, reason: str) -> MergeResult:
        if pull.body:
            self.api.edit(pull.number, body=self._with(pull, ticket, blocked=True))
        self.api.add_labels(pull.number, [BLOCKED])
        self.api.comment(pull.number, f"{reason}. Leaving this to people (label `{BLOCKED}`).")
        return MergeResult("blocked", f"#{pull.number} blocked: {reason}")
