"""manifests/bot renders with `kubectl kustomize`, validates offline, and does what its README claims."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]  # ships no type hints
import pytest
import yaml

from gitops_bot.adapters.github.settings import parse_github
from gitops_bot.app.config import parse_config
from gitops_bot.app.wiring import job_deadline
from tests.manifests.crd_schema import CrdValidator
from tests.manifests.pod_security import violations
from tests.manifests.rendered import (
    BOT,
    ROOT,
    TARGETS,
    config_text,
    container,
    of_kind,
    one,
    pod_spec,
    render,
    walk,
)

CONTRACTS = ROOT / "tests" / "contracts" / "prometheus-operator"
CRDS = {
    "ServiceMonitor": CrdValidator(CONTRACTS / "crd-servicemonitors.yaml"),
    "PrometheusRule": CrdValidator(CONTRACTS / "crd-prometheusrules.yaml"),
}
# The oldest Kubernetes minor still commonly run, and the newest the validator knows.
K8S_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
BASE_KINDS = [
    "ConfigMap",
    "ConfigMap",
    "Deployment",
    "Namespace",
    "NetworkPolicy",
    "PersistentVolumeClaim",
    "PodDisruptionBudget",
    "PrometheusRule",
    "Service",
    "ServiceAccount",
    "ServiceMonitor",
]


def k8s_errors(obj: dict[str, Any], version: str) -> str | None:
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as e:
        return str(e.message)
    return None


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_built_in_object_is_valid_kubernetes(target: str, version: str) -> None:
    objects = [o for o in render(target) if o["kind"] not in CRDS]
    assert objects
    problems = {f"{o['kind']}/{o['metadata']['name']}": k8s_errors(o, version) for o in objects}
    assert {k: v for k, v in problems.items() if v} == {}


def test_the_kubernetes_validator_rejects_a_malformed_deployment() -> None:
    deployment = one(render("manifests/bot"), "Deployment")
    container_of = deployment["spec"]["template"]["spec"]["containers"][0]
    container_of["securityContext"]["runAsUser"] = "nobody"
    assert "is not of type 'integer'" in (k8s_errors(deployment, K8S_VERSIONS[-1]) or "")
    del container_of["securityContext"]["runAsUser"]
    container_of["readinesProbe"] = container_of.pop("readinessProbe")  # a typo: strict mode catches it
    assert "readinesProbe" in (k8s_errors(deployment, K8S_VERSIONS[-1]) or "")


@pytest.mark.parametrize("target", TARGETS)
def test_prometheus_operator_objects_match_their_crds(target: str) -> None:
    objects = [o for o in render(target) if o["kind"] in CRDS]
    assert sorted(o["kind"] for o in objects) == ["PrometheusRule", "ServiceMonitor"]
    found = {f"{o['kind']}/{o['metadata']['name']}": CRDS[o["kind"]].errors(o) for o in objects}
    assert found == {"PrometheusRule/gitops-bot": [], "ServiceMonitor/gitops-bot": []}


def test_every_prometheus_rule_in_the_repo_matches_the_crd() -> None:
    files = sorted((ROOT / "manifests").rglob("*.yaml"))
    rules = [
        d for f in files for d in yaml.safe_load_all(f.read_text()) if d and d.get("kind") == "PrometheusRule"
    ]
    assert rules, "manifests/monitoring/prometheusrule.yaml at least"
    assert [CRDS["PrometheusRule"].errors(r) for r in rules] == [[] for _ in rules]


def test_the_crd_validators_reject_typos_and_wrong_types() -> None:
    monitor = one(render("manifests/bot"), "ServiceMonitor")
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    monitor["spec"]["endpoints"][0]["port"] = 8080
    assert CRDS["ServiceMonitor"].errors(monitor) == [
        "spec.endpoints.0: Additional properties are not allowed ('intervall' was unexpected)",
        "spec.endpoints.0.port: 8080 is not of type 'string'",
    ]
    rule = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": {"name": "x"}}
    rule["spec"] = {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up == 0", "fro": "5m"}]}]}
    assert CRDS["PrometheusRule"].errors(rule) == [
        "spec.groups.0.rules.0: Additional properties are not allowed ('fro' was unexpected)"
    ]


def test_apply_k_manifests_bot_installs_the_whole_base_in_its_namespace() -> None:
    objects = render("manifests/bot")
    assert sorted(o["kind"] for o in objects) == BASE_KINDS
    namespaced = [o for o in objects if o["kind"] != "Namespace"]
    assert {o["metadata"].get("namespace") for o in namespaced} == {"gitops-bot"}
    assert not of_kind(objects, "Secret"), "Secrets are created by the operator, never committed"
    labels = one(objects, "Namespace")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("target", TARGETS)
def test_the_pod_meets_every_rule_of_pod_security_restricted(target: str) -> None:
    deployment = one(render(target), "Deployment")
    annotations = deployment["spec"]["template"]["metadata"].get("annotations") or {}
    assert violations(deployment["spec"]["template"]["spec"], annotations) == {}


def test_one_replica_owns_a_read_write_once_volume_and_is_replaced_not_rolled() -> None:
    objects = render("manifests/bot")
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert one(objects, "PersistentVolumeClaim")["spec"]["accessModes"] == ["ReadWriteOnce"]
    mounts = {m["name"]: m["mountPath"] for m in container(objects)["volumeMounts"]}
    workdir = yaml.safe_load(config_text(objects))["repo"]["workdir"]
    assert workdir.startswith(mounts["workdir"] + "/"), "the clone and journal live on the volume"
    assert one(objects, "PodDisruptionBudget")["spec"] == {
        "maxUnavailable": 1,
        "selector": {"matchLabels": {"app.kubernetes.io/name": "gitops-bot"}},
    }


def test_probes_grace_period_and_resources(tmp_path: Path) -> None:
    objects = render("manifests/bot")
    bot = container(objects)
    assert bot["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert bot["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
    # Longer than the longest job the shipped config allows, so SIGTERM's drain is never cut short.
    config = parse_config(yaml.safe_load(config_text(objects)), base=tmp_path)
    assert pod_spec(objects)["terminationGracePeriodSeconds"] > job_deadline(config)
    assert set(bot["resources"]["requests"]) == {"cpu", "memory"} and "memory" in bot["resources"]["limits"]


@pytest.mark.parametrize("target", TARGETS)
def test_config_and_policies_are_whole_directory_mounts_of_generated_config_maps(target: str) -> None:
    objects = render(target)
    assert not [v for k, v in walk(pod_spec(objects)) if k == "subPath"]
    mounts = {m["name"]: m for m in container(objects)["volumeMounts"]}
    args = container(objects)["args"]
    assert args == ["serve", "--config", mounts["config"]["mountPath"] + "/gitops-bot.yaml"]
    config = yaml.safe_load(config_text(objects))
    assert config["policies"].rstrip("/") == mounts["policies"]["mountPath"]
    names = {v["name"]: v.get("configMap", {}).get("name") for v in pod_spec(objects)["volumes"]}
    rendered = {m["metadata"]["name"] for m in of_kind(objects, "ConfigMap")}
    for volume in ("config", "policies"):  # kustomize's hash suffix: a change rolls the pod
        assert names[volume] in rendered and names[volume] != f"gitops-bot-{volume}"


def test_the_shipped_config_and_policies_are_ones_the_bot_accepts(tmp_path: Path) -> None:
    for target in TARGETS:
        config = parse_config(yaml.safe_load(config_text(render(target))), base=tmp_path)
        assert (config.listen_host, config.listen_port) == ("0.0.0.0", 8080)
        if config.forge == "github":
            assert parse_github(config.github, base=tmp_path).repo == "acme/agents-gitops"
    objects = render("manifests/bot")
    policies_map = next(m for m in of_kind(objects, "ConfigMap") if "policies" in m["metadata"]["name"])
    for name, text in policies_map["data"].items():
        (tmp_path / name).write_text(text)
    cli = Path(sys.executable).parent / "gitops-bot"
    done = subprocess.run([cli, "policy", "check", tmp_path], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_referenced_secret_has_a_create_command_in_the_readme() -> None:
    readme = (BOT / "README.md").read_text()
    for target in TARGETS:
        spec = pod_spec(render(target))
        names = {v for k, v in walk(spec) if k in ("secretName",)}
        names |= {ref["name"] for k, ref in walk(spec) if k == "secretKeyRef"}
        assert names >= {"gitops-bot"}
        for name in names:
            assert f"create secret generic {name} " in readme, f"README: how to create Secret {name}"
