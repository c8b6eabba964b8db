"""gitops-bot.yaml parsed into a frozen Config; relative paths resolve against the file's folder."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gitops_bot.adapters.gitrun import GitLimits
from gitops_bot.app.config_schema import ConfigDoc, GitSection, PrometheusSection
from gitops_bot.core.durations import parse_duration
from gitops_bot.core.edits import DEFAULT_MAX_FILE_BYTES
from gitops_bot.core.errors import ConfigError
from gitops_bot.core.schema_errors import problems


@dataclass(frozen=True)
class PrometheusClient:
    """How to reach Prometheus: TLS is verified (system CAs or ca_file); secrets come from env vars."""

    ca_file: Path | None = None
    bearer_token_env: str | None = None
    basic_auth_username: str | None = None
    basic_auth_password_env: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class EscalationSettings:
    """Posting escalations to Alertmanager (on when alertmanager.url is set, unless enabled: false)."""

    enabled: bool = True
    resend_seconds: float = 60.0
    one_shot_ttl_seconds: float = 4 * 3600.0
    recovery_lookback_seconds: float = 24 * 3600.0


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
    read_token_env: str | None = None  # optional bearer token for GET /api/v1/rollbacks
    state_key_env: str = "GITOPS_BOT_STATE_KEY"  # HMAC key(s) for tags and PR tickets, current first
    github: dict[str, Any] = field(default_factory=dict)
    alertmanager_url: str | None = None
    prometheus_url: str | None = None
    resync_seconds: float = 60.0
    recovery_poll_seconds: float = 10.0
    watch_good_seconds: float | None = None
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    git: GitLimits = field(default_factory=GitLimits)
    rollback_deadline: float = 120.0  # keep redoing a rollback through push races this long
    max_body: int = 8 * 1024 * 1024  # fits a 10,000-alert Alertmanager group (~4.7 MiB)
    threads: int = 8  # HTTP worker threads (connections beyond them wait in the event loop)
    read_timeout: float = 10.0  # a request whose headers/body stall this long is cut off
    prometheus_client: PrometheusClient = PrometheusClient()
    escalations: EscalationSettings = EscalationSettings()
    raw: dict[str, Any] = field(default_factory=dict)
    base: Path = Path(".")  # the config file's folder: relative paths in forge.github resolve here


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"server.listen: want HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _seconds(text: str) -> float:
    return parse_duration(text).total_seconds()


def _git_limits(sec: GitSection) -> GitLimits:
    """`git:` deadlines: network ops (clone/fetch/push) and local ones are set apart."""
    return GitLimits(
        network_timeout=_seconds(sec.network_timeout),
        local_timeout=_seconds(sec.local_timeout),
        low_speed_limit=sec.low_speed_limit,
        low_speed_time=max(1, round(_seconds(sec.low_speed_time))),
        ssh_connect_timeout=max(1, round(_seconds(sec.ssh_connect_timeout))),
        ssh_keepalive=max(1, round(_seconds(sec.ssh_keepalive))),
    )


def _validate(raw: object) -> ConfigDoc:
    if not isinstance(raw, dict):
        raise ConfigError("config must be a mapping")
    try:
        # An empty section (`alertmanager:`) means its defaults; an empty unknown key is still an error.
        return ConfigDoc.model_validate(
            {k: v for k, v in raw.items() if v is not None or k not in ConfigDoc.model_fields}
        )
    except ValidationError as e:
        lines = [f"{key}: {problem}" for key, problem in problems(ConfigDoc, e)]
        raise ConfigError("; ".join(lines) if len(lines) == 1 else "\n  " + "\n  ".join(lines)) from e


def _prometheus_client(prom: PrometheusSection | None, base: Path) -> PrometheusClient:
    if prom is None:
        return PrometheusClient()
    basic = prom.basic_auth
    return PrometheusClient(
        ca_file=(base / prom.ca_file).resolve() if prom.ca_file else None,
        bearer_token_env=prom.bearer_token_env,
        basic_auth_username=basic.username if basic else None,
        basic_auth_password_env=basic.password_env if basic else None,
        headers=tuple(sorted(prom.headers.items())),
    )


def parse_config(raw: object, *, base: Path) -> Config:
    """Validate a loaded gitops-bot.yaml mapping against the schema."""
    doc = _validate(raw)
    url = doc.repo.url
    if "://" not in url and not url.startswith(("/", "git@")) and ":" not in url:
        url = str((base / url).resolve())
    host, port = _listen(doc.server.listen)
    am, prom = doc.alertmanager, doc.prometheus
    github = doc.forge.github.model_dump(exclude_none=True) if doc.forge.github else {}
    return Config(
        repo_url=url,
        branch=doc.repo.branch,
        workdir=(base / doc.repo.workdir).resolve(),
        forge=doc.forge.kind,
        listen_host=host,
        listen_port=port,
        token_env=doc.server.alertmanager_token_env,
        read_token_env=doc.server.read_token_env,
        policies=(base / doc.policies).resolve(),
        state_key_env=doc.state_key_env,
        github=github,
        alertmanager_url=am.url if am else None,
        prometheus_url=prom.url if prom else None,
        resync_seconds=_seconds(am.resync if am else "1m"),
        recovery_poll_seconds=_seconds(prom.poll if prom else "10s"),
        watch_good_seconds=_seconds(doc.watch_good.interval) if doc.watch_good else None,
        max_file_bytes=doc.repo.max_file_bytes,
        git=_git_limits(doc.git),
        rollback_deadline=_seconds(doc.rollback.deadline),
        max_body=doc.server.max_body_bytes,
        threads=doc.server.threads,
        read_timeout=_seconds(doc.server.read_timeout),
        prometheus_client=_prometheus_client(prom, base),
        escalations=EscalationSettings(
            enabled=doc.escalations.enabled,
            resend_seconds=_seconds(doc.escalations.resend),
            one_shot_ttl_seconds=_seconds(doc.escalations.expire),
            recovery_lookback_seconds=_seconds(doc.escalations.recovery_timeout_for),
        ),
        raw=dict(raw) if isinstance(raw, dict) else {},
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
