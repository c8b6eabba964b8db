"""gitops-bot.yaml parsed into a frozen Config; relative paths resolve against the file's folder."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gitops_bot.core.durations import parse_duration
from gitops_bot.core.errors import ConfigError

FORGES = ("local", "github")


@dataclass(frozen=True)
class ArgoSettings:
    """`argocd:` — the API server the cluster watch talks to (token from an env var, TLS verified)."""

    url: str
    token_env: str
    ca_file: Path | None = None
    notifications_token_env: str | None = None  # bearer token of POST /api/v1/argocd/events


@dataclass(frozen=True)
class ClusterSettings:
    """`kubernetes:` (in-cluster when omitted), `flux.events_token_env` and `cluster:` timings."""

    kubeconfig: Path | None = None
    context: str | None = None
    flux_events_token_env: str | None = None  # HMAC key of POST /api/v1/flux/events (generic-hmac)
    poll_seconds: float = 10.0
    confirm_seconds: float = 3600.0  # an alert quiet this long after resolving confirms the rollback


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
    argocd: ArgoSettings | None = None
    cluster: ClusterSettings = ClusterSettings()
    raw: dict[str, Any] = field(default_factory=dict)
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


def _optional_text(section: dict[str, Any], key: str, where: str) -> str | None:
    return _text(section, key, where) if key in section else None


def _argocd(raw: dict[str, Any], base: Path) -> ArgoSettings | None:
    section = _section(raw, "argocd")
    if not section:
        return None
    ca = _optional_text(section, "ca_file", "argocd")
    return ArgoSettings(
        url=_text(section, "url", "argocd"),
        token_env=_text(section, "token_env", "argocd", "ARGOCD_TOKEN"),
        ca_file=(base / ca).resolve() if ca else None,
        notifications_token_env=_optional_text(section, "notifications_token_env", "argocd"),
    )


def _cluster(raw: dict[str, Any], base: Path) -> ClusterSettings:
    kube, flux, cluster = _section(raw, "kubernetes"), _section(raw, "flux"), _section(raw, "cluster")
    kubeconfig = _optional_text(kube, "kubeconfig", "kubernetes")
    return ClusterSettings(
        kubeconfig=(base / kubeconfig).expanduser().resolve() if kubeconfig else None,
        context=_optional_text(kube, "context", "kubernetes"),
        flux_events_token_env=_optional_text(flux, "events_token_env", "flux"),
        poll_seconds=_seconds(cluster, "poll", "cluster", "10s"),
        confirm_seconds=_seconds(cluster, "confirmWindow", "cluster", "1h"),
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
        argocd=_argocd(raw, base),
        cluster=_cluster(raw, base),
        raw=raw,
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
