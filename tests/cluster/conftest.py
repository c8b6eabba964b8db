"""Fixtures for the cluster tests: a real bare GitOps remote and the Argo CD / Kubernetes stand-ins."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from gitops_bot_lab.fakes.argocd import FakeArgoCD

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
