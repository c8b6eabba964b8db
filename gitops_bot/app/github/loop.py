"""The PR loop: drains accepted webhooks and advances every open rollback PR's clock from GitHub."""

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from gitops_bot.adapters.github.api import GitHubAPI
from gitops_bot.adapters.github.git import changed_files, delete_branch, fetch_head, merge_base
from gitops_bot.adapters.github.inbox import Inbox
from gitops_bot.app.crashpoints import Point
from gitops_bot.app.engine import Engine
from gitops_bot.app.github.merge import Merger
from gitops_bot.app.github.orphans import OrphanSweep
from gitops_bot.app.loops import Loop
from gitops_bot.app.manifests import values_at
from gitops_bot.core.errors import GitError, GitHubUnavailableError, GitopsBotError, YamlPathError
from gitops_bot.core.github.body import Forged, read_ticket, with_ticket
from gitops_bot.core.github.commands import authorize, effective_permission, rank
from gitops_bot.core.github.pr_state import HELD, PrView, Step, Ticket, expected_labels, on_command, on_tick
from gitops_bot.core.github.quarantine import (
    CONTEXT,
    Finding,
    quarantined,
    reintroduced,
    status_for,
)
from gitops_bot.core.github.types import PullInfo
from gitops_bot.core.github.webhooks import CommentEvent, PullRequestEvent, command_in
from gitops_bot.core.policy import Approvers, policy_named
from gitops_bot.core.refs import ROLLBACK_BRANCH_PREFIX, veto_tag
from gitops_bot.core.resolution import resolve_policy

log = logging.getLogger("gitops_bot")


class PullRequestLoop:
    """One thread; everything GitHub-side that is not the alert path happens here, in order."""

    def __init__(
        self,
        api: GitHubAPI,
        engine: Engine,
        merger: Merger,
        inbox: Inbox,
        *,
        clock: Callable[[], datetime],
        interval: float,
    ) -> None:
        self.api, self.engine, self.merger, self.inbox = api, engine, merger, inbox
        self.clock, self.interval = clock, interval
        self.orphans = OrphanSweep(api, engine, clock)
        self.after_pass: list[Callable[[], None]] = []
        self._forged: set[tuple[int, str]] = set()  # (PR, body) already reported: one comment each
        self._loop = Loop("github", self.run_once, interval=interval, join_timeout=30.0)

    # -- clocks -------------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> list[str]:
        """Advance every open rollback PR once (this is also the resume after a restart)."""
        now = now or self.clock()
        done = []
        pulls = self.api.open_rollbacks()
        for pull in pulls:
            ticket = self._ours(pull)
            if ticket is not None:
                pull = self._relabel(pull, ticket)
                step = on_tick(PrView(pull.number, True, False, pull.labels, ticket), now)
                done.append(self.execute(pull, ticket, step, now))
        return done + self.orphans.sweep({p.head_ref for p in pulls})

    def _relabel(self, pull: PullInfo, ticket: Ticket) -> PullInfo:
        """Write the labels the ticket implies when a crash (or a person) left them off."""
        policy = policy_named(self.engine.policies, ticket.policy)
        want = expected_labels(ticket, policy.action.labels if policy else ())
        labels = (pull.labels | want) - (set() if ticket.held else {HELD})
        if labels == pull.labels:
            return pull
        if pull.labels <= labels:
            self.api.add_labels(pull.number, labels - pull.labels)
        else:
            self.api.set_labels(pull.number, labels)
        return replace(pull, labels=frozenset(labels))

    def _ours(self, pull: PullInfo) -> Ticket | None:
        """The ticket of a PR the bot itself opened (a copied body in someone else's PR is ignored).

        An edited ticket is refused: the PR is left alone and the edit is reported on it once.
        """
        ticket = read_ticket(pull.body, self.engine.keys)
        if ticket is None or pull.author != self.api.bot_login():
            return None
        if pull.head_ref and not pull.head_ref.startswith(ROLLBACK_BRANCH_PREFIX):
            return None
        if isinstance(ticket, Forged):
            self._report_forged(pull, ticket)
            return None
        return ticket

    def _report_forged(self, pull: PullInfo, forged: Forged) -> None:
        key = (pull.number, pull.body)
        if key in self._forged:
            return
        self.engine.reported("pr_ticket", f"#{pull.number}", forged.reason)
        self.api.comment(
            pull.number,
            f"gitops-bot refuses this PR's state: {forged.reason} (someone edited the hidden ticket). "
            "Nothing will be merged or changed by the bot here; people decide.",
        )
        if len(self._forged) < 10_000:
            self._forged.add(key)

    def execute(self, pull: PullInfo, ticket: Ticket, step: Step, now: datetime) -> str:
        """Carry out one step of the state machine on GitHub (and git for vetoes)."""
        n = pull.number
        if step.kind == "merge":
            human = step.approved_by not in ("auto", "veto-window-expired")
            return str(self.merger.merge(pull, ticket, step.approved_by, gate=not human))
        if step.kind == "close":
            return self._veto(pull, ticket, step)
        if step.kind == "update" and step.ticket is not None:
            body = with_ticket(pull.body, step.ticket, self._approvers(ticket), now, self.engine.keys)
            self.api.edit(n, body=body)
            self.engine.crash.hit(Point.AFTER_TICKET)
            labels = (pull.labels | set(step.add_labels)) - set(step.remove_labels)
            if labels != pull.labels:
                self.api.set_labels(n, labels)
        if step.reply:
            self.api.comment(n, step.reply)
        return f"#{n}: {step.kind} ({step.reason or step.reply})"

    def _veto(self, pull: PullInfo, ticket: Ticket, step: Step) -> str:
        """Close, label, and record the refusal in git so the audit log has it too."""
        who, reason = step.approved_by, step.reason
        tag = veto_tag(ticket.agent, ticket.culprit)
        message = (
            f"Rollback of {ticket.agent} {ticket.from_version} -> {ticket.to_version} vetoed by {who}\n\n"
            f"Rollback-Of: {ticket.culprit}\nRollback-Agent: {ticket.agent}\n"
            f"Vetoed-By: {who}\nVeto-Reason: {' '.join(reason.split())}\nPull-Request: {pull.html_url}\n"
        )
        with self.engine.exclusive():
            self.engine.repo.sync()
            sealed = self.engine.trusted.seal(tag, ticket.culprit, message)
            self.engine.repo.tag(tag, ticket.culprit, sealed, replace=False)
        self.engine.crash.hit(Point.AFTER_VETO_TAG)
        self.api.comment(
            pull.number,
            f"Vetoed by @{who}: {reason}. The culprit's version stays in place and gitops-bot will not "
            f"open this rollback again (recorded as tag `{tag}`).",
        )
        self.api.add_labels(pull.number, step.add_labels)  # output for people; the ticket is the record
        closed = replace(ticket, closed="vetoed")
        body = with_ticket(pull.body, closed, self._approvers(ticket), self.clock(), self.engine.keys)
        self.api.edit(pull.number, body=body, close=True)
        with self.engine.exclusive():
            delete_branch(self.engine.repo, pull.head_ref or "")
        return f"#{pull.number} vetoed by @{who}"

    def _approvers(self, ticket: Ticket) -> Approvers:
        policy = policy_named(self.engine.policies, ticket.policy)
        return policy.action.approvers if policy else Approvers()

    # -- webhooks -----------------------------------------------------------------------------

    def drain(self) -> list[str]:
        """Handle accepted deliveries, oldest first; an outage leaves the rest for the next pass."""
        done = []
        for key, event in self.inbox.pending():
            try:
                if isinstance(event, CommentEvent):
                    done.append(self.on_comment(event))
                else:
                    done.append(self.on_pull_request(event))
            except (GitHubUnavailableError, GitError):
                raise  # transient: the delivery stays in the inbox for the next pass
            except GitopsBotError as e:  # GitHub said no for good (404, 422...): do not block the rest
                log.warning("github delivery %s dropped: %s", key, e)
                done.append(f"{key}: failed: {e}")
            self.engine.crash.hit(Point.INBOX_BEFORE_DONE)
            self.inbox.done(key)
        return done

    def on_comment(self, event: CommentEvent) -> str:
        """A PR comment: authorise the commenter by permission value, then apply the command."""
        command, why = command_in(event, bot_login=self.api.bot_login())
        if command is None:
            return f"#{event.number}: ignored ({why})"
        pull = self.api.pull(event.number)
        ticket = self._ours(pull)
        if ticket is None or not pull.open:
            return f"#{event.number}: ignored (not an open gitops-bot rollback)"
        approvers = self._approvers(ticket)
        role, legacy = self.api.permission(event.author)
        held = effective_permission(role, legacy)
        in_team = None
        if approvers.teams and rank(held) >= rank(approvers.permission):
            in_team = any(self.api.in_team(t, event.author) for t in approvers.teams)
        verdict = authorize(approvers, event.author, held, in_team=in_team)
        if not verdict.allowed:
            self.api.comment(
                pull.number, f"@{event.author}: `/{command.name}` {verdict.reason}; nothing changed."
            )
            return f"#{pull.number}: refused /{command.name} from @{event.author}"
        now = self.clock()
        step = on_command(PrView(pull.number, True, False, pull.labels, ticket), command, event.author, now)
        return self.execute(pull, ticket, step, now)

    def on_pull_request(self, event: PullRequestEvent) -> str:
        """Set gitops-bot/quarantine on a PR head: failure when it brings a rolled-back version back."""
        repo = self.engine.repo
        if event.base_ref != repo.branch:
            return f"#{event.number}: not into {repo.branch}"
        with self.engine.exclusive():
            base = repo.sync()
            head = fetch_head(repo, event.number, event.head_ref)
            if head != event.head_sha:
                return f"#{event.number}: head moved on; a newer event follows"
            findings = self._findings(base, head)
        state, text = status_for(findings)
        self.api.set_status(head, state=state, context=CONTEXT, description=text)
        return f"#{event.number}: quarantine {state}"

    def _findings(self, base: str, head: str) -> list[Finding]:
        repo = self.engine.repo
        files, fork = changed_files(repo, base, head), merge_base(repo, base, head)
        entries = quarantined(self.engine.trusted.rollbacks(now=self.clock()))
        findings = []
        for policy in self.engine.policies:
            # Agents the changed files name at the PR head: per-agent files and shared files alike.
            named = resolve_policy(
                policy, files, lambda f: repo.read_bytes(head, f), {}, max_bytes=repo.max_file_bytes
            )
            for view in named.agents:
                at = dict(view.bindings)
                try:
                    before, after = values_at(repo, fork, policy, at), values_at(repo, head, policy, at)
                except YamlPathError:
                    continue
                prefixes = tuple(f.version_prefix for f in policy.fields)
                if (found := reintroduced(at["agent"], before, after, entries, prefixes)) is not None:
                    findings.append(found)
        return findings

    # -- thread -------------------------------------------------------------------------------

    def run_once(self) -> None:
        """One pass: webhooks first (people's commands win over the clock), then the clocks."""
        for line in self.drain() + self.tick():
            # A waiting PR is reported on every pass; only changes are worth an INFO line.
            log.log(logging.DEBUG if ": wait (" in line else logging.INFO, "github: %s", line)
        for hook in self.after_pass:
            hook()

    def wake(self) -> None:
        """Run a pass now (a webhook arrived or a rollback landed)."""
        self._loop.wake()

    def start(self) -> None:
        """Resume at once, then every `interval` seconds or when woken."""
        self._loop.start()

    def stop(self) -> None:
        """Stop after the pass in hand; pending deliveries and PR clocks resume on the next start."""
        self._loop.stop()
