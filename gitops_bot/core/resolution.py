"""Which agents a policy finds in a repo tree, and what each of its fields reads for them (pure).

Agents are enumerated from what exists: files matching the templates (`agents/{agent}/…`) and the
values of selector keys (`images[name=ghcr.io/acme/{agent}]`). A policy that finds no agent, or a
field that reads for no agent, is a misconfiguration and is reported, never passed over.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gitops_bot.core.edits import DEFAULT_MAX_FILE_BYTES, Outcome, Resolved, resolve_file
from gitops_bot.core.policy import Policy
from gitops_bot.core.templates import expand, match_template, placeholders

Key = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class AgentView:
    """One agent (with the other labels that place it, e.g. env) and each field's reading."""

    bindings: Key
    reads: tuple[Resolved | None, ...]

    @property
    def label(self) -> str:
        """`agent=billing env=prod`."""
        return " ".join(f"{k}={v}" for k, v in sorted(self.bindings, key=lambda kv: kv[0] != "agent"))


@dataclass(frozen=True)
class PolicyResolution:
    """Everything one policy resolves at one revision."""

    policy: str
    agents: tuple[AgentView, ...]
    problems: tuple[str, ...]

    @property
    def resolves_no_agent(self) -> bool:
        """No agent found at all: every alert would be ignored."""
        return not self.agents


def _candidates(
    template: str, files: list[str], fixed: Mapping[str, str]
) -> list[tuple[str, dict[str, str]]]:
    if not [n for n in placeholders(template) if n not in fixed]:
        file = expand(template, fixed)
        return [(file, {})] if file in files else []
    return [(f, found) for f in files if (found := match_template(template, f, fixed)) is not None]


def resolve_policy(
    policy: Policy,
    files: list[str],
    read: Callable[[str], bytes | None],
    fixed: Mapping[str, str],
    *,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> PolicyResolution:
    """Enumerate the policy's agents over a tree (`files`, read lazily) with some labels fixed."""
    views: dict[Key, list[Resolved | None]] = {}
    problems: list[str] = []
    for i, field in enumerate(policy.fields):
        where = f"field {i} ({field.file} {field.path})"
        candidates = _candidates(field.file, files, fixed)
        if not candidates:
            problems.append(f"{where}: no file in the repo matches {field.file}")
        for file, found in candidates:
            bindings = {**fixed, **found}
            results = resolve_file(
                file,
                read(file),
                field.path,
                bindings,
                named=bool(placeholders(field.file)),
                max_bytes=max_bytes,
            )
            for res in results:
                if "agent" not in res.bindings:
                    if res.outcome is Outcome.REFUSED:
                        problems.append(f"{where}: {res.reason}")
                    continue
                views.setdefault(tuple(sorted(res.bindings.items())), [None] * len(policy.fields))[i] = res
    agents = tuple(AgentView(k, tuple(v)) for k, v in sorted(views.items()))
    return PolicyResolution(policy.name, agents, tuple(_problems(policy, agents, problems)))


def _problems(policy: Policy, agents: tuple[AgentView, ...], problems: list[str]) -> list[str]:
    """No agent, a field that reads for no agent, and every refused reading."""
    if not agents:
        problems.insert(0, f"policy {policy.name} resolves no agent")
    for i, field in enumerate(policy.fields):
        if agents and not any(_found(a.reads[i]) for a in agents):
            problems.append(f"field {i} ({field.file} {field.path}) reads a version for no agent")
    for agent in agents:
        for i, reading in enumerate(agent.reads):
            if reading is not None and reading.outcome is Outcome.REFUSED:
                problems.append(f"{agent.label}: field {i}: {reading.reason}")
    return problems


def _found(res: Resolved | None) -> bool:
    return res is not None and res.outcome is Outcome.FOUND


def describe(resolution: PolicyResolution) -> list[str]:
    """One line per agent: what each field reads."""
    lines = []
    for agent in resolution.agents:
        shown = []
        for res in agent.reads:
            if res is None:
                shown.append("-")
            elif res.outcome is Outcome.FOUND and res.scalar is not None:
                shown.append(res.scalar.value)
            else:
                shown.append(f"<{res.outcome.value}: {res.reason}>")
        lines.append(f"{agent.label}: {', '.join(shown)}")
    return lines
