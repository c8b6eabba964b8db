"""The real Prometheus + Alertmanager loop with the cluster in it: the fake agent exports the version the
Argo CD / Flux stand-in has *synced*, not what the branch says, so recovery waits for the cluster."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from gitops_bot.app.audit import audit_records
from gitops_bot.app.config import parse_config
from gitops_bot.app.server import create_app
from gitops_bot.app.wiring import Runtime
from gitops_bot.core.cluster import revision_sha
from gitops_bot_lab.fake_agent import FakeAgent, fast_rules, version_from_git
from gitops_bot_lab.fakes.argocd import FakeArgoCD
from gitops_bot_lab.fakes.kube import FakeKube
from gitops_bot_lab.stack import dump_logs_on_failure, free_port, start_alertmanager, start_prometheus
from tests.binaries import require_binary
from tests.cluster.conftest import kubeconfig
from tests.conftest import policy_yaml
from tests.gitfix import Remote, make_remote

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "manifests" / "monitoring" / "agent-rules.yaml"
AGENT, GOOD, ROGUE = "billing-agent", "2026.05.2", "2026.06.0"
FILE = f"agents/{AGENT}/deployment.yaml"
APP, NS = f"agents-{AGENT}", "flux-system"
ARGO_TOKEN, KUBE_TOKEN, ARGO_ENV = "e2e-argocd-token", "e2e-kube-token", "E2E_ARGOCD_TOKEN"
VERIFY = {
    "still_firing": 'ALERTS{alertname="{alertname}",agent="{agent}",alertstate="firing"}',
    "recovered": 'sum(rate(agent_tool_calls_total{agent="{agent}"}[10s])) < 10',
    "timeout": "90s",
}


@dataclass
class ClusterLab:
    """Everything running; `deploy_rogue` plays the controller's own periodic poll picking up a release."""

    remote: Remote
    agent: FakeAgent
    runtime: Runtime
    deploy_rogue: Callable[[], None]
    argo: FakeArgoCD | None = None
    kube: FakeKube | None = None

    def phases(self) -> dict[str, Any]:
        records = audit_records(self.runtime.bot.engine, agent=AGENT)
        assert len(records) <= 1, records
        return (records[0].phases or {}) if records else {}


def _flux_objects() -> list[dict[str, Any]]:
    source_ref = {"kind": "GitRepository", "name": "agents"}
    return [
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "agents", "namespace": NS},
            "spec": {
                "url": "ssh://git@git.example.com/acme/agents.git",
                "interval": "1m0s",
                "ref": {"branch": "main"},
            },
        },
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": AGENT, "namespace": NS},
            "spec": {
                "interval": "10m0s",
                "path": f"./agents/{AGENT}",
                "prune": True,
                "sourceRef": source_ref,
            },
        },
    ]


@contextmanager
def cluster_lab(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flavour: str,
    *,
    verify: dict[str, str] | None = None,
    cluster_timeout: str = "60s",
) -> Iterator[ClusterLab]:
    """Start the stand-in, the agent following it, Prometheus, Alertmanager and the bot (worker not started)."""
    for binary in ("prometheus", "prometheus-alertmanager", "promtool"):
        require_binary(binary)
    remote = make_remote(tmp_path, {AGENT: GOOD})
    token, port = secrets.token_hex(12), free_port()
    with ExitStack() as stack:
        if flavour == "argocd":
            argo = stack.enter_context(FakeArgoCD(remote.bare, token=ARGO_TOKEN))
            argo.add_app(APP, repo_url=remote.url, path=f"agents/{AGENT}")
            argo.app(APP).progressing_passes = 3  # a sync's pods roll out over three health assessments
            monkeypatch.setenv(ARGO_ENV, ARGO_TOKEN)
            kube = None
            synced: Callable[[], str] = lambda: argo.app(APP).synced_sha or "main"  # noqa: E731
            deploy_rogue = argo.tick
            cluster = {"argocd": {"app": "agents-{agent}", "refreshTimeout": "10s"}}
            extra: dict[str, Any] = {"argocd": {"url": argo.url, "token_env": ARGO_ENV}}
        else:
            argo = None
            kube = stack.enter_context(FakeKube(remote.bare, token=KUBE_TOKEN))
            for obj in _flux_objects():
                kube.create(obj)
            k = kube

            def synced() -> str:
                applied = k.obj("kustomizations", NS, AGENT).get("status", {}).get("lastAppliedRevision")
                return revision_sha(applied) or "main"

            def deploy_rogue() -> None:
                with k.lock:
                    k.controllers.reconcile(("gitrepositories", NS, "agents"))

            cluster = {"flux": {"kustomization": "flux-system/{agent}"}}
            extra = {
                "kubernetes": {"kubeconfig": str(kubeconfig(tmp_path / "kubeconfig", kube.url, KUBE_TOKEN))}
            }
        agent = stack.enter_context(
            FakeAgent(AGENT, lambda: version_from_git(remote.bare, synced(), FILE), {ROGUE}, version_poll=0.2)
        )
        am = stack.enter_context(
            start_alertmanager(tmp_path, f"http://127.0.0.1:{port}/api/v1/alerts", token)
        )
        prom = stack.enter_context(
            start_prometheus(tmp_path, [agent.target], [fast_rules(RULES, tmp_path / "rules.yaml")], am.url)
        )
        stack.enter_context(dump_logs_on_failure(prom, am))
        (tmp_path / "policies").mkdir()
        (tmp_path / "policies" / "agents.yaml").write_text(
            policy_yaml(verify=verify or VERIFY, cluster={**cluster, "timeout": cluster_timeout})
        )
        raw = {
            "repo": {"url": remote.url, "branch": "main", "workdir": "state/repo"},
            "server": {"listen": f"127.0.0.1:{port}"},
            "policies": "policies",
            "alertmanager": {"url": am.url, "resync": "1h"},
            "prometheus": {"url": prom.url, "poll": "1s"},
            "cluster": {"poll": "500ms"},
            **extra,
        }
        runtime = Runtime(parse_config(raw, base=tmp_path))
        server = make_server("127.0.0.1", port, create_app(runtime.bot, token=token), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        stack.callback(server.shutdown)
        stack.callback(runtime.stop)
        yield ClusterLab(remote, agent, runtime, deploy_rogue, argo, kube)
