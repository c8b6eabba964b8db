"""After a revert lands: did the agent recover? Pure judgement plus the record kept as a git tag."""

from dataclasses import dataclass
from datetime import datetime

from gitops_bot.core.alerts import format_time
from gitops_bot.core.kinds import RecoveryStatus
from gitops_bot.core.refs import recovery_tag


@dataclass(frozen=True)
class Watch:
    """One landed rollback being watched until recovery or timeout."""

    agent: str
    rollback_sha: str
    fingerprint: str
    alertname: str
    labels: dict[str, str]
    alert_started: datetime
    pushed_at: datetime
    deadline: datetime
    recovered_query: str | None
    prometheus_url: str | None
    policy: str

    @property
    def tag(self) -> str:
        """The tag that records how this rollback ended."""
        return recovery_tag(self.rollback_sha)


@dataclass(frozen=True)
class Result:
    """How a watch ended."""

    status: RecoveryStatus
    signal: str  # resolved-notification | recovered-query | alertmanager-inactive | timeout
    at: datetime


def judge_watch(watch: Watch, *, now: datetime, resolved: bool, query_holds: bool | None) -> Result | None:
    """Recovered when the alert resolved or the recovered query holds; timeout past the deadline."""
    if resolved:
        return Result("recovered", "resolved-notification", now)
    if query_holds:
        return Result("recovered", "recovered-query", now)
    if now >= watch.deadline:
        return Result("timeout", "timeout", now)
    return None


def tag_message(watch: Watch, result: Result) -> str:
    """The recovery record: a subject and trailers, read back by the audit."""
    verb = "recovered" if result.status == "recovered" else "did NOT recover before the timeout"
    lines = [
        f"{watch.agent} {verb} after rollback {watch.rollback_sha[:12]}",
        "",
        f"Rollback-Commit: {watch.rollback_sha}",
        f"Recovery: {result.status}",
        f"Recovery-Signal: {result.signal}",
        f"Recovery-At: {format_time(result.at)}",
        f"Alert-Started: {format_time(watch.alert_started)}",
        f"Alert-To-Recovery-Seconds: {(result.at - watch.alert_started).total_seconds():.1f}",
        f"Revert-To-Recovery-Seconds: {(result.at - watch.pushed_at).total_seconds():.1f}",
    ]
    return "\n".join(lines) + "\n"
