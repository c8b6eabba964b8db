"""The audit trail, read back from rollback commit trailers."""

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from gitops_bot.app.engine import Engine
from gitops_bot.core.refs import RECOVERY_PREFIX
from gitops_bot.core.trailers import RollbackRecord, parse_trailers


def _recovery(record: RollbackRecord) -> str:
    if record.recovery is None:
        return "-"
    seconds = record.recovery.get("Alert-To-Recovery-Seconds", "?")
    return f"{record.recovery.get('Recovery', '?')} ({seconds}s after alert)"


def audit_records(engine: Engine, *, agent: str | None) -> tuple[RollbackRecord, ...]:
    """Proven rollbacks newest first, each with its (authenticated) recovery tag when there is one."""
    recoveries = engine.trusted.tag_messages(RECOVERY_PREFIX)
    return tuple(
        replace(r, recovery=parse_trailers(recoveries[r.sha[:12]])) if r.sha[:12] in recoveries else r
        for r in engine.trusted.rollbacks(now=datetime.now(UTC), agent=agent)
    )


def rollbacks_json(engine: Engine, *, agent: str | None) -> list[dict[str, Any]]:
    """Rollbacks as JSON objects (shared by the CLI and GET /api/v1/rollbacks)."""
    return [r.to_json() for r in audit_records(engine, agent=agent)]


def audit_table(records: tuple[RollbackRecord, ...]) -> str:
    """A plain-text table for people."""
    header = ("WHEN (UTC)", "AGENT", "FROM -> TO", "ALERT", "APPROVED-BY", "COMMIT", "CULPRIT", "RECOVERY")
    rows = [header] + [
        (
            r.committed_at.strftime("%Y-%m-%d %H:%M:%S"),
            r.agent,
            f"{r.from_version} -> {r.to_version}",
            r.alert_name,
            r.approved_by,
            r.sha[:12],
            r.culprit[:12],
            _recovery(r),
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    if not records:
        lines.append("(no rollbacks)")
    return "\n".join(lines)
