"""Reads a policy's version fields out of the repo at a revision (each file read once)."""

from collections.abc import Mapping

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.core.culprit import Values
from gitops_bot.core.edits import Outcome, Resolved, read_field
from gitops_bot.core.policy import Policy
from gitops_bot.core.templates import expand, placeholders

Files = dict[str, bytes | None]


def field_files(policy: Policy, bindings: Mapping[str, str]) -> list[str]:
    """The distinct files the policy's fields name for these bindings."""
    return sorted({expand(f.file, bindings) for f in policy.fields})


def read_files(repo: GitRepo, rev: str, policy: Policy, bindings: Mapping[str, str]) -> Files:
    """The bytes of each field file at a revision (None when absent)."""
    return {file: repo.read_bytes(rev, file) for file in field_files(policy, bindings)}


def read_fields(
    files: Files, policy: Policy, bindings: Mapping[str, str], *, max_bytes: int
) -> tuple[Resolved, ...]:
    """How each version field resolves in these files."""
    return tuple(
        read_field(
            expand(f.file, bindings),
            files[expand(f.file, bindings)],
            expand(f.path, bindings),
            named=bool(placeholders(f.file)),
            max_bytes=max_bytes,
        )
        for f in policy.fields
    )


def values_of(reads: tuple[Resolved, ...]) -> Values:
    """The values found (None where a field is absent or could not be read safely)."""
    return tuple(r.scalar.value if r.outcome is Outcome.FOUND and r.scalar else None for r in reads)


def values_at(repo: GitRepo, rev: str, policy: Policy, bindings: Mapping[str, str]) -> Values:
    """An agent's version-field values at a revision."""
    files = read_files(repo, rev, policy, bindings)
    return values_of(read_fields(files, policy, bindings, max_bytes=repo.max_file_bytes))
