"""POST /api/v1/github over real HTTP: signatures over the raw body, statuses, nothing slow inside."""

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from gitops_bot.adapters.journal import Journal
from gitops_bot.app.server import create_app
from gitops_bot.app.service import Bot
from gitops_bot_lab.fakes.github import sign, webhook_headers
from tests.conftest import EngineFactory
from tests.forge.conftest import SECRET, Replica, World, veto_policy
from tests.gitfix import Remote


@dataclass
class Served:
    url: str
    bot: Bot
    replica: Replica

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        req = urllib.request.Request(f"{self.url}/api/v1/github", data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())["status"]
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())["error"]


@pytest.fixture
def served(world: World) -> Iterator[Served]:
    world.ship_rogue()
    replica = world.replica(policy=veto_policy())
    assert replica.alert().kind == "proposed"
    bot = Bot(replica.engine, Journal(world.root / "journal"))
    server = make_server("127.0.0.1", 0, create_app(bot, token="t"), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Served(f"http://127.0.0.1:{server.server_port}", bot, replica)
    server.shutdown()


def approve_body(world: World, login: str = "alice") -> bytes:
    # GitHub's bytes, not a re-serialisation: odd spacing must still verify.
    return json.dumps(world.gh.add_comment_as(login, 1, "/approve"), indent=1).encode()


@pytest.mark.parametrize(
    "forge_headers",
    [
        lambda body: {"X-Hub-Signature-256": sign(body, "not-the-secret")},
        lambda body: {"X-Hub-Signature-256": sign(body + b" ", SECRET)},
        lambda body: {"X-Hub-Signature-256": sign(body, SECRET).replace("sha256=", "sha1=")},
        lambda body: {},
    ],
    ids=["wrong-secret", "other-body", "wrong-scheme", "missing"],
)
def test_forged_or_missing_signatures_are_401_and_change_nothing(
    world: World, served: Served, forge_headers: Callable[[bytes], dict[str, str]]
) -> None:
    body = approve_body(world)
    headers = {**webhook_headers("issue_comment", body), **forge_headers(body)}
    assert served.post(body, headers) == (401, "missing or wrong X-Hub-Signature-256")
    assert served.replica.forge.inbox.pending() == []
    served.replica.forge.loop.drain()
    assert not world.gh.pull(1)["merged"]
    assert b'gitops_bot_webhook_rejected_total{code="401"} 1.0' in served.bot.metrics.render()


def test_a_signed_command_is_queued_fast_and_handled_by_the_loop(world: World, served: Served) -> None:
    body = approve_body(world)
    headers = webhook_headers("issue_comment", body, SECRET)
    assert served.post(body, headers) == (202, "queued")
    assert not world.gh.pull(1)["merged"]  # no GitHub call or git work inside the request
    assert served.post(body, headers) == (200, "duplicate")  # GitHub's redelivery: same delivery id
    served.replica.forge.loop.drain()
    assert world.gh.pull(1)["merged"] and world.main_trailers()["Approved-By"] == "alice"


def test_other_events_ping_and_bad_bodies(world: World, served: Served) -> None:
    ping = b'{"zen": "Keep it logically awesome.", "hook_id": 1}'
    assert served.post(ping, webhook_headers("ping", ping, SECRET)) == (200, "pong")
    push = b'{"ref": "refs/heads/main"}'
    assert served.post(push, webhook_headers("push", push, SECRET)) == (
        200,
        "ignored: event 'push' is not used",
    )
    bad = b"{not json"
    status, error = served.post(bad, webhook_headers("issue_comment", bad, SECRET))
    assert status == 400 and "not JSON" in error
    body = approve_body(world)
    headers = webhook_headers("issue_comment", body, SECRET)
    del headers["X-GitHub-Delivery"]
    assert served.post(body, headers) == (400, "X-GitHub-Delivery header missing")


def test_the_route_is_404_with_the_local_forge(
    remote: Remote, engine_for: EngineFactory, tmp_path: Path
) -> None:
    bot = Bot(engine_for(remote), Journal(tmp_path / "journal"))
    client = create_app(bot, token="t").test_client()
    response = client.post("/api/v1/github", data=b"{}", headers={"X-GitHub-Event": "ping"})
    assert response.status_code == 404
