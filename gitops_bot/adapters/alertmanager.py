"""The Alertmanager API v2 adapter: what fires now, and whether an alert is silenced or inhibited."""

from dataclasses import dataclass
from typing import Any

import requests

from gitops_bot.core.alerts import Alert, format_time, parse_alert
from gitops_bot.core.errors import AlertmanagerError, AlertPayloadError
from gitops_bot.core.escalation import Post
from gitops_bot.core.promql import escape_string


@dataclass(frozen=True)
class AlertState:
    """An alert as Alertmanager sees it now."""

    alert: Alert
    state: str  # active | suppressed | unprocessed
    silenced_by: tuple[str, ...]
    inhibited_by: tuple[str, ...]


def _state(raw: dict[str, Any]) -> AlertState:
    status = raw.get("status") or {}
    alert = parse_alert({**raw, "status": "firing"}, where="alertmanager alert")
    return AlertState(
        alert=alert,
        state=str(status.get("state", "")),
        silenced_by=tuple(status.get("silencedBy") or ()),
        inhibited_by=tuple(status.get("inhibitedBy") or ()),
    )


class AlertmanagerAPI:
    """GET /api/v2/alerts (label filters in Alertmanager's matcher syntax) and POST of our own alerts."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url, self.timeout = url.rstrip("/"), timeout
        self._session = requests.Session()

    def _alerts(self, params: list[tuple[str, str]]) -> list[AlertState]:
        try:
            response = self._session.get(f"{self.url}/api/v2/alerts", params=params, timeout=self.timeout)
            response.raise_for_status()
            body = response.json()
            return [_state(raw) for raw in body]
        except (requests.RequestException, ValueError, AlertPayloadError, TypeError) as e:
            raise AlertmanagerError(f"Alertmanager {self.url}: cannot list alerts: {e}") from e

    def firing(self) -> list[AlertState]:
        """Active alerts that are neither silenced nor inhibited."""
        flags = [("active", "true"), ("silenced", "false"), ("inhibited", "false"), ("unprocessed", "false")]
        return [s for s in self._alerts(flags) if s.state == "active"]

    def state_of(self, alert: Alert) -> AlertState | None:
        """This alert (same fingerprint) as Alertmanager has it now, or None when it is gone."""
        filters = [("filter", f'{k}="{escape_string(v)}"') for k, v in sorted(alert.labels.items())]
        found = self._alerts(filters)
        return next((s for s in found if s.alert.fingerprint == alert.fingerprint), None)

    def post(self, posts: list[Post], *, generator_url: str = "") -> None:
        """POST /api/v2/alerts: raise, re-assert or resolve the bot's own alerts (one request)."""
        body = [
            {
                "labels": p.labels,
                "annotations": p.annotations,
                "startsAt": format_time(p.starts_at),
                "endsAt": format_time(p.ends_at),
            }
            | ({"generatorURL": generator_url} if generator_url else {})
            for p in posts
        ]
        try:
            response = self._session.post(f"{self.url}/api/v2/alerts", json=body, timeout=self.timeout)
            response.raise_for_status()
        except requests.RequestException as e:
            raise AlertmanagerError(f"Alertmanager {self.url}: cannot post alerts: {e}") from e
