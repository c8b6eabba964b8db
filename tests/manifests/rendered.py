"""`kubectl kustomize` output of manifests/bot and its overlays, as lists of objects, with small finders."""

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.binaries import require_tool, run_tool

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "manifests" / "bot"
INSTALL = "run tests/manifests/install-tools.sh"
# Every kustomization a user may apply: the base (via manifests/bot) and each example overlay.
TARGETS = ("manifests/bot", "manifests/bot/overlays/github", "manifests/bot/overlays/flux")

Obj = dict[str, Any]


@cache
def _build(target: str, kubectl: str) -> tuple[Obj, ...]:
    done = run_tool(kubectl, "kustomize", str(ROOT / target))
    assert done.returncode == 0, f"kubectl kustomize {target} failed: {done.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def render(target: str) -> list[Obj]:
    """The objects `kubectl apply -k <target>` would send (a fresh list; cached build underneath)."""
    kubectl = require_tool("kubectl", INSTALL)
    copy: list[Obj] = yaml.safe_load(yaml.safe_dump(list(_build(target, kubectl))))  # tests may mutate it
    return copy


def of_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[Obj], kind: str) -> Obj:
    found = of_kind(objects, kind)
    assert len(found) == 1, f"want exactly one {kind}, got {len(found)}"
    return found[0]


def pod_spec(objects: list[Obj]) -> Obj:
    spec: Obj = one(objects, "Deployment")["spec"]["template"]["spec"]
    return spec


def container(objects: list[Obj]) -> Obj:
    containers = pod_spec(objects)["containers"]
    assert [c["name"] for c in containers] == ["gitops-bot"]
    result: Obj = containers[0]
    return result


def config_text(objects: list[Obj]) -> str:
    """gitops-bot.yaml as the pod sees it: the ConfigMap the Deployment's `config` volume names."""
    volumes = {v["name"]: v for v in pod_spec(objects)["volumes"]}
    name = volumes["config"]["configMap"]["name"]
    maps = [m for m in of_kind(objects, "ConfigMap") if m["metadata"]["name"] == name]
    assert len(maps) == 1, f"config volume names ConfigMap {name}, which is not rendered"
    text: str = maps[0]["data"]["gitops-bot.yaml"]
    return text


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair anywhere in a nested object."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)
