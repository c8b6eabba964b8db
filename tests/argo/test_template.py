"""manifests/argo/workflowtemplate.yaml against Argo's JSON schema, and the stand-in's loud subset."""

import copy
from typing import Any

import pytest
import requests
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from gitops_bot_lab.fakes.argo_subset import Unsupported, check_spec
from gitops_bot_lab.fakes.argo_workflows import FakeArgoWorkflows
from tests.argo.conftest import NAMESPACE, TEMPLATE_PATH, TOKEN, argo_schema, shipped_template

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _closed(schema: Any) -> None:
    """Reject undeclared fields (Argo's controller would drop a misspelt one silently)."""
    if isinstance(schema, dict):
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        for key in ("properties", "definitions"):
            for sub in schema.get(key, {}).values():
                _closed(sub)
        for key in ("items", "additionalProperties"):
            _closed(schema.get(key))


def template_errors(doc: dict[str, Any]) -> list[str]:
    """Violations of the WorkflowTemplate definition (draft 2020-12, closed objects)."""
    schema = copy.deepcopy(argo_schema())
    _closed(schema)
    registry: Registry[Any] = Registry().with_resource(
        "urn:argo", Resource.from_contents(schema, default_specification=DRAFT202012)
    )
    validator = Draft202012Validator(
        {"$ref": "urn:argo#/definitions/io.argoproj.workflow.v1alpha1.WorkflowTemplate"}, registry=registry
    )
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_the_shipped_template_validates_against_argos_schema() -> None:
    doc = shipped_template()
    assert template_errors(doc) == []
    assert (doc["kind"], doc["metadata"]["name"]) == ("WorkflowTemplate", "gitops-bot-rollback")
    assert [p["name"] for p in doc["spec"]["arguments"]["parameters"]] == [
        "agent",
        "version",
        "fingerprint",
        "alertname",
        "policy",
        "startsAt",
        "deadline",
        "labels",
    ]


def test_the_schema_check_catches_a_misspelt_field() -> None:
    doc = shipped_template()
    doc["spec"]["templates"][1]["container"]["volumeMount"] = []
    assert any("'volumeMount' was unexpected" in e for e in template_errors(doc))


def test_every_step_runs_the_bots_own_image_and_cli() -> None:
    templates = {t["name"]: t for t in shipped_template()["spec"]["templates"]}
    steps = [group[0]["name"] for group in templates["rollback"]["steps"]]
    assert steps == ["plan", "approve", "apply", "verify"]
    assert templates["approve"]["suspend"] == {}  # indefinite: the deadline is a parameter
    for name in ("plan", "apply", "verify"):
        container = templates[name]["container"]
        assert container["image"].startswith("ghcr.io/acme/gitops-bot:") and container["command"] == [
            "gitops-bot"
        ]
    assert "--dry-run" in templates["plan"]["container"]["args"]
    assert "--approved-by={{inputs.parameters.approved-by}}" in templates["apply"]["container"]["args"]


def test_the_shipped_template_is_inside_the_stand_ins_subset() -> None:
    check_spec(shipped_template()["spec"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["templates"][1].update(retryStrategy={"limit": "2"}), "retryStrategy: not supported"),
        (lambda s: s["templates"][0]["steps"][0].append({"name": "x", "template": "plan"}), "parallel steps"),
        (lambda s: s.update(onExit="plan"), "spec.onExit: not supported"),
        (lambda s: s["templates"][0]["steps"][1][0].update(when="{{=sprig.x}}"), "unsupported variable"),
        (lambda s: s["volumes"].append({"name": "v", "hostPath": {"path": "/"}}), "only emptyDir"),
    ],
)
def test_the_stand_in_rejects_unsupported_features_loudly(
    argo: FakeArgoWorkflows, change: Any, message: str
) -> None:
    doc = shipped_template()
    doc["metadata"]["name"] = "variant"
    change(doc["spec"])
    with pytest.raises(Unsupported, match=message):
        check_spec(doc["spec"])
    resp = requests.post(
        f"{argo.url}/api/v1/workflow-templates/{NAMESPACE}", json={"template": doc}, headers=AUTH, timeout=5
    )
    assert argo.contract_errors == []
    assert resp.status_code == 400 and message in resp.json()["message"]
    assert ("variant" not in {name for _, name in argo.store.templates}) and argo.contract_errors == []


def test_an_inline_workflow_is_refused_not_half_run(argo: FakeArgoWorkflows) -> None:
    body = {"workflow": {"metadata": {"name": "inline"}, "spec": {"entrypoint": "main", "templates": []}}}
    resp = requests.post(f"{argo.url}/api/v1/workflows/{NAMESPACE}", json=body, headers=AUTH, timeout=5)
    assert resp.status_code == 400 and "workflowTemplateRef workflows only" in resp.json()["message"]
    assert argo.store.workflows == {}


def test_a_missing_parameter_is_refused_at_submission(argo: FakeArgoWorkflows) -> None:
    body = {
        "resourceKind": "WorkflowTemplate",
        "resourceName": "gitops-bot-rollback",
        "submitOptions": {"name": "w", "parameters": ["agent=billing-agent"]},
    }
    resp = requests.post(
        f"{argo.url}/api/v1/workflows/{NAMESPACE}/submit", json=body, headers=AUTH, timeout=5
    )
    assert (
        resp.status_code == 400 and "spec.arguments.fingerprint.value is required" in resp.json()["message"]
    )


def test_the_rbac_manifest_gives_the_template_its_service_account_and_the_bot_only_what_it_calls() -> None:
    docs = list(yaml.safe_load_all((TEMPLATE_PATH.parent / "rbac.yaml").read_text()))
    accounts = {d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount"}
    assert shipped_template()["spec"]["serviceAccountName"] in accounts
    submitter = next(
        d for d in docs if d["kind"] == "Role" and d["metadata"]["name"] == "gitops-bot-submitter"
    )
    verbs = {r["resources"][0]: set(r["verbs"]) for r in submitter["rules"]}
    assert verbs["workflowtemplates"] == {"get", "list"}  # the bot never edits the template it runs
    assert {"create", "get", "list", "update"} <= verbs["workflows"] and "delete" not in verbs["workflows"]
