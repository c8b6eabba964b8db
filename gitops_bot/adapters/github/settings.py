"""`forge.github` settings: repo, API URL, token or GitHub App, webhook secret, loop timing."""

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from github import Auth, Github, GithubException

from gitops_bot.core.durations import parse_duration
from gitops_bot.core.errors import ConfigError, GitHubError

_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class GitHubSettings:
    """Typed `forge.github` section."""

    repo: str
    api_url: str = "https://api.github.com"
    token_env: str = "GITHUB_TOKEN"
    app_id: str | None = None
    private_key_file: Path | None = None
    installation_id: int | None = None
    webhook_secret_env: str = "GITHUB_WEBHOOK_SECRET"
    bot_login: str | None = None
    poll_seconds: float = 15.0
    attempts: int = 5
    max_wait_seconds: float = 120.0
    timeout: int = 15

    @property
    def owner(self) -> str:
        """The repository's owner (user or organisation)."""
        return self.repo.split("/", 1)[0]


def _opt_str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value):
        raise ConfigError(f"forge.github.{key}: must be a non-empty string")
    return str(value)


def parse_github(raw: Mapping[str, Any], *, base: Path) -> GitHubSettings:
    """Validate `forge.github`; relative key files resolve against the config file's folder."""
    repo = _opt_str(raw, "repo")
    if repo is None or not _REPO.fullmatch(repo):
        raise ConfigError(f"forge.github.repo: want OWNER/NAME, got {repo!r}")
    app = {k: _opt_str(raw, k) for k in ("app_id", "private_key_file", "installation_id")}
    if any(app.values()) and not all(app.values()):
        raise ConfigError("forge.github: a GitHub App needs app_id, private_key_file and installation_id")
    if app["app_id"] and not _opt_str(raw, "bot_login"):
        # Installation tokens cannot ask GET /user who they are; the PRs' author is <app-slug>[bot].
        raise ConfigError("forge.github.bot_login: required with a GitHub App (<app-slug>[bot])")
    installation = app["installation_id"]
    if installation is not None and not installation.isdigit():
        raise ConfigError("forge.github.installation_id: must be a number")
    key_file = app["private_key_file"]
    try:
        poll = parse_duration(raw.get("poll", "15s")).total_seconds()
    except ValueError as e:
        raise ConfigError(f"forge.github.poll: {e}") from e
    return GitHubSettings(
        repo=repo,
        api_url=(_opt_str(raw, "api_url") or GitHubSettings.api_url).rstrip("/"),
        token_env=_opt_str(raw, "token_env") or GitHubSettings.token_env,
        app_id=app["app_id"],
        private_key_file=(base / key_file).resolve() if key_file else None,
        installation_id=int(installation) if installation else None,
        webhook_secret_env=_opt_str(raw, "webhook_secret_env") or GitHubSettings.webhook_secret_env,
        bot_login=_opt_str(raw, "bot_login"),
        poll_seconds=poll,
    )


def build_auth(settings: GitHubSettings, env: Mapping[str, str]) -> Auth.Auth:
    """A GitHub App installation auth (token minted and refreshed by PyGithub) or a plain token."""
    if settings.app_id and settings.private_key_file and settings.installation_id:
        try:
            key = settings.private_key_file.read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"forge.github.private_key_file: cannot read: {e.strerror or e}") from e
        return Auth.AppAuth(settings.app_id, key).get_installation_auth(settings.installation_id)
    token = env.get(settings.token_env)
    if not token:
        raise ConfigError(f"${settings.token_env} is not set (forge.github.token_env) and no GitHub App")
    return Auth.Token(token)


def make_client(settings: GitHubSettings, auth: Auth.Auth) -> Github:
    """PyGithub without its own retries and throttling sleeps: GitHubAPI retries in one place."""
    return Github(
        auth=auth,
        base_url=settings.api_url,
        timeout=settings.timeout,
        per_page=100,
        lazy=True,  # objects by number cost no GET; attributes we read come with the answers
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )


def token_source(auth: Auth.Auth) -> Callable[[], str | None]:
    """The current token for git over HTTPS (an App's installation token is refreshed by PyGithub)."""

    def current() -> str | None:
        try:
            return str(getattr(auth, "token", "")) or None
        except (GithubException, requests.RequestException) as e:
            raise GitHubError(f"cannot get a GitHub token for git: {e}") from e

    return current


def git_auth_env(token: str) -> dict[str, str]:
    """Git config (via environment) that sends the token on HTTPS pushes and fetches to GitHub."""
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
    }
