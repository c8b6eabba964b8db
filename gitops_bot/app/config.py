"""gitops-bot.yaml parsed into a frozen Config; relative paths resolve against the file's folder."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from gitops_bot.core.durations import parse_duration
from gitops_bot.core.errors import ConfigError

FORGES = ("local", "github")
EXECUTORS = ("inline", "argo-workflows")


@dataclass(frozen=True)
class ExecutorConfig:
    """Where rollbacks run: `inline` (this process, the default) or as Argo Workflows on the cluster."""

    kind: Literal["inline", "argo-workflows"] = "inline"
    server: str = ""
    namespace: str = ""
    token_env: str = "ARGO_TOKEN"
    workflow_template: str = "gitops-bot-rollback"
    poll_seconds: float = 15.0  # how often veto deadlines are checked
    ca_file: str | None = None


@dataclass(frozen=True)
class Config:
    """The bot's settings."""

    repo_url: str
    branch: str
    workdir: Path
    forge: str
    listen_host: str
    listen_port: int
    token_env: str
    policies: Path
    github: dict[str, Any] = field(default_factory=dict)
    alertmanager_url: str | None = None
    prometheus_url: str | None = None
    resync_seconds: float = 60.0
    recovery_poll_seconds: float = 10.0
    watch_good_seconds: float | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    executor: ExecutorConfig = ExecutorConfig()
    base: Path = Path(".")  # the config file's folder: relative paths in forge.github resolve here


def _section(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: must be a mapping")
    return value


def _text(section: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = section.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}.{key}: required, a non-empty string")
    return value


def _seconds(section: dict[str, Any], key: str, where: str, default: str) -> float:
    try:
        return parse_duration(section.get(key, default)).total_seconds()
    except ValueError as e:
        raise ConfigError(f"{where}.{key}: {e}") from e


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"server.listen: want HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _executor(section: dict[str, Any], base: Path) -> ExecutorConfig:
    kind = section.get("kind", "inline")
    if kind not in EXECUTORS:
        raise ConfigError(f"executor.kind: must be one of {', '.join(EXECUTORS)}, got {kind!r}")
    if kind == "inline":
        return ExecutorConfig()
    ca = section.get("ca_file")
    return ExecutorConfig(
        kind="argo-workflows",
        server=_text(section, "server", "executor"),
        namespace=_text(section, "namespace", "executor"),
        token_env=_text(section, "token_env", "executor", "ARGO_TOKEN"),
        workflow_template=_text(section, "workflowTemplate", "executor", "gitops-bot-rollback"),
        poll_seconds=_seconds(section, "poll", "executor", "15s"),
        ca_file=str((base / ca).resolve()) if isinstance(ca, str) and ca else None,
    )


def parse_config(raw: object, *, base: Path) -> Config:
    """Validate a loaded gitops-bot.yaml mapping."""
    if not isinstance(raw, dict):
        raise ConfigError("config must be a mapping")
    repo, forge, server = _section(raw, "repo"), _section(raw, "forge"), _section(raw, "server")
    kind = forge.get("kind", "local")
    if kind not in FORGES:
        raise ConfigError(f"forge.kind: must be one of {', '.join(FORGES)}, got {kind!r}")
    url = _text(repo, "url", "repo")
    if "://" not in url and not url.startswith(("/", "git@")) and ":" not in url:
        url = str((base / url).resolve())
    host, port = _listen(_text(server, "listen", "server", "127.0.0.1:8080"))
    am, prom = _section(raw, "alertmanager"), _section(raw, "prometheus")
    alertmanager, prometheus = am.get("url"), prom.get("url")
    good = _section(raw, "watch_good")
    return Config(
        repo_url=url,
        branch=_text(repo, "branch", "repo", "main"),
        workdir=(base / _text(repo, "workdir", "repo", ".gitops-bot/repo")).resolve(),
        forge=kind,
        listen_host=host,
        listen_port=port,
        token_env=_text(server, "alertmanager_token_env", "server", "GITOPS_BOT_ALERT_TOKEN"),
        policies=(base / _text(raw, "policies", "config", "policies/")).resolve(),
        github=_section(forge, "github"),
        alertmanager_url=alertmanager if isinstance(alertmanager, str) else None,
        prometheus_url=prometheus if isinstance(prometheus, str) else None,
        resync_seconds=_seconds(am, "resync", "alertmanager", "1m"),
        recovery_poll_seconds=_seconds(prom, "poll", "prometheus", "10s"),
        watch_good_seconds=_seconds(good, "interval", "watch_good", "5m") if good else None,
        raw=raw,
        executor=_executor(_section(raw, "executor"), base),
        base=base,
    )


def load_config(path: Path) -> Config:
    """Read and validate a config file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror or e}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    try:
        return parse_config(raw, base=path.resolve().parent)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from e
