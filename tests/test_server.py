"""The webhook over real HTTP on loopback: statuses, nothing written on bad input, deduplication."""

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from gitops_bot.adapters.journal import Journal
from gitops_bot.app.server import MAX_BODY, create_app
from gitops_bot.app.service import Bot
from tests.conftest import EngineFactory, firing_body, payload
from tests.gitfix import Remote, agent_files, git

TOKEN = "s3cret-token"


@dataclass
class Served:
    """A running bot and its base URL."""

    bot: Bot
    url: str
    journal_dir: Path

    def post(
        self,
        body: bytes | dict[str, Any],
        *,
        token: str | None = TOKEN,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(f"{self.url}/api/v1/alerts", data=data, method="POST", headers=h)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def get(self, path: str) -> tuple[int, bytes]:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as r:
            return r.status, r.read()


@pytest.fixture
def served(remote: Remote, engine_for: EngineFactory, tmp_path: Path) -> Iterator[Served]:
    journal_dir = tmp_path / "journal"
    bot = Bot(engine_for(remote), Journal(journal_dir))
    bot.start()
    server = make_server("127.0.0.1", 0, create_app(bot, token=TOKEN), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Served(bot, f"http://127.0.0.1:{server.server_port}", journal_dir)
    server.shutdown()
    bot.stop()


def rogue(remote: Remote) -> None:
    remote.commit(agent_files("billing-agent", "2026.06.0"), "Release billing 2026.06.0")


def rollbacks_on(remote: Remote) -> int:
    return git(remote.bare, "log", "--format=%s", "main").count("Roll back ")


@pytest.mark.parametrize(
    ("body", "token", "status"),
    [
        (b"{oops", TOKEN, 400),
        (b'{"version": "3", "alerts": []}', TOKEN, 400),
        (b'{"hello": "world"}', TOKEN, 400),
        (None, None, 401),
        (None, "wrong-token", 401),
        (b"x" * (MAX_BODY + 1), TOKEN, 413),
    ],
)
def test_bad_requests_get_the_right_status_and_write_nothing(
    served: Served, remote: Remote, body: bytes | None, token: str | None, status: int
) -> None:
    rogue(remote)
    before = remote.remote_head()
    real = json.dumps(firing_body("billing-agent", "2026.06.0", started=remote.clock)).encode()
    code, answer = served.post(body if body is not None else real, token=token)
    assert code == status and answer["status"] == "error" and answer["error"]
    assert served.bot.wait_idle(10)
    assert list(served.journal_dir.iterdir()) == []
    assert remote.remote_head() == before


def test_captured_grouped_payload_handles_every_alert(served: Served, remote: Remote) -> None:
    remote.commit(
        {**agent_files("support-bot", "v2.0.0"), **agent_files("triage-agent", "1.3.0")}, "Release both"
    )
    code, answer = served.post(payload("firing-grouped-3-agents.json"))
    assert (code, answer["queued"]) == (200, 3)
    assert served.bot.wait_idle(30)
    kinds = sorted(o.kind for o in served.bot.recent)
    assert kinds == ["ignored", "rolled_back", "rolled_back"], list(served.bot.recent)
    assert rollbacks_on(remote) == 2


def test_resolved_alerts_trigger_nothing(served: Served, remote: Remote) -> None:
    rogue(remote)
    code, answer = served.post(payload("resolved-single-policy-violation.json"))
    assert (code, answer["queued"]) == (200, 0)
    assert served.bot.wait_idle(10) and rollbacks_on(remote) == 0


def test_concurrent_duplicate_deliveries_make_one_commit(served: Served, remote: Remote) -> None:
    rogue(remote)
    body = firing_body("billing-agent", "2026.06.0", started=remote.clock)
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(lambda _: served.post(body)[0], range(24)))
    assert codes == [200] * 24
    assert served.bot.wait_idle(60)
    assert rollbacks_on(remote) == 1
    assert [o.kind for o in served.bot.recent].count("rolled_back") == 1


def test_rollbacks_endpoint_healthz_and_metrics(served: Served, remote: Remote) -> None:
    rogue(remote)
    served.post(firing_body("billing-agent", "2026.06.0", started=remote.clock))
    served.post(b"{bad")
    assert served.bot.wait_idle(30)
    assert served.get("/healthz")[0] == 200
    status, data = served.get("/api/v1/rollbacks?agent=billing-agent")
    rows = json.loads(data)
    assert status == 200 and [(r["agent"], r["from"], r["to"]) for r in rows] == [
        ("billing-agent", "2026.06.0", "2026.05.2")
    ]
    assert json.loads(served.get("/api/v1/rollbacks?agent=nobody")[1]) == []
    text = served.get("/metrics")[1].decode()
    assert 'gitops_bot_alerts_received_total{status="firing"} 1.0' in text
    assert 'gitops_bot_alerts_handled_total{outcome="rolled_back"} 1.0' in text
    assert 'gitops_bot_webhook_rejected_total{code="400"} 1.0' in text
    assert "gitops_bot_alert_to_push_seconds_count 1.0" in text


def test_chunked_body_over_the_cap_is_413_too(served: Served, remote: Remote) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", int(served.url.rsplit(":", 1)[1]), timeout=10)
    conn.putrequest("POST", "/api/v1/alerts")
    conn.putheader("Authorization", f"Bearer {TOKEN}")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    data = b'{"version": "4", "pad": "' + b"x" * MAX_BODY + b'"}'
    for i in range(0, len(data), 65536):
        piece = data[i : i + 65536]
        conn.send(b"%x\r\n" % len(piece) + piece + b"\r\n")
    conn.send(b"0\r\n\r\n")
    assert conn.getresponse().status == 413
    assert list(served.journal_dir.iterdir()) == []


def test_healthz_reports_a_stopped_worker(served: Served) -> None:
    assert served.get("/healthz")[0] == 200
    served.bot.stop()
    try:
        served.get("/healthz")
    except urllib.error.HTTPError as e:
        assert e.code == 503
    else:
        raise AssertionError("healthz said ok without a worker")
