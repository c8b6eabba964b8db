"""Quarantine: versions the bot rolled back, read from trailers, must not come back unnoticed (pure).

The record is the `Rollback-Agent` / `Rollback-From` trailer pair of every bot rollback on the
branch's first-parent line (GitRepo.rollbacks): no extra file, the audit log is the record.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gitops_bot.core.trailers import RollbackRecord
from gitops_bot.core.versions import matches_version

CONTEXT = "gitops-bot/quarantine"


@dataclass(frozen=True)
class Quarantined:
    """A version rolled back by the bot."""

    agent: str
    version: str
    rollback: str
    alert_name: str


@dataclass(frozen=True)
class Finding:
    """A PR head that brings a quarantined version back."""

    agent: str
    value: str
    entry: Quarantined


def quarantined(records: Iterable[RollbackRecord]) -> tuple[Quarantined, ...]:
    """One entry per (agent, version), newest rollback first."""
    seen: dict[tuple[str, str], Quarantined] = {}
    for r in records:
        if r.from_version and r.from_version != "<none>":
            seen.setdefault(
                (r.agent, r.from_version), Quarantined(r.agent, r.from_version, r.sha, r.alert_name)
            )
    return tuple(seen.values())


def agents_in(files: Iterable[str], templates: Sequence[str]) -> set[str]:
    """Agents whose version files (templates with {agent}) are among the changed files."""
    patterns = [
        re.compile("^" + re.escape(t).replace(re.escape("{agent}"), "(?P<agent>[^/]+)") + "$")
        for t in templates
    ]
    return {m["agent"] for f in files for p in patterns if (m := p.fullmatch(f))}


def reintroduced(
    agent: str,
    base: Sequence[str | None],
    head: Sequence[str | None],
    entries: Iterable[Quarantined],
    prefixes: Sequence[str] = (),
) -> Finding | None:
    """A head value matching a quarantined version that the base does not already carry."""
    for entry in entries:
        if entry.agent != agent:
            continue
        for i, (before, after) in enumerate(zip(base, head, strict=True)):
            prefix = prefixes[i] if i < len(prefixes) else ""
            if matches_version(after, entry.version, prefix) and not matches_version(
                before, entry.version, prefix
            ):
                return Finding(agent, str(after), entry)
    return None


def status_for(findings: Sequence[Finding]) -> tuple[str, str]:
    """Commit status state and description (GitHub allows 140 characters)."""
    if not findings:
        return "success", "no rolled-back agent version reintroduced"
    first = findings[0]
    text = (
        f"reintroduces {first.agent} {first.entry.version}, rolled back in "
        f"{first.entry.rollback[:12]} ({first.entry.alert_name})"
    )
    if len(findings) > 1:
        text += f" and {len(findings) - 1} more"
    return "failure", text[:140]
