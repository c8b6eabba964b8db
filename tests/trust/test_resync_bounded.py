"""Finding 11: the resync loop's memory of queued alerts stays bounded (real Alertmanager)."""

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gitops_bot.adapters.alertmanager import AlertmanagerAPI
from gitops_bot.adapters.journal import Journal
from gitops_bot.app.resync import Resync
from gitops_bot.app.service import Bot
from gitops_bot.core.alerts import format_time
from gitops_bot_lab.stack import start_alertmanager
from tests.binaries import require_binary
from tests.conftest import EngineFactory, firing_body
from tests.gitfix import Remote
from tests.test_crash_and_cli import free_port


def _post(am_url: str, agent: str, *, ends: datetime) -> None:
    raw = firing_body(agent, "1.0.0", started=datetime.now(UTC) - timedelta(seconds=5))["alerts"][0]
    posted: dict[str, Any] = {k: raw[k] for k in ("labels", "annotations", "startsAt", "generatorURL")}
    posted["endsAt"] = format_time(ends)
    request = urllib.request.Request(
        f"{am_url}/api/v2/alerts",
        data=json.dumps([posted]).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=5).close()


def test_resync_forgets_alerts_that_stopped_firing_and_caps_what_it_remembers(
    remote: Remote, tmp_path: Path, engine_for: EngineFactory
) -> None:
    require_binary("prometheus-alertmanager")
    bot = Bot(engine_for(remote), Journal(tmp_path / "journal"))
    clock = [1000.0]
    nowhere = f"http://127.0.0.1:{free_port()}/api/v1/alerts"
    with start_alertmanager(tmp_path, nowhere, "unused") as am:
        resync = Resync(bot, AlertmanagerAPI(am.url), interval=3600, max_seen=2, clock=lambda: clock[0])
        later = datetime.now(UTC) + timedelta(hours=1)
        for agent in ("agent-a", "agent-b", "agent-c"):
            _post(am.url, agent, ends=later)
        assert resync.once() == 3 and resync.seen == 2  # capped at max_seen
        clock[0] += 10
        assert resync.once() == 1 and resync.seen == 2  # the forgotten one is queued again, still capped
        for agent in ("agent-a", "agent-b", "agent-c"):  # they all resolve
            _post(am.url, agent, ends=datetime.now(UTC) - timedelta(seconds=1))
        assert resync.once() == 0 and resync.seen == 0
