"""RollbackPolicy documents validated by the schema into frozen dataclasses (pure)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from pydantic import ValidationError

from gitops_bot.core.durations import parse_duration
from gitops_bot.core.edits import format_for
from gitops_bot.core.errors import YamlPathError
from gitops_bot.core.matchers import Matcher, parse_matcher
from gitops_bot.core.paths import file_in_paths
from gitops_bot.core.policy_schema import ActionSpec, AgentSpec, LimitSpec, RollbackPolicyDoc, VerifySpec
from gitops_bot.core.schema_errors import problems
from gitops_bot.core.templates import expand, placeholders

PERMISSIONS = ("read", "triage", "write", "maintain", "admin")


@dataclass(frozen=True)
class VersionField:
    """Where an agent's version lives: a file template and a path inside it."""

    file: str
    path: str
    version_prefix: str = ""  # the field writes `v1.4.0` where alerts say `1.4.0`


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

    @property
    def template_labels(self) -> tuple[str, ...]:
        """Alert labels the templates use besides the agent's (`{env}`, `{cluster}` …)."""
        names = [n for f in self.fields for t in (f.file, f.path) for n in placeholders(t)]
        names += [n for p in self.paths for n in placeholders(p)]
        return tuple(dict.fromkeys(n for n in names if n != "agent"))


def _limit(spec: LimitSpec | None) -> Limit | None:
    return Limit(max=spec.max, window=parse_duration(spec.window)) if spec else None


def _action(spec: ActionSpec) -> Action:
    return Action(
        mode=spec.mode,
        veto_window=parse_duration(spec.vetoWindow),
        approvers=Approvers(
            permission=spec.approvers.permission,
            users=tuple(spec.approvers.users),
            teams=tuple(spec.approvers.teams),
        ),
        merge_method=spec.mergeMethod,
        labels=tuple(spec.labels),
    )


def _verify(spec: VerifySpec | None) -> Verify | None:
    if spec is None:
        return None
    return Verify(
        prometheus=spec.prometheus,
        still_firing=spec.still_firing,
        recovered=spec.recovered,
        timeout=parse_duration(spec.timeout),
        on_prometheus_error=spec.onPrometheusError,
        bake_time=parse_duration(spec.bakeTime),
    )


def _field_problems(raw: object) -> list[tuple[str, str]]:
    """Checks across keys, on the raw document so they are reported next to schema errors."""
    agent = _dig(raw, "spec", "agent")
    paths = agent.get("paths") if isinstance(agent, dict) else None
    fields = _dig(agent, "version", "fields")
    if not isinstance(fields, list):
        return []
    globs = tuple(_dummy(p) for p in paths if isinstance(p, str)) if isinstance(paths, list) else ()
    out = []
    for i, item in enumerate(fields):
        file, path = (item.get("file"), item.get("path")) if isinstance(item, dict) else (None, None)
        if not isinstance(file, str) or not isinstance(path, str):
            continue
        key = f"spec.agent.version.fields[{i}]"
        try:
            format_for(file)
        except YamlPathError as e:
            out.append((f"{key}.file", str(e)))
        if "agent" not in placeholders(file) and "agent" not in placeholders(path):
            out.append(
                (f"{key}.file", "neither file nor path names {agent}: every agent would read the same value")
            )
        if globs and not file_in_paths(_dummy(file), globs):
            out.append((f"{key}.file", f"{file!r} is outside spec.agent.paths"))
    return out


def _dummy(template: str) -> str:
    return expand(template, {name: "x" for name in placeholders(template)})


def _dig(raw: object, *keys: str) -> object:
    for key in keys:
        raw = raw.get(key) if isinstance(raw, dict) else None
    return raw


def _fields(spec: AgentSpec) -> tuple[VersionField, ...]:
    default = spec.version.versionPrefix or ""
    return tuple(
        VersionField(
            file=f.file,
            path=f.path,
            version_prefix=f.versionPrefix if f.versionPrefix is not None else default,
        )
        for f in spec.version.fields
    )


def parse_policy(doc: object, *, where: str) -> tuple[Policy | None, list[str]]:
    """Validate one document against the schema; return the policy (or None) and every problem."""
    if not isinstance(doc, dict):
        return None, [f"{where}: document must be a mapping"]
    found: list[tuple[str, str]] = []
    model: RollbackPolicyDoc | None = None
    try:
        model = RollbackPolicyDoc.model_validate(doc)
    except ValidationError as e:
        found = problems(RollbackPolicyDoc, e)
    found += _field_problems(doc)
    if found or model is None:
        return None, [f"{where}: {key}: {problem}" for key, problem in found]
    spec = model.spec
    return Policy(
        name=model.metadata.name,
        source=where,
        matchers=tuple(parse_matcher(m) for m in spec.match),
        agent_label=spec.agent.label,
        paths=tuple(spec.agent.paths),
        version_label=spec.agent.version.label,
        fields=_fields(spec.agent),
        action=_action(spec.action),
        per_agent=_limit(spec.limits.perAgent),
        fleet=_limit(spec.limits.fleet),
        verify=_verify(spec.verify),
    ), []


def select_policy(policies: tuple[Policy, ...], labels: Mapping[str, str]) -> Policy | None:
    """The first policy (in file order) whose matchers all hold for the labels."""
    return next((p for p in policies if all(m.matches(labels) for m in p.matchers)), None)


def policy_named(policies: Sequence[Policy], name: str) -> Policy | None:
    """The policy called `name` (a PR ticket or a record names its policy), if still configured."""
    return next((p for p in policies if p.name == name), None)
