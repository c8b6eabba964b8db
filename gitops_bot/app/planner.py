"""Gathers the repo state one alert needs and runs the pure decisions over it."""

import posixpath
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Protocol

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.app.manifests import Files, field_files, read_fields, read_files, values_at, values_of
from gitops_bot.core.culprit import (
    CommitInfo,
    Culprit,
    Snapshot,
    Values,
    Verdict,
    find_culprit,
    judge_culprit,
    key_fields,
    stale_version,
)
from gitops_bot.core.errors import YamlPathError
from gitops_bot.core.limits import check_limits, lookback
from gitops_bot.core.plan import Plan
from gitops_bot.core.policy import Policy
from gitops_bot.core.readings import judge_reads
from gitops_bot.core.refs import known_good_prefix
from gitops_bot.core.route import Routed
from gitops_bot.core.statekey import TagRecord
from gitops_bot.core.target import KnownGood, Target, apply_changes, choose_target, plan_changes
from gitops_bot.core.trailers import RollbackRecord, rollback_message
from gitops_bot.core.versions import display_version


class Trust(Protocol):
    """Proven rollback records and authenticated tags (app.trusted.TrustedState)."""

    def rollbacks(
        self, *, now: datetime, since: datetime | None = None, agent: str | None = None
    ) -> tuple[RollbackRecord, ...]: ...

    def tags(self, prefix: str) -> list[TagRecord]: ...


def history_paths(files: list[str]) -> list[str]:
    """What to walk: the files' common folder when there is one.

    git (2.39) only uses its changed-path Bloom filters for a single pathspec; commits in that
    folder that leave the versions alone cost one blob read each and are skipped by value.
    """
    folder = posixpath.commonpath(files) if len(files) > 1 else ""
    return [folder] if folder else files


@contextmanager
def _snapshots(
    repo: GitRepo, head: str, policy: Policy, bindings: Mapping[str, str]
) -> Iterator[Iterator[Snapshot]]:
    commits = repo.commits(head, history_paths(field_files(policy, bindings)))

    def snapshots() -> Iterator[Snapshot]:
        for commit in commits:
            yield Snapshot(commit=commit, values=values_at(repo, commit.sha, policy, bindings))

    try:
        yield snapshots()
    finally:
        commits.close()  # stops git once the walk has passed the culprit


def _known_good(
    repo: GitRepo, trust: Trust, policy: Policy, bindings: Mapping[str, str], culprit: CommitInfo
) -> tuple[KnownGood, ...]:
    if not culprit.parents:
        return ()
    found = []
    for tag in trust.tags(known_good_prefix(bindings["agent"])):  # an unauthenticated tag chooses nothing
        sha = tag.target
        if repo.is_ancestor(sha, culprit.parents[0]):
            found.append(KnownGood(tag.name, repo.commit_info(sha), values_at(repo, sha, policy, bindings)))
    return tuple(sorted(found, key=lambda g: g.commit.committed_at, reverse=True))


def _prefixes(policy: Policy) -> tuple[str, ...]:
    return tuple(f.version_prefix for f in policy.fields)


def _shown(policy: Policy, values: Values, keys: tuple[int, ...]) -> tuple[str, str]:
    """The version as alerts name it, and the full reference behind it."""
    if not keys:
        return "<none>", ""
    return display_version(values[keys[0]], _prefixes(policy)[keys[0]]), values[keys[0]] or ""


def version_commit(
    repo: GitRepo, head: str, policy: Policy, bindings: Mapping[str, str]
) -> tuple[Values, Culprit | None]:
    """The agent's current values and the commit that gave them (None for an unknown agent)."""
    current = values_at(repo, head, policy, bindings)
    if all(v is None for v in current):
        return current, None
    keys = key_fields(current, None)
    with _snapshots(repo, head, policy, bindings) as history:
        return current, find_culprit(history, current, keys)


def plan_rollback(repo: GitRepo, routed: Routed, *, head: str, now: datetime, trust: Trust) -> Plan | Verdict:
    """Decide the rollback for one routed alert against the synced head."""
    policy, agent, alert, bindings = routed.policy, routed.agent, routed.alert, routed.bindings
    files = read_files(repo, head, policy, bindings)
    reads = read_fields(files, policy, bindings, max_bytes=repo.max_file_bytes)
    if verdict := judge_reads(policy, agent, reads):
        return verdict
    current = values_of(reads)
    if verdict := stale_version(current, routed.version, _prefixes(policy)):
        return verdict
    keys = key_fields(current, routed.version, _prefixes(policy))
    with _snapshots(repo, head, policy, bindings) as history:
        culprit = find_culprit(history, current, keys)
    if culprit is None:
        return Verdict(
            "escalate",
            f"no commit on the branch introduced {agent}'s current version",
            "no_culprit",
        )
    if verdict := judge_culprit(culprit, alert_started=alert.starts_at):
        return verdict
    since = now - timedelta(seconds=lookback(policy.per_agent, policy.fleet))
    records = trust.rollbacks(now=now, since=since) if since < now else ()
    if verdict := check_limits(records, agent=agent, per_agent=policy.per_agent, fleet=policy.fleet, now=now):
        return verdict
    target = choose_target(culprit, current, _known_good(repo, trust, policy, bindings, culprit.commit))
    if isinstance(target, Verdict):
        return target
    return _build(
        routed,
        files,
        head=head,
        current=current,
        keys=keys,
        culprit=culprit.commit,
        target=target,
        max_bytes=repo.max_file_bytes,
    )


def _build(
    routed: Routed,
    texts: Files,
    *,
    head: str,
    current: Values,
    keys: tuple[int, ...],
    culprit: CommitInfo,
    target: Target,
    max_bytes: int,
) -> Plan | Verdict:
    policy, agent = routed.policy, routed.agent
    try:
        changes = plan_changes(policy.fields, routed.bindings, policy.paths, current, target.values)
        files = apply_changes({c.file: texts.get(c.file) for c in changes}, changes, max_bytes=max_bytes)
    except YamlPathError as e:
        return Verdict("escalate", f"cannot restore {agent} cleanly: {e}", "unrestorable")
    if not files:
        return Verdict(
            "escalate",
            f"restoring {agent} to {target.source} changes no file",
            "nothing_to_restore",
        )
    (from_v, from_ref), (to_v, to_ref) = _shown(policy, current, keys), _shown(policy, target.values, keys)
    message = rollback_message(
        from_ref=from_ref,
        to_ref=to_ref,
        agent=agent,
        from_version=from_v,
        to_version=to_v,
        alert=routed.alert,
        culprit=culprit.sha,
        culprit_subject=culprit.subject,
        policy=policy.name,
        approved_by=routed.approved_by,
    )
    return Plan(
        alert=routed.alert,
        policy=policy,
        agent=agent,
        culprit=culprit,
        from_version=from_v,
        to_version=to_v,
        target_source=target.source,
        files=files,
        message=message,
        head=head,
    )
