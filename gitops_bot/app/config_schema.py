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
    alertmanager: AlertmanagerSection | None = None
    prometheus: PrometheusSection | None = None
    watch_good: WatchGoodSection | None = None
    escalations: Annotated[EscalationsSection, Field(default_factory=EscalationsSection)]
