"""Every policy resolved against the repo head: by `policy check --config` and, in `serve`, at
start-up and after each sync. A policy that resolves no agent would ignore every alert, so it is
escalated once (log + `gitops_bot_policy_unresolved{policy}`) and shown on /healthz."""

import logging
from collections.abc import Mapping

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.app.engine import Engine
from gitops_bot.app.loops import Loop
from gitops_bot.app.service import Bot
from gitops_bot.core.errors import GitopsBotError
from gitops_bot.core.policy import Policy
from gitops_bot.core.resolution import PolicyResolution, describe, resolve_policy

log = logging.getLogger("gitops_bot")


def resolve_all(
    repo: GitRepo, head: str, policies: tuple[Policy, ...], fixed: Mapping[str, str]
) -> list[PolicyResolution]:
    """Each policy's agents and readings at a revision."""
    files = repo.list_files(head)
    return [
        resolve_policy(p, files, lambda f: repo.read_bytes(head, f), fixed, max_bytes=repo.max_file_bytes)
        for p in policies
    ]


class PolicyMonitor:
    """Re-resolves the policies whenever the head the engine synced to has moved."""

    def __init__(self, bot: Bot, *, interval: float = 60.0) -> None:
        self.bot, self.engine, self.interval = bot, bot.engine, interval
        self.checked_head = ""
        self._loop = Loop("policy-status", self.check, interval=interval, run_at_start=False)
        self.engine.after_sync.append(lambda _head: self._loop.wake())

    def check(self, *, sync: bool = False) -> None:
        """Resolve every policy at the current head (once per head); escalate the unresolved."""
        engine: Engine = self.engine
        with engine.exclusive():
            head = engine.repo.sync() if sync else engine.repo.head_sha()
            if head == self.checked_head:
                return
            files = engine.repo.list_files(head)

        def read(file: str) -> bytes | None:
            with engine.exclusive():  # per blob, so a waiting alert is never held up by a whole pass
                return engine.repo.read_bytes(head, file)

        repo = engine.repo
        results = [resolve_policy(p, files, read, {}, max_bytes=repo.max_file_bytes) for p in engine.policies]
        self.checked_head = head
        for result in results:
            self._record(result, head)

    def _record(self, result: PolicyResolution, head: str) -> None:
        gauge = self.bot.metrics.policy_unresolved.labels(result.policy)
        unresolved = self.bot.unresolved_policies
        if result.resolves_no_agent:
            gauge.set(1)
            if result.policy not in unresolved:  # once, not per alert and not per head
                log.warning(
                    "ESCALATED policy %s resolves no agent at %s: every alert it claims would find nothing: %s",
                    result.policy,
                    head[:12],
                    "; ".join(result.problems),
                )
            unresolved[result.policy] = "; ".join(result.problems)
            return
        gauge.set(0)
        if unresolved.pop(result.policy, None) is not None:
            log.info("policy %s resolves %d agent(s) again", result.policy, len(result.agents))
        for problem in result.problems:
            log.debug("policy %s: %s", result.policy, problem)

    def start(self) -> None:
        """Check now (syncing first), then again after every sync the engine makes."""
        try:
            self.check(sync=True)
        except GitopsBotError as e:
            log.warning("cannot resolve policies yet: %s", e)
        self._loop.start()

    def stop(self) -> None:
        """Stop the loop."""
        self._loop.stop()


def report(results: list[PolicyResolution]) -> tuple[list[str], list[str]]:
    """Lines listing each policy's agents and what they read, and every problem found."""
    lines, problems = [], []
    for result in results:
        lines.append(f"policy {result.policy}: {len(result.agents)} agent(s)")
        lines += [f"  {line}" for line in describe(result)]
        problems += [f"policy {result.policy}: {p}" for p in result.problems]
    return lines, problems
