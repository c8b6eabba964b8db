"""The Swagger 2.0 validator behind the Argo Workflows stand-in rejects what Argo's description forbids."""

import json

import pytest
import requests

from gitops_bot_lab.fakes.argo_workflows import NULLABLE_TIME, FakeArgoWorkflows, default_contract_path
from gitops_bot_lab.fakes.swagger import ContractError, SwaggerContract
from tests.argo.conftest import NAMESPACE, TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}
WORKFLOWS = f"/api/v1/workflows/{NAMESPACE}"


def test_the_stand_in_reads_the_copy_in_tests_contracts() -> None:
    assert default_contract_path().parts[-3:] == ("contracts", "argo-workflows", "swagger.json.gz")


def test_a_malformed_create_request_is_rejected_and_recorded(argo: FakeArgoWorkflows) -> None:
    body = {"workflow": {"metadata": {"name": "x"}, "spec": {"workflowTemplateRef": {"name": 7}}}}
    resp = requests.post(argo.url + WORKFLOWS, json=body, headers=AUTH, timeout=5)
    assert resp.status_code == 500
    assert "at workflow/spec/workflowTemplateRef/name: 7 is not of type 'string'" in argo.contract_errors[0]
    assert argo.store.workflows == {}


def test_a_misspelt_field_and_an_unknown_query_parameter_are_rejected(argo: FakeArgoWorkflows) -> None:
    requests.put(
        f"{argo.url}{WORKFLOWS}/x/resume",
        json={"nodeFieldSelektor": "displayName=approve"},
        headers=AUTH,
        timeout=5,
    )
    requests.get(argo.url + WORKFLOWS, params={"listOptions.labelSelektor": "a=b"}, headers=AUTH, timeout=5)
    assert "nodeFieldSelektor" in argo.contract_errors[0]
    assert "unknown query parameter 'listOptions.labelSelektor'" in argo.contract_errors[1]


def test_a_malformed_response_is_caught_before_it_leaves_the_stand_in() -> None:
    contract = SwaggerContract.load(default_contract_path(), overrides=NULLABLE_TIME)
    good = {"metadata": {"name": "w"}, "spec": {}, "status": {"phase": "Running", "startedAt": None}}
    contract.validate_response("GET", f"{WORKFLOWS}/w", 200, good)
    with pytest.raises(ContractError, match="at status/nodes/n: 'id' is a required property"):
        contract.validate_response(
            "GET", f"{WORKFLOWS}/w", 200, {"status": {"nodes": {"n": {"name": "n", "type": "Pod"}}}}
        )
    with pytest.raises(ContractError, match="stauts"):
        contract.validate_response("GET", f"{WORKFLOWS}/w", 200, {"stauts": {}})
    with pytest.raises(ContractError, match="is not a 'date-time'"):
        contract.validate_response("GET", f"{WORKFLOWS}/w", 200, {"status": {"startedAt": "yesterday"}})


def test_null_start_time_is_allowed_only_through_the_documented_override() -> None:
    strict = SwaggerContract.load(default_contract_path())
    with pytest.raises(ContractError, match="None is not of type 'string'"):
        strict.validate_response("GET", f"{WORKFLOWS}/w", 200, {"status": {"startedAt": None}})


def test_errors_have_the_gateway_shape_and_argo_codes(argo: FakeArgoWorkflows) -> None:
    missing = requests.get(f"{argo.url}{WORKFLOWS}/nope", headers=AUTH, timeout=5)
    denied = requests.get(f"{argo.url}{WORKFLOWS}/nope", headers={"Authorization": "Bearer x"}, timeout=5)
    unimplemented = requests.put(f"{argo.url}{WORKFLOWS}/nope/retry", json={}, headers=AUTH, timeout=5)
    assert (missing.status_code, missing.json()["code"]) == (404, 5)
    assert json.loads(missing.text)["message"] == 'workflows.argoproj.io "nope" not found'
    assert (denied.status_code, denied.json()["code"]) == (401, 16)
    assert (unimplemented.status_code, unimplemented.json()["code"]) == (501, 12)
    assert argo.contract_errors == []
