"""Push mode for Flux: the bot calls a notification-controller Receiver, the stand-in answers as the real one."""

from pathlib import Path

import pytest

from gitops_bot.adapters.flux import Flux, FluxError, FluxErrorKind, FluxTarget
from gitops_bot.adapters.flux_receiver import call_receiver
from gitops_bot.core.cluster import ClusterVerdict, flux_verdict
from gitops_bot_lab.fakes.kube import FakeKube
from gitops_bot_lab.fakes.receiver import FakeReceiver, webhook_path
from tests.cluster.conftest import NS, kubeconfig, release
from tests.gitfix import Remote

TOKEN = "receiver-token-for-tests"
RESOURCES = [
    {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "name": "agents"},
    {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "name": "support"},
]
SUPPORT = FluxTarget("Kustomization", NS, "support")


def deployed(kube: FakeKube, tmp_path: Path, revert: str) -> ClusterVerdict:
    status = Flux.connect(str(kubeconfig(tmp_path / "kc", kube.url))).status(SUPPORT)
    return flux_verdict(status, revert, frozenset({revert}), "main").verdict


@pytest.mark.parametrize("kind", ["generic", "generic-hmac"])
def test_receiver_call_reconciles_the_listed_resources(
    remote: Remote, kube: FakeKube, receiver: FakeReceiver, tmp_path: Path, kind: str
) -> None:
    url = receiver.add_receiver("bot", kind, TOKEN, RESOURCES)
    assert url.endswith(webhook_path(TOKEN, "bot", NS))
    revert = release(remote, "1.0.1")
    assert deployed(kube, tmp_path, revert) is ClusterVerdict.WAITING
    call_receiver(url, kind, TOKEN)  # type: ignore[arg-type]
    assert deployed(kube, tmp_path, revert) is ClusterVerdict.DEPLOYED
    assert receiver.log[-1][2] == 200
    assert kube.contract_errors == []


def test_hmac_signed_with_the_wrong_token_is_rejected_with_400(
    remote: Remote, kube: FakeKube, receiver: FakeReceiver, tmp_path: Path
) -> None:
    url = receiver.add_receiver("bot", "generic-hmac", TOKEN, RESOURCES)
    revert = release(remote, "1.0.1")
    with pytest.raises(FluxError) as err:
        call_receiver(url, "generic-hmac", "not-the-token")
    assert err.value.kind is FluxErrorKind.INVALID and err.value.status == 400
    assert deployed(kube, tmp_path, revert) is ClusterVerdict.WAITING
    assert kube.contract_errors == []


@pytest.mark.parametrize("suffix", ["x", "?ref=main", "/"])
def test_a_path_that_is_not_exactly_the_webhook_path_is_404(
    kube: FakeKube, receiver: FakeReceiver, suffix: str
) -> None:
    url = receiver.add_receiver("bot", "generic", TOKEN, RESOURCES)
    with pytest.raises(FluxError) as err:
        call_receiver(url + suffix, "generic")
    assert err.value.kind is FluxErrorKind.NOT_FOUND and err.value.status == 404
    assert kube.contract_errors == []


def test_suspended_receiver_is_unavailable_and_a_missing_resource_is_500(
    kube: FakeKube, receiver: FakeReceiver
) -> None:
    url = receiver.add_receiver("bot", "generic", TOKEN, RESOURCES)
    kube.obj("receivers", NS, "bot")["spec"]["suspend"] = True
    with pytest.raises(FluxError) as suspended:
        call_receiver(url, "generic")
    assert suspended.value.kind is FluxErrorKind.UNAVAILABLE and suspended.value.status == 503
    broken = receiver.add_receiver("broken", "generic", TOKEN, [{"kind": "GitRepository", "name": "gone"}])
    with pytest.raises(FluxError) as missing:
        call_receiver(broken, "generic")
    assert missing.value.kind is FluxErrorKind.SERVER and missing.value.status == 500
    assert kube.contract_errors == []
