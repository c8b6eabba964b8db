"""The RollbackPolicy schema (pydantic v2, unknown keys forbidden); `policies/schema.json` is its JSON Schema.

pydantic rather than hand-written JSON Schema + jsonschema: one definition gives the validation,
the typed result and the published JSON Schema, so the three cannot drift apart.
"""

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt

from gitops_bot.core.durations import parse_duration
from gitops_bot.core.edits.tree import parse_path
from gitops_bot.core.matchers import parse_matcher
from gitops_bot.core.promql import template_problems

API_VERSION = "gitops-bot/v1"


def _duration(text: str) -> str:
    parse_duration(text)
    return text


def _path(text: str) -> str:
    parse_path(text)
    return text


def _matcher(text: str) -> str:
    parse_matcher(text)
    return text


def _query(text: str) -> str:
    if found := template_problems(text):
        raise ValueError("; ".join(found))
    return text


Text = Annotated[str, Field(min_length=1)]
Duration = Annotated[str, AfterValidator(_duration), Field(description="30s, 5m, 1h30m, 1d …")]
Query = Annotated[str, Field(min_length=1), AfterValidator(_query)]


class Strict(BaseModel):
    """Every schema model: unknown keys are errors, values are read-only."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(Strict):
    """Where a version lives: a file and a path in it; both may use {agent} and any alert label."""

    file: Annotated[Text, Field(description="repo-relative file, e.g. agents/{agent}/values.yaml")]
    path: Annotated[
        Text,
        AfterValidator(_path),
        Field(
            description='a.b, [N], [key=value], ["key.with/dots"]; e.g. images[name=ghcr.io/acme/{agent}].newTag'
        ),
    ]
    versionPrefix: str | None = Field(None, description="the field writes versions with this prefix (v1.4.0)")


class VersionSpec(Strict):
    """The alert label carrying the version, and the fields holding it."""

    label: Text | None = None
    versionPrefix: str | None = Field(None, description="default prefix for every field")
    fields: list[FieldSpec] = Field(min_length=1)


class AgentSpec(Strict):
    """How an alert names an agent and which files belong to it."""

    label: Text
    paths: list[Text] = Field(min_length=1, description="globs (** crosses folders) a rollback may touch")
    version: VersionSpec


class LimitSpec(Strict):
    """At most `max` rollbacks within `window`."""

    max: StrictInt = Field(ge=0)
    window: Duration


class LimitsSpec(Strict):
    """Per-agent limit and the fleet-wide breaker."""

    perAgent: LimitSpec | None = None
    fleet: LimitSpec | None = None


class ApproversSpec(Strict):
    """Who may /approve or /veto."""

    permission: Literal["read", "triage", "write", "maintain", "admin"] = "write"
    users: list[Text] = []
    teams: list[Text] = []


class ActionSpec(Strict):
    """What to do once a rollback is decided."""

    mode: Literal["auto", "veto-window", "approval", "dry-run"] = "auto"
    vetoWindow: Duration = "5m"
    approvers: ApproversSpec = ApproversSpec()
    mergeMethod: Literal["merge", "squash", "rebase"] = "merge"
    labels: list[Text] = []


class VerifySpec(Strict):
    """Prometheus checks before acting and after the revert lands."""

    prometheus: Text | None = None
    still_firing: Query | None = None
    recovered: Query | None = None
    timeout: Duration = "10m"
    onPrometheusError: Literal["proceed", "hold"] | None = None
    bakeTime: Duration = "1h"


class Spec(Strict):
    """The policy proper."""

    match: list[Annotated[str, AfterValidator(_matcher)]] = Field(
        [], description='Alertmanager matchers, all must hold: alertname=~"Agent.*"'
    )
    agent: AgentSpec
    action: ActionSpec = ActionSpec()
    limits: LimitsSpec = LimitsSpec()
    verify: VerifySpec | None = None


class Metadata(Strict):
    """Name (lowercase, DNS-style) and free-form labels/annotations."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class RollbackPolicyDoc(Strict):
    """One RollbackPolicy document."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="RollbackPolicy")

    apiVersion: Literal["gitops-bot/v1"]
    kind: Literal["RollbackPolicy"]
    metadata: Metadata
    spec: Spec


def json_schema() -> dict[str, object]:
    """The JSON Schema published as policies/schema.json."""
    schema = RollbackPolicyDoc.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://gitops-bot.dev/schemas/rollbackpolicy-v1.json"
    return schema
