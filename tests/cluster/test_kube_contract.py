"""The Kubernetes stand-in holds every Flux object to its CRD schema, driven by the real `kubernetes` client."""

import json
from pathlib import Path
from typing import Any, cast

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from gitops_bot_lab.fakes.crd import load_crd
from gitops_bot_lab.fakes.kube import FakeKube, default_contracts_dir
from gitops_bot_lab.fakes.patch import PatchError, apply_patch, json_patch, merge_patch
from tests.cluster.conftest import KUBE_TOKEN, NS

IMAGE = ("image.toolkit.fluxcd.io", "v1", NS)
KUSTOMIZE = ("kustomize.toolkit.fluxcd.io", "v1", NS)


def api(kube: FakeKube) -> k8s.CustomObjectsApi:
    configuration = k8s.Configuration(
        host=kube.url, api_key={"BearerToken": KUBE_TOKEN}, api_key_prefix={"BearerToken": "Bearer"}
    )
    configuration.retries = 0
    return k8s.CustomObjectsApi(k8s.ApiClient(configuration))


def patch(kube: FakeKube, plural: str, name: str, body: Any, **kwargs: Any) -> Any:
    group = IMAGE if plural.startswith("image") else KUSTOMIZE
    return api(kube).patch_namespaced_custom_object(*group, plural, name, body, _request_timeout=5, **kwargs)


def test_image_automation_is_suspended_and_a_tag_excluded_through_patches(kube: FakeKube) -> None:
    suspended = patch(kube, "imageupdateautomations", "agents", {"spec": {"suspend": True}})
    assert suspended["spec"]["suspend"] is True and suspended["metadata"]["generation"] == 2
    ops = [{"op": "add", "path": "/spec/exclusionList", "value": ["^1\\.1\\.0$"]}]
    excluded = patch(kube, "imagerepositories", "support", ops, _content_type="application/json-patch+json")
    assert excluded["spec"]["exclusionList"] == ["^1\\.1\\.0$"]
    found = api(kube).list_namespaced_custom_object(*IMAGE, "imagerepositories", _request_timeout=5)
    listed = cast(dict[str, Any], found)
    assert listed["kind"] == "ImageRepositoryList"
    assert [i["metadata"]["name"] for i in listed["items"]] == ["support"]
    assert kube.contract_errors == []


def test_crd_defaults_are_applied_as_the_api_server_does(kube: FakeKube) -> None:
    served = api(kube).get_namespaced_custom_object(
        *IMAGE, "imagerepositories", "support", _request_timeout=5
    )
    spec = cast(dict[str, Any], served)["spec"]
    assert spec["exclusionList"] == ["^.*\\.sig$"] and spec["provider"] == "generic"
    assert kube.contract_errors == []


def test_status_cannot_be_written_through_the_main_resource(kube: FakeKube) -> None:
    before = kube.obj("kustomizations", NS, "support")["status"]["lastAppliedRevision"]
    after = patch(
        kube, "kustomizations", "support", {"status": {"lastAppliedRevision": "main@sha1:" + "0" * 40}}
    )
    assert after["status"]["lastAppliedRevision"] == before
    assert kube.contract_errors == []


def test_strategic_merge_patch_is_unsupported_for_custom_resources(kube: FakeKube) -> None:
    with pytest.raises(ApiException) as err:
        patch(
            kube,
            "kustomizations",
            "support",
            {"spec": {"suspend": True}},
            _content_type="application/strategic-merge-patch+json",
        )
    assert err.value.status == 415
    assert kube.contract_errors == []


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"spec": {"suspend": "yes"}}, "at spec/suspend: 'yes' is not of type 'boolean'"),
        ({"spec": {"suspended": True}}, "'suspended' was unexpected"),
        (
            {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": 1733130000}}},
            "is not of type 'string'",
        ),
        ({"spec": {"interval": "ten minutes"}}, "does not match"),
    ],
)
def test_patch_whose_result_breaks_the_crd_schema_is_invalid(
    kube: FakeKube, body: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ApiException) as err:
        patch(kube, "kustomizations", "support", body)
    assert err.value.status == 422
    assert len(kube.contract_errors) == 1 and complaint in kube.contract_errors[0]
    assert "suspend" not in kube.obj("kustomizations", NS, "support")["spec"]  # nothing half-written


def test_malformed_object_served_by_the_stand_in_is_caught(kube: FakeKube) -> None:
    kube.obj("kustomizations", NS, "support")["status"]["lastAppliedRevision"] = 5
    with pytest.raises(ApiException) as err:
        api(kube).get_namespaced_custom_object(*KUSTOMIZE, "kustomizations", "support", _request_timeout=5)
    assert err.value.status == 500
    assert (
        "served Kustomization" in kube.contract_errors[0] and "lastAppliedRevision" in kube.contract_errors[0]
    )


def test_unknown_query_parameter_and_unserved_version_are_rejected(kube: FakeKube) -> None:
    api(kube).get_namespaced_custom_object(*KUSTOMIZE, "kustomizations", "support", _request_timeout=5)
    with pytest.raises(ApiException) as err:
        api(kube).get_namespaced_custom_object(
            "kustomize.toolkit.fluxcd.io", "v1beta2", NS, "kustomizations", "support"
        )
    assert err.value.status == 404
    assert kube.contract_errors == []
    api(kube).api_client.call_api(
        "GET",
        f"{kube.url}/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/{NS}/kustomizations?watch=yes",
        header_params={"Authorization": f"Bearer {KUBE_TOKEN}"},
    )
    assert "unknown query parameters ['watch']" in kube.contract_errors[0]


def test_crd_loader_knows_served_versions_and_converts_structural_keywords() -> None:
    helm = load_crd(default_contracts_dir() / "crd-helmreleases.yaml")
    assert (helm.api_version, helm.plural, helm.status_subresource) == (
        "helm.toolkit.fluxcd.io/v2",
        "helmreleases",
        True,
    )
    with pytest.raises(ValueError, match="not served"):
        load_crd(default_contracts_dir() / "crd-helmreleases.yaml", "v2beta1")
    minimal = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "x"},
        "spec": {
            "interval": "1m",
            "chartRef": {"kind": "OCIRepository", "name": "x"},
            "upgrade": {"remediation": {"retries": 3}},
            "values": {"anything": {"goes": [1]}},
        },
    }
    assert helm.errors(minimal) == []  # values preserve unknown fields
    assert any("kind" in p for p in helm.errors({**minimal, "kind": "Kustomization"}))
    assert any("'name' is a required property" in p for p in helm.errors({**minimal, "metadata": {}}))


def test_contract_files_are_read_from_the_checkout_only() -> None:
    assert default_contracts_dir() == Path(__file__).resolve().parents[1] / "contracts" / "flux"


def test_json_patch_test_op_guards_a_concurrent_change(kube: FakeKube) -> None:
    guarded = [
        {"op": "test", "path": "/spec/exclusionList", "value": ["^old$"]},
        {"op": "replace", "path": "/spec/exclusionList", "value": ["^1\\.1\\.0$"]},
    ]
    with pytest.raises(ApiException) as err:
        patch(kube, "imagerepositories", "support", guarded, _content_type="application/json-patch+json")
    assert err.value.status == 422 and "test failed" in json.loads(err.value.body or "{}")["message"]
    assert kube.obj("imagerepositories", NS, "support")["spec"]["exclusionList"] == [
        "^.*\\.sig$"
    ]  # CRD default
    assert kube.contract_errors == []


def test_patch_formats_follow_the_rfcs() -> None:
    doc = {"spec": {"a": 1, "b": {"c": 2}}, "list": [1, 2, 3]}
    assert merge_patch(doc, {"spec": {"a": None, "b": {"d": 3}}}) == {
        "spec": {"b": {"c": 2, "d": 3}},
        "list": [1, 2, 3],
    }
    ops = [
        {"op": "remove", "path": "/list/0"},
        {"op": "add", "path": "/list/-", "value": 4},
        {"op": "test", "path": "/spec/a", "value": 1},
    ]
    assert json_patch(doc, ops)["list"] == [2, 3, 4]
    assert doc["list"] == [1, 2, 3]  # the original is never touched
    for bad in (
        [{"op": "test", "path": "/spec/a", "value": 9}],
        [{"op": "move", "path": "/x"}],
        [{"op": "remove", "path": "/list/7"}],
    ):
        with pytest.raises(PatchError):
            json_patch(doc, bad)
    with pytest.raises(PatchError) as unsupported:
        apply_patch(doc, "application/strategic-merge-patch+json", b"{}")
    assert unsupported.value.code == 415
