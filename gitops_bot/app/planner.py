"""Gathers the repo state one alert needs and runs the pure decisions over it."""

import posixpath
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from gitops_bot.adapters.gitrepo import GitRepo
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
from gitops_bot.core.paths import expand
from gitops_bot.core.plan import Plan
from gitops_bot.core.policy import Policy
from gitops_bot.core.refs import known_good_prefix
from gitops_bot.core.route import Routed
from gitops_bot.core.target import KnownGood, Target, apply_changes, choose_target, plan_changes
from gitops_bot.core.trailers import rollback_message
from gitops_bot.core.versions import display_version
from gitops_bot.core.yamlpath import check_yaml, read_value


def _texts(repo: GitRepo, rev: str, policy: Policy, agent: str) -> dict[str, str | None]:
    """Each of the agent's version files at a revision, read once (None when absent)."""
    return {file: repo.read(rev, file) for file in _files(policy, agent)}


def _values(texts: dict[str, str | None], policy: Policy, agent: str) -> Values:
    return tuple(read_value(texts[expand(f.file, agent)], f.path) for f in policy.fields)


def values_at(repo: GitRepo, rev: str, policy: Policy, agent: str) -> Values:
    """An agent's version-field values at a revision (None where a file or path is missing)."""
    return _values(_texts(repo, rev, policy, agent), policy, agent)


def _broken(texts: dict[str, str | None]) -> list[str]:
    """Files that exist but do not parse: a rollback must not half-apply around them."""
    broken = []
    for file, text in texts.items():
        try:
            if text is not None:
                check_yaml(text)
        except YamlPathError as e:
            broken.append(f"{file} ({e})")
    return broken


def _files(policy: Policy, agent: str) -> list[str]:
    return sorted({expand(f.file, agent) for f in policy.fields})


def history_paths(files: list[str]) -> list[str]:
    """What to walk: the files' common folder when there is one.

    git (2.39) only uses its changed-path Bloom filters for a single pathspec; commits in that
    folder that leave the versions alone cost one blob read each and are skipped by value.
    """
    folder = posixpath.commonpath(files) if len(files) > 1 else ""
    return [folder] if folder else files


@contextmanager
def _snapshots(repo: GitRepo, head: str, policy: Policy, agent: str) -> Iterator[Iterator[Snapshot]]:
    commits = repo.commits(head, history_paths(_files(policy, agent)))

    def snapshots() -> Iterator[Snapshot]:
        for commit in commits:
            yield Snapshot(commit=commit, values=values_at(repo, commit.sha, policy, agent))

    try:
        yield snapshots()
    finally:
        commits.close()  # stops git once the walk has passed the culprit


def _known_good(repo: GitRepo, policy: Policy, agent: str, culprit: CommitInfo) -> tuple[KnownGood, ...]:
    if not culprit.parents:
        return ()
    found = []
    for tag, sha in repo.tags([f"refs/tags/{known_good_prefix(agent)}"]):
        if repo.is_ancestor(sha, culprit.parents[0]):
            found.append(KnownGood(tag, repo.commit_info(sha), values_at(repo, sha, policy, agent)))
    return tuple(sorted(found, key=lambda g: g.commit.committed_at, reverse=True))


def _shown(values: Values, keys: tuple[int, ...]) -> str:
    return display_version(values[keys[0]]) if keys else "<none>"


def version_commit(repo: GitRepo, head: str, policy: Policy, agent: str) -> tuple[Values, Culprit | None]:
    """The agent's current values and the commit that gave them (None for an unknown agent)."""
    current = values_at(repo, head, policy, agent)
    if all(v is None for v in current):
        return current, None
    keys = key_fields(current, None)
    with _snapshots(repo, head, policy, agent) as history:
        return current, find_culprit(history, current, keys)


def plan_rollback(repo: GitRepo, routed: Routed, *, head: str, now: datetime) -> Plan | Verdict:
    """Decide the rollback for one routed alert against the synced head."""
    policy, agent, alert = routed.policy, routed.agent, routed.alert
    texts = _texts(repo, head, policy, agent)
    current = _values(texts, policy, agent)
    if all(v is None for v in current):
        return Verdict(
            "ignore", f"unknown agent {agent!r}: none of its version fields exist", "unknown_agent"
        )
    if broken := _broken(texts):
        return Verdict("escalate", f"cannot restore {agent} cleanly: {'; '.join(broken)}", "unrestorable")
    if verdict := stale_version(current, routed.version):
        return verdict
    keys = key_fields(current, routed.version)
    with _snapshots(repo, head, policy, agent) as history:
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
    records = repo.rollbacks(since=since) if since < now else ()
    if verdict := check_limits(records, agent=agent, per_agent=policy.per_agent, fleet=policy.fleet, now=now):
        return verdict
    target = choose_target(culprit, current, _known_good(repo, policy, agent, culprit.commit))
    if isinstance(target, Verdict):
        return target
    return _build(routed, texts, head=head, current=current, keys=keys, culprit=culprit.commit, target=target)


def _build(
    routed: Routed,
    texts: dict[str, str | None],
    *,
    head: str,
    current: Values,
    keys: tuple[int, ...],
    culprit: CommitInfo,
    target: Target,
) -> Plan | Verdict:
    policy, agent = routed.policy, routed.agent
    try:
        changes = plan_changes(policy.fields, agent, policy.paths, current, target.values)
        files = apply_changes({c.file: texts.get(c.file) or "" for c in changes}, changes)
    except YamlPathError as e:
        return Verdict("escalate", f"cannot restore {agent} cleanly: {e}", "unrestorable")
    if not files:
        return Verdict(
            "escalate",
            f"restoring {agent} to {target.source} changes no file",
            "nothing_to_restore",
        )
    from_v, to_v = _shown(current, keys), _shown(target.values, keys)
    message = rollback_message(
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
