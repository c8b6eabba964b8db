"""The audit trail, read back from rollback commit trailers, recovery tags and phase tags."""

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.app.engine import Engine
from gitops_bot.app.phase_store import read_phases
from gitops_bot.core.alerts import parse_time
from gitops_bot.core.errors import GitopsBotError
from gitops_bot.core.phases import PhaseMark, Timeline, timeline
from gitops_bot.core.refs import RECOVERY_PREFIX
from gitops_bot.core.trailers import RollbackRecord, parse_trailers

_STARTED = re.compile(r"started at (\S+Z)\.")


def _recovery(record: RollbackRecord) -> str:
    if record.recovery is None:
        return "-"
    seconds = record.recovery.get("Alert-To-Recovery-Seconds", "?")
    return f"{record.recovery.get('Recovery', '?')} ({seconds}s after alert)"


def _time(text: str | None) -> datetime | None:
    try:
        return parse_time(text, where="audit") if text else None
    except GitopsBotError:
        return None


def alert_started(repo: GitRepo, sha: str) -> datetime | None:
    """The alert's startsAt, as the rollback commit's body says it."""
    found = _STARTED.search(repo.commit_info(sha).message)
    return _time(found[1]) if found else None


def record_timeline(
    repo: GitRepo, record: RollbackRecord, marks: list[PhaseMark], recovery: dict[str, str] | None
) -> Timeline:
    """Every known phase of one rollback."""
    recovered = recovery and recovery.get("Recovery") == "recovered"
    resolved = _time(recovery.get("Recovery-At")) if recovery and recovered else None
    return timeline(marks, started=alert_started(repo, record.sha), resolved=resolved)


def audit_records(engine: Engine, *, agent: str | None) -> tuple[RollbackRecord, ...]:
    """Proven rollbacks newest first, each with its (authenticated) recovery tag and phase timeline."""
    recoveries = engine.trusted.tag_messages(RECOVERY_PREFIX)
    phases = read_phases(engine)
    out = []
    for r in engine.trusted.rollbacks(now=datetime.now(UTC), agent=agent):
        recovery = parse_trailers(recoveries[r.sha[:12]]) if r.sha[:12] in recoveries else None
        line = record_timeline(engine.repo, r, phases.get(r.sha[:12], []), recovery)
        out.append(replace(r, recovery=recovery, phases=line.to_json()))
    return tuple(out)


def rollbacks_json(engine: Engine, *, agent: str | None) -> list[dict[str, Any]]:
    """Rollbacks as JSON objects (shared by the CLI and GET /api/v1/rollbacks)."""
    return [r.to_json() for r in audit_records(engine, agent=agent)]


def _cluster(record: RollbackRecord) -> str:
    """The cluster column: the seconds from landing to healthy, or why it never got there."""
    phases = record.phases or {}
    if phases.get("clusterFailed"):
        return f"FAILED ({str(phases['clusterFailed']).split(':', 1)[0]})"
    seconds = phases.get("seconds")
    if isinstance(seconds, dict) and "landed_to_synced" in seconds:
        healthy = seconds.get("synced_to_healthy")
        tail = f", healthy +{healthy}s" if healthy is not None else ""
        return f"synced +{seconds['landed_to_synced']}s{tail}"
    return "-"


def audit_table(records: tuple[RollbackRecord, ...]) -> str:
    """A plain-text table for people."""
    header = (
        "WHEN (UTC)",
        "AGENT",
        "FROM -> TO",
        "ALERT",
        "APPROVED-BY",
        "COMMIT",
        "CULPRIT",
        "CLUSTER",
        "RECOVERY",
    )
    rows = [header] + [
        (
            r.committed_at.strftime("%Y-%m-%d %H:%M:%S"),
            r.agent,
            f"{r.from_version} -> {r.to_version}",
            r.alert_name,
            r.approved_by,
            r.sha[:12],
            r.culprit[:12],
            _cluster(r),
            _recovery(r),
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    if not records:
        lines.append("(no rollbacks)")
    return "\n".join(lines)
