"""Alert storms shaped like Alertmanager's: whole groups in one body, many senders at once."""

import copy
import http.client
import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

from tests.conftest import firing_body
from tests.transport.served import TOKEN

ROGUES = {"billing-agent": "2026.06.0", "support-bot": "v2.0.0", "triage-agent": "1.3.0"}


def storm_alerts(count: int, *, started: Any, claimed_every: int = 2) -> list[dict[str, Any]]:
    """count alerts: every claimed_every-th one for a rogue agent (claimed), the rest other teams'."""
    template = firing_body("billing-agent", "x", started=started)["alerts"][0]
    alerts = []
    agents = list(ROGUES.items())
    for i in range(count):
        alert = copy.deepcopy(template)
        alert["fingerprint"] = f"{i:016x}"
        if i % claimed_every == 0:
            agent, version = agents[(i // claimed_every) % len(agents)]
            alert["labels"] |= {"agent": agent, "version": version, "pod": f"{agent}-{i}"}
        else:  # no policy claims these: they must never reach the journal
            alert["labels"] = {"alertname": "NodeDiskPressure", "severity": "warning", "node": f"n{i}"}
        alerts.append(alert)
    return alerts


def group_body(alerts: list[dict[str, Any]]) -> bytes:
    """One webhook body carrying the whole group (Alertmanager's max_alerts defaults to 0: unlimited)."""
    body = firing_body("billing-agent", "x", started=datetime.now(UTC))
    body["alerts"] = alerts
    return json.dumps(body).encode()


class Sender(threading.Thread):
    """One Alertmanager-like sender on a keep-alive connection; records each ack's status and time."""

    def __init__(self, port: int, bodies: list[bytes]) -> None:
        super().__init__(daemon=True)
        self.port, self.bodies = port, bodies
        self.acks: list[tuple[int, float]] = []

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        for body in self.bodies:
            started = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/alerts", body, headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError:
                status = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.acks.append((status, time.perf_counter() - started))
        conn.close()


def storm(port: int, alerts: list[dict[str, Any]], senders: int) -> list[tuple[int, float]]:
    """Send each alert in its own body, spread over `senders` concurrent connections."""
    shares = [alerts[i::senders] for i in range(senders)]
    threads = [Sender(port, [group_body([a]) for a in share]) for share in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    return [ack for t in threads for ack in t.acks]
