"""Rollback commit messages and their git trailers: written and read back (pure)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from gitops_bot.core.alerts import Alert, format_time

TRAILER_KEYS = (
    "Rollback-Of",
    "Rollback-Agent",
    "Rollback-From",
    "Rollback-To",
    "Alert-Name",
    "Alert-Fingerprint",
    "Policy",
    "Approved-By",
)
# Optional, after the others: the full references when they say more than the version (`repo:1.0.0@sha256:…`).
REF_KEYS = ("Rollback-From-Ref", "Rollback-To-Ref")


@dataclass(frozen=True)
class RollbackRecord:
    """One rollback as git history tells it."""

    sha: str
    committed_at: datetime
    agent: str
    from_version: str
    to_version: str
    culprit: str
    alert_name: str
    fingerprint: str
    policy: str
    approved_by: str
    recovery: dict[str, str] | None = None
    from_ref: str = ""
    to_ref: str = ""

    def to_json(self) -> dict[str, object]:
        """JSON shape shared by `audit --json` and GET /api/v1/rollbacks."""
        return {
            "commit": self.sha,
            "committedAt": format_time(self.committed_at),
            "agent": self.agent,
            "from": self.from_version,
            "to": self.to_version,
            "rollbackOf": self.culprit,
            "alertName": self.alert_name,
            "alertFingerprint": self.fingerprint,
            "policy": self.policy,
            "approvedBy": self.approved_by,
            "recovery": self.recovery,
            "fromRef": self.from_ref or None,
            "toRef": self.to_ref or None,
        }


def one_line(value: str) -> str:
    """Collapse a value to one line so it cannot forge extra trailers."""
    return " ".join(value.split())


def rollback_message(
    *,
    agent: str,
    from_version: str,
    to_version: str,
    alert: Alert,
    culprit: str,
    culprit_subject: str,
    policy: str,
    approved_by: str = "auto",
    from_ref: str = "",
    to_ref: str = "",
) -> str:
    """The rollback commit message: subject, evidence body, then exactly the trailer keys."""
    subject = one_line(f"Roll back {agent} {from_version} -> {to_version} ({alert.name})")
    summary = alert.annotations.get("summary", "").strip() or "(no summary)"
    body = [
        summary,
        "",
        f"Alert {one_line(alert.name)} started at {format_time(alert.starts_at)}.",
        f"Generator URL: {one_line(alert.generator_url) or '(none)'}",
        f"Culprit commit {culprit[:12]}: {one_line(culprit_subject)}",
    ]
    values = (
        culprit,
        agent,
        from_version,
        to_version,
        alert.name,
        alert.fingerprint,
        policy,
        approved_by,
    )
    trailers = [f"{k}: {one_line(v) or '-'}" for k, v in zip(TRAILER_KEYS, values, strict=True)]
    if (from_ref, to_ref) != (from_version, to_version) and (from_ref or to_ref):
        trailers += [f"{k}: {one_line(v) or '-'}" for k, v in zip(REF_KEYS, (from_ref, to_ref), strict=True)]
    return "\n".join([subject, "", *body, "", *trailers]) + "\n"


def trailer_block(message: str) -> str:
    """A commit message's last paragraph: where git (and the bot) put trailers."""
    return message.strip().rsplit("\n\n", 1)[-1]


def message_trailers(message: str) -> dict[str, str]:
    """The trailers of a whole commit message."""
    return parse_trailers(trailer_block(message))


def parse_trailers(text: str) -> dict[str, str]:
    """Parse `Key: value` trailer lines (as `git log --format=%(trailers:only,unfold)` prints)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key and " " not in key.strip():
            out.setdefault(key.strip(), value.strip())
    return out


def replace_trailer(message: str, key: str, value: str) -> str:
    """The message with one trailer's value replaced (e.g. Approved-By after a human approves)."""
    lines = message.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith(f"{key}:"):
            lines[i] = f"{key}: {one_line(value)}"
            return "\n".join(lines) + "\n"
    return message


def record_from(sha: str, committed_at: datetime, trailers: Mapping[str, str]) -> RollbackRecord | None:
    """A RollbackRecord if the trailers are a bot rollback's, else None."""
    if "Rollback-Of" not in trailers or "Rollback-Agent" not in trailers:
        return None
    return RollbackRecord(
        sha=sha,
        committed_at=committed_at,
        agent=trailers["Rollback-Agent"],
        from_version=trailers.get("Rollback-From", ""),
        to_version=trailers.get("Rollback-To", ""),
        culprit=trailers["Rollback-Of"],
        alert_name=trailers.get("Alert-Name", ""),
        fingerprint=trailers.get("Alert-Fingerprint", ""),
        policy=trailers.get("Policy", ""),
        approved_by=trailers.get("Approved-By", ""),
        from_ref=trailers.get("Rollback-From-Ref", ""),
        to_ref=trailers.get("Rollback-To-Ref", ""),
    )


def says_never(message: str) -> bool:
    """Whether a commit message opts out of rollback with a `Rollback: never` line."""
    return any(
        line.partition(":")[0].strip().lower() == "rollback"
        and line.partition(":")[2].strip().lower() == "never"
        for line in message.splitlines()
    )
