"""What a `git push --porcelain` said, read from its status fields and exit code, never from prose.

A pre-receive hook may print anything ("fetch first", "non-fast-forward") on stderr; only the
porcelain status field, which git itself writes, says whether the remote moved (a race to redo)
or refused (a reason to report, with the hook's whole message).
"""

from gitops_bot.adapters.gitrun import GitResult, oneline
from gitops_bot.core.errors import GitError, PushRejectedError

# `[rejected] (<reason>)` that mean "the ref moved under you": redo on the new head.
_MOVED = frozenset({"fetch first", "non-fast-forward", "stale info"})
# `[remote rejected] (<reason>)` from receive-pack itself losing the ref lock to a concurrent push.
_LOCK_LOST = ("failed to update ref", "cannot lock ref")


def _status(line: str) -> tuple[str, str, str] | None:
    """(flag, summary, reason) of one porcelain ref line `<flag>\\t<from>:<to>\\t<summary> (<reason>)`."""
    parts = line.split("\t")
    if len(parts) != 3 or len(parts[0]) != 1:
        return None
    summary, _, reason = parts[2].partition(" (")
    return parts[0], summary, reason.removesuffix(")")


def push_refusal(result: GitResult) -> GitError | None:
    """None when the push went through; PushRejectedError for a race; GitError with the reason else."""
    if result.status == 0:
        return None
    refused = [s for line in result.stdout.splitlines() if (s := _status(line)) and s[0] == "!"]
    if refused and all(_is_race(summary, reason) for _, summary, reason in refused):
        return PushRejectedError(f"push rejected: the remote moved ({refused[0][2]})")
    why = oneline(result.stderr) or "no message"
    statuses = ", ".join(f"{summary} ({reason})" for _, summary, reason in refused)
    return GitError(f"git push failed (exit {result.status}){': ' + statuses if statuses else ''}: {why}")


def _is_race(summary: str, reason: str) -> bool:
    if summary == "[rejected]":
        return reason in _MOVED
    return summary == "[remote rejected]" and reason.startswith(_LOCK_LOST)
