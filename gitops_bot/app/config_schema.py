"""The gitops-bot.yaml schema (pydantic v2, unknown keys forbidden), the same way policies are checked."""

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, model_validator

from gitops_bot.core.edits import DEFAULT_MAX_FILE_BYTES
from gitops_bot.core.policy_schema import Duration, Strict, Text


class RepoSection(Strict):
    """The GitOps repo and the bot's clone of it."""

    url: Text
    branch: Text = "main"
    workdir: Text = ".gitops-bot/repo"
    max_file_bytes: StrictInt = Field(
        DEFAULT_MAX_FILE_BYTES, ge=1024, description="manifests larger than this are refused before parsing"
    )


class GitHubSection(Strict):
    """forge.github: checked further (App all-or-nothing, OWNER/NAME) by the GitHub adapter."""

    repo: Text
    api_url: Text | None = None
    token_env: Text | None = None
    app_id: Text | StrictInt | None = None
    private_key_file: Text | None = None
    installation_id: Text | StrictInt | None = None
    webhook_secret_env: Text | None = None
    bot_login: Text | None = None
    poll: Duration | None = None


class ForgeSection(Strict):
    """local = push to the branch; github = pull requests."""

    kind: Literal["local", "github"] = "local"
    github: GitHubSection | None = None


class ServerSection(Strict):
    """Where the webhook server listens and where its token comes from."""

    listen: Text = "127.0.0.1:8080"
    alertmanager_token_env: Text = "GITOPS_BOT_ALERT_TOKEN"
    read_token_env: Text | None = Field(
        None, description="optional: a bearer token GET /api/v1/rollbacks then requires (metrics stay open)"
    )
    max_body_bytes: StrictInt = Field(
        8 * 1024 * 1024, ge=1024, description="413 above; one 10,000-alert Alertmanager group is ~4.7 MiB"
    )
    threads: StrictInt = Field(8, ge=1, le=256, description="HTTP worker threads (waitress)")
    read_timeout: Duration = Field(
        "10s", description="a connection silent this long (headers or body) is closed"
    )


class GitSection(Strict):
    """Deadlines for every git call: a stalled remote must not freeze rollbacks."""

    network_timeout: Duration = Field("2m", description="clone, fetch, push: killed after this")
    local_timeout: Duration = Field("1m", description="log, commit, reset ... in the bot's own clone")
    low_speed_limit: StrictInt = Field(1000, ge=1, description="HTTP: bytes/s below which a transfer ...")
    low_speed_time: Duration = Field("20s", description="... is aborted after this long")
    ssh_connect_timeout: Duration = "10s"
    ssh_keepalive: Duration = Field("5s", description="ServerAliveInterval; 3 missed answers drop it")


class RollbackSection(Strict):
    """How long an emergency rollback keeps redoing through push races."""

    deadline: Duration = "2m"


class AlertmanagerSection(Strict):
    """Optional: resync active alerts and check silences."""

    url: Text | None = None
    resync: Duration = "1m"


class BasicAuthSection(Strict):
    """prometheus.basic_auth: the password only by environment variable name."""

    username: Text
    password_env: Text


class PrometheusSection(Strict):
    """Optional: verify queries, recovery and bake; TLS always verified (ca_file or system CAs)."""

    url: Text | None = None
    poll: Duration = "10s"
    ca_file: Text | None = None
    bearer_token_env: Text | None = None
    basic_auth: BasicAuthSection | None = None
    headers: dict[Text, Text] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_auth(self) -> "PrometheusSection":
        if self.bearer_token_env and self.basic_auth:
            raise ValueError("bearer_token_env and basic_auth exclude each other")
        return self


class EscalationsSection(Strict):
    """Optional: escalations posted to alertmanager.url."""

    enabled: StrictBool = True
    resend: Duration = "1m"
    expire: Duration = "4h"
    recovery_timeout_for: Duration = "24h"


class WatchGoodSection(Strict):
    """Optional: the known-good tagging loop."""

    interval: Duration = "5m"


class ConfigDoc(Strict):
    """gitops-bot.yaml."""

    repo: RepoSection
    forge: Annotated[ForgeSection, Field(default_factory=ForgeSection)]
    server: Annotated[ServerSection, Field(default_factory=ServerSection)]
    policies: Text = "policies/"
    state_key_env: Text = Field(
        "GITOPS_BOT_STATE_KEY", description="HMAC key(s) sealing bot tags and PR tickets: 'key' or 'new,old'"
    )
    alertmanager: AlertmanagerSection | None = None
    prometheus: PrometheusSection | None = None
    watch_good: WatchGoodSection | None = None
    git: Annotated[GitSection, Field(default_factory=GitSection)]
    rollback: Annotated[RollbackSection, Field(default_factory=RollbackSection)]
    escalations: Annotated[EscalationsSection, Field(default_factory=EscalationsSection)]
