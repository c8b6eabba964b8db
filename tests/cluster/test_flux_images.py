"""Keeping the rolled-back tag out: image automation levers through the real client and the stand-in."""

from pathlib import Path

import pytest

from gitops_bot.adapters.flux import Flux, FluxError, FluxErrorKind
from gitops_bot.adapters.flux_images import FluxImages, tag_pattern
from gitops_bot_lab.fakes.kube import FakeKube
from tests.cluster.conftest import NS, kubeconfig

SIG = "^.*\\.sig$"  # the CRD's default exclusion, which must survive every edit


def images(kube: FakeKube, tmp_path: Path) -> FluxImages:
    return FluxImages(Flux.connect(str(kubeconfig(tmp_path / "kc", kube.url)), timeout_s=5))


def test_rolled_back_tag_is_excluded_once_and_lifted_again(kube: FakeKube, tmp_path: Path) -> None:
    levers = images(kube, tmp_path)
    assert levers.exclude_tag(NS, "support", "1.1.0") is True
    assert kube.obj("imagerepositories", NS, "support")["spec"]["exclusionList"] == [SIG, "^1\\.1\\.0$"]
    assert levers.exclude_tag(NS, "support", "1.1.0") is False
    assert levers.lift_exclusion(NS, "support", "1.1.0") is True
    assert levers.exclusions(NS, "support") == (SIG,)
    assert levers.lift_exclusion(NS, "support", "1.1.0") is False
    assert kube.contract_errors == []


def test_a_concurrent_edit_of_the_exclusion_list_is_not_overwritten(
    kube: FakeKube, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    levers = images(kube, tmp_path)
    seen = levers.exclusions(NS, "support")
    kube.obj("imagerepositories", NS, "support")["spec"]["exclusionList"] = [
        SIG,
        "^0\\.9\\.0$",
    ]  # an operator
    monkeypatch.setattr(levers, "exclusions", lambda namespace, name: seen)  # the bot read before the edit
    with pytest.raises(FluxError) as err:
        levers.exclude_tag(NS, "support", "1.1.0")
    assert err.value.kind is FluxErrorKind.INVALID and err.value.status == 422
    assert kube.obj("imagerepositories", NS, "support")["spec"]["exclusionList"] == [SIG, "^0\\.9\\.0$"]
    assert kube.contract_errors == []


def test_image_update_automation_is_suspended_and_resumed(kube: FakeKube, tmp_path: Path) -> None:
    levers = images(kube, tmp_path)
    levers.set_automation_suspended(NS, "agents", True)
    automation = kube.obj("imageupdateautomations", NS, "agents")
    assert automation["spec"]["suspend"] is True and automation["metadata"]["generation"] == 2
    levers.set_automation_suspended(NS, "agents", False)
    assert kube.obj("imageupdateautomations", NS, "agents")["spec"]["suspend"] is False
    assert kube.contract_errors == []


def test_missing_image_repository_is_not_found_and_patterns_are_anchored(
    kube: FakeKube, tmp_path: Path
) -> None:
    with pytest.raises(FluxError) as err:
        images(kube, tmp_path).exclude_tag(NS, "nobody", "1.1.0")
    assert err.value.kind is FluxErrorKind.NOT_FOUND
    assert tag_pattern("1.1.0-rc.1+b2") == "^1\\.1\\.0\\-rc\\.1\\+b2$"
    assert kube.contract_errors == []
