"""Assembles the bot's parts from a Config (the one place that picks adapters)."""

from gitops_bot.config import Config
from gitops_bot.engine import Engine
from gitops_bot.errors import ConfigError
from gitops_bot.forge import Forge
from gitops_bot.forge.local import LocalForge
from gitops_bot.gitrepo import GitRepo
from gitops_bot.journal import Journal
from gitops_bot.policy import Policy
from gitops_bot.policy_files import load_policies
from gitops_bot.service import Bot


def make_forge(config: Config) -> Forge:
    """The forge the config names."""
    if config.forge == "local":
        return LocalForge()
    raise ConfigError(f"forge.kind {config.forge!r} is not available in this build")


def make_engine(config: Config, policies: tuple[Policy, ...] | None = None) -> Engine:
    """Repo clone, forge and policies wired into an Engine."""
    policies = load_policies(config.policies) if policies is None else policies
    repo = GitRepo(config.repo_url, config.branch, config.workdir)
    return Engine(repo, make_forge(config), policies)


def make_bot(config: Config) -> Bot:
    """A Bot with its journal next to the work tree."""
    return Bot(make_engine(config), Journal(config.workdir.parent / "journal"))
