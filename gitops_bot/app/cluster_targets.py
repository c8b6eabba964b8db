"""The controllers that deploy an agent, as the cluster watch sees them: ask to reconcile now, observe.

One `Target` per Argo CD Application or Flux Kustomization / HelmRelease named by the policy's
`spec.cluster`. Clients are built once from gitops-bot.yaml (`argocd:`, `kubernetes:`) and the
environment; every adapter error becomes a `ClusterCallError` so the watch can log it, keep watching
until the deadline, and put the reason in the escalation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from gitops_bot.adapters.argocd import ArgoCD, ArgoCDConfig, ArgoCDError
from gitops_bot.adapters.flux import Flux, FluxError, FluxTarget
from gitops_bot.adapters.flux_receiver import call_receiver
from gitops_bot.app.config import Config
from gitops_bot.core.cluster import ClusterOutcome, argo_verdict, flux_verdict
from gitops_bot.core.cluster_policy import ArgoTarget, ClusterPolicy, FluxDeploy
from gitops_bot.core.errors import GitopsBotError
from gitops_bot.core.reach import argo_synced, flux_synced


class ClusterCallError(GitopsBotError):
    """Argo CD, the Kubernetes API or a Receiver refused or did not answer."""


@dataclass(frozen=True)
class Observation:
    """What one controller shows now: did it apply the revert, and the verdict."""

    synced: bool
    outcome: ClusterOutcome


class Target(Protocol):
    """One Application / Kustomization / HelmRelease deploying the agent."""

    name: str

    def kick(self, revert: str) -> str:
        """Ask the controller to reconcile now; return what was done (for the log)."""

    def observe(self, revert: str, acceptable: frozenset[str], branch: str) -> Observation:
        """Read the status and judge it."""


class ArgoApp:
    """An Argo CD Application: refresh (own timeout), then sync to the revert when allowed."""

    def __init__(self, client: ArgoCD, spec: ArgoTarget, agent: str) -> None:
        self.client, self.spec = client, spec
        self.name = f"Application {spec.app_for(agent)}"
        self.app = spec.app_for(agent)

    def kick(self, revert: str) -> str:
        try:
            status = self.client.refresh(self.app)
            if status.automated or self.spec.sync != "manual-sync-allowed" or status.can_sync is False:
                return f"refreshed {self.name}"
            self.client.sync(self.app, revert)
        except ArgoCDError as e:
            raise ClusterCallError(f"{self.name}: {e}") from e
        return f"refreshed {self.name} and started a sync to {revert[:12]}"

    def observe(self, revert: str, acceptable: frozenset[str], branch: str) -> Observation:
        try:
            status = self.client.status(self.app)
        except ArgoCDError as e:
            raise ClusterCallError(f"{self.name}: {e}") from e
        return Observation(argo_synced(status, acceptable), argo_verdict(status, revert, acceptable, branch))


class FluxObject:
    """A Flux Kustomization / HelmRelease: call the Receiver, or annotate requestedAt."""

    def __init__(self, client: Flux, spec: FluxDeploy, agent: str) -> None:
        self.client, self.spec = client, spec
        self.target = FluxTarget.parse(spec.kind, spec.ref_for(agent))
        self.name = f"{spec.kind} {self.target.namespace}/{self.target.name}"

    def kick(self, revert: str) -> str:
        receiver = self.spec.receiver
        try:
            if receiver is None:
                self.client.request_reconcile(self.target, datetime.now(UTC).isoformat())
                return f"annotated {self.name} and its GitRepository with reconcile.fluxcd.io/requestedAt"
            url = os.environ.get(receiver.url_env, "")
            token = os.environ.get(receiver.token_env, "") if receiver.token_env else ""
            if not url or (receiver.token_env and not token):
                raise ClusterCallError(f"{self.name}: ${receiver.url_env} / ${receiver.token_env} not set")
            call_receiver(url, receiver.kind, token, body=b'{"source":"gitops-bot"}')
        except FluxError as e:
            raise ClusterCallError(f"{self.name}: {e}") from e
        return f"called the Receiver for {self.name}"

    def observe(self, revert: str, acceptable: frozenset[str], branch: str) -> Observation:
        try:
            status = self.client.status(self.target)
        except FluxError as e:
            raise ClusterCallError(f"{self.name}: {e}") from e
        return Observation(flux_synced(status, acceptable), flux_verdict(status, revert, acceptable, branch))


class ClusterClients:
    """Adapters built on first use from the config (so a bot without a cluster section needs none)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._argo: dict[float, ArgoCD] = {}
        self._flux: Flux | None = None

    def argo(self, refresh_timeout_s: float) -> ArgoCD:
        settings = self.config.argocd
        if settings is None:
            raise ClusterCallError("a policy names an Argo CD Application but gitops-bot.yaml has no argocd:")
        if refresh_timeout_s not in self._argo:
            try:
                cfg = ArgoCDConfig.from_env(
                    settings.url,
                    settings.token_env,
                    ca_bundle=str(settings.ca_file) if settings.ca_file else None,
                    refresh_timeout_s=refresh_timeout_s,
                )
            except ArgoCDError as e:
                raise ClusterCallError(str(e)) from e
            self._argo[refresh_timeout_s] = ArgoCD(cfg)
        return self._argo[refresh_timeout_s]

    def flux(self) -> Flux:
        if self._flux is None:
            kube = self.config.cluster
            try:
                self._flux = Flux.connect(str(kube.kubeconfig) if kube.kubeconfig else None, kube.context)
            except FluxError as e:
                raise ClusterCallError(str(e)) from e
        return self._flux

    def targets(self, cluster: ClusterPolicy, agent: str) -> list[Target]:
        """Every controller the policy names for this agent."""
        out: list[Target] = []
        if cluster.argocd is not None:
            client = self.argo(cluster.argocd.refresh_timeout.total_seconds())
            out.append(ArgoApp(client, cluster.argocd, agent))
        if cluster.flux is not None:
            out.append(FluxObject(self.flux(), cluster.flux, agent))
        return out
