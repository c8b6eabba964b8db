"""A container step run as a local process: the stand-in's "kubelet".

The image is mapped to a local bin directory (the installed `gitops-bot` stands in for
ghcr.io/acme/gitops-bot); each pod gets its own sandbox directory, its volumes are materialised under
`<sandbox>/<mountPath>` (emptyDir: empty, configMap/secret: one file per key) and the process runs in
`<sandbox>/<workingDir>`, so every path the template writes relative to workingDir means the same here
as in a cluster. The environment holds only what the container declares, plus PATH and HOME.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

POLL_S = 0.05


class PodFailed(Exception):
    """The pod could not start or did not succeed; the message is the node's."""


@dataclass(frozen=True)
class Cluster:
    """What the stand-in's pods can see: images, ConfigMaps, Secrets, a scratch root."""

    root: Path
    images: Mapping[str, Path]  # image repository without tag -> directory of its executables
    config_maps: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    secrets: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    step_timeout_s: float = 120.0


@dataclass(frozen=True)
class PodResult:
    """Exit code and the outputs read from `valueFrom.path` files."""

    exit_code: int
    outputs: dict[str, str]
    log: str


def _repository(image: str) -> str:
    image = image.split("@", 1)[0]
    head, _, tail = image.rpartition(":")
    return head if head and "/" not in tail else image


class Pod:
    """One container step; `kill()` from another thread ends it (Argo's stop)."""

    def __init__(self, cluster: Cluster, sandbox: Path, spec: Mapping[str, Any], volumes: list[Any]) -> None:
        self.cluster, self.sandbox, self.spec = cluster, sandbox, spec
        self.volumes = {v["name"]: v for v in volumes}
        self._proc: subprocess.Popen[bytes] | None = None
        self._killed = threading.Event()

    def host_path(self, container_path: str) -> Path:
        """Where a container path lives on this machine."""
        return self.sandbox / container_path.lstrip("/")

    def run(self, outputs: Mapping[str, str]) -> PodResult:
        """Mount, start, wait (bounded), read outputs; raise PodFailed for what Argo would fail."""
        bindir = self.cluster.images.get(_repository(str(self.spec["image"])))
        if bindir is None:
            raise PodFailed(f"ErrImagePull: image {self.spec['image']!r} is not known to the stand-in")
        command = [str(a) for a in self.spec["command"]] + [str(a) for a in self.spec.get("args", [])]
        executable = bindir / command[0]
        if "/" in command[0] or not executable.exists():
            raise PodFailed(f"StartError: {command[0]!r} not found in image {self.spec['image']}")
        env = self._env(bindir)
        self._mount()
        workdir = self.host_path(str(self.spec["workingDir"]))
        workdir.mkdir(parents=True, exist_ok=True)
        log_path = self.sandbox / "main.log"
        with open(log_path, "wb") as log:
            self._proc = subprocess.Popen(
                [str(executable), *command[1:]], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT
            )
            code = self._wait(self._proc)
        text = log_path.read_text(errors="replace")
        if self._killed.is_set():
            raise PodFailed("Stopped with strategy 'Stop'")
        if code != 0:
            raise PodFailed(f"Error (exit code {code})")  # Argo's words; the log is <sandbox>/main.log
        return PodResult(code, self._read_outputs(outputs), text)

    def kill(self) -> None:
        """Terminate the process (SIGTERM, as the kubelet does first)."""
        self._killed.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()

    def _wait(self, proc: subprocess.Popen[bytes]) -> int:
        try:
            return proc.wait(timeout=self.cluster.step_timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            raise PodFailed(
                f"Pod was active longer than the stand-in's {self.cluster.step_timeout_s}s"
            ) from None

    def _env(self, bindir: Path) -> dict[str, str]:
        home = self.sandbox / "home"
        home.mkdir(parents=True, exist_ok=True)
        env = {"PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
        for item in self.spec.get("env", []):
            if "value" in item:
                env[item["name"]] = str(item["value"])
                continue
            ref = item["valueFrom"]["secretKeyRef"]
            value = self.cluster.secrets.get(ref["name"], {}).get(ref["key"])
            if value is None and not ref.get("optional", False):
                raise PodFailed(
                    f"CreateContainerConfigError: secret {ref['name']!r} has no key {ref['key']!r}"
                )
            if value is not None:
                env[item["name"]] = value
        if "GIT_CONFIG_GLOBAL" not in env:  # the host's git config is not the image's
            env["GIT_CONFIG_GLOBAL"] = os.devnull
        return env

    def _mount(self) -> None:
        mounts = sorted(self.spec.get("volumeMounts", []), key=lambda m: len(str(m["mountPath"])))
        for mount in mounts:
            target = self.host_path(str(mount["mountPath"]))
            target.mkdir(parents=True, exist_ok=True)
            volume = self.volumes[mount["name"]]
            if "configMap" in volume:
                files = self.cluster.config_maps.get(volume["configMap"]["name"])
                kind, name = "configmap", volume["configMap"]["name"]
            elif "secret" in volume:
                files = self.cluster.secrets.get(volume["secret"]["secretName"])
                kind, name = "secret", volume["secret"]["secretName"]
            else:
                continue  # emptyDir: the directory itself
            if files is None:
                raise PodFailed(f'MountVolume.SetUp failed: {kind} "{name}" not found')
            for key, text in files.items():
                (target / key).write_text(text)

    def _read_outputs(self, outputs: Mapping[str, str]) -> dict[str, str]:
        values = {}
        for name, path in outputs.items():
            file = self.host_path(path)
            if not file.is_file():
                raise PodFailed(f"failed to get output parameter {name!r}: {path}: no such file")
            values[name] = file.read_text().strip()
        return values
