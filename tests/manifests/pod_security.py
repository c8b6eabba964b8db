"""The Pod Security Standards `restricted` profile, one check per rule, over a pod spec (a plain mapping).

A schema validator only says a field is well-formed; these say whether the admission controller with
`pod-security.kubernetes.io/enforce: restricted` would let the pod in. Rules and allowed values follow
https://kubernetes.io/docs/concepts/security/pod-security-standards/ (baseline rules included, as
restricted is baseline plus more). Each check returns what it found wrong, empty when the rule holds.
"""

from collections.abc import Callable, Iterator, Mapping
from typing import Any

Spec = Mapping[str, Any]

SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
RESTRICTED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
SECCOMP_OK = frozenset({"RuntimeDefault", "Localhost"})


def containers(spec: Spec) -> Iterator[Spec]:
    """Every container the profile covers: init, regular and ephemeral."""
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


def contexts(spec: Spec) -> Iterator[tuple[str, Spec]]:
    """The pod's securityContext and each container's, named for messages."""
    yield "pod", spec.get("securityContext") or {}
    for c in containers(spec):
        yield f"container {c.get('name')}", c.get("securityContext") or {}


def host_process(spec: Spec, annotations: Spec) -> list[str]:
    return [
        f"{where}: windowsOptions.hostProcess"
        for where, sc in contexts(spec)
        if (sc.get("windowsOptions") or {}).get("hostProcess")
    ]


def host_namespaces(spec: Spec, annotations: Spec) -> list[str]:
    return [f"pod: {key}" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)]


def privileged(spec: Spec, annotations: Spec) -> list[str]:
    return [f"{where}: privileged" for where, sc in contexts(spec) if sc.get("privileged")]


def host_path_volumes(spec: Spec, annotations: Spec) -> list[str]:
    return [f"volume {v.get('name')}: hostPath" for v in spec.get("volumes") or [] if "hostPath" in v]


def host_ports(spec: Spec, annotations: Spec) -> list[str]:
    return [
        f"container {c.get('name')}: hostPort {p['hostPort']}"
        for c in containers(spec)
        for p in c.get("ports") or []
        if p.get("hostPort")
    ]


def apparmor(spec: Spec, annotations: Spec) -> list[str]:
    bad = [
        f"{where}: appArmorProfile {sc['appArmorProfile'].get('type')}"
        for where, sc in contexts(spec)
        if "appArmorProfile" in sc and sc["appArmorProfile"].get("type") not in SECCOMP_OK
    ]
    prefix = "container.apparmor.security.beta.kubernetes.io/"
    return bad + [
        f"annotation {k}: {v}"
        for k, v in annotations.items()
        if k.startswith(prefix) and v != "runtime/default" and not v.startswith("localhost/")
    ]


def selinux(spec: Spec, annotations: Spec) -> list[str]:
    out = []
    for where, sc in contexts(spec):
        options = sc.get("seLinuxOptions") or {}
        if options.get("type", "") not in SELINUX_TYPES:
            out.append(f"{where}: seLinuxOptions.type {options['type']}")
        out += [f"{where}: seLinuxOptions.{key} set" for key in ("user", "role") if options.get(key)]
    return out


def proc_mount(spec: Spec, annotations: Spec) -> list[str]:
    return [
        f"{where}: procMount {sc['procMount']}"
        for where, sc in contexts(spec)
        if sc.get("procMount", "Default") != "Default"
    ]


def sysctls(spec: Spec, annotations: Spec) -> list[str]:
    pod = spec.get("securityContext") or {}
    return [
        f"pod: sysctl {s.get('name')}" for s in pod.get("sysctls") or [] if s.get("name") not in SAFE_SYSCTLS
    ]


def volume_types(spec: Spec, annotations: Spec) -> list[str]:
    out = []
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            out.append(f"volume {volume.get('name')}: type {', '.join(sorted(kinds - RESTRICTED_VOLUMES))}")
    return out


def privilege_escalation(spec: Spec, annotations: Spec) -> list[str]:
    return [
        f"container {c.get('name')}: allowPrivilegeEscalation is not false"
        for c in containers(spec)
        if (c.get("securityContext") or {}).get("allowPrivilegeEscalation") is not False
    ]


def _container_or_pod(spec: Spec, key: str) -> Iterator[tuple[str, Any, Any]]:
    """(container, its value, the pod's value) for a field a container inherits from the pod."""
    pod = (spec.get("securityContext") or {}).get(key)
    for c in containers(spec):
        yield str(c.get("name")), (c.get("securityContext") or {}).get(key), pod


def run_as_non_root(spec: Spec, annotations: Spec) -> list[str]:
    out = (
        ["pod: runAsNonRoot false"]
        if (spec.get("securityContext") or {}).get("runAsNonRoot") is False
        else []
    )
    for name, own, pod in _container_or_pod(spec, "runAsNonRoot"):
        if own is False or (own is None and pod is not True):
            out.append(f"container {name}: runAsNonRoot is not true (here or on the pod)")
    return out


def run_as_user(spec: Spec, annotations: Spec) -> list[str]:
    return [f"{where}: runAsUser 0" for where, sc in contexts(spec) if sc.get("runAsUser") == 0]


def seccomp(spec: Spec, annotations: Spec) -> list[str]:
    pod = (spec.get("securityContext") or {}).get("seccompProfile")
    out = [f"pod: seccompProfile {pod.get('type')}"] if pod and pod.get("type") not in SECCOMP_OK else []
    for name, own, pod in _container_or_pod(spec, "seccompProfile"):
        kind = (own or pod or {}).get("type")
        if kind not in SECCOMP_OK:
            out.append(
                f"container {name}: seccompProfile {kind or 'unset'} (want RuntimeDefault or Localhost)"
            )
    return out


def capabilities(spec: Spec, annotations: Spec) -> list[str]:
    out = []
    for c in containers(spec):
        caps = (c.get("securityContext") or {}).get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            out.append(f"container {c.get('name')}: capabilities.drop lacks ALL")
        out += [
            f"container {c.get('name')}: adds {cap}"
            for cap in caps.get("add") or []
            if cap != "NET_BIND_SERVICE"
        ]
    return out


Rule = Callable[[Spec, Spec], list[str]]
RULES: dict[str, Rule] = {
    "HostProcess": host_process,
    "Host Namespaces": host_namespaces,
    "Privileged Containers": privileged,
    "HostPath Volumes": host_path_volumes,
    "Host Ports": host_ports,
    "AppArmor": apparmor,
    "SELinux": selinux,
    "/proc Mount Type": proc_mount,
    "Sysctls": sysctls,
    "Volume Types": volume_types,
    "Privilege Escalation": privilege_escalation,
    "Running as Non-root": run_as_non_root,
    "Running as Non-root user": run_as_user,
    "Seccomp": seccomp,
    "Capabilities": capabilities,
}


def violations(spec: Spec, annotations: Spec | None = None) -> dict[str, list[str]]:
    """Each broken rule with what broke it; empty when the restricted profile admits the pod."""
    found = {rule: check(spec, annotations or {}) for rule, check in RULES.items()}
    return {rule: problems for rule, problems in found.items() if problems}
