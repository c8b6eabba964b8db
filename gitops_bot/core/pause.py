"""The global pause: a file committed to the GitOps repo that stops every rollback (pure).

It lives in git so the pause itself is audited (who, why, when, in the file and in the commit)
and every replica sees the same state after a fetch. Alertmanager silences stay the per-alert
switch; this one stops the bot as a whole.
"""

from dataclasses import dataclass

import yaml

from gitops_bot.core.culprit import Verdict
from gitops_bot.core.trailers import one_line

PAUSE_FILE = ".gitops-bot/pause"


@dataclass(frozen=True)
class Pause:
    """Who paused the bot, why and when (as written in the file)."""

    by: str
    reason: str
    since: str


def pause_text(pause: Pause) -> str:
    """The file's content: a small YAML mapping people can read in a diff."""
    data = {"by": one_line(pause.by), "reason": one_line(pause.reason), "since": pause.since}
    return yaml.safe_dump(data, sort_keys=False)


def read_pause(text: str | None) -> Pause | None:
    """The pause the file records; None when there is no file. A file people wrote by hand that
    does not parse still pauses: its presence is the switch, the fields only explain it."""
    if text is None:
        return None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None
    if not isinstance(data, dict):
        return Pause(by="unknown", reason=one_line(text)[:200] or "(no reason given)", since="")
    return Pause(
        by=one_line(str(data.get("by") or "unknown")),
        reason=one_line(str(data.get("reason") or "(no reason given)")),
        since=str(data.get("since") or ""),
    )


def pause_verdict(pause: Pause | None, agent: str) -> Verdict | None:
    """Escalate instead of acting while paused: people see the rollback that would have happened."""
    if pause is None:
        return None
    since = f" since {pause.since}" if pause.since else ""
    return Verdict(
        "escalate",
        f"not rolling back {agent}: gitops-bot is paused by {pause.by}{since} ({pause.reason}); "
        f"`gitops-bot resume` or delete {PAUSE_FILE} to resume",
        "paused",
    )
