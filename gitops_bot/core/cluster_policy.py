"""The `spec.cluster` section of a RollbackPolicy: which Argo CD Application / Flux object deploys an
agent, how to make it reconcile now, how long to wait, and whether to keep the bad image out (pure).

`ClusterSpec` is the schema (pydantic, unknown keys refused, part of policies/schema.json through
core.policy_schema.Spec); `ClusterPolicy` is what the bot uses. Names are templates whose only
placeholder is `{agent}` (the watch is rebuilt from git after a restart, where only the agent is known),
and a template must render to a valid name, so `policy check` refuses a typo before an alert arrives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from gitops_bot.core.durations import parse_duration

ArgoSync = Literal["auto", "manual-sync-allowed"]
ReceiverKind = Literal["generic", "generic-hmac"]
ImageLever = Literal["exclude-tag", "suspend-automation"]
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_DNS = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_SAMPLE_AGENT = "sample-agent"  # what `policy check` renders templates with


def _template(raw: str, *, namespaced: bool) -> str:
    others = [p for p in _PLACEHOLDER.findall(raw) if p != "agent"]
    if others:
        raise ValueError(f"only the {{agent}} placeholder is allowed, got {', '.join(map(repr, others))}")
    rendered = raw.replace("{agent}", _SAMPLE_AGENT)
    parts = rendered.split("/")
    if len(parts) != (2 if namespaced else 1) or not all(_DNS.match(p) for p in parts):
        want = "<namespace>/<name>" if namespaced else "a lowercase DNS name"
        raise ValueError(f"must render to {want}, {raw!r} gives {rendered!r}")
    return raw


def _name(raw: str) -> str:
    return _template(raw, namespaced=False)


def _ref(raw: str) -> str:
    return _template(raw, namespaced=True)


def _duration(raw: str) -> str:
    parse_duration(raw)
    return raw


Name = Annotated[str, AfterValidator(_name), Field(description="a name template, e.g. agents-{agent}")]
Ref = Annotated[
    str, AfterValidator(_ref), Field(description="<namespace>/<name> template, e.g. flux-system/{agent}")
]
Duration = Annotated[str, AfterValidator(_duration)]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="an environment variable")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArgoSpec(_Strict):
    """The Application that deploys the agent."""

    app: Name
    sync: ArgoSync = Field("auto", description="manual-sync-allowed: POST a sync when auto-sync is off")
    refreshTimeout: Duration = "60s"


class ReceiverSpec(_Strict):
    """A notification-controller Receiver to call instead of annotating objects."""

    url_env: EnvName
    kind: ReceiverKind = "generic-hmac"
    token_env: EnvName | None = None

    @model_validator(mode="after")
    def _token_for_hmac(self) -> ReceiverSpec:
        if self.kind == "generic-hmac" and self.token_env is None:
            raise ValueError("token_env is required for a generic-hmac Receiver")
        return self


class FluxSpec(_Strict):
    """The Kustomization or the HelmRelease that deploys the agent."""

    kustomization: Ref | None = None
    helmRelease: Ref | None = None
    receiver: ReceiverSpec | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> FluxSpec:
        if (self.kustomization is None) == (self.helmRelease is None):
            raise ValueError("needs exactly one of kustomization or helmRelease")
        return self


class ImageAutomationSpec(_Strict):
    """Opt-in: keep the rolled-back tag out of Flux image automation."""

    excludeTag: Ref | None = Field(
        None, description="ImageRepository (its exclusionList is shared by every policy)"
    )
    suspendAutomation: Ref | None = Field(None, description="ImageUpdateAutomation to suspend")

    @model_validator(mode="after")
    def _exactly_one(self) -> ImageAutomationSpec:
        if (self.excludeTag is None) == (self.suspendAutomation is None):
            raise ValueError("needs exactly one of excludeTag or suspendAutomation")
        return self


class ClusterSpec(_Strict):
    """spec.cluster: how a rollback reaches the cluster."""

    argocd: ArgoSpec | None = None
    flux: FluxSpec | None = None
    timeout: Duration = Field("10m", description="escalate when the cluster does not run the revert by then")
    imageAutomation: ImageAutomationSpec | None = None

    @model_validator(mode="after")
    def _a_controller(self) -> ClusterSpec:
        if self.argocd is None and self.flux is None:
            raise ValueError("needs argocd or flux")
        return self


@dataclass(frozen=True)
class ArgoTarget:
    """One Application per agent; `sync` says whether the bot may POST a sync itself."""

    app: str
    sync: ArgoSync = "auto"
    refresh_timeout: timedelta = timedelta(seconds=60)

    def app_for(self, agent: str) -> str:
        """The Application name for an agent."""
        return self.app.replace("{agent}", agent)


@dataclass(frozen=True)
class Receiver:
    """A notification-controller Receiver (URL and token from the environment)."""

    url_env: str
    kind: ReceiverKind = "generic-hmac"
    token_env: str | None = None


@dataclass(frozen=True)
class FluxDeploy:
    """The Kustomization or HelmRelease (`namespace/name` template) that deploys the agent."""

    kind: Literal["Kustomization", "HelmRelease"]
    ref: str
    receiver: Receiver | None = None

    def ref_for(self, agent: str) -> str:
        """`namespace/name` for an agent."""
        return self.ref.replace("{agent}", agent)


@dataclass(frozen=True)
class ImageAutomation:
    """Which lever keeps a rolled-back tag out, and on which object (`namespace/name` template)."""

    lever: ImageLever
    ref: str

    def ref_for(self, agent: str) -> str:
        """`namespace/name` for an agent."""
        return self.ref.replace("{agent}", agent)


@dataclass(frozen=True)
class ClusterPolicy:
    """How a rollback reaches the cluster and how long the bot waits for it."""

    argocd: ArgoTarget | None = None
    flux: FluxDeploy | None = None
    timeout: timedelta = timedelta(minutes=10)
    image_automation: ImageAutomation | None = None


def _flux(spec: FluxSpec) -> FluxDeploy:
    r = spec.receiver
    receiver = Receiver(r.url_env, r.kind, r.token_env) if r else None
    if spec.kustomization is not None:
        return FluxDeploy("Kustomization", spec.kustomization, receiver)
    return FluxDeploy("HelmRelease", spec.helmRelease or "", receiver)


def _images(spec: ImageAutomationSpec) -> ImageAutomation:
    if spec.excludeTag is not None:
        return ImageAutomation("exclude-tag", spec.excludeTag)
    return ImageAutomation("suspend-automation", spec.suspendAutomation or "")


def cluster_policy(spec: ClusterSpec | None) -> ClusterPolicy | None:
    """The validated section as the bot uses it (None: the bot stops at the push, as before)."""
    if spec is None:
        return None
    argo = spec.argocd
    return ClusterPolicy(
        argocd=ArgoTarget(argo.app, argo.sync, parse_duration(argo.refreshTimeout)) if argo else None,
        flux=_flux(spec.flux) if spec.flux else None,
        timeout=parse_duration(spec.timeout),
        image_automation=_images(spec.imageAutomation) if spec.imageAutomation else None,
    )
