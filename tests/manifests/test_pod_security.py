"""The restricted-profile checker rejects a pod breaking any one rule (and only names that rule)."""

from collections.abc import Callable
from typing import Any

import pytest

from tests.manifests.pod_security import RULES, violations

Spec = dict[str, Any]


def compliant() -> tuple[Spec, Spec]:
    """A pod like the bot's, admitted by `restricted` (init container and volumes included)."""
    safe = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
    }
    spec: Spec = {
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "initContainers": [{"name": "init", "image": "x", "securityContext": dict(safe)}],
        "containers": [
            {"name": "bot", "image": "x", "ports": [{"containerPort": 8080}], "securityContext": safe}
        ],
        "volumes": [{"name": "config", "configMap": {"name": "c"}}, {"name": "tmp", "emptyDir": {}}],
    }
    return spec, {}


def sc(spec: Spec, which: str = "containers") -> Spec:
    result: Spec = spec[which][0]["securityContext"]
    return result


BREAKERS: dict[str, Callable[[Spec, Spec], None]] = {
    "HostProcess": lambda s, a: sc(s).update(windowsOptions={"hostProcess": True}),
    "Host Namespaces": lambda s, a: s.update(hostPID=True),
    "Privileged Containers": lambda s, a: sc(s, "initContainers").update(privileged=True),
    "HostPath Volumes": lambda s, a: s["volumes"].append({"name": "h", "hostPath": {"path": "/"}}),
    "Host Ports": lambda s, a: s["containers"][0]["ports"][0].update(hostPort=8080),
    "AppArmor": lambda s, a: a.update({"container.apparmor.security.beta.kubernetes.io/bot": "unconfined"}),
    "SELinux": lambda s, a: sc(s).update(seLinuxOptions={"type": "spc_t"}),
    "/proc Mount Type": lambda s, a: sc(s).update(procMount="Unmasked"),
    "Sysctls": lambda s, a: s["securityContext"].update(sysctls=[{"name": "kernel.msgmax", "value": "1"}]),
    "Volume Types": lambda s, a: s["volumes"].append({"name": "n", "nfs": {"server": "h", "path": "/"}}),
    "Privilege Escalation": lambda s, a: sc(s, "initContainers").pop("allowPrivilegeEscalation"),
    "Running as Non-root": lambda s, a: sc(s).update(runAsNonRoot=False),
    "Running as Non-root user": lambda s, a: sc(s).update(runAsUser=0),
    "Seccomp": lambda s, a: sc(s).update(seccompProfile={"type": "Unconfined"}),
    "Capabilities": lambda s, a: sc(s).update(capabilities={"drop": ["ALL"], "add": ["NET_ADMIN"]}),
}


def test_every_rule_of_the_profile_has_a_negative_test() -> None:
    assert set(BREAKERS) == set(RULES)


def test_a_compliant_pod_is_admitted() -> None:
    assert violations(*compliant()) == {}


@pytest.mark.parametrize("rule", sorted(BREAKERS))
def test_a_pod_breaking_one_rule_is_rejected_for_that_rule(rule: str) -> None:
    spec, annotations = compliant()
    BREAKERS[rule](spec, annotations)
    also = {"Volume Types"} if rule == "HostPath Volumes" else set()  # hostPath is no restricted volume type
    assert set(violations(spec, annotations)) == {rule} | also


def drop_run_as_non_root(spec: Spec) -> None:
    """Neither the pod nor the bot container says runAsNonRoot (the init container still does)."""
    spec["securityContext"].pop("runAsNonRoot")
    sc(spec).pop("runAsNonRoot")


@pytest.mark.parametrize(
    ("what", "breaker", "rule"),
    [
        ("no seccomp profile anywhere", lambda s: s["securityContext"].pop("seccompProfile"), "Seccomp"),
        ("runAsNonRoot not inherited nor set", drop_run_as_non_root, "Running as Non-root"),
        ("capabilities not dropped", lambda s: sc(s, "initContainers").pop("capabilities"), "Capabilities"),
        (
            "pod-level runAsUser 0",
            lambda s: s["securityContext"].update(runAsUser=0),
            "Running as Non-root user",
        ),
    ],
)
def test_absent_or_inherited_settings_count_too(
    what: str, breaker: Callable[[Spec], object], rule: str
) -> None:
    spec, _ = compliant()
    breaker(spec)
    assert list(violations(spec)) == [rule], what
