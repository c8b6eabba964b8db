"""Issue 10 ack path: the journal group-commits concurrent batches and stays exact across restarts."""

import json
import os
import threading
from pathlib import Path

import pytest

from gitops_bot.adapters import journal as journal_module
from gitops_bot.adapters.journal import Journal
from tests.conftest import make_alert


def test_concurrent_batches_share_syncs_and_every_entry_is_pending_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    syncs = []
    real = os.fdatasync
    monkeypatch.setattr(journal_module.os, "fdatasync", lambda fd: (syncs.append(fd), real(fd))[1])
    journal = Journal(tmp_path / "journal")
    barrier = threading.Barrier(20)
    written: list[str] = []

    def sender(n: int) -> None:
        barrier.wait()
        for i in range(50):
            entries = journal.append_batch(
                [make_alert("billing-agent", "1", fingerprint=f"{n}-{i}-{k}") for k in range(2)]
            )
            written.extend(e.id for e in entries)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(written) == 2_000 and len(set(written)) == 2_000
    assert 0 < len(syncs) < 1_000  # 1,000 batches, fewer syncs: concurrent requests shared them
    reopened = Journal(tmp_path / "journal")  # a restart
    pending = reopened.pending()
    assert sorted(e.id for e in pending) == sorted(written)
    for entry in pending:
        reopened.done(entry)
    assert list((tmp_path / "journal").glob("*.json")) == []
    assert Journal(tmp_path / "journal").pending() == []


def test_done_notes_survive_a_restart_and_only_the_rest_replays(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    entries = journal.append_batch([make_alert("billing-agent", "1", fingerprint=str(i)) for i in range(3)])
    journal.done(entries[1])
    assert [e.id for e in Journal(tmp_path / "j").pending()] == [entries[0].id, entries[2].id]


def test_a_torn_line_and_a_legacy_entry_file(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    (entry,) = journal.append_batch([make_alert("billing-agent", "1")])
    segment = next((tmp_path / "j").glob("*.json"))
    with open(segment, "ab") as f:
        f.write(b'{"id": "x", "receivedAt": 1, "alerts": [{"stat')  # kill -9 mid-write of an unacked batch
    legacy = make_alert("support-bot", "2").to_json()
    old = {"id": "00000000000000000001-000001-deadbeef", "receivedAt": 1.0, "alert": legacy}
    (tmp_path / "j" / "00000000000000000001-000001-deadbeef.json").write_text(json.dumps(old))
    restarted = Journal(tmp_path / "j")
    pending = restarted.pending()
    assert [e.alert.labels["agent"] for e in pending] == ["support-bot", "billing-agent"]
    assert entry.id in {e.id for e in pending}
    assert '"alerts": [{"stat' in segment.with_suffix(".corrupt").read_text()  # kept for a person
    for e in pending:
        restarted.done(e)
    assert list((tmp_path / "j").glob("*.json")) == []
