"""Assembles the bot's parts from a Config (the one place that picks adapters)."""

import logging
import os
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from gitops_bot.adapters.alertmanager import AlertmanagerAPI
from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.adapters.journal import Journal
from gitops_bot.adapters.prometheus import PrometheusAccess, PrometheusReader
from gitops_bot.app.checks import PreActChecks
from gitops_bot.app.cluster_targets import ClusterClients
from gitops_bot.app.cluster_watch import ClusterWatch, ClusterWatcher
from gitops_bot.app.config import Config
from gitops_bot.app.crashpoints import NEVER, CrashPoints
from gitops_bot.app.engine import Engine, Gate
from gitops_bot.app.escalations import Escalations
from gitops_bot.app.forge import Forge
from gitops_bot.app.forge.local import LocalForge
from gitops_bot.app.loops import Loop
from gitops_bot.app.outcomes import track_outcomes
from gitops_bot.app.policy_files import load_policies
from gitops_bot.app.policy_status import PolicyMonitor
from gitops_bot.app.resync import Resync
from gitops_bot.app.service import Bot
from gitops_bot.app.watch_good import watch_good_once
from gitops_bot.app.watcher import RecoveryWatcher
from gitops_bot.core.cluster_escalation import cluster_escalation
from gitops_bot.core.cluster_events import ClusterEvent
from gitops_bot.core.errors import ConfigError, GitopsBotError
from gitops_bot.core.escalation_sources import policy_problems
from gitops_bot.core.policy import Policy
from gitops_bot.core.statekey import StateKeys

if TYPE_CHECKING:
    from gitops_bot.app.argo_executor import ArgoExecutor
    from gitops_bot.app.github.forge import GitHubForge

log = logging.getLogger("gitops_bot")


def make_forge(config: Config, crash: CrashPoints = NEVER) -> Forge:
    """The forge the config names."""
    if config.forge == "local":
        return LocalForge(crash)
    if config.forge == "github":
        from gitops_bot.app.github.forge import GitHubForge  # PyGithub only when github mode is used

        return GitHubForge.from_config(config)
    raise ConfigError(f"forge.kind {config.forge!r} is not available in this build")


def _secret(env: str | None, where: str) -> str | None:
    if env is None:
        return None
    value = os.environ.get(env)
    if not value:
        raise ConfigError(f"{where}: ${env} is not set")
    return value


def make_reader(config: Config) -> PrometheusReader:
    """The Prometheus client every read goes through, with the configured TLS and credentials."""
    c = config.prometheus_client
    password = _secret(c.basic_auth_password_env, "prometheus.basic_auth.password_env")
    access = PrometheusAccess(
        ca_file=c.ca_file,
        bearer_token=_secret(c.bearer_token_env, "prometheus.bearer_token_env"),
        basic_auth=(c.basic_auth_username or "", password) if password is not None else None,
        headers=c.headers,
    )
    return PrometheusReader(access=access)


def make_gate(
    config: Config, policies: tuple[Policy, ...], reader: PrometheusReader | None = None
) -> Gate | None:
    """Pre-act checks when Alertmanager or a verify query is configured."""
    am = AlertmanagerAPI(config.alertmanager_url) if config.alertmanager_url else None
    if am is None and not any(p.verify and p.verify.still_firing for p in policies):
        return None
    return PreActChecks(alertmanager=am, prometheus_url=config.prometheus_url, reader=reader)


def state_keys(config: Config, *, insecure: bool = False, env: Mapping[str, str] = os.environ) -> StateKeys:
    """The state key(s) from the environment (comma-separated, current first).

    Without one, nothing the bot signed can be written or believed, unless `insecure` (serve's
    --insecure-no-state-key): then tags and tickets are written bare and trusted as they stand.
    """
    where = f"${config.state_key_env} (state_key_env)"
    return StateKeys.parse(env.get(config.state_key_env), where=where, insecure=insecure)


def make_engine(
    config: Config,
    policies: tuple[Policy, ...] | None = None,
    reader: PrometheusReader | None = None,
    *,
    insecure_state: bool = False,
    crash: CrashPoints = NEVER,
    defer_clone: bool = False,
) -> Engine:
    """Repo clone, forge, policies, gate and state key wired into an Engine (crash: the armed crash
    point; defer_clone: with no clone yet, Runtime.start makes it in the background)."""
    policies = load_policies(config.policies) if policies is None else policies
    reader = reader or make_reader(config)
    repo = GitRepo(
        config.repo_url,
        config.branch,
        config.workdir,
        config.git,
        max_file_bytes=config.max_file_bytes,
        defer_clone=defer_clone,
    )
    keys = state_keys(config, insecure=insecure_state)
    gate = make_gate(config, policies, reader)
    engine = Engine(
        repo,
        make_forge(config, crash),
        policies,
        gate=gate,
        keys=keys,
        deadline=config.rollback_deadline,
        crash=crash,
    )
    github = _github(engine)
    if github is not None:
        github.bind(engine)
    return engine


def _github(engine: Engine) -> "GitHubForge | None":
    """The engine's forge when it is the GitHub one."""
    from gitops_bot.app.github.forge import GitHubForge

    return engine.forge if isinstance(engine.forge, GitHubForge) else None


def _argo_executor(config: Config, policies: tuple[Policy, ...]) -> "ArgoExecutor | None":
    """The Argo Workflows executor when the config asks for it (the SDK is imported only then)."""
    if config.executor.kind != "argo-workflows":
        return None
    from gitops_bot.app.argo_executor import ArgoExecutor, make_argo

    return ArgoExecutor(make_argo(config.executor), policies, poll_seconds=config.executor.poll_seconds)


def job_deadline(config: Config) -> float:
    """The longest one alert's job may run: up to 3 in-line attempts, each redoing for
    rollback_deadline plus one git call that runs to its kill deadline. /livez only complains well
    past it, and the pod's termination grace period must exceed it (manifests/bot)."""
    return 3 * (config.rollback_deadline + config.git.network_timeout) + 3.0


class Stoppable(Protocol):
    """A background part of the runtime."""

    def stop(self) -> None:
        """Stop after the pass in hand."""


class Runtime:
    """Everything `serve` runs: the worker, the recovery watcher, resync and watch-good loops."""

    def __init__(
        self,
        config: Config,
        engine: Engine | None = None,
        *,
        crash: CrashPoints = NEVER,
        defer_clone: bool = False,
    ) -> None:
        self.config = config
        self.prometheus = make_reader(config)
        engine = engine or make_engine(config, reader=self.prometheus, crash=crash, defer_clone=defer_clone)
        self.argo = _argo_executor(config, engine.policies)
        self.bot = Bot(
            engine,
            Journal(config.workdir.parent / "journal"),
            job_deadline=job_deadline(config),
            handler=self.argo.handle if self.argo is not None else None,
        )
        self.github = _github(engine)
        if self.github is not None and not self.github.bound:
            self.github.bind(engine)
        self.watcher = RecoveryWatcher(
            engine,
            self.bot.metrics,
            prometheus_url=config.prometheus_url,
            interval=config.recovery_poll_seconds,
            escalate=self.github.escalate if self.github else None,
            reader=self.prometheus,
        )
        self.cluster = self._cluster_watcher(config, engine)
        if self.github is None:
            self.bot.after_rollback.append(self.watcher.watch)
            if self.cluster is not None:
                self.bot.after_rollback.append(self.cluster.landed)
        else:  # a PR lands later (or never): watch from the merge, read back from git
            self.github.on_landed.append(self._watch_landed)
        if self.cluster is not None:
            self.bot.on_cluster_event.append(self._cluster_event)
        self.bot.on_resolved.append(self.watcher.resolved)
        track_outcomes(self.bot, timedelta(seconds=config.cluster.confirm_seconds))
        am = AlertmanagerAPI(config.alertmanager_url) if config.alertmanager_url else None
        self.resync = Resync(self.bot, am, interval=config.resync_seconds) if am else None
        self.escalations = self._escalations(am)
        self._good = (
            Loop("watch-good", self._watch_good, interval=config.watch_good_seconds, run_at_start=False)
            if config.watch_good_seconds
            else None
        )
        self._stop = threading.Event()
        self._life = threading.Lock()  # loops start (after a background clone) or stop, not both
        self._loops_started = False
        # serve: everything but the worker starts in the background (the first policy check alone
        # reads every agent's files), so the webhook answers at once, clone or no clone.
        self._serving_early = defer_clone
        self.policy_status = PolicyMonitor(self.bot, interval=config.resync_seconds)

    def _cluster_event(self, event: ClusterEvent) -> None:
        if self.cluster is not None:
            self.cluster.wake()

    def _cluster_watcher(self, config: Config, engine: Engine) -> ClusterWatcher | None:
        """A cluster watch when any policy says how its agents reach the cluster (spec.cluster)."""
        if not any(p.cluster for p in engine.policies):
            return None
        return ClusterWatcher(
            engine,
            self.bot.metrics,
            ClusterClients(config),
            interval=config.cluster.poll_seconds,
            escalate=self._cluster_escalate,
        )

    def _cluster_escalate(self, watch: ClusterWatch, text: str) -> None:
        """A cluster watch ended short of the revert running: a PR comment and/or an Alertmanager alert."""
        if self.github is not None:
            self.github.escalate(watch, text)
        escalations = self.escalations  # set in __init__ before any watch can end
        if escalations is not None:
            ttl = timedelta(seconds=self.config.escalations.one_shot_ttl_seconds)
            escalations.raise_one_shot(
                cluster_escalation(
                    agent=watch.agent,
                    policy=watch.policy.name,
                    rollback_sha=watch.rollback_sha,
                    text=text,
                    now=datetime.now(UTC),
                    ttl=ttl,
                )
            )
            escalations.wake()

    def _escalations(self, am: AlertmanagerAPI | None) -> Escalations | None:
        settings = self.config.escalations
        if am is None or not settings.enabled:
            return None
        escalations = Escalations(
            self.bot.engine,
            am,
            self.bot.metrics,
            resend=settings.resend_seconds,
            one_shot_ttl=settings.one_shot_ttl_seconds,
            recovery_lookback=settings.recovery_lookback_seconds,
            resolved_at=self.watcher.resolved_at,
        )
        now = datetime.now(UTC)
        expires = now + timedelta(seconds=settings.one_shot_ttl_seconds)
        problems = policy_problems(
            self.bot.engine.policies, prometheus_url=self.config.prometheus_url, now=now, expires=expires
        )
        for problem in problems:
            log.warning("policy problem: %s", problem.description)
            escalations.raise_one_shot(problem)
        self.bot.after_outcome.append(escalations.on_outcome)
        self.watcher.on_finished.append(escalations.wake)
        self.watcher.on_problem.append(escalations.policy_problem)
        self.bot.on_resolved.append(lambda _alert: escalations.wake())  # a late recovery clears one
        return escalations

    def start(self) -> None:
        """Replay the journal and start the worker; every other loop once the clone is complete.

        A new pod has no clone: alerts are journaled (durable before the 2xx) while the full clone
        is made in the background, and git work (the worker's included) waits for it. The
        changed-path index is written after that, while serving.
        """
        self.bot.start()
        repo = self.bot.engine.repo
        if repo.ready and not self._serving_early:
            self._start_loops()
        if self._serving_early or not repo.indexed():
            threading.Thread(target=self._prepare, name="gitops-bot-clone", daemon=True).start()

    def _prepare(self) -> None:
        """Clone (retrying with back-off until stopped), start the loops, then index the history."""
        repo, delay = self.bot.engine.repo, 1.0
        while not repo.ready:
            try:
                repo.clone()
            except GitopsBotError as e:
                log.warning("%s; retrying in %.0f s (alerts stay journaled)", e, delay)
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2, 60.0)
                continue
        with self._life:
            if self._stop.is_set():
                return
            if not self._loops_started:
                self._start_loops()
        if repo.indexed():
            return
        try:
            repo.index_history()
        except GitopsBotError as e:
            log.warning("changed-path index not written (walks stay correct, only slower): %s", e)

    def _start_loops(self) -> None:
        """Resume open recovery watches from git; start the policy, watcher, PR, resync, watch-good loops."""
        self._loops_started = True
        self.policy_status.start()
        for name, watcher in (("recovery", self.watcher), ("cluster", self.cluster)):
            if watcher is None:
                continue
            try:
                resumed = watcher.resume()
                if resumed:
                    log.info("resumed %d %s watch(es) from git", resumed, name)
            except GitopsBotError as e:
                log.warning("cannot resume %s watches yet: %s", name, e)
        self.watcher.start()
        if self.argo is not None:
            self.argo.deadlines.start()
        if self.cluster is not None:
            self.cluster.start()
        if self.github is not None:
            self.github.start()
        if self.resync is not None:
            self.resync.start()
        if self._good is not None:
            self._good.start()
        if self.escalations is not None:
            self.escalations.start()

    def _watch_landed(self) -> None:
        """A rollback PR merged: watch its recovery from the merge commit git now shows."""
        with self.bot.engine.exclusive():
            self.bot.engine.repo.sync()
        self.watcher.resume()
        if self.cluster is not None:
            self.cluster.resume()

    def _watch_good(self) -> None:
        for line in watch_good_once(
            self.bot.engine, prometheus_url=self.config.prometheus_url, reader=self.prometheus
        ):
            log.info("watch-good: %s", line)

    def stop(self) -> None:
        """Stop every loop; journaled alerts and open watches resume on the next start."""
        self.bot.finish_current_only()  # first: stopping the other loops may wait for the job in hand
        with self._life:
            self._stop.set()
        # Side by side: each loop may be mid-pass (an outside call up to its deadline), and one
        # after another the joins would add up past a pod's grace period.
        loops: list[Stoppable | None] = [
            self.escalations,
            self.policy_status,
            self._good,
            self.resync,
            self.github,
            self.argo.deadlines if self.argo is not None else None,
            self.watcher,
            self.cluster,
        ]
        stopping = [
            threading.Thread(target=part.stop, name="gitops-bot-stop", daemon=True)
            for part in loops
            if part is not None
        ]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
        self.bot.stop()
