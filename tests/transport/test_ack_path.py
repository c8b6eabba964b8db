"""Issue 10 ack path: route before journaling, one fsynced batch per body, configurable body cap.

Correctness only (timings are the benchmark's: bench/ack_storm.py).
"""

import http.client
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.adapters.journal import Journal
from gitops_bot.app.engine import Engine
from gitops_bot.app.forge.local import LocalForge
from gitops_bot.app.server import create_app
from gitops_bot.app.service import Bot
from tests.conftest import make_policy
from tests.gitfix import Remote, agent_files, git
from tests.transport.served import start_serve, wait_for
from tests.transport.storm import ROGUES, group_body, storm, storm_alerts

STARTED = datetime.now(UTC) - timedelta(minutes=1)


def _release_rogues(remote: Remote) -> None:
    for agent, version in ROGUES.items():
        remote.commit(agent_files(agent, version), f"Release {agent} {version}")


def test_a_10000_alert_group_is_acked_and_every_claimed_alert_journaled_exactly_once(
    remote: Remote, tmp_path: Path
) -> None:
    engine = Engine(GitRepo(remote.url, "main", tmp_path / "repo"), LocalForge(), (make_policy(),))
    journal = Journal(tmp_path / "journal")
    bot = Bot(engine, journal)  # worker not started: what is journaled stays to be counted
    client = create_app(bot, token=None).test_client()
    alerts = storm_alerts(10_000, started=STARTED)
    body = group_body(alerts)
    assert 4 * 2**20 < len(body) < 8 * 2**20  # Alertmanager-sized, under the default cap
    answer = client.post("/api/v1/alerts", data=body, content_type="application/json")
    assert answer.status_code == 200 and answer.json["queued"] == 5_000, answer.json
    claimed = [a["fingerprint"] for a in alerts if a["labels"].get("alertname") != "NodeDiskPressure"]
    journaled = [e.alert.fingerprint for e in journal.pending()]
    assert sorted(journaled) == sorted(claimed) and len(set(journaled)) == 5_000
    assert len(list(journal.dir.glob("*.json"))) == 1  # one batch: one fsync for the whole group
    assert bot.metrics.alerts_ignored.labels("no_policy")._value.get() == 5_000


def test_the_body_cap_is_configurable_and_still_413_above_it(tmp_path: Path, remote: Remote) -> None:
    big = group_body(storm_alerts(10_000, started=STARTED, claimed_every=10_001))  # ~4.7 MiB
    default = start_serve(tmp_path / "default", remote)
    try:
        assert default.post(big)[0] == 200  # fits the 8 MiB default
    finally:
        default.stop(signal.SIGKILL)
    capped = start_serve(tmp_path / "capped", remote, server="max_body_bytes: 1048576")
    try:
        conn = http.client.HTTPConnection("127.0.0.1", capped.port, timeout=10)
        conn.putrequest("POST", "/api/v1/alerts")
        conn.putheader("Content-Length", str(len(big)))
        conn.endheaders()  # refused on the declared size, before a byte of the body is read
        answer = conn.getresponse()
        assert answer.status == 413 and b"exceeds max_body of 1048577" in answer.read()
        conn.close()
        assert capped.post(group_body(storm_alerts(10, started=STARTED)))[0] == 200
    finally:
        capped.stop(signal.SIGKILL)


def test_5000_alerts_from_20_senders_all_acked_and_one_rollback_per_rogue_agent(
    tmp_path: Path, remote: Remote
) -> None:
    _release_rogues(remote)
    served = start_serve(tmp_path, remote)
    try:
        acks = storm(served.port, storm_alerts(5_000, started=remote.clock), senders=20)
        assert len(acks) == 5_000
        assert [s for s, _ in acks if not 200 <= s < 300] == []
        wait_for(lambda: not list(served.journal.glob("*.json")), 120, "the worker to drain the journal")
    finally:
        served.stop(signal.SIGKILL)
    log = git(remote.bare, "log", "--format=%s", "main")
    for agent in ROGUES:
        assert log.count(f"Roll back {agent} ") == 1, log
