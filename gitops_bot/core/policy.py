"""RollbackPolicy documents parsed and validated into frozen dataclasses (pure)."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from gitops_bot.core.durations import parse_duration
from gitops_bot.core.matchers import Matcher, parse_matcher
from gitops_bot.core.paths import file_in_paths
from gitops_bot.core.promql import template_problems
from gitops_bot.core.validate import Problems, choice, duration, get_typed, str_list
from gitops_bot.core.yamlpath import parse_path

MODES = ("auto", "veto-window", "approval", "dry-run")
MERGE_METHODS = ("merge", "squash", "rebase")
PERMISSIONS = ("read", "triage", "write", "maintain", "admin")
ON_PROMETHEUS_ERROR = ("proceed", "hold")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


@dataclass(frozen=True)
class VersionField:
    """Where an agent's version lives: a file template and a path inside it."""

    file: str
    path: str


@dataclass(frozen=True)
class Limit:
    """At most `max` rollbacks within `window`."""

    max: int
    window: timedelta


@dataclass(frozen=True)
class Approvers:
    """Who may /approve or /veto: a minimum repo permission, optionally narrowed to people."""

    permission: str = "write"
    users: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()


@dataclass(frozen=True)
class Action:
    """What to do once a rollback is decided."""

    mode: str = "auto"
    veto_window: timedelta = timedelta(minutes=5)
    approvers: Approvers = Approvers()
    merge_method: str = "merge"
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verify:
    """Prometheus checks before acting and after the revert lands."""

    prometheus: str | None = None
    still_firing: str | None = None
    recovered: str | None = None
    timeout: timedelta = timedelta(minutes=10)
    on_prometheus_error: str | None = None
    bake_time: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class Policy:
    """One RollbackPolicy."""

    name: str
    source: str
    matchers: tuple[Matcher, ...]
    agent_label: str
    paths: tuple[str, ...]
    version_label: str | None
    fields: tuple[VersionField, ...]
    action: Action
    per_agent: Limit | None
    fleet: Limit | None
    verify: Verify | None = None


def _limit(raw: object, errs: Problems, at: str) -> Limit | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errs.add(at, "must be a mapping {max: N, window: 1h}")
        return None
    max_ = raw.get("max")
    if not isinstance(max_, int) or isinstance(max_, bool) or max_ < 0:
        errs.add(f"{at}.max", f"must be a whole number >= 0, got {max_!r}")
        return None
    try:
        return Limit(max=max_, window=parse_duration(raw.get("window")))
    except ValueError as e:
        errs.add(f"{at}.window", str(e))
        return None


def _action(raw: Mapping[str, Any], errs: Problems) -> Action:
    appr = raw.get("approvers") or {}
    if not isinstance(appr, dict):
        errs.add("spec.action.approvers", "must be a mapping")
        appr = {}
    return Action(
        mode=choice(raw.get("mode"), MODES, "auto", errs, "spec.action.mode"),
        veto_window=duration(raw.get("vetoWindow"), timedelta(minutes=5), errs, "spec.action.vetoWindow"),
        approvers=Approvers(
            permission=choice(
                appr.get("permission"),
                PERMISSIONS,
                "write",
                errs,
                "spec.action.approvers.permission",
            ),
            users=str_list(appr.get("users"), errs, "spec.action.approvers.users"),
            teams=str_list(appr.get("teams"), errs, "spec.action.approvers.teams"),
        ),
        merge_method=choice(raw.get("mergeMethod"), MERGE_METHODS, "merge", errs, "spec.action.mergeMethod"),
        labels=str_list(raw.get("labels"), errs, "spec.action.labels"),
    )


def _verify(raw: object, errs: Problems) -> Verify | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errs.add("spec.verify", "must be a mapping")
        return None
    texts = {}
    for key in ("prometheus", "still_firing", "recovered"):
        value = raw.get(key)
        if value is not None and not (isinstance(value, str) and value.strip()):
            errs.add(f"spec.verify.{key}", "must be a non-empty string")
            value = None
        elif value is not None and key != "prometheus":
            for problem in template_problems(value):
                errs.add(f"spec.verify.{key}", problem)
        texts[key] = value
    return Verify(
        prometheus=texts["prometheus"],
        still_firing=texts["still_firing"],
        recovered=texts["recovered"],
        timeout=duration(raw.get("timeout"), timedelta(minutes=10), errs, "spec.verify.timeout"),
        on_prometheus_error=(
            choice(
                raw.get("onPrometheusError"),
                ON_PROMETHEUS_ERROR,
                "hold",
                errs,
                "spec.verify.onPrometheusError",
            )
            if raw.get("onPrometheusError") is not None
            else None
        ),
        bake_time=duration(raw.get("bakeTime"), timedelta(hours=1), errs, "spec.verify.bakeTime"),
    )


def _fields(raw: object, paths: tuple[str, ...], errs: Problems) -> tuple[VersionField, ...]:
    if not isinstance(raw, list) or not raw:
        errs.add("spec.agent.version.fields", "must be a non-empty list of {file, path}")
        return ()
    out = []
    for i, item in enumerate(raw):
        key = f"spec.agent.version.fields[{i}]"
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("file"), str)
            or not isinstance(item.get("path"), str)
        ):
            errs.add(key, "must be a mapping with string keys file and path")
            continue
        try:
            parse_path(item["path"])
        except ValueError as e:
            errs.add(f"{key}.path", str(e))
        if "{agent}" not in item["file"]:
            errs.add(f"{key}.file", "must contain {agent} so each agent has its own file")
        if paths and not file_in_paths(
            item["file"].replace("{agent}", "x"), tuple(p.replace("{agent}", "x") for p in paths)
        ):
            errs.add(f"{key}.file", f"{item['file']!r} is outside spec.agent.paths")
        out.append(VersionField(file=item["file"], path=item["path"]))
    return tuple(out)


def parse_policy(doc: object, *, where: str) -> tuple[Policy | None, list[str]]:
    """Validate one document; return the policy (or None) and every problem found."""
    errs = Problems(where)
    if not isinstance(doc, dict):
        return None, [f"{where}: document must be a mapping"]
    if doc.get("apiVersion") != "gitops-bot/v1":
        errs.add("apiVersion", f"must be gitops-bot/v1, got {doc.get('apiVersion')!r}")
    if doc.get("kind") != "RollbackPolicy":
        errs.add("kind", f"must be RollbackPolicy, got {doc.get('kind')!r}")
    name = (doc.get("metadata") or {}).get("name") if isinstance(doc.get("metadata"), dict) else None
    if not isinstance(name, str) or not _NAME.match(name):
        errs.add("metadata.name", f"must be a lowercase DNS-style name, got {name!r}")
    spec = get_typed(doc, "spec", dict, errs, "") or {}
    if not spec:
        errs.add("spec", "is required")
    matchers = []
    match_raw = spec.get("match", [])
    if not isinstance(match_raw, list):
        errs.add("spec.match", "must be a list of matchers")
        match_raw = []
    for i, text in enumerate(match_raw):
        try:
            matchers.append(parse_matcher(str(text)))
        except ValueError as e:
            errs.add(f"spec.match[{i}]", str(e))
    agent = get_typed(spec, "agent", dict, errs, "spec.") or {}
    label = agent.get("label")
    if not isinstance(label, str) or not label:
        errs.add("spec.agent.label", "is required (the alert label naming the agent)")
    paths = str_list(agent.get("paths"), errs, "spec.agent.paths")
    if not paths:
        errs.add("spec.agent.paths", "must list the files that belong to an agent")
    version = get_typed(agent, "version", dict, errs, "spec.agent.") or {}
    vlabel = version.get("label")
    if vlabel is not None and not (isinstance(vlabel, str) and vlabel):
        errs.add("spec.agent.version.label", "must be a label name")
    fields = _fields(version.get("fields"), paths, errs)
    action = _action(get_typed(spec, "action", dict, errs, "spec.") or {}, errs)
    limits = get_typed(spec, "limits", dict, errs, "spec.") or {}
    per_agent = _limit(limits.get("perAgent"), errs, "spec.limits.perAgent")
    fleet = _limit(limits.get("fleet"), errs, "spec.limits.fleet")
    verify = _verify(spec.get("verify"), errs)
    if errs.items:
        return None, errs.items
    return Policy(
        name=str(name),
        source=where,
        matchers=tuple(matchers),
        agent_label=str(label),
        paths=paths,
        version_label=vlabel,
        fields=fields,
        action=action,
        per_agent=per_agent,
        fleet=fleet,
        verify=verify,
    ), []


def select_policy(policies: tuple[Policy, ...], labels: Mapping[str, str]) -> Policy | None:
    """The first policy (in file order) whose matchers all hold for the labels."""
    return next((p for p in policies if all(m.matches(labels) for m in p.matchers)), None)


def policy_named(policies: Sequence[Policy], name: str) -> Policy | None:
    """The policy called `name` (a PR ticket or a record names its policy), if still configured."""
    return next((p for p in policies if p.name == name), None)
