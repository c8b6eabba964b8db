"""Fixtures for the Argo Workflows flavour: the shipped template installed into the executing stand-in."""

import gzip
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_bot_lab.fakes.argo_pods import Cluster
from gitops_bot_lab.fakes.argo_workflows import FakeArgoWorkflows
from tests.conftest import CONTRACTS, policy_yaml
from tests.gitfix import Remote

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "manifests" / "argo" / "workflowtemplate.yaml"
ARGO_CONTRACTS = CONTRACTS / "argo-workflows"
TOKEN = "argo-test-token"
NAMESPACE = "gitops"
IMAGE = "ghcr.io/acme/gitops-bot"


def shipped_template() -> dict[str, Any]:
    """manifests/argo/workflowtemplate.yaml as the cluster would receive it."""
    doc: dict[str, Any] = yaml.safe_load(TEMPLATE_PATH.read_text())
    return doc


def argo_schema() -> dict[str, Any]:
    """Argo's JSON schema of its resources."""
    with gzip.open(ARGO_CONTRACTS / "schema.json.gz", "rb") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def bot_config(remote: Remote) -> str:
    """gitops-bot.yaml as ConfigMap gitops-bot-rollback carries it: paths relative to /work/config."""
    return yaml.safe_dump(
        {
            "repo": {"url": remote.url, "branch": "main", "workdir": "../repo"},
            "forge": {"kind": "local"},
            "policies": "../policies/",
        }
    )


def make_cluster(root: Path, remote: Remote, **policy_spec: Any) -> Cluster:
    """The stand-in's cluster: the venv's gitops-bot as the image, the bot's ConfigMaps and Secret."""
    return Cluster(
        root=root,
        images={IMAGE: Path(sys.executable).parent},
        config_maps={
            "gitops-bot-rollback": {"gitops-bot.yaml": bot_config(remote)},
            "gitops-bot-policies": {"agents.yaml": policy_yaml(**policy_spec)},
        },
        secrets={"gitops-bot": {"github-token": "unused-in-local-mode", "state-key": "argo-test-state-key"}},
    )


@pytest.fixture
def argo(tmp_path: Path, remote: Remote) -> Iterator[FakeArgoWorkflows]:
    """The stand-in with the shipped template installed through the API, as `argo template create` does."""
    with FakeArgoWorkflows(make_cluster(tmp_path / "pods", remote), token=TOKEN) as server:
        server.store.create_template(NAMESPACE, {"template": shipped_template()})
        yield server


VETO_WINDOW = {"mode": "veto-window", "vetoWindow": "1s"}


def replica_config(root: Path, remote: Remote, argo_url: str) -> Path:
    """One bot replica's gitops-bot.yaml and policies, executor argo-workflows."""
    (root / "policies").mkdir(parents=True)
    (root / "policies" / "agents.yaml").write_text(policy_yaml(action=VETO_WINDOW))
    config = {
        "repo": {"url": remote.url, "branch": "main", "workdir": "repo"},
        "policies": "policies/",
        "executor": {
            "kind": "argo-workflows",
            "server": argo_url,
            "namespace": NAMESPACE,
            "token_env": "TEST_ARGO_TOKEN",
            "workflowTemplate": "gitops-bot-rollback",
            "poll": "200ms",
        },
    }
    (root / "gitops-bot.yaml").write_text(yaml.safe_dump(config))
    return root / "gitops-bot.yaml"


@pytest.fixture
def argo_veto(tmp_path: Path, remote: Remote) -> Iterator[FakeArgoWorkflows]:
    """The stand-in whose cluster holds the same veto-window policy as the bots."""
    cluster = make_cluster(tmp_path / "pods", remote, action=VETO_WINDOW)
    with FakeArgoWorkflows(cluster, token=TOKEN) as server:
        server.store.create_template(NAMESPACE, {"template": shipped_template()})
        yield server
