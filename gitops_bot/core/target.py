"""Target choice and the exact field edits a rollback makes (pure)."""

from collections.abc import Mapping
from dataclasses import dataclass

from gitops_bot.core.culprit import CommitInfo, Culprit, Values, Verdict
from gitops_bot.core.edits import DEFAULT_MAX_FILE_BYTES, replace_field
from gitops_bot.core.errors import YamlPathError
from gitops_bot.core.paths import file_in_paths
from gitops_bot.core.policy import VersionField
from gitops_bot.core.templates import expand


@dataclass(frozen=True)
class KnownGood:
    """A `known-good/<agent>` tag on a commit older than the culprit."""

    tag: str
    commit: CommitInfo
    values: Values


@dataclass(frozen=True)
class Target:
    """The values to restore and where they come from."""

    values: Values
    source: str


@dataclass(frozen=True)
class FieldChange:
    """One scalar to rewrite in one file."""

    file: str
    path: str
    old: str
    new: str


def _restorable(values: Values, current: Values) -> bool:
    return all(t is not None or c is None for t, c in zip(values, current, strict=True))


def choose_target(culprit: Culprit, current: Values, known_good: tuple[KnownGood, ...]) -> Target | Verdict:
    """Newest usable known-good tag, else the values the culprit replaced."""
    for good in known_good:
        if good.values != current and _restorable(good.values, current):
            return Target(values=good.values, source=f"tag {good.tag} ({good.commit.sha[:12]})")
    lost = [
        i
        for i, (now, after, before) in enumerate(zip(current, culprit.values, culprit.previous, strict=True))
        if after != before and now is None
    ]
    if lost:
        return Verdict(
            "escalate",
            f"version field(s) {lost} changed by culprit {culprit.commit.sha[:12]} are missing or unreadable now",
            "unrestorable",
        )
    restored = tuple(
        before if (after != before and now == after) else now
        for now, after, before in zip(current, culprit.values, culprit.previous, strict=True)
    )
    if restored == current:
        return Verdict(
            "escalate",
            f"culprit {culprit.commit.sha[:12]} left nothing to restore",
            "nothing_to_restore",
        )
    if not _restorable(restored, current):
        return Verdict(
            "escalate",
            f"culprit {culprit.commit.sha[:12]} introduced the agent's version fields; no earlier version",
            "no_previous_version",
        )
    return Target(values=restored, source=f"parent of {culprit.commit.sha[:12]}")


def plan_changes(
    fields: tuple[VersionField, ...],
    bindings: Mapping[str, str],
    paths: tuple[str, ...],
    current: Values,
    target: Values,
) -> tuple[FieldChange, ...]:
    """The field rewrites that take current to target, inside the agent's own paths only."""
    allowed = tuple(expand(p, bindings) for p in paths)
    changes = []
    for field, now, want in zip(fields, current, target, strict=True):
        if now == want or now is None or want is None:
            continue
        file = expand(field.file, bindings)
        if not file_in_paths(file, allowed):
            raise YamlPathError(f"{file} is outside the agent's paths {', '.join(allowed)}")
        changes.append(FieldChange(file=file, path=expand(field.path, bindings), old=now, new=want))
    return tuple(changes)


def apply_changes(
    files: Mapping[str, bytes | None],
    changes: tuple[FieldChange, ...],
    *,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> dict[str, bytes]:
    """New file contents with only the planned values rewritten; raise if any cannot be."""
    out = dict(files)
    for change in changes:
        raw = out.get(change.file)
        if raw is None:
            raise YamlPathError(f"{change.file} does not exist at the branch head")
        out[change.file] = replace_field(change.file, raw, change.path, change.new, max_bytes=max_bytes)
    return {name: data for name, data in out.items() if data is not None and data != files.get(name)}
