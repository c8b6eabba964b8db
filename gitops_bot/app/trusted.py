"""What the bot reads back from git, believed only when proven.

Anyone who can push to the GitOps repo can write trailers and tags. A rollback record counts (limits,
breaker, audit, quarantine, recovery watches) only when its own first-parent diff moves that agent's
fields from `Rollback-From` to `Rollback-To` and its `Rollback-Of` is a first-parent ancestor that
introduced `Rollback-From`; a future committer date never counts. A tag in the bot's namespaces
counts only with a valid state-key authenticator. Everything refused is logged once and reported.
"""

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import islice

from gitops_bot.adapters.github.git import changed_files
from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.app.manifests import field_files, values_at
from gitops_bot.app.planner import history_paths
from gitops_bot.core.culprit import Values
from gitops_bot.core.paths import is_plain_name
from gitops_bot.core.policy import Policy
from gitops_bot.core.statekey import StateKeys, TagRecord, seal_tag, tag_is_authentic
from gitops_bot.core.templates import match_template
from gitops_bot.core.trailers import RollbackRecord
from gitops_bot.core.versions import display_version

log = logging.getLogger("gitops_bot")
Reporter = Callable[[str, str, str], None]  # (kind, name, why)
FUTURE_SKEW = timedelta(minutes=5)  # committer clocks a little ahead are normal; 2099 is not
MAX_PROOF_WALK = 2000  # first-parent commits searched for a record's Rollback-Of
_SHA = re.compile(r"[0-9a-f]{40}")


class TrustedState:
    """Proven rollback records and authenticated tags of one clone (proofs cached per commit)."""

    def __init__(
        self, repo: GitRepo, policies: tuple[Policy, ...], keys: StateKeys, report: Reporter
    ) -> None:
        self.repo, self.policies, self.keys, self.report = repo, policies, keys, report
        self._proofs: dict[str, str | None] = {}  # sha -> why not proven (None: proven)

    # -- tags ----------------------------------------------------------------------------------

    def seal(self, name: str, target: str, message: str) -> str:
        """A tag message carrying its authenticator (raises ConfigError without a state key)."""
        return seal_tag(self.keys, name, target, message)

    def tags(self, prefix: str) -> list[TagRecord]:
        """Tags under refs/tags/<prefix> that carry a valid authenticator; the others are reported."""
        trusted = []
        for tag in self.repo.tag_records(prefix):
            if tag_is_authentic(self.keys, tag):
                trusted.append(tag)
            else:
                self.report("tag", tag.name, "no valid state-key authenticator")
        return trusted

    def tag_messages(self, prefix: str) -> dict[str, str]:
        """Authenticated tags under the prefix: name after the prefix -> message."""
        return {t.name.removeprefix(prefix): t.message for t in self.tags(prefix)}

    # -- rollback records ----------------------------------------------------------------------

    def rollbacks(
        self, *, now: datetime, since: datetime | None = None, agent: str | None = None
    ) -> tuple[RollbackRecord, ...]:
        """Bot rollbacks newest first, only those their own history proves."""
        out = []
        for record in self.repo.rollbacks(since=since, agent=agent):
            if record.committed_at > now + FUTURE_SKEW:
                self.report(
                    "rollback_record", record.sha, f"committer date {record.committed_at} is in the future"
                )
                continue
            if record.sha not in self._proofs:
                self._proofs[record.sha] = self._why_not(record)
            if (why := self._proofs[record.sha]) is not None:
                self.report("rollback_record", record.sha, why)
                continue
            out.append(record)
        return tuple(out)

    def _why_not(self, r: RollbackRecord) -> str | None:
        if not is_plain_name(r.agent) or not _SHA.fullmatch(r.culprit):
            return "malformed Rollback-Agent or Rollback-Of"
        parents = self.repo.commit_info(r.sha).parents
        if not parents:
            return "a root commit cannot be a rollback"
        named = [p for p in self.policies if p.name == r.policy]
        changed: list[str] | None = None
        for policy in named + [p for p in self.policies if p not in named]:
            if policy.template_labels and changed is None:
                changed = changed_files(self.repo, parents[0], r.sha)
            for bindings in _bindings(policy, r.agent, changed or []):
                before = values_at(self.repo, parents[0], policy, bindings)
                after = values_at(self.repo, r.sha, policy, bindings)
                moved = _moved(policy, before, after, r.from_version, r.to_version)
                if moved and self._introduced(policy, bindings, r, parents[0], moved):
                    return None
        return f"its diff does not move {r.agent} {r.from_version} -> {r.to_version} after Rollback-Of"

    def _introduced(
        self, policy: Policy, bindings: dict[str, str], r: RollbackRecord, parent: str, fields: list[int]
    ) -> bool:
        """Whether Rollback-Of is a first-parent ancestor of parent that set a field to Rollback-From."""
        history = self.repo.commits(parent, history_paths(field_files(policy, bindings)))
        try:
            for commit in islice(history, MAX_PROOF_WALK):
                if commit.sha != r.culprit:
                    continue
                if not commit.parents:
                    return False
                after = values_at(self.repo, commit.sha, policy, bindings)
                before = values_at(self.repo, commit.parents[0], policy, bindings)
                prefixes = [f.version_prefix for f in policy.fields]
                return any(
                    before[i] != after[i] and display_version(after[i], prefixes[i]) == r.from_version
                    for i in fields
                )
        finally:
            history.close()
        return False


def _bindings(policy: Policy, agent: str, changed: list[str]) -> list[dict[str, str]]:
    """Template bindings the record can stand for: the agent's, plus labels such as {env} read back
    from the files the commit changed (a rollback only rewrites files its policy's fields name)."""
    if not policy.template_labels:
        return [{"agent": agent}]
    found: list[dict[str, str]] = []
    for field in policy.fields:
        for file in changed:
            extra = match_template(field.file, file, {"agent": agent})
            bindings = {**(extra or {}), "agent": agent}
            complete = extra is not None and all(n in bindings for n in policy.template_labels)
            if complete and bindings not in found:
                found.append(bindings)
    return found


def _moved(policy: Policy, before: Values, after: Values, from_version: str, to_version: str) -> list[int]:
    """Fields the commit changed from a value showing from_version to one showing to_version."""
    prefixes = [f.version_prefix for f in policy.fields]
    return [
        i
        for i, (b, a, prefix) in enumerate(zip(before, after, prefixes, strict=True))
        if b is not None
        and a is not None
        and b != a
        and display_version(b, prefix) == from_version
        and display_version(a, prefix) == to_version
    ]


class Reported:
    """Logs each refused record or tag once and counts it once through the hooks (metrics)."""

    def __init__(self) -> None:
        self.hooks: list[Callable[[str], None]] = []
        self._logged: set[tuple[str, str]] = set()

    def __call__(self, kind: str, name: str, why: str) -> None:
        if (kind, name) not in self._logged:
            if len(self._logged) < 10_000:  # bounded: beyond that, the metric still counts
                self._logged.add((kind, name))
            log.warning("UNTRUSTED %s %s ignored: %s", kind.replace("_", " "), name, why)
            for hook in self.hooks:
                hook(kind)
