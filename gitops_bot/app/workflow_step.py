"""What a workflow step's `gitops-bot rollback` call needs: its options, --starts-at, --outputs."""

import argparse
from datetime import UTC, datetime
from pathlib import Path

from gitops_bot.app.engine import Outcome
from gitops_bot.core.errors import UsageError


def add_step_options(c: argparse.ArgumentParser) -> None:
    """`rollback` options a workflow step (or an operator acting for an alert) passes to the commit."""
    c.add_argument("--dry-run", action="store_true", help="plan only: commit and push nothing")
    c.add_argument("--approved-by", help="Approved-By trailer (default: cli:<user>)")
    c.add_argument("--alertname", help="Alert-Name trailer (default: ManualRollback)")
    c.add_argument("--fingerprint", help="Alert-Fingerprint trailer (default: manual)")
    c.add_argument("--summary", help="first line of the commit body (default: who asked)")
    c.add_argument("--starts-at", help="the alert's startsAt, RFC 3339 (default: now)")
    c.add_argument(
        "--labels", default="", metavar="K=V,...", help="template labels in one argument (as --label)"
    )
    c.add_argument(
        "--gate", action="store_true", help="ask Alertmanager/Prometheus before pushing, as an alert does"
    )
    c.add_argument(
        "--outputs",
        type=Path,
        metavar="DIR",
        help="also write outcome, reason, culprit, from, to, commit as one file each into DIR (step outputs)",
    )


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
