"""What a workflow step's `gitops-bot rollback` call needs: --starts-at parsed, --outputs written."""

from datetime import UTC, datetime
from pathlib import Path

from gitops_bot.app.engine import Outcome
from gitops_bot.core.errors import UsageError


def starts_at_arg(text: str | None) -> datetime:
    """--starts-at, so a workflow's commit says when the alert began (and stale checks use it)."""
    if not text:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as e:
        raise UsageError(f"--starts-at {text!r} is not RFC 3339") from e
    if parsed.tzinfo is None:
        raise UsageError(f"--starts-at {text!r} has no time zone")
    return parsed


def write_outputs(folder: Path, outcome: Outcome) -> None:
    """One file per field, the form Argo's `outputs.parameters[].valueFrom.path` reads."""
    plan = outcome.plan
    values = {
        "outcome": outcome.kind,
        "reason": outcome.reason,
        "culprit": plan.culprit.sha if plan else "",
        "from": plan.from_version if plan else "",
        "to": plan.to_version if plan else "",
        "commit": outcome.commit or "",
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, value in values.items():
            (folder / name).write_text(value)
    except OSError as e:
        raise UsageError(f"cannot write --outputs into {folder}: {e}") from e
