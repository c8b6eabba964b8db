"""Who may reach the bot, what it may reach, and what it may do in the Kubernetes API."""

from typing import Any

import yaml

from tests.manifests.rendered import config_text, container, of_kind, one, pod_spec, render

RBAC_KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
FLUX_RESOURCES = {
    "source.toolkit.fluxcd.io": ["gitrepositories"],
    "kustomize.toolkit.fluxcd.io": ["kustomizations"],
    "helm.toolkit.fluxcd.io": ["helmreleases"],
    "image.toolkit.fluxcd.io": ["imagerepositories", "imagepolicies", "imageupdateautomations"],
}


def ports(rules: list[dict[str, Any]]) -> set[tuple[Any, str]]:
    return {(p["port"], p["protocol"]) for rule in rules for p in rule.get("ports", [])}


def test_the_base_grants_no_kubernetes_api_rights_and_mounts_no_token() -> None:
    objects = render("manifests/bot")
    assert [o for o in objects if o["kind"] in RBAC_KINDS] == []
    assert one(objects, "ServiceAccount")["automountServiceAccountToken"] is False
    assert pod_spec(objects)["automountServiceAccountToken"] is False


def test_the_flux_component_may_only_read_and_patch_flux_objects() -> None:
    objects = render("manifests/bot/overlays/flux")
    role = one(objects, "ClusterRole")
    granted = {r["apiGroups"][0]: r["resources"] for r in role["rules"]}
    assert granted == FLUX_RESOURCES and all(len(r["apiGroups"]) == 1 for r in role["rules"])
    assert {tuple(r["verbs"]) for r in role["rules"]} == {("get", "list", "watch", "patch")}
    binding = one(objects, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "gitops-bot", "namespace": "gitops-bot"}
    ]
    assert pod_spec(objects)["automountServiceAccountToken"] is True
    assert (6443, "TCP") in ports(one(objects, "NetworkPolicy")["spec"]["egress"])


def test_only_alertmanager_and_prometheus_reach_the_bot_port() -> None:
    objects = render("manifests/bot")
    policy = one(objects, "NetworkPolicy")["spec"]
    assert policy["podSelector"] == {"matchLabels": one(objects, "Service")["spec"]["selector"]}
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    [ingress] = policy["ingress"]
    assert ports([ingress]) == {("http", "TCP")}
    [peer] = ingress["from"]
    assert peer["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    [expression] = peer["podSelector"]["matchExpressions"]
    assert expression["operator"] == "In" and sorted(expression["values"]) == ["alertmanager", "prometheus"]


def test_egress_is_dns_git_and_the_monitoring_apis_only() -> None:
    egress = one(render("manifests/bot"), "NetworkPolicy")["spec"]["egress"]
    assert ports(egress) == {
        (53, "UDP"),
        (53, "TCP"),
        (22, "TCP"),
        (443, "TCP"),
        (9093, "TCP"),
        (9090, "TCP"),
    }
    dns = next(rule for rule in egress if (53, "UDP") in ports([rule]))
    assert dns["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}


def test_the_service_monitor_scrapes_the_service_metrics_port() -> None:
    objects = render("manifests/bot")
    service, monitor = one(objects, "Service"), one(objects, "ServiceMonitor")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == [p["name"] for p in service["spec"]["ports"]]
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"


def test_the_github_overlay_runs_github_mode_with_its_secrets_and_exposes_only_the_webhook() -> None:
    objects = render("manifests/bot/overlays/github")
    config = yaml.safe_load(config_text(objects))
    assert config["forge"]["kind"] == "github"
    env = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef") for e in container(objects)["env"]}
    github = config["forge"]["github"]
    assert env[github["token_env"]] == {"name": "gitops-bot-github", "key": "token"}
    assert env[github["webhook_secret_env"]] == {"name": "gitops-bot-github", "key": "webhook-secret"}
    assert env[config["server"]["alertmanager_token_env"]] == {
        "name": "gitops-bot",
        "key": "alertmanager-token",
    }
    ssh = next(v for v in pod_spec(objects)["volumes"] if v["name"] == "ssh")
    assert ssh["secret"]["optional"] is True, "git goes over HTTPS: no SSH key Secret needed"
    [ingress] = of_kind(objects, "Ingress")
    paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert [(p["path"], p["pathType"]) for p in paths] == [("/api/v1/github", "Exact")]
    assert len(one(objects, "NetworkPolicy")["spec"]["ingress"]) == 2  # + the ingress controller


def test_every_variant_gives_the_bot_its_state_key_from_a_secret() -> None:
    """serve refuses to start without the key that authenticates its tags and PR tickets."""
    for variant in ("manifests/bot", "manifests/bot/overlays/github", "manifests/bot/overlays/flux"):
        objects = render(variant)
        config = yaml.safe_load(config_text(objects))
        env = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef") for e in container(objects)["env"]}
        key_env = config.get("state_key_env", "GITOPS_BOT_STATE_KEY")
        assert env[key_env] == {"name": "gitops-bot", "key": "state-key"}, variant
