"""`spec.cluster` in a RollbackPolicy and `argocd:` / `kubernetes:` in gitops-bot.yaml, as `policy check`
and the config loader see them."""

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from gitops_bot.app.config import parse_config
from gitops_bot.core.errors import ConfigError
from tests.conftest import make_policy, policy_yaml


def test_argocd_and_flux_templates_render_per_agent() -> None:
    cluster = make_policy(
        cluster={
            "argocd": {"app": "agents-{agent}", "sync": "manual-sync-allowed", "refreshTimeout": "90s"},
            "flux": {
                "helmRelease": "agents/{agent}",
                "receiver": {"url_env": "FLUX_RECEIVER_URL", "token_env": "FLUX_RECEIVER_TOKEN"},
            },
            "timeout": "5m",
            "imageAutomation": {"excludeTag": "flux-system/{agent}"},
        }
    ).cluster
    assert cluster is not None and cluster.argocd is not None and cluster.flux is not None
    assert (
        cluster.argocd.app_for("support") == "agents-support" and cluster.argocd.sync == "manual-sync-allowed"
    )
    assert cluster.argocd.refresh_timeout == timedelta(seconds=90) and cluster.timeout == timedelta(minutes=5)
    assert (cluster.flux.kind, cluster.flux.ref_for("support")) == ("HelmRelease", "agents/support")
    assert cluster.flux.receiver is not None and cluster.flux.receiver.kind == "generic-hmac"
    assert cluster.image_automation is not None and cluster.image_automation.lever == "exclude-tag"


def test_a_policy_without_cluster_stops_at_the_push_as_before() -> None:
    assert make_policy().cluster is None


def test_policy_check_names_every_cluster_mistake(tmp_path: Path) -> None:
    bad = {
        "argocd": {"app": "agents-{agnet}", "sync": "always", "refreshTimout": "1m"},
        "flux": {
            "kustomization": "no-namespace-{agent}",
            "receiver": {"url_env": "has space", "kind": "github"},
        },
        "timeout": "soon",
        "imageAutomation": {"excludeTag": "a/b", "suspendAutomation": "a/c"},
    }
    (tmp_path / "p.yaml").write_text(policy_yaml(cluster=bad))
    result = subprocess.run(
        [sys.executable, "-m", "gitops_bot.cli", "policy", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    for expected in (
        "spec.cluster.argocd.app: only the {agent} placeholder is allowed, got 'agnet'",
        "spec.cluster.argocd.sync: Input should be 'auto' or 'manual-sync-allowed', got 'always'",
        "spec.cluster.argocd.refreshTimout: unknown key 'refreshTimout'; did you mean 'refreshTimeout'?",
        "spec.cluster.flux.kustomization: must render to <namespace>/<name>",
        "spec.cluster.flux.receiver.url_env: String should match pattern",
        "spec.cluster.flux.receiver.kind: Input should be 'generic' or 'generic-hmac', got 'github'",
        "spec.cluster.timeout: not a duration like 30s, 5m, 1h30m: 'soon'",
        "spec.cluster.imageAutomation: needs exactly one of excludeTag or suspendAutomation",
    ):
        assert expected in result.stdout + result.stderr, (expected, result.stdout, result.stderr)


def test_cluster_section_needs_a_controller() -> None:
    with pytest.raises(AssertionError, match="needs argocd or flux"):
        make_policy(cluster={"timeout": "5m"})


def test_config_reads_argocd_and_kubernetes_sections(tmp_path: Path) -> None:
    config = parse_config(
        {
            "repo": {"url": "file:///srv/agents.git"},
            "argocd": {"url": "https://argocd.example", "token_env": "ARGOCD_TOKEN", "ca_file": "ca.pem"},
            "kubernetes": {"kubeconfig": "kube/config", "context": "prod"},
            "flux": {"events_token_env": "FLUX_EVENTS_KEY"},
            "cluster": {"poll": "5s", "confirmWindow": "2h"},
        },
        base=tmp_path,
    )
    assert config.argocd is not None and config.argocd.ca_file == tmp_path / "ca.pem"
    assert config.cluster.kubeconfig == tmp_path / "kube" / "config" and config.cluster.context == "prod"
    assert config.cluster.poll_seconds == 5 and config.cluster.confirm_seconds == 7200
    assert config.cluster.flux_events_token_env == "FLUX_EVENTS_KEY"
    home = parse_config(
        {"repo": {"url": "file:///a.git"}, "kubernetes": {"kubeconfig": "~/kc"}}, base=tmp_path
    )
    assert home.cluster.kubeconfig == Path("~/kc").expanduser()
    in_cluster = parse_config({"repo": {"url": "file:///srv/agents.git"}}, base=tmp_path)
    assert in_cluster.argocd is None and in_cluster.cluster.kubeconfig is None  # in-cluster credentials


def test_config_refuses_an_argocd_section_without_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"argocd\.url: is required"):
        parse_config({"repo": {"url": "file:///srv/a.git"}, "argocd": {"token_env": "T"}}, base=tmp_path)
