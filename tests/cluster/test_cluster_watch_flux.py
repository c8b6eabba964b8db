"""Alert -> revert -> the bot asks Flux (Kubernetes API stand-in, Receiver stand-in) to reconcile now and
watches the Kustomization until it applied the revert and is Ready."""

from pathlib import Path
from typing import Any

import pytest

from gitops_bot.app.wiring import Runtime
from gitops_bot_lab.fakes.kube import FakeKube
from gitops_bot_lab.fakes.receiver import FakeReceiver
from tests.cluster.conftest import NS, kubeconfig, release
from tests.cluster.harness import alert_and_wait, bot_config, phases, running
from tests.gitfix import Remote, agent_files

HMAC_TOKEN = "receiver-token-for-tests"
KUSTOMIZATION = {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "name": "support"}


def flux_bot(
    tmp_path: Path,
    remote: Remote,
    kube: FakeKube,
    *,
    receiver: dict[str, Any] | None = None,
    timeout: str = "3s",
) -> Runtime:
    flux: dict[str, Any] = {"kustomization": "flux-system/{agent}"}
    if receiver is not None:
        flux["receiver"] = receiver
    return bot_config(
        tmp_path,
        remote,
        cluster={"flux": flux},
        extra={"kubernetes": {"kubeconfig": str(kubeconfig(tmp_path / "kubeconfig", kube.url))}},
        timeout=timeout,
    )


def rogue_applied(remote: Remote, kube: FakeKube) -> None:
    """support 1.1.0 ships and Flux applies it on its own interval."""
    release(remote, "1.1.0")
    kube.controllers.reconcile(("gitrepositories", NS, "agents"))


def applied(kube: FakeKube) -> str:
    return str(kube.obj("kustomizations", NS, "support")["status"]["lastAppliedRevision"])


def test_annotating_requested_at_makes_flux_apply_the_revert_now(
    tmp_path: Path, remote: Remote, kube: FakeKube
) -> None:
    rogue_applied(remote, kube)
    with running(flux_bot(tmp_path, remote, kube)) as runtime:
        sha = alert_and_wait(runtime, "support", "1.1.0")
        assert runtime.cluster is not None and runtime.cluster.finished[sha] == "healthy"
    assert applied(kube) == f"main@sha1:{sha}"
    assert set(phases(remote, sha)) == {"accepted", "landed", "synced", "healthy"}
    patched = [p.rsplit("/", 2)[-2] for m, p, _ in kube.log if m == "PATCH"]
    assert patched == ["gitrepositories", "kustomizations"]
    assert kube.contract_errors == []


def test_generic_hmac_receiver_call_makes_flux_apply_the_revert(
    tmp_path: Path, remote: Remote, kube: FakeKube, receiver: FakeReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    resources = [{"kind": "GitRepository", "name": "agents"}, KUSTOMIZATION]
    monkeypatch.setenv(
        "TEST_RECEIVER_URL", receiver.add_receiver("agents", "generic-hmac", HMAC_TOKEN, resources)
    )
    monkeypatch.setenv("TEST_RECEIVER_TOKEN", HMAC_TOKEN)
    rogue_applied(remote, kube)
    spec = {"url_env": "TEST_RECEIVER_URL", "kind": "generic-hmac", "token_env": "TEST_RECEIVER_TOKEN"}
    with running(flux_bot(tmp_path, remote, kube, receiver=spec)) as runtime:
        sha = alert_and_wait(runtime, "support", "1.1.0")
        assert runtime.cluster is not None and runtime.cluster.finished[sha] == "healthy"
    assert [status for _, _, status in receiver.log] == [200]
    assert not [m for m, _, _ in kube.log if m == "PATCH"]  # the Receiver annotated, not the bot
    assert applied(kube) == f"main@sha1:{sha}"
    assert kube.contract_errors == []


@pytest.mark.parametrize(
    ("how", "said"),
    [("wrong-path", "404"), ("wrong-token", "400"), ("resource-missing", "500")],
    ids=["receiver-404", "wrong-token", "receiver-500"],
)
def test_a_receiver_that_refuses_is_escalated_and_the_watch_times_out(
    tmp_path: Path,
    remote: Remote,
    kube: FakeKube,
    receiver: FakeReceiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    how: str,
    said: str,
) -> None:
    name = "support" if how != "resource-missing" else "no-such-kustomization"
    url = receiver.add_receiver("agents", "generic-hmac", HMAC_TOKEN, [{**KUSTOMIZATION, "name": name}])
    monkeypatch.setenv("TEST_RECEIVER_URL", url + "x" if how == "wrong-path" else url)
    monkeypatch.setenv("TEST_RECEIVER_TOKEN", "not-the-token" if how == "wrong-token" else HMAC_TOKEN)
    rogue_applied(remote, kube)
    spec = {"url_env": "TEST_RECEIVER_URL", "token_env": "TEST_RECEIVER_TOKEN"}
    with running(flux_bot(tmp_path, remote, kube, receiver=spec, timeout="1s")) as runtime:
        sha = alert_and_wait(runtime, "support", "1.1.0")
        result = runtime.cluster.finished[sha] if runtime.cluster else ""
        metrics = runtime.bot.metrics.render().decode()
    assert result.startswith("timeout: ") and "waiting for" in result
    assert (
        f"Receiver http://127.0.0.1:{receiver.url.rsplit(':', 1)[1]}" in caplog.text
        and f": {said} (" in caplog.text
    )
    assert 'kind="reconcile-request-failed"' in metrics
    assert applied(kube) != f"main@sha1:{sha}"


def test_a_suspended_kustomization_is_escalated_at_once(
    tmp_path: Path, remote: Remote, kube: FakeKube
) -> None:
    rogue_applied(remote, kube)
    kube.obj("kustomizations", NS, "support")["spec"]["suspend"] = True
    with running(flux_bot(tmp_path, remote, kube, timeout="30s")) as runtime:
        sha = alert_and_wait(runtime, "support", "1.1.0", timeout=10)
        result = runtime.cluster.finished[sha] if runtime.cluster else ""
    assert result.startswith("suspended: ") and "Kustomization flux-system/support is suspended" in result
    assert phases(remote, sha)["cluster-failed"].detail.startswith("suspended")


def test_a_controller_that_never_picks_the_revision_up_times_out(
    tmp_path: Path, remote: Remote, kube: FakeKube
) -> None:
    rogue_applied(remote, kube)
    kube.mode("kustomizations", NS, "support").stuck = True
    with running(flux_bot(tmp_path, remote, kube, timeout="1s")) as runtime:
        sha = alert_and_wait(runtime, "support", "1.1.0")
        result = runtime.cluster.finished[sha] if runtime.cluster else ""
    assert result.startswith("timeout: ") and f"waiting for {sha[:12]}" in result
    assert "timeout" in phases(remote, sha)["cluster-failed"].detail


def test_a_helm_release_is_watched_until_its_chart_version_carries_the_revert(
    tmp_path: Path, remote: Remote, kube: FakeKube
) -> None:
    remote.commit(agent_files("billing", "3.2.0"), "billing 3.2.0")
    kube.controllers.reconcile(("gitrepositories", NS, "agents"))
    runtime = bot_config(
        tmp_path,
        remote,
        cluster={"flux": {"helmRelease": "flux-system/{agent}"}},
        extra={"kubernetes": {"kubeconfig": str(kubeconfig(tmp_path / "kubeconfig", kube.url))}},
    )
    with running(runtime):
        sha = alert_and_wait(runtime, "billing", "3.2.0")
        assert runtime.cluster is not None and runtime.cluster.finished[sha] == "healthy"
    history = kube.obj("helmreleases", NS, "billing")["status"]["history"]
    assert history[0]["chartVersion"] == f"0.1.0+{sha[:12]}" and history[0]["status"] == "deployed"
    assert kube.contract_errors == []
