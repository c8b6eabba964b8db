"""The `spec.cluster` section of a RollbackPolicy: which Argo CD Application / Flux object deploys an
agent, how to make it reconcile now, how long to wait, and whether to keep the bad image out (pure).

Names are templates: `{agent}` is the only placeholder, and a template must render to a valid name for
every plain agent name, so `policy check` can refuse a typo before an alert ever arrives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from gitops_bot.core.validate import Problems, choice, duration

ArgoSync = Literal["auto", "manual-sync-allowed"]
ReceiverKind = Literal["generic", "generic-hmac"]
ImageLever = Literal["exclude-tag", "suspend-automation"]
ARGO_SYNC: tuple[ArgoSync, ...] = ("auto", "manual-sync-allowed")
RECEIVER_KINDS: tuple[ReceiverKind, ...] = ("generic", "generic-hmac")
IMAGE_LEVERS: tuple[ImageLever, ...] = ("exclude-tag", "suspend-automation")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_DNS = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SAMPLE_AGENT = "sample-agent"  # what `policy check` renders templates with


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
    """A notification-controller Receiver to call instead of annotating objects."""

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
    """Opt-in: keep the rolled-back tag out of Flux image automation."""

    lever: ImageLever
    ref: str  # ImageRepository (exclude-tag) or ImageUpdateAutomation (suspend-automation), ns/name

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


def _template(raw: object, errs: Problems, key: str, *, namespaced: bool) -> str | None:
    """A name template: only `{agent}`, and it renders to a DNS name (or `ns/name`)."""
    if not isinstance(raw, str) or not raw:
        errs.add(key, "must be a non-empty string")
        return None
    others = [p for p in _PLACEHOLDER.findall(raw) if p != "agent"]
    if others:
        errs.add(key, f"only the {{agent}} placeholder is allowed, got {', '.join(map(repr, others))}")
        return None
    rendered = raw.replace("{agent}", _SAMPLE_AGENT)
    parts = rendered.split("/")
    if len(parts) != (2 if namespaced else 1) or not all(_DNS.match(p) for p in parts):
        want = "<namespace>/<name>" if namespaced else "a lowercase DNS name"
        errs.add(key, f"must render to {want}, {raw!r} gives {rendered!r}")
        return None
    return raw


def _env(raw: object, errs: Problems, key: str, *, required: bool) -> str | None:
    if raw is None and not required:
        return None
    if not isinstance(raw, str) or not _ENV.match(raw):
        errs.add(key, "must name an environment variable")
        return None
    return raw


def _mapping(raw: object, errs: Problems, key: str, allowed: frozenset[str]) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errs.add(key, "must be a mapping")
        return None
    for unknown in sorted(set(raw) - allowed):
        errs.add(f"{key}.{unknown}", "unknown key")
    return raw


def _argo(raw: object, errs: Problems, at: str) -> ArgoTarget | None:
    section = _mapping(raw, errs, at, frozenset({"app", "sync", "refreshTimeout"}))
    if section is None:
        return None
    app = _template(section.get("app"), errs, f"{at}.app", namespaced=False)
    sync = choice(section.get("sync"), ARGO_SYNC, "auto", errs, f"{at}.sync")
    refresh = duration(section.get("refreshTimeout"), timedelta(seconds=60), errs, f"{at}.refreshTimeout")
    return ArgoTarget(app, sync, refresh) if app else None  # type: ignore[arg-type]


def _receiver(raw: object, errs: Problems, at: str) -> Receiver | None:
    section = _mapping(raw, errs, at, frozenset({"url_env", "kind", "token_env"}))
    if section is None:
        return None
    kind = choice(section.get("kind"), RECEIVER_KINDS, "generic-hmac", errs, f"{at}.kind")
    url_env = _env(section.get("url_env"), errs, f"{at}.url_env", required=True)
    token_env = _env(section.get("token_env"), errs, f"{at}.token_env", required=kind == "generic-hmac")
    return Receiver(url_env, kind, token_env) if url_env else None  # type: ignore[arg-type]


def _flux(raw: object, errs: Problems, at: str) -> FluxDeploy | None:
    section = _mapping(raw, errs, at, frozenset({"kustomization", "helmRelease", "receiver"}))
    if section is None:
        return None
    given = [k for k in ("kustomization", "helmRelease") if k in section]
    if len(given) != 1:
        errs.add(at, "needs exactly one of kustomization or helmRelease")
        return None
    ref = _template(section[given[0]], errs, f"{at}.{given[0]}", namespaced=True)
    receiver = _receiver(section.get("receiver"), errs, f"{at}.receiver")
    kind: Literal["Kustomization", "HelmRelease"] = (
        "Kustomization" if given[0] == "kustomization" else "HelmRelease"
    )
    return FluxDeploy(kind, ref, receiver) if ref else None


def _images(raw: object, errs: Problems, at: str) -> ImageAutomation | None:
    section = _mapping(raw, errs, at, frozenset({"excludeTag", "suspendAutomation"}))
    if section is None:
        return None
    if len(section) != 1:
        errs.add(
            at, "needs exactly one of excludeTag: <ns>/<ImageRepository> or suspendAutomation: <ns>/<name>"
        )
        return None
    key = next(iter(section))
    ref = _template(section[key], errs, f"{at}.{key}", namespaced=True)
    lever: ImageLever = "exclude-tag" if key == "excludeTag" else "suspend-automation"
    return ImageAutomation(lever, ref) if ref else None


def parse_cluster(raw: object, errs: Problems) -> ClusterPolicy | None:
    """`spec.cluster`, or None when absent (the bot then stops at the push, as before)."""
    at = "spec.cluster"
    section = _mapping(raw, errs, at, frozenset({"argocd", "flux", "timeout", "imageAutomation"}))
    if section is None:
        return None
    argo, flux = (
        _argo(section.get("argocd"), errs, f"{at}.argocd"),
        _flux(section.get("flux"), errs, f"{at}.flux"),
    )
    if "argocd" not in section and "flux" not in section:
        errs.add(at, "needs argocd or flux")
    return ClusterPolicy(
        argocd=argo,
        flux=flux,
        timeout=duration(section.get("timeout"), timedelta(minutes=10), errs, f"{at}.timeout"),
        image_automation=_images(section.get("imageAutomation"), errs, f"{at}.imageAutomation"),
    )
