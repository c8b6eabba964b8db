"""Which later commits brought a rolled-back version back? Read from git for the cluster watch (a
re-bump by image automation) and for outcome tracking (a person overriding the rollback).

The files are the ones the rollback commit changed (so `{env}`-style templates need no labels): each
is matched to the policy's field templates with the agent bound, and the field's value is read there.
"""

from __future__ import annotations

from collections.abc import Iterator

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.core.edits import Outcome, read_field
from gitops_bot.core.policy import Policy
from gitops_bot.core.reach import Carried, carried
from gitops_bot.core.templates import expand, template_regex
from gitops_bot.core.versions import matches_version


def _fields_in(policy: Policy, agent: str, files: list[str]) -> Iterator[tuple[str, str, str]]:
    """(file, expanded path, version prefix) of every policy field living in one of the files."""
    for field in policy.fields:
        pattern = template_regex(field.file, {"agent": agent})
        for file in files:
            if found := pattern.fullmatch(file):
                bindings = {"agent": agent, **found.groupdict()}
                yield file, expand(field.path, bindings), field.version_prefix


def carries(repo: GitRepo, sha: str, fields: list[tuple[str, str, str]], version: str) -> bool:
    """Whether any of the fields holds `version` at commit sha."""
    for file, path, prefix in fields:
        raw = repo.read_bytes(sha, file)
        found = read_field(file, raw, path, named=True, max_bytes=repo.max_file_bytes)
        value = found.scalar.value if found.outcome is Outcome.FOUND and found.scalar else None
        if matches_version(value, version, prefix):
            return True
    return False


def rollback_fields(
    repo: GitRepo, policy: Policy, agent: str, rollback_sha: str
) -> list[tuple[str, str, str]]:
    """The version fields the rollback commit rewrote."""
    return list(_fields_in(policy, agent, repo.changed_files(rollback_sha)))


def first_bringing_back(
    repo: GitRepo, policy: Policy, agent: str, rollback_sha: str, version: str
) -> str | None:
    """The first later first-parent commit where a rewritten field holds `version` again (or None)."""
    fields = rollback_fields(repo, policy, agent, rollback_sha)
    files = sorted({f for f, _, _ in fields})
    if not files:
        return None
    touching = [c.sha for c in repo.commits(f"{rollback_sha}..{repo.remote_ref}", files)]
    for sha in reversed(touching):  # oldest first
        if carries(repo, sha, fields, version):
            return sha
    return None


def carried_after(repo: GitRepo, policy: Policy, agent: str, rollback_sha: str, version: str) -> Carried:
    """The first-parent commits that still carry the revert (the repo synced by the caller)."""
    later = repo.first_parent_after(rollback_sha)
    return carried(rollback_sha, later, first_bringing_back(repo, policy, agent, rollback_sha, version))
