"""The Swagger 2.0 validator behind the Argo CD stand-in rejects what Argo CD's description forbids."""

import pytest
import requests

from gitops_bot_lab.fakes.argocd import FakeArgoCD
from gitops_bot_lab.fakes.swagger import ContractError, SwaggerContract
from tests.cluster.conftest import ARGO_TOKEN

AUTH = {"Authorization": f"Bearer {ARGO_TOKEN}"}


def test_ill_typed_sync_body_is_rejected_and_recorded(argo: FakeArgoCD) -> None:
    resp = requests.post(
        f"{argo.url}/api/v1/applications/agents-support/sync", json={"revision": 5}, headers=AUTH, timeout=5
    )
    assert resp.status_code == 500
    assert (
        len(argo.contract_errors) == 1 and "at revision: 5 is not of type 'string'" in argo.contract_errors[0]
    )


def test_misspelt_sync_field_is_rejected(argo: FakeArgoCD) -> None:
    resp = requests.post(
        f"{argo.url}/api/v1/applications/agents-support/sync",
        json={"revison": "main"},
        headers=AUTH,
        timeout=5,
    )
    assert resp.status_code == 500 and "revison" in argo.contract_errors[0]


def test_unknown_query_parameter_and_bad_method_are_rejected(argo: FakeArgoCD) -> None:
    requests.get(
        f"{argo.url}/api/v1/applications/agents-support",
        params={"refersh": "normal"},
        headers=AUTH,
        timeout=5,
    )
    requests.put(f"{argo.url}/api/v1/applications/agents-support/sync", json={}, headers=AUTH, timeout=5)
    assert "unknown query parameter 'refersh'" in argo.contract_errors[0]
    assert "method not allowed" in argo.contract_errors[1]


def test_malformed_application_served_by_the_stand_in_is_caught(argo: FakeArgoCD) -> None:
    argo.app("agents-support").health = 3  # type: ignore[assignment]  # health.status must be a string
    resp = requests.get(f"{argo.url}/api/v1/applications/agents-support", headers=AUTH, timeout=5)
    assert resp.status_code == 500
    assert "response 200" in argo.contract_errors[0] and "at status/health/status" in argo.contract_errors[0]


def test_response_with_an_undeclared_field_or_bad_timestamp_is_rejected(argo: FakeArgoCD) -> None:
    contract = argo.contract
    good = {
        "metadata": {"name": "a"},
        "status": {"sync": {"status": "Synced"}, "reconciledAt": "2026-01-02T03:04:05Z"},
    }
    contract.validate_response("GET", "/api/v1/applications/a", 200, good)
    with pytest.raises(ContractError, match="syncStatus"):
        contract.validate_response("GET", "/api/v1/applications/a", 200, {"status": {"syncStatus": "Synced"}})
    with pytest.raises(ContractError, match="date-time"):
        contract.validate_response(
            "GET", "/api/v1/applications/a", 200, {"status": {"reconciledAt": "yesterday"}}
        )
    with pytest.raises(ContractError, match="code"):
        contract.validate_response("GET", "/api/v1/applications/a", 401, {"error": "x", "code": "16"})


def test_generic_validator_routes_templates_and_applies_overrides() -> None:
    spec = {
        "swagger": "2.0",
        "paths": {
            "/api/v1/things/{name}": {
                "get": {
                    "parameters": [
                        {"name": "name", "in": "path", "type": "string"},
                        {"name": "n", "in": "query", "type": "integer"},
                    ],
                    "responses": {"200": {"schema": {"$ref": "#/definitions/thing"}}},
                }
            },
            "/api/v1/things/special": {"get": {"responses": {"204": {"description": "none"}}}},
        },
        "definitions": {
            "thing": {"type": "object", "properties": {"size": {"type": "string", "format": "int64"}}}
        },
    }
    plain = SwaggerContract(spec, uri="urn:test")
    assert plain.match("GET", "/api/v1/things/special").operation.template == "/api/v1/things/special"
    assert plain.match("GET", "/api/v1/things/x").path_params == {"name": "x"}
    with pytest.raises(ContractError, match="is not a integer"):
        plain.validate_request("GET", "/api/v1/things/x", {"n": ["ten"]})
    with pytest.raises(ContractError, match="is not of type 'string'"):
        plain.validate_response("GET", "/api/v1/things/x", 200, {"size": 4})
    quirk = SwaggerContract(
        spec, uri="urn:test2", overrides={"#/definitions/thing/properties/size": {"type": "integer"}}
    )
    quirk.validate_response("GET", "/api/v1/things/x", 200, {"size": 4})
    with pytest.raises(KeyError):
        SwaggerContract(spec, uri="urn:test3", overrides={"#/definitions/nothing/x": {}})


def test_raw_json_fields_are_accepted_as_the_real_server_sends_them(argo: FakeArgoCD) -> None:
    managed = {
        "manager": "argocd-controller",
        "operation": "Update",
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:status": {".": {}, "f:sync": {}}},
        "time": "2026-12-02T09:00:00Z",
    }
    body = {"metadata": {"name": "a", "managedFields": [managed]}}
    argo.contract.validate_response("GET", "/api/v1/applications/a", 200, body)
    with pytest.raises(ContractError, match="fieldsV1"):
        argo.contract.validate_response(
            "GET",
            "/api/v1/applications/a",
            200,
            {"metadata": {"managedFields": [{**managed, "fieldsV1": "x"}]}},
        )
