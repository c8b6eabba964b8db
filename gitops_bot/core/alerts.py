"""Alertmanager webhook v4 bodies parsed into plain dataclasses (pure, no I/O)."""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gitops_bot.core.errors import AlertPayloadError
from gitops_bot.core.kinds import AlertStatus

_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$")
_ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass(frozen=True)
class Alert:
    """One alert out of a (possibly grouped) notification."""

    status: AlertStatus
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str
    fingerprint: str

    @property
    def name(self) -> str:
        """The alertname label."""
        return self.labels.get("alertname", "")

    @property
    def firing(self) -> bool:
        """Whether this alert is firing (resolved alerts trigger nothing)."""
        return self.status == "firing"

    def to_json(self) -> dict[str, Any]:
        """The alert as Alertmanager writes it, so a journal entry round-trips."""
        return {
            "status": self.status,
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "startsAt": format_time(self.starts_at),
            "endsAt": format_time(self.ends_at) if self.ends_at else _ZERO_TIME,
            "generatorURL": self.generator_url,
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True)
class Notification:
    """A whole webhook body: its alerts plus the group they came in."""

    receiver: str
    status: str
    alerts: tuple[Alert, ...]
    group_key: str
    external_url: str
    common_labels: Mapping[str, str] = field(default_factory=dict)


def parse_time(value: object, *, where: str) -> datetime:
    """Parse an RFC 3339 timestamp as Alertmanager writes it (nanoseconds allowed)."""
    if not isinstance(value, str) or not (found := _RFC3339.fullmatch(value)):
        raise AlertPayloadError(f"{where}: not an RFC 3339 time: {value!r}")
    frac = (found[2] or "")[:7]  # Python keeps microseconds; Go sends up to nanoseconds.
    zone = "+00:00" if found[3] == "Z" else found[3]
    try:  # well-formed but impossible (month 13, hour 25, an offset past year 9999) is bad input too
        return datetime.fromisoformat(found[1] + frac + zone).astimezone(UTC)
    except (ValueError, OverflowError) as e:
        raise AlertPayloadError(f"{where}: not a valid time: {value!r} ({e})") from e


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a Z, as used in commit bodies and the journal."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _str_map(value: object, *, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise AlertPayloadError(f"{where}: must be an object of strings")
    return dict(value)


def _str(obj: Mapping[str, Any], key: str, *, where: str, required: bool = True) -> str:
    value = obj.get(key, "" if not required else None)
    if not isinstance(value, str):
        raise AlertPayloadError(f"{where}.{key}: must be a string")
    return value


def parse_alert(raw: object, *, where: str = "alert") -> Alert:
    """Parse one alert object of a v4 body (or of the journal)."""
    if not isinstance(raw, dict):
        raise AlertPayloadError(f"{where}: must be an object")
    raw_status = _str(raw, "status", where=where)
    if raw_status not in ("firing", "resolved"):
        raise AlertPayloadError(f"{where}.status: must be firing or resolved, got {raw_status!r}")
    status: AlertStatus = "firing" if raw_status == "firing" else "resolved"
    ends_raw = raw.get("endsAt", _ZERO_TIME)
    ends = None if ends_raw in (_ZERO_TIME, "", None) else parse_time(ends_raw, where=f"{where}.endsAt")
    return Alert(
        status=status,
        labels=_str_map(raw.get("labels"), where=f"{where}.labels"),
        annotations=_str_map(raw.get("annotations", {}), where=f"{where}.annotations"),
        starts_at=parse_time(raw.get("startsAt"), where=f"{where}.startsAt"),
        ends_at=ends,
        generator_url=_str(raw, "generatorURL", where=where, required=False),
        fingerprint=_str(raw, "fingerprint", where=where, required=False),
    )


def parse_notification(body: bytes) -> Notification:
    """Parse a webhook body; raise AlertPayloadError saying what is wrong."""
    try:
        raw = json.loads(body)
    except RecursionError as e:  # 100k-deep nesting: no webhook body looks like that
        raise AlertPayloadError("body is not JSON we accept: nested too deeply") from e
    except ValueError as e:  # not JSON, not UTF-8, or an integer of thousands of digits
        raise AlertPayloadError(f"body is not JSON we accept: {str(e)[:200]}") from e
    if not isinstance(raw, dict):
        raise AlertPayloadError("body must be a JSON object")
    if raw.get("version") != "4":
        raise AlertPayloadError(f"not an Alertmanager v4 body (version={raw.get('version')!r})")
    alerts = raw.get("alerts")
    if not isinstance(alerts, list):
        raise AlertPayloadError("alerts: must be a list")
    return Notification(
        receiver=_str(raw, "receiver", where="body", required=False),
        status=_str(raw, "status", where="body"),
        alerts=tuple(parse_alert(a, where=f"alerts[{i}]") for i, a in enumerate(alerts)),
        group_key=_str(raw, "groupKey", where="body", required=False),
        external_url=_str(raw, "externalURL", where="body", required=False),
        common_labels=_str_map(raw.get("commonLabels", {}), where="commonLabels"),
    )
