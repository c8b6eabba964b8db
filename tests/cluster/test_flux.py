"""The Flux adapter (real `kubernetes` client) against the CRD-checked Kubernetes stand-in and a real bare repo."""

from pathlib import Path

import pytest

from gitops_bot.adapters.flux import Flux, FluxError, FluxErrorKind, FluxTarget
from gitops_bot.core.cluster import ClusterVerdict, flux_verdict
from gitops_bot_lab.fakes.kube import FakeKube
from tests.cluster.conftest import GIT_URL, NS, kubeconfig, release
from tests.gitfix import Remote, git

SUPPORT = FluxTarget("Kustomization", NS, "support")
BILLING = FluxTarget("HelmRelease", NS, "billing")


def flux(kube: FakeKube, tmp_path: Path, **kwargs: str) -> Flux:
    """The adapter as the bot builds it: from a kubeconfig file."""
    return Flux.connect(str(kubeconfig(tmp_path / "kubeconfig", kube.url, **kwargs)), timeout_s=5)


def verdict(adapter: Flux, target: FluxTarget, revert: str) -> ClusterVerdict:
    return flux_verdict(adapter.status(target), revert, frozenset({revert}), "main").verdict


def test_reconcile_request_makes_the_kustomization_apply_the_revert(
    remote: Remote, kube: FakeKube, tmp_path: Path
) -> None:
    adapter = flux(kube, tmp_path)
    revert = release(remote, "1.0.1", "Roll back support")
    assert verdict(adapter, SUPPORT, revert) is ClusterVerdict.WAITING  # Flux only polls on its interval
    value = adapter.request_reconcile(SUPPORT, "2026-12-02T10:00:00Z")
    status = adapter.status(SUPPORT)
    assert status.applied_revision == f"main@sha1:{revert}" and status.ready == "True"
    assert flux_verdict(status, revert, frozenset({revert}), "main").verdict is ClusterVerdict.DEPLOYED
    patched = [(m, p) for m, p, s in kube.log if m == "PATCH"]
    assert [p.rsplit("/", 2)[-2] for _, p in patched] == ["gitrepositories", "kustomizations"]
    assert kube.obj("kustomizations", NS, "support")["status"]["lastHandledReconcileAt"] == value
    assert kube.contract_errors == []


def test_helm_release_reports_the_revert_in_its_chart_version(
    remote: Remote, kube: FakeKube, tmp_path: Path
) -> None:
    adapter = flux(kube, tmp_path)
    revert = release(remote, "1.0.1")
    adapter.request_reconcile(BILLING)
    status = adapter.status(BILLING)
    assert status.applied_revision == f"0.1.0+{revert[:12]}"
    assert flux_verdict(status, revert, frozenset({revert}), "main").verdict is ClusterVerdict.DEPLOYED
    assert kube.contract_errors == []


@pytest.mark.parametrize("plural", ["kustomizations", "gitrepositories"])
def test_suspended_objects_are_never_reconciled(
    remote: Remote, kube: FakeKube, tmp_path: Path, plural: str
) -> None:
    kube.obj(plural, NS, "support" if plural == "kustomizations" else "agents")["spec"]["suspend"] = True
    adapter = flux(kube, tmp_path)
    revert = release(remote, "1.0.1")
    adapter.request_reconcile(SUPPORT)
    status = adapter.status(SUPPORT)
    assert status.applied_revision != f"main@sha1:{revert}"
    assert flux_verdict(status, revert, frozenset({revert}), "main").verdict is ClusterVerdict.SUSPENDED
    assert kube.contract_errors == []


@pytest.mark.parametrize(
    ("target", "reason", "expected"),
    [
        (SUPPORT, "ReconciliationFailed", ClusterVerdict.SYNC_FAILED),
        (SUPPORT, "HealthCheckFailed", ClusterVerdict.DEGRADED),
        (BILLING, "UpgradeFailed", ClusterVerdict.SYNC_FAILED),
    ],
)
def test_failed_apply_of_the_revert_is_reported_with_its_reason(
    remote: Remote, kube: FakeKube, tmp_path: Path, target: FluxTarget, reason: str, expected: ClusterVerdict
) -> None:
    plural = "kustomizations" if target.kind == "Kustomization" else "helmreleases"
    kube.mode(plural, NS, target.name).fail_reason = reason
    adapter = flux(kube, tmp_path)
    revert = release(remote, "1.0.1")
    adapter.request_reconcile(target)
    outcome = flux_verdict(adapter.status(target), revert, frozenset({revert}), "main")
    assert outcome.verdict is expected and reason in outcome.reason and "admission webhook" in outcome.reason
    assert kube.contract_errors == []


def test_controller_that_never_picks_the_revert_up_keeps_waiting(
    remote: Remote, kube: FakeKube, tmp_path: Path
) -> None:
    kube.mode("kustomizations", NS, "support").stuck = True
    adapter = flux(kube, tmp_path)
    revert = release(remote, "1.0.1")
    for _ in range(3):
        adapter.request_reconcile(SUPPORT)
        assert verdict(adapter, SUPPORT, revert) is ClusterVerdict.WAITING
    assert kube.contract_errors == []


def test_git_repository_pinned_to_a_tag_is_pinned(remote: Remote, kube: FakeKube, tmp_path: Path) -> None:
    git(remote.dev, "tag", "v1.0.0")
    git(remote.dev, "push", "--quiet", "origin", "v1.0.0")
    kube.create(
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "pinned", "namespace": NS},
            "spec": {"url": GIT_URL, "interval": "1m0s", "ref": {"branch": "main", "tag": "v1.0.0"}},
        }
    )
    kube.create(
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "pinned", "namespace": NS},
            "spec": {
                "interval": "10m0s",
                "path": "./agents/support",
                "prune": True,
                "sourceRef": {"kind": "GitRepository", "name": "pinned"},
            },
        }
    )
    adapter = flux(kube, tmp_path)
    revert = release(remote, "1.0.1")
    target = FluxTarget("Kustomization", NS, "pinned")
    adapter.request_reconcile(target)
    outcome = flux_verdict(adapter.status(target), revert, frozenset({revert}), "main")
    assert outcome.verdict is ClusterVerdict.PINNED and "tag 'v1.0.0'" in outcome.reason
    assert kube.contract_errors == []


def test_wrong_token_is_an_auth_error(kube: FakeKube, tmp_path: Path) -> None:
    with pytest.raises(FluxError) as err:
        flux(kube, tmp_path, token="stolen").status(SUPPORT)
    assert (
        err.value.kind is FluxErrorKind.AUTH and err.value.status == 401 and err.value.__cause__ is not None
    )
    assert kube.contract_errors == []


def test_missing_object_and_server_errors_are_typed(kube: FakeKube, tmp_path: Path) -> None:
    adapter = flux(kube, tmp_path)
    with pytest.raises(FluxError) as missing:
        adapter.request_reconcile(FluxTarget("Kustomization", NS, "nobody"))
    assert missing.value.kind is FluxErrorKind.NOT_FOUND and '"nobody" not found' in missing.value.message
    kube.fail_next("PATCH", r"/gitrepositories/agents$", 500)
    with pytest.raises(FluxError) as broken:
        adapter.request_reconcile(SUPPORT)
    assert broken.value.kind is FluxErrorKind.SERVER and broken.value.status == 500
    assert kube.contract_errors == []


def test_slow_api_server_hits_the_deadline(kube: FakeKube, tmp_path: Path) -> None:
    adapter = Flux.connect(str(kubeconfig(tmp_path / "kc", kube.url)), timeout_s=0.3)
    kube.response_delay_s = 1.0
    with pytest.raises(FluxError) as err:
        adapter.status(SUPPORT)
    assert err.value.kind is FluxErrorKind.TIMEOUT and err.value.__cause__ is not None


def test_unreachable_api_server_and_missing_credentials(tmp_path: Path) -> None:
    adapter = Flux.connect(str(kubeconfig(tmp_path / "kc", "http://127.0.0.1:9")), timeout_s=2)
    with pytest.raises(FluxError) as err:
        adapter.status(SUPPORT)
    assert err.value.kind is FluxErrorKind.UNREACHABLE
    with pytest.raises(FluxError) as config:
        Flux.connect(str(tmp_path / "absent-kubeconfig"))
    assert config.value.kind is FluxErrorKind.CONFIG


def test_in_cluster_mode_outside_a_pod_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(FluxError) as err:
        Flux.connect()
    assert err.value.kind is FluxErrorKind.CONFIG and err.value.__cause__ is not None


def test_target_reference_must_be_namespace_slash_name() -> None:
    assert FluxTarget.parse("HelmRelease", "flux-system/billing") == BILLING
    for bad in ("billing", "/billing", "a/b/c"):
        with pytest.raises(ValueError, match="<namespace>/<name>"):
            FluxTarget.parse("Kustomization", bad)
