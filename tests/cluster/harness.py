"""A bot Runtime wired to the Argo CD / Kubernetes stand-ins over a real bare remote (no Prometheus)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from gitops_bot.app.config import parse_config
from gitops_bot.app.wiring import Runtime
from gitops_bot.core.phases import PhaseMark, parse_phase
from gitops_bot.core.refs import PHASE_PREFIX
from gitops_bot_lab.stack import wait_until
from tests.conftest import make_alert, policy_yaml
from tests.gitfix import Remote, git

ARGO_ENV, KUBE_NS = "TEST_ARGOCD_TOKEN", "flux-system"


def bot_config(
    tmp: Path,
    remote: Remote,
    *,
    cluster: dict[str, Any],
    extra: dict[str, Any] | None = None,
    timeout: str = "3s",
    name: str = "bot",
) -> Runtime:
    """A Runtime whose only policy has `spec.cluster` = cluster (polled every 100 ms)."""
    folder = tmp / f"{name}-policies"
    folder.mkdir(exist_ok=True)
    (folder / "agents.yaml").write_text(policy_yaml(cluster={"timeout": timeout, **cluster}))
    raw = {
        "repo": {"url": remote.url, "branch": "main", "workdir": f"{name}/repo"},
        "policies": str(folder),
        "cluster": {"poll": "100ms"},
        **(extra or {}),
    }
    return Runtime(parse_config(raw, base=tmp))


@contextmanager
def running(runtime: Runtime) -> Iterator[Runtime]:
    """Start every loop; stop them on the way out."""
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()


def alert_and_wait(runtime: Runtime, agent: str, version: str, timeout: float = 20) -> str:
    """Send a firing alert, wait for the revert and for the cluster watch to finish; return the sha."""
    runtime.bot.enqueue(make_alert(agent, version))
    assert runtime.bot.wait_idle(30)
    outcome = runtime.bot.recent[-1]
    assert outcome.kind == "rolled_back" and outcome.commit, outcome
    cluster = runtime.cluster
    assert cluster is not None
    sha = outcome.commit
    wait_until(lambda: sha in cluster.finished, timeout, 0.05, what="the cluster watch to finish")
    return sha


def phases(remote: Remote, sha: str) -> dict[str, PhaseMark]:
    """The phase marks pushed to the remote for one rollback."""
    out = git(remote.bare, "for-each-ref", "--format=%(contents)%00", f"refs/tags/{PHASE_PREFIX}{sha[:12]}/")
    marks = [parse_phase(chunk) for chunk in out.split("\0") if chunk.strip()]
    return {m.phase: m for m in marks if m is not None}


def argo_env(monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    monkeypatch.setenv(ARGO_ENV, token)
