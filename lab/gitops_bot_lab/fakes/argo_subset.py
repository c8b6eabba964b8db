"""The subset of Argo Workflows' template language the stand-in executes, and Argo's `{{...}}` substitution.

Supported (anything else is REJECTED with a message naming the field, never ignored):

- spec: `entrypoint`, `arguments.parameters` (`name`, `value`, `description`, `enum`), `templates`,
  `volumes`, `serviceAccountName` (kept on the workflow; the stand-in has no RBAC to apply it to).
- the entrypoint template: `steps` (a list of step groups with ONE step each: parallel steps are not
  run), a step being `name`, `template`, `when`, `arguments.parameters` (`name`, `value`).
- other templates: exactly one of `container` or `suspend`, plus `inputs.parameters` (`name`, `value`,
  `default`, `description`) and `outputs.parameters` (`valueFrom.path` for containers,
  `valueFrom.supplied` + `default` for suspends).
- container: `image`, `command`, `args`, `workingDir` (required), `env` (`value` or
  `valueFrom.secretKeyRef`), `volumeMounts` (`name`, `mountPath` under workingDir, `readOnly`).
- volumes: `emptyDir: {}`, `configMap: {name}`, `secret: {secretName}`.
- suspend: `{}` (until resumed or stopped) or `{duration}` (seconds, or Go-style `30s`, `5m`, `1h`).
- `when`: `A == B` or `A != B` over single words or 'quoted' strings, after substitution.
- variables: `workflow.name`, `workflow.namespace`, `workflow.parameters.X`, `inputs.parameters.X`,
  `steps.S.outputs.parameters.X`. Expressions (`{{=...}}`) are not supported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_NAME = r"[A-Za-z0-9_-]+"
_VARIABLE = re.compile(
    rf"workflow\.(name|namespace)|workflow\.parameters\.{_NAME}|inputs\.parameters\.{_NAME}"
    rf"|steps\.{_NAME}\.outputs\.parameters\.{_NAME}"
)
_WHEN = re.compile(r"\s*('[^']*'|[^\s'=!]+)\s*(==|!=)\s*('[^']*'|[^\s'=!]+)\s*")
_DURATION = re.compile(r"(\d+)(s|m|h)?")

_SPEC_KEYS = {"entrypoint", "arguments", "templates", "volumes", "serviceAccountName"}
_TEMPLATE_KEYS = {"name", "steps", "container", "suspend", "inputs", "outputs"}
_STEP_KEYS = {"name", "template", "when", "arguments"}
_CONTAINER_KEYS = {"image", "command", "args", "workingDir", "env", "volumeMounts"}
_MOUNT_KEYS = {"name", "mountPath", "readOnly"}
_ARG_PARAM_KEYS = {"name", "value", "description", "enum"}
_INPUT_KEYS = {"name", "value", "default", "description"}


class Unsupported(ValueError):
    """A template uses something outside the stand-in's subset (or is not valid Argo)."""


def check_spec(spec: Mapping[str, Any]) -> None:
    """Raise Unsupported listing every field outside the subset, and every unknown variable."""
    problems: list[str] = []
    _extra(problems, "spec", spec, _SPEC_KEYS)
    for i, param in enumerate(spec.get("arguments", {}).get("parameters", [])):
        _extra(problems, f"spec.arguments.parameters[{i}]", param, _ARG_PARAM_KEYS)
    _extra(problems, "spec.arguments", spec.get("arguments", {}), {"parameters"})
    volumes = _check_volumes(problems, spec.get("volumes", []))
    templates = {t.get("name"): t for t in spec.get("templates", [])}
    entry = templates.get(spec.get("entrypoint"))
    if entry is None or "steps" not in entry:
        problems.append(f"spec.entrypoint {spec.get('entrypoint')!r} must name a `steps` template")
    for name, template in templates.items():
        where = f"templates[{name}]"
        _extra(problems, where, template, _TEMPLATE_KEYS)
        kinds = [k for k in ("steps", "container", "suspend") if k in template]
        if len(kinds) != 1 or ("steps" in kinds) != (template is entry):
            problems.append(f"{where}: needs exactly one of container/suspend (steps only in the entrypoint)")
        if "container" in template:
            _check_container(problems, where, template["container"], volumes)
        if "suspend" in template:
            _check_suspend(problems, where, template["suspend"])
        _check_io(problems, where, template)
    if entry is not None:
        _check_steps(problems, entry.get("steps", []), templates)
    for text in _strings(spec):
        problems += [
            f"unsupported variable {{{{{v}}}}}" for v in variables(text) if not _VARIABLE.fullmatch(v)
        ]
    if problems:
        raise Unsupported("; ".join(dict.fromkeys(problems)))


def _extra(problems: list[str], where: str, obj: Any, allowed: set[str]) -> None:
    if not isinstance(obj, Mapping):
        problems.append(f"{where}: expected an object")
        return
    problems += [f"{where}.{k}: not supported by the stand-in" for k in sorted(set(obj) - allowed)]


def _check_volumes(problems: list[str], volumes: list[Mapping[str, Any]]) -> set[str]:
    names = set()
    for i, vol in enumerate(volumes):
        sources = set(vol) - {"name"}
        ok = (sources == {"emptyDir"} and vol["emptyDir"] == {}) or (
            sources == {"configMap"} and set(vol["configMap"]) == {"name"}
        )
        ok = ok or (sources == {"secret"} and set(vol["secret"]) == {"secretName"})
        if not ok:
            problems.append(
                f"spec.volumes[{i}]: only emptyDir {{}}, configMap {{name}}, secret {{secretName}}"
            )
        names.add(str(vol.get("name")))
    return names


def _check_container(problems: list[str], where: str, c: Mapping[str, Any], volumes: set[str]) -> None:
    _extra(problems, f"{where}.container", c, _CONTAINER_KEYS)
    workdir = str(c.get("workingDir", ""))
    if not workdir.startswith("/"):
        problems.append(f"{where}.container.workingDir: required (absolute); every path is relative to it")
    if not c.get("command"):
        problems.append(f"{where}.container.command: required (the stand-in runs no image entrypoints)")
    for i, env in enumerate(c.get("env", [])):
        ok = set(env) == {"name", "value"} or (
            set(env) == {"name", "valueFrom"} and set(env["valueFrom"]) == {"secretKeyRef"}
        )
        if not ok:
            problems.append(f"{where}.container.env[{i}]: only value or valueFrom.secretKeyRef")
    for i, mount in enumerate(c.get("volumeMounts", [])):
        _extra(problems, f"{where}.container.volumeMounts[{i}]", mount, _MOUNT_KEYS)
        path = str(mount.get("mountPath", ""))
        if mount.get("name") not in volumes or not (path == workdir or path.startswith(workdir + "/")):
            problems.append(
                f"{where}.container.volumeMounts[{i}]: a declared volume, mounted under workingDir"
            )


def _check_suspend(problems: list[str], where: str, suspend: Mapping[str, Any]) -> None:
    _extra(problems, f"{where}.suspend", suspend, {"duration"})
    duration = suspend.get("duration")
    if duration is not None and not _DURATION.fullmatch(str(duration)):
        problems.append(f"{where}.suspend.duration {duration!r}: seconds or N[smh]")


def _check_io(problems: list[str], where: str, template: Mapping[str, Any]) -> None:
    for kind in ("inputs", "outputs"):
        _extra(problems, f"{where}.{kind}", template.get(kind, {}), {"parameters"})
    for i, param in enumerate(template.get("inputs", {}).get("parameters", [])):
        _extra(problems, f"{where}.inputs.parameters[{i}]", param, _INPUT_KEYS)
    wanted = {"path"} if "container" in template else {"supplied", "default"}
    for i, param in enumerate(template.get("outputs", {}).get("parameters", [])):
        source = param.get("valueFrom", {})
        if set(param) != {"name", "valueFrom"} or not set(source) <= wanted or not set(source) - {"default"}:
            problems.append(f"{where}.outputs.parameters[{i}]: only valueFrom {sorted(wanted)} here")


def _check_steps(problems: list[str], groups: list[Any], templates: Mapping[Any, Any]) -> None:
    for g, group in enumerate(groups):
        if not isinstance(group, list) or len(group) != 1:
            problems.append(f"steps[{g}]: one step per group (parallel steps are not supported)")
            continue
        step = group[0]
        _extra(problems, f"steps[{g}][0]", step, _STEP_KEYS)
        if step.get("template") not in templates:
            problems.append(f"steps[{g}][0].template {step.get('template')!r}: no such template")
        when = step.get("when")
        if when is not None and not _WHEN.fullmatch(PLACEHOLDER.sub("x", str(when))):
            problems.append(f"steps[{g}][0].when {when!r}: only `A == B` / `A != B`")
        for i, param in enumerate(step.get("arguments", {}).get("parameters", [])):
            _extra(problems, f"steps[{g}][0].arguments.parameters[{i}]", param, {"name", "value"})


def _strings(obj: Any) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, Mapping):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def variables(text: str) -> list[str]:
    """The variable names referenced in a string."""
    return PLACEHOLDER.findall(text)


def substitute(text: str, lookup: Callable[[str], str | None]) -> str:
    """Replace every `{{name}}`; an unresolvable one raises, as Argo fails the node."""

    def one(match: re.Match[str]) -> str:
        value = lookup(match.group(1))
        if value is None:
            raise Unsupported(f"failed to resolve {{{{{match.group(1)}}}}}")
        return value

    return PLACEHOLDER.sub(one, text)


def substitute_all(obj: Any, lookup: Callable[[str], str | None]) -> Any:
    """substitute() over every string of a JSON-like value."""
    if isinstance(obj, str):
        return substitute(obj, lookup)
    if isinstance(obj, Mapping):
        return {k: substitute_all(v, lookup) for k, v in obj.items()}
    if isinstance(obj, list):
        return [substitute_all(v, lookup) for v in obj]
    return obj


def when_holds(expression: str) -> bool:
    """Evaluate a substituted `A == B` / `A != B` (govaluate on words and 'strings')."""
    match = _WHEN.fullmatch(expression)
    if match is None:
        raise Unsupported(f"invalid when expression {expression!r}")
    left, op, right = (part.strip("'") for part in match.groups())
    return (left == right) == (op == "==")


def duration_s(text: str) -> float:
    """`30`, `30s`, `5m`, `1h` in seconds."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise Unsupported(f"invalid duration {text!r}")
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]
