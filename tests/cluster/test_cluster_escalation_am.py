"""A revert that cannot reach the cluster is paged through the existing escalation path: a real
Alertmanager gets a GitopsBotEscalation with reason cluster_not_running_revert and the reason text."""

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gitops_bot.app.wiring import Runtime
from gitops_bot_lab.fakes.argocd import FakeArgoCD
from gitops_bot_lab.stack import start_alertmanager, wait_until
from tests.binaries import require_binary
from tests.cluster.conftest import ARGO_TOKEN, release
from tests.cluster.harness import ARGO_ENV, bot_config, running
from tests.conftest import firing_body
from tests.gitfix import Remote


def escalations(am_url: str) -> list[dict[str, Any]]:
    url = f"{am_url}/api/v2/alerts?filter=alertname%3D%22GitopsBotEscalation%22"
    with urllib.request.urlopen(url, timeout=5) as r:
        found: list[dict[str, Any]] = json.loads(r.read())
    return found


def rolled_back(runtime: Runtime) -> str | None:
    return next((o.commit for o in runtime.bot.recent if o.kind == "rolled_back"), None)


def post_to_alertmanager(am_url: str, agent: str, version: str) -> None:
    raw = firing_body(agent, version, started=datetime.now(UTC) - timedelta(minutes=1))["alerts"][0]
    posted = [{k: raw[k] for k in ("labels", "annotations", "startsAt", "generatorURL")}]
    request = urllib.request.Request(
        f"{am_url}/api/v2/alerts",
        data=json.dumps(posted).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=5).close()


def test_a_degraded_revert_is_paged_in_alertmanager_with_the_reason(
    tmp_path: Path, remote: Remote, argo: FakeArgoCD, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_binary("prometheus-alertmanager")
    monkeypatch.setenv(ARGO_ENV, ARGO_TOKEN)
    release(remote, "1.1.0")
    argo.tick()
    argo.app("agents-support").health_after_sync = "Degraded"
    with start_alertmanager(tmp_path, "http://127.0.0.1:9/unused", "unused") as am:
        runtime = bot_config(
            tmp_path,
            remote,
            cluster={"argocd": {"app": "agents-{agent}"}},
            extra={
                "argocd": {"url": argo.url, "token_env": ARGO_ENV},
                "alertmanager": {"url": am.url, "resync": "1h"},
            },
            timeout="30s",
        )
        post_to_alertmanager(am.url, "support", "1.1.0")
        with running(runtime):  # the resync at start pulls the alert from Alertmanager and acts on it
            sha = wait_until(lambda: rolled_back(runtime), 30, 0.05, what="the revert")
            cluster = runtime.cluster
            assert cluster is not None
            wait_until(lambda: sha in cluster.finished, 20, 0.05, what="the cluster watch to finish")
            (paged,) = wait_until(lambda: escalations(am.url), 15, 0.2, what="the escalation in Alertmanager")
    assert paged["labels"]["reason"] == "cluster_not_running_revert"
    assert paged["labels"]["agent"] == "support" and paged["labels"]["rollback"] == sha[:12]
    assert "Degraded" in paged["annotations"]["description"]
