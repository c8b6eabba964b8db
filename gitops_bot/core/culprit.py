"""Culprit selection: which first-parent commit gave an agent its current version (pure)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from gitops_bot.core.kinds import ReasonCode, VerdictKind
from gitops_bot.core.trailers import message_trailers, says_never
from gitops_bot.core.versions import matches_version, unmatched_prefix

Values = tuple[str | None, ...]


@dataclass(frozen=True)
class CommitInfo:
    """A commit on the branch's first-parent line."""

    sha: str
    committed_at: datetime
    author: str
    message: str
    parents: tuple[str, ...] = ()

    @property
    def subject(self) -> str:
        """First line of the message."""
        return self.message.split("\n", 1)[0]


@dataclass(frozen=True)
class Snapshot:
    """An agent's version-field values right after a commit that touched their files."""

    commit: CommitInfo
    values: Values


@dataclass(frozen=True)
class Culprit:
    """The commit that shipped the current version, and the values just before it."""

    commit: CommitInfo
    values: Values
    previous: Values


@dataclass(frozen=True)
class Verdict:
    """Why the bot will not act: `ignore` (nothing to do) or `escalate` (humans must)."""

    kind: VerdictKind
    reason: str
    code: ReasonCode = "other"


def _prefix(prefixes: tuple[str, ...], i: int) -> str:
    return prefixes[i] if i < len(prefixes) else ""


def key_fields(current: Values, version: str | None, prefixes: tuple[str, ...] = ()) -> tuple[int, ...]:
    """Fields that carry the alert's version; all present fields when it names none."""
    present = tuple(i for i, v in enumerate(current) if v is not None)
    if version:
        matching = tuple(i for i in present if matches_version(current[i], version, _prefix(prefixes, i)))
        if matching:
            return matching
    return present


def stale_version(current: Values, version: str | None, prefixes: tuple[str, ...] = ()) -> Verdict | None:
    """An alert naming a version no field holds any more is stale (rolled back or forward)."""
    if version and not any(matches_version(v, version, _prefix(prefixes, i)) for i, v in enumerate(current)):
        shown = ", ".join(v for v in current if v is not None) or "<none>"
        near = [v for v in current if v is not None and unmatched_prefix(v, version)]
        if near:  # `v1.4.0` for an alert saying `1.4.0`: a missing versionPrefix, not a stale alert
            return Verdict(
                "escalate",
                f"version {version} is not deployed as written, but {near[0]} carries it behind a prefix: "
                f"set versionPrefix: {unmatched_prefix(near[0], version)} on the field if that is the same version",
                "stale_version",
            )
        return Verdict(
            "ignore",
            f"stale alert: version {version} is not deployed (current: {shown})",
            "stale_version",
        )
    return None


def find_culprit(history: Iterable[Snapshot], current: Values, keys: tuple[int, ...]) -> Culprit | None:
    """Oldest commit of the newest run whose key fields equal the current ones.

    `history` is newest first and lists every first-parent commit that touched the fields' files;
    it is consumed lazily so the walk stops at the first older version.
    """
    wanted = tuple(current[i] for i in keys)
    found: Snapshot | None = None
    previous: Values = tuple(None for _ in current)
    for snap in history:
        if tuple(snap.values[i] for i in keys) != wanted:
            previous = snap.values
            break
        found = snap
    if found is None:
        return None
    return Culprit(commit=found.commit, values=found.values, previous=previous)


def judge_culprit(culprit: Culprit, *, alert_started: datetime) -> Verdict | None:
    """Refuse to act on a culprit that is newer than the alert, a bot rollback, or opted out."""
    commit = culprit.commit
    by_bot = "Rollback-Of" in message_trailers(commit.message)
    if alert_started < commit.committed_at:
        when = f"({commit.sha[:12]} at {commit.committed_at.isoformat()})"
        if by_bot:  # the usual case: a repeat of the alert this rollback already answered
            return Verdict(
                "ignore", f"alert started before bot rollback {when}: already handled", "predates_commit"
            )
        # Do nothing, but loudly: a committer clock running ahead would otherwise hide a rogue release.
        return Verdict(
            "escalate",
            f"alert started {alert_started.isoformat()} before the current version was committed {when}: "
            "it is about an older version, or the committer's clock is wrong",
            "predates_commit",
        )
    if by_bot:
        return Verdict(
            "escalate",
            f"current version comes from bot rollback {commit.sha[:12]}; not rolling back a rollback",
            "rollback_of_rollback",
        )
    if says_never(commit.message):
        return Verdict("escalate", f"culprit {commit.sha[:12]} says 'Rollback: never'", "opted_out")
    return None
