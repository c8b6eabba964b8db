"""The GitHub forge: a rollback becomes one PR, merged at once, after a veto window, or on /approve.

State that must survive restarts lives on GitHub: the PR (open/closed/merged), its labels, and the
ticket in its body (mode, deadline or held time, the alert). Vetoes are also tagged in git.
"""

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

from gitops_bot.adapters.github.api import GitHubAPI
from gitops_bot.adapters.github.git import amend_message, plan_diff
from gitops_bot.adapters.github.inbox import Inbox
from gitops_bot.adapters.github.settings import (
    build_auth,
    git_auth_env,
    make_client,
    parse_github,
    token_source,
)
from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.app.config import Config
from gitops_bot.app.crashpoints import Point
from gitops_bot.app.engine import Engine
from gitops_bot.app.forge import Delivery
from gitops_bot.app.github.loop import PullRequestLoop
from gitops_bot.app.github.merge import Merger
from gitops_bot.core.errors import (
    AlreadyPublishedError,
    AuthenticationError,
    ConfigError,
    GitHubError,
    GitopsBotError,
    PullExistsError,
    PushRejectedError,
    WebhookPayloadError,
)
from gitops_bot.core.github.body import commands_help, evidence_of, next_text, read_ticket, render_body
from gitops_bot.core.github.pr_state import Ticket, ceil_second, expected_labels
from gitops_bot.core.github.types import PullInfo
from gitops_bot.core.github.webhooks import (
    accepted,
    event_key,
    verify_signature,
)
from gitops_bot.core.plan import Plan
from gitops_bot.core.recovery import RollbackRef
from gitops_bot.core.refs import rollback_branch, veto_tag
from gitops_bot.core.trailers import message_trailers, replace_trailer

log = logging.getLogger("gitops_bot")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class GitHubForge:
    """Forge protocol plus the webhook receiver and the PR loop of github mode."""

    def __init__(
        self,
        api: GitHubAPI,
        *,
        secret: bytes,
        inbox: Inbox,
        clock: Callable[[], datetime] = _utcnow,
        interval: float = 15.0,
        git_token: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.api, self.secret, self.inbox = api, secret, inbox
        self.clock, self.interval, self._git_token = clock, interval, git_token
        self.on_landed: list[Callable[[], None]] = []
        self._landed = threading.Event()
        self._parts: tuple[Engine, Merger, PullRequestLoop] | None = None

    @classmethod
    def from_config(cls, config: Config, env: Mapping[str, str] = os.environ) -> "GitHubForge":
        """Settings, auth (token or GitHub App), client, inbox; the webhook secret is required."""
        settings = parse_github(config.github, base=config.base)
        auth = build_auth(settings, env)
        secret = env.get(settings.webhook_secret_env)
        if not secret:
            raise ConfigError(f"${settings.webhook_secret_env} is not set (forge.github.webhook_secret_env)")
        api = GitHubAPI(make_client(settings, auth), settings.repo, bot_login=settings.bot_login)
        inbox = Inbox(config.workdir.parent / "github-inbox")
        return cls(
            api,
            secret=secret.encode(),
            inbox=inbox,
            interval=settings.poll_seconds,
            git_token=token_source(auth),
        )

    def bind(self, engine: Engine) -> None:
        """Give the forge the engine whose work tree, policies and gate the merges use."""
        merger = Merger(self.api, engine, on_landed=self._note_landed)
        loop = PullRequestLoop(self.api, engine, merger, self.inbox, clock=self.clock, interval=self.interval)
        loop.after_pass.append(self._fire_landed)
        self._parts = (engine, merger, loop)
        self._auth_git(engine.repo)

    @property
    def bound(self) -> bool:
        """Whether bind() was called."""
        return self._parts is not None

    @property
    def loop(self) -> PullRequestLoop:
        """The PR loop (bind() first)."""
        return self._bound()[2]

    def _bound(self) -> tuple[Engine, Merger, PullRequestLoop]:
        if self._parts is None:
            raise ConfigError("the GitHub forge is not bound to an engine (wiring bug)")
        return self._parts

    def _auth_git(self, repo: GitRepo) -> None:
        """HTTPS pushes and fetches to GitHub carry the (refreshed) token."""
        token = self._git_token() if repo.url.startswith("https://") else None
        if token:
            repo.update_environment(**git_auth_env(token))

    # -- the Forge protocol -------------------------------------------------------------------

    def publish(self, repo: GitRepo, plan: Plan, sha: str) -> Delivery:
        """Push the rollback branch and open (or reuse) its one PR, then take the mode's first step."""
        self._bound()
        self._auth_git(repo)
        branch = rollback_branch(plan.agent, plan.culprit.sha)
        veto = veto_tag(plan.agent, plan.culprit.sha)
        if any(tag.name == veto for tag in self._bound()[0].trusted.tags(veto)):
            raise AlreadyPublishedError(
                f"tag {veto} refused this rollback (people vetoed it): not opening it again"
            )
        found = self._existing(self.api.pulls_for_branch(branch), plan)
        if found is not None:
            return found
        mode = plan.policy.action.mode
        now = self.clock()
        ticket = self._ticket(plan, now)
        keys = self._bound()[0].keys  # sealed before anything is pushed: no key, no half-opened PR
        body = render_body(
            evidence_of(plan, plan_diff(repo, plan)), ticket, plan.policy.action.approvers, now, keys
        )
        if mode != "auto":  # not approved yet: the trailer says so until the merge fills it in
            sha = amend_message(repo, sha, replace_trailer(plan.message, "Approved-By", "pending"))
        crash = self._bound()[0].crash
        try:
            repo.push(f"{sha}:refs/heads/{branch}")
        except PushRejectedError:
            log.info("branch %s exists (another replica or an earlier try): using it", branch)
        crash.hit(Point.AFTER_BRANCH_PUSH)
        title = plan.message.split("\n", 1)[0]
        try:
            pull = self.api.create_pull(head=branch, base=repo.branch, title=title, body=body)
        except PullExistsError as e:
            found = self._existing(self.api.pulls_for_branch(branch), plan)
            if found is None:
                raise GitHubError(f"GitHub says {branch} has a PR or nothing to merge, but lists none") from e
            return found
        crash.hit(Point.AFTER_PR_CREATE)  # from here on the PR loop finds it by branch and author
        labels = expected_labels(ticket, plan.policy.action.labels)
        self.api.add_labels(pull.number, labels)
        crash.hit(Point.AFTER_LABELS)
        return self._first_step(replace(pull, labels=labels), ticket, plan, now)

    def _existing(self, pulls: list[PullInfo], plan: Plan) -> Delivery | None:
        """Reuse an earlier PR for the same agent and culprit (None: open one anew).

        Raises AlreadyPublishedError when nothing is left to do, so the alert counts as a duplicate.
        An open one gets the labels its ticket implies first: a crash may have cut them short.
        """
        keys = self._bound()[0].keys
        for pull in pulls:
            ticket = read_ticket(pull.body, keys)
            if pull.open:
                if isinstance(ticket, Ticket) and (
                    missing := expected_labels(ticket, plan.policy.action.labels) - pull.labels
                ):
                    self.api.add_labels(pull.number, missing)
                if isinstance(ticket, Ticket) and ticket.mode == "auto":  # a crash between open and merge
                    merged = self._bound()[1].merge(pull, ticket, "auto", gate=False, locked=True)
                    if merged.status == "already":
                        raise AlreadyPublishedError(f"{pull.html_url} already merged this rollback")
                    return Delivery(f"reused {pull.html_url}: {merged}", landed=merged.status == "merged")
                raise AlreadyPublishedError(f"{pull.html_url} is already open for this rollback")
            if pull.merged:
                raise AlreadyPublishedError(f"{pull.html_url} already merged this rollback")
            # Only the bot closing it as obsolete (in its sealed ticket, not a label anyone can set)
            # lets a new alert open it again: a veto or a person closing it is a no.
            if not isinstance(ticket, Ticket) or ticket.closed != "obsolete":
                raise AlreadyPublishedError(f"{pull.html_url} refused this rollback: not opening it again")
        return None

    def _first_step(self, pull: PullInfo, ticket: Ticket, plan: Plan, now: datetime) -> Delivery:
        if ticket.mode == "auto":
            merged = self._bound()[1].merge(pull, ticket, "auto", gate=False, locked=True)
            if merged.status == "already":  # a replica that reused our PR merged it first
                raise AlreadyPublishedError(f"{pull.html_url} was merged by another replica")
            return Delivery(f"opened {pull.html_url}; {merged}", landed=merged.status == "merged")
        text = next_text(ticket, now)
        self.api.comment(pull.number, f"{text}\n\n{commands_help(plan.policy.action.approvers)}")
        return Delivery(f"opened {pull.html_url}: {text}", landed=False)

    def _ticket(self, plan: Plan, now: datetime) -> Ticket:
        action = plan.policy.action
        due = ceil_second(now + action.veto_window)
        return Ticket(
            agent=plan.agent,
            culprit=plan.culprit.sha,
            policy=plan.policy.name,
            mode=action.mode,
            merge_method=action.merge_method,
            from_version=plan.from_version,
            to_version=plan.to_version,
            deadline=due if action.mode == "veto-window" else None,
            alert=plan.alert.to_json(),
        )

    # -- webhooks, escalation, lifecycle ------------------------------------------------------

    def receive(self, *, event: str, delivery: str, signature: str | None, body: bytes) -> tuple[int, str]:
        """Verify over the raw body, filter, deduplicate and store; the loop does the slow work."""
        if not verify_signature(body, signature, self.secret):
            raise AuthenticationError("missing or wrong X-Hub-Signature-256")
        parsed, said = accepted(event, body, repo=self.api.full_name, bot_login=self.api.known_bot_login)
        if parsed is None:
            return 200, said
        if not delivery:
            raise WebhookPayloadError("X-GitHub-Delivery header missing")
        if not self.inbox.put(event_key(parsed, delivery), parsed):
            return 200, "duplicate"
        self._bound()[0].crash.hit(Point.INBOX_AFTER_WRITE)
        self.loop.wake()
        return 202, "queued"

    def escalate(self, watch: RollbackRef, reason: str) -> None:
        """The recovery and cluster watchers' hook: say it on the rollback's PR (people decide what is next)."""
        engine = self._bound()[0]
        try:
            message = engine.repo.commit_info(watch.rollback_sha).message
            culprit = message_trailers(message).get("Rollback-Of", "")
            pulls = self.api.pulls_for_branch(rollback_branch(watch.agent, culprit))
            if pulls:
                self.api.comment(
                    pulls[0].number,
                    f"{reason}. gitops-bot does not roll back further on its own: people decide.",
                )
        except GitopsBotError as e:
            log.warning("cannot escalate on GitHub: %s", e)

    def _note_landed(self) -> None:
        self._landed.set()
        if self._parts is not None:
            self._parts[2].wake()

    def _fire_landed(self) -> None:
        if not self._landed.is_set():
            return
        self._landed.clear()
        for hook in self.on_landed:
            try:
                hook()
            except GitopsBotError as e:
                log.warning("after-merge hook failed: %s", e)

    def start(self) -> None:
        """Start the PR loop (its first pass resumes every open rollback's clock)."""
        self.loop.start()

    def stop(self) -> None:
        """Stop the PR loop."""
        self.loop.stop()
