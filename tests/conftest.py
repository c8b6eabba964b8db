"""Shared fixtures: real payloads from tests/contracts, policies, engines over real git repos."""

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.app.engine import Engine
from gitops_bot.app.forge import Forge
from gitops_bot.app.forge.local import LocalForge
from gitops_bot.core.alerts import Alert, format_time, parse_alert
from gitops_bot.core.policy import Policy, parse_policy
from gitops_bot.core.statekey import StateKeys, seal_tag
from tests.gitfix import Remote, git, make_remote

CONTRACTS = Path(__file__).resolve().parent / "contracts"
STATE_KEY = "test-state-key-0123456789"
TEST_KEYS = StateKeys((STATE_KEY.encode(),))


@pytest.fixture(autouse=True)
def state_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every bot a test starts (in process or as `gitops-bot serve`) holds the state key."""
    monkeypatch.setenv("GITOPS_BOT_STATE_KEY", STATE_KEY)


ALERTMANAGER = CONTRACTS / "alertmanager"


def payload(name: str) -> dict[str, Any]:
    """A real captured Alertmanager webhook body."""
    path = ALERTMANAGER / name
    assert path.exists(), f"missing contract {path}: tests/contracts is part of the repo"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def firing_body(
    agent: str,
    version: str | None,
    *,
    started: datetime,
    alertname: str = "AgentPolicyViolations",
    fingerprint: str = "3ecc831ed00f1c68",
    **labels: str,
) -> dict[str, Any]:
    """The real single-alert body with this agent's labels put in."""
    body = copy.deepcopy(payload("firing-single-policy-violation.json"))
    alert = body["alerts"][0]
    alert["labels"] |= {"agent": agent, "alertname": alertname, **labels}
    if version is None:
        alert["labels"].pop("version")
    else:
        alert["labels"]["version"] = version
    alert["startsAt"] = format_time(started)
    alert["fingerprint"] = fingerprint
    body["commonLabels"] = body["groupLabels"] = dict(alert["labels"])
    return body


def make_alert(agent: str, version: str | None, *, started: datetime | None = None, **kw: str) -> Alert:
    """One parsed alert built from the real payload."""
    body = firing_body(agent, version, started=started or datetime.now(UTC) - timedelta(minutes=1), **kw)
    return parse_alert(body["alerts"][0])


POLICY_DOC: dict[str, Any] = {
    "apiVersion": "gitops-bot/v1",
    "kind": "RollbackPolicy",
    "metadata": {"name": "agents"},
    "spec": {
        "match": ['alertname=~"Agent.*"', 'severity!="info"'],
        "agent": {
            "label": "agent",
            "paths": ["agents/{agent}/**"],
            "version": {
                "label": "version",
                "fields": [
                    {
                        "file": "agents/{agent}/deployment.yaml",
                        "path": "spec.template.spec.containers[name=agent].image",
                    },
                    {"file": "agents/{agent}/agent.yaml", "path": "spec.version"},
                ],
            },
        },
        "action": {"mode": "auto"},
        "limits": {"perAgent": {"max": 1, "window": "1h"}, "fleet": {"max": 5, "window": "10m"}},
    },
}


def policy_yaml(**spec: Any) -> str:
    """The standard policy document with parts of spec replaced, as a policies/*.yaml file."""
    doc = copy.deepcopy(POLICY_DOC)
    doc["spec"] |= spec
    return yaml.safe_dump(doc, sort_keys=False)


def make_policy(**spec: Any) -> Policy:
    """The standard policy with parts of spec replaced."""
    doc = copy.deepcopy(POLICY_DOC)
    doc["spec"] |= spec
    policy, errors = parse_policy(doc, where="test")
    assert policy is not None, errors
    return policy


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    """Three agents at good versions on a bare remote."""
    return make_remote(
        tmp_path, {"billing-agent": "2026.05.2", "support-bot": "v1.9.3", "triage-agent": "1.2.4"}
    )


def push_tag(
    remote: Remote, name: str, message: str, *, rev: str = "HEAD", keys: StateKeys | None = TEST_KEYS
) -> None:
    """Push an annotated tag from the developer clone, sealed with the state key unless keys is None."""
    sha = remote.head(rev)
    text = seal_tag(keys, name, sha, message) if keys is not None else message
    git(remote.dev, "tag", "-a", "--cleanup=verbatim", "-m", text, name, sha)
    git(remote.dev, "push", "--quiet", "origin", f"refs/tags/{name}")


EngineFactory = Callable[..., Engine]


@pytest.fixture
def engine_for(tmp_path: Path) -> EngineFactory:
    """Build an engine with its own work tree (a fresh one per name, like a fresh replica)."""

    def build(
        remote: Remote,
        *,
        policies: tuple[Policy, ...] | None = None,
        name: str = "bot",
        now: datetime | None = None,
        forge: Forge | None = None,
    ) -> Engine:
        repo = GitRepo(remote.url, "main", tmp_path / name / "repo")
        clock = (lambda: now) if now is not None else (lambda: datetime.now(UTC))
        return Engine(repo, forge or LocalForge(), policies or (make_policy(),), clock=clock, keys=TEST_KEYS)

    return build
