"""Durable journal of alerts accepted but not yet handled: one fsynced file per accepted batch.

Group commit: a webhook body's claimed alerts are written as one file (one file fsync, one
directory fsync) before the 2xx, not two fsyncs per alert. Finished alerts of a batch are noted in
a `.done` side file without fsync: losing a note only replays an alert, and replays are harmless
because git decides (stale / already rolled back). The batch file goes when all its alerts are done.
"""

import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops_bot.core.alerts import Alert, parse_alert
from gitops_bot.core.errors import AlertPayloadError, JournalError


def fsync_dir(directory: Path) -> None:
    """Make a rename in the folder durable (the file's own fsync does not cover its name)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Entry:
    """A journaled alert and when it was accepted; id is `<batch>.<index>`."""

    id: str
    received_at: float
    alert: Alert

    @property
    def batch(self) -> str:
        """The batch file's name stem."""
        return self.id.rpartition(".")[0]


class Journal:
    """Survives kill -9: a batch exists on disk before the webhook is answered."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self._seq = 0
        self._lock = threading.Lock()
        self._open: dict[str, set[str]] = {}  # batch -> entry ids not yet done
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise JournalError(f"cannot create journal {directory}: {e.strerror or e}") from e

    def append(self, alert: Alert, *, received_at: float | None = None) -> Entry:
        """Write one entry durably and return it."""
        return self.append_batch([alert], received_at=received_at)[0]

    def append_batch(self, alerts: Sequence[Alert], *, received_at: float | None = None) -> list[Entry]:
        """Write alerts durably as one batch (file and directory fsynced once) and return their entries."""
        if not alerts:
            return []
        at = time.time() if received_at is None else received_at
        with self._lock:
            self._seq += 1
            batch = f"{time.time_ns():020d}-{self._seq:06d}-{uuid.uuid4().hex[:8]}"
        raw = {"id": batch, "receivedAt": at, "alerts": [a.to_json() for a in alerts]}
        tmp = self.dir / f".{batch}.tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(json.dumps(raw).encode())
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, self.dir / f"{batch}.json")
            fsync_dir(self.dir)
        except OSError as e:
            with contextlib.suppress(OSError):  # nothing half-written stays behind
                tmp.unlink(missing_ok=True)
            raise JournalError(f"cannot write journal entry in {self.dir}: {e.strerror or e}") from e
        entries = [Entry(f"{batch}.{i}", at, alert) for i, alert in enumerate(alerts)]
        with self._lock:
            self._open[batch] = {e.id for e in entries}
        return entries

    def writable(self) -> str | None:
        """None when an entry could be written now, else why not (for /readyz)."""
        probe = self.dir / f".probe-{uuid.uuid4().hex[:8]}"
        try:
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            return f"journal {self.dir} is not writable: {e.strerror or e}"
        return None

    def pending(self) -> list[Entry]:
        """Entries not yet done, oldest first; unreadable batches are set aside (renamed), not lost."""
        entries: list[Entry] = []
        for path in sorted(self.dir.glob("*.json")):
            try:
                found = _read_batch(path)
            except (OSError, ValueError, KeyError, TypeError, AlertPayloadError):
                self._set_aside(path)
                continue
            done = self._done_ids(path)
            todo = [e for e in found if e.id not in done]
            with self._lock:
                self._open[path.stem] = {e.id for e in todo}
            entries += todo
        return entries

    def _set_aside(self, path: Path) -> None:
        try:
            path.rename(path.with_suffix(".corrupt"))
        except OSError as e:
            raise JournalError(
                f"journal entry {path} is corrupt and cannot be set aside ({e.strerror or e}): "
                "make the journal folder writable or move the file away"
            ) from e

    def _done_ids(self, path: Path) -> set[str]:
        try:
            return set(path.with_suffix(".done").read_text().split())
        except FileNotFoundError:
            return set()
        except OSError as e:
            raise JournalError(f"cannot read {path.with_suffix('.done')}: {e.strerror or e}") from e

    def done(self, entry: Entry) -> None:
        """Forget an entry once its outcome is final; the batch file goes with its last entry."""
        batch = entry.batch
        with self._lock:
            left = self._open.setdefault(batch, {entry.id})
            left.discard(entry.id)
            last = not left
            if last:
                del self._open[batch]
        if last:
            (self.dir / f"{batch}.json").unlink(missing_ok=True)
            (self.dir / f"{batch}.done").unlink(missing_ok=True)
            return
        with open(self.dir / f"{batch}.done", "a") as f:  # no fsync: a lost note replays, harmlessly
            f.write(entry.id + "\n")


def _read_batch(path: Path) -> list[Entry]:
    raw: dict[str, Any] = json.loads(path.read_bytes())
    at = float(raw["receivedAt"])
    if "alert" in raw:  # a one-alert entry written before batches
        return [Entry(f"{path.stem}.0", at, parse_alert(raw["alert"]))]
    batch = str(raw["id"])
    if batch != path.stem:
        raise ValueError(f"batch id {batch!r} does not match its file name")
    return [Entry(f"{batch}.{i}", at, parse_alert(a)) for i, a in enumerate(raw["alerts"])]
