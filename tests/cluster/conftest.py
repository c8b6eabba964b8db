"""Fixtures for the cluster tests: a real bare GitOps remote and the Argo CD / Kubernetes stand-ins."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_bot_lab.fakes.argocd import FakeArgoCD
from gitops_bot_lab.fakes.kube import FakeKube
from gitops_bot_lab.fakes.receiver import FakeReceiver
from tests.gitfix import Remote, agent_files, make_remote

ARGO_TOKEN = "argocd-api-token-for-tests"


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    """A bare remote whose main holds the support agent at 1.0.0."""
    return make_remote(tmp_path, {"support": "1.0.0", "billing": "3.1.0"})


def release(remote: Remote, version: str, message: str | None = None) -> str:
    """Push a new support-agent version to main; return the commit."""
    return remote.commit(agent_files("support", version), message or f"support {version}")


@pytest.fixture
def argo(remote: Remote) -> Iterator[FakeArgoCD]:
    """The Argo CD stand-in over the remote, with the support Application deployed."""
    with FakeArgoCD(remote.bare, token=ARGO_TOKEN) as fake:
        fake.add_app("agents-support", repo_url=remote.url, path="agents/support")
        yield fake


KUBE_TOKEN = "kube-api-token-for-tests"
NS = "flux-system"


# The CRD only admits http(s)/ssh URLs; the stand-in reads the bare repo it was given whatever the URL.
GIT_URL = "ssh://git@git.example.com/acme/agents-gitops.git"


def flux_objects(remote_url: str = GIT_URL) -> list[dict[str, Any]]:
    """The Flux objects of a cluster that deploys the agents from the remote's main branch."""
    source_ref = {"kind": "GitRepository", "name": "agents"}
    return [
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "agents", "namespace": NS},
            "spec": {"url": remote_url, "interval": "1m0s", "ref": {"branch": "main"}},
        },
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "support", "namespace": NS},
            "spec": {"interval": "10m0s", "path": "./agents/support", "prune": True, "sourceRef": source_ref},
        },
        {
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": "billing", "namespace": NS},
            "spec": {
                "interval": "10m0s",
                "chart": {
                    "spec": {
                        "chart": "./agents/billing",
                        "sourceRef": source_ref,
                        "reconcileStrategy": "Revision",
                    }
                },
            },
        },
        {
            "apiVersion": "image.toolkit.fluxcd.io/v1",
            "kind": "ImageRepository",
            "metadata": {"name": "support", "namespace": NS},
            "spec": {"image": "registry.example.com/agents/support", "interval": "5m0s"},
        },
        {
            "apiVersion": "image.toolkit.fluxcd.io/v1",
            "kind": "ImagePolicy",
            "metadata": {"name": "support", "namespace": NS},
            "spec": {"imageRepositoryRef": {"name": "support"}, "policy": {"semver": {"range": ">=1.0.0"}}},
        },
        {
            "apiVersion": "image.toolkit.fluxcd.io/v1",
            "kind": "ImageUpdateAutomation",
            "metadata": {"name": "agents", "namespace": NS},
            "spec": {"interval": "30m0s", "sourceRef": source_ref},
        },
    ]


@pytest.fixture
def kube(remote: Remote) -> Iterator[FakeKube]:
    """The Kubernetes API stand-in holding the Flux objects, reconciled once at the remote's main."""
    with FakeKube(remote.bare, token=KUBE_TOKEN) as fake:
        for obj in flux_objects():
            fake.create(obj)
        yield fake


@pytest.fixture
def receiver(kube: FakeKube) -> Iterator[FakeReceiver]:
    """notification-controller's webhook server beside the Kubernetes stand-in."""
    with FakeReceiver(kube) as fake:
        yield fake


def kubeconfig(path: Path, server: str, token: str = KUBE_TOKEN) -> Path:
    """A real kubeconfig file pointing at the stand-in."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "lab", "cluster": {"server": server}}],
        "users": [{"name": "bot", "user": {"token": token}}],
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "bot", "namespace": NS}}],
        "current-context": "lab",
    }
    path.write_text(yaml.safe_dump(config))
    return path
