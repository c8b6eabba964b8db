"""Assembles the bot's parts from a Config (the one place that picks adapters)."""

import logging
import threading
from typing import TYPE_CHECKING

from gitops_bot.adapters.alertmanager import AlertmanagerAPI
from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.adapters.journal import Journal
from gitops_bot.app.checks import PreActChecks
from gitops_bot.app.config import Config
from gitops_bot.app.crashpoints import NEVER, CrashPoints
from gitops_bot.app.engine import Engine, Gate
from gitops_bot.app.forge import Forge
from gitops_bot.app.forge.local import LocalForge
from gitops_bot.app.policy_files import load_policies
from gitops_bot.app.resync import Resync
from gitops_bot.app.service import Bot
from gitops_bot.app.watch_good import watch_good_once
from gitops_bot.app.watcher import RecoveryWatcher
from gitops_bot.core.errors import ConfigError, GitopsBotError
from gitops_bot.core.policy import Policy

if TYPE_CHECKING:
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


def make_gate(config: Config, policies: tuple[Policy, ...]) -> Gate | None:
    """Pre-act checks when Alertmanager or a verify query is configured."""
    am = AlertmanagerAPI(config.alertmanager_url) if config.alertmanager_url else None
    if am is None and not any(p.verify and p.verify.still_firing for p in policies):
        return None
    return PreActChecks(alertmanager=am, prometheus_url=config.prometheus_url)


def make_engine(
    config: Config, policies: tuple[Policy, ...] | None = None, *, crash: CrashPoints = NEVER
) -> Engine:
    """Repo clone, forge, policies and gate wired into an Engine (crash: the armed crash point)."""
    policies = load_policies(config.policies) if policies is None else policies
    repo = GitRepo(config.repo_url, config.branch, config.workdir)
    forge = make_forge(config, crash)
    engine = Engine(repo, forge, policies, gate=make_gate(config, policies), crash=crash)
    github = _github(engine)
    if github is not None:
        github.bind(engine)
    return engine


def _github(engine: Engine) -> "GitHubForge | None":
    """The engine's forge when it is the GitHub one."""
    from gitops_bot.app.github.forge import GitHubForge

    return engine.forge if isinstance(engine.forge, GitHubForge) else None


class Runtime:
    """Everything `serve` runs: the worker, the recovery watcher, resync and watch-good loops."""

    def __init__(self, config: Config, engine: Engine | None = None, *, crash: CrashPoints = NEVER) -> None:
        self.config = config
        engine = engine or make_engine(config, crash=crash)
        self.bot = Bot(engine, Journal(config.workdir.parent / "journal"))
        self.github = _github(engine)
        if self.github is not None and not self.github.bound:
            self.github.bind(engine)
        self.watcher = RecoveryWatcher(
            engine,
            self.bot.metrics,
            prometheus_url=config.prometheus_url,
            interval=config.recovery_poll_seconds,
            escalate=self.github.escalate if self.github else None,
        )
        if self.github is None:
            self.bot.after_rollback.append(self.watcher.watch)
        else:  # a PR lands later (or never): watch from the merge, read back from git
            self.github.on_landed.append(self._watch_landed)
        self.bot.on_resolved.append(self.watcher.resolved)
        am = AlertmanagerAPI(config.alertmanager_url) if config.alertmanager_url else None
        self.resync = Resync(self.bot, am, interval=config.resync_seconds) if am else None
        self._stop = threading.Event()
        self._good: threading.Thread | None = None

    def start(self) -> None:
        """Replay the journal, resume open recovery watches from git, start every loop."""
        self.bot.start()
        try:
            resumed = self.watcher.resume()
            if resumed:
                log.info("resumed %d recovery watch(es) from git", resumed)
        except GitopsBotError as e:
            log.warning("cannot resume recovery watches yet: %s", e)
        self.watcher.start()
        if self.github is not None:
            self.github.start()
        if self.resync is not None:
            self.resync.start()
        if self.config.watch_good_seconds:
            self._good = threading.Thread(target=self._watch_good, name="gitops-bot-watch-good", daemon=True)
            self._good.start()

    def _watch_landed(self) -> None:
        """A rollback PR merged: watch its recovery from the merge commit git now shows."""
        with self.bot.engine.exclusive():
            self.bot.engine.repo.sync()
        self.watcher.resume()

    def _watch_good(self) -> None:
        assert self.config.watch_good_seconds is not None
        while not self._stop.wait(self.config.watch_good_seconds):
            try:
                for line in watch_good_once(self.bot.engine, prometheus_url=self.config.prometheus_url):
                    log.info("watch-good: %s", line)
            except GitopsBotError as e:
                log.warning("watch-good: %s", e)

    def stop(self) -> None:
        """Stop every loop; journaled alerts and open watches resume on the next start."""
        self._stop.set()
        if self.resync is not None:
            self.resync.stop()
        if self.github is not None:
            self.github.stop()
        self.watcher.stop()
        self.bot.stop()
