"""Durable journal of alerts accepted but not yet handled: one fsynced file per alert."""

import json
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from gitops_bot.adapters.durable import write_durably
from gitops_bot.core.alerts import Alert, parse_alert
from gitops_bot.core.errors import AlertPayloadError, JournalError


@dataclass(frozen=True)
class Entry:
    """A journaled alert and when it was accepted."""

    id: str
    received_at: float
    alert: Alert


class Journal:
    """Survives kill -9: an entry exists on disk before the webhook is answered."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self._seq = 0
        self._lock = threading.Lock()
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise JournalError(f"cannot create journal {directory}: {e}") from e

    def append(self, alert: Alert, *, received_at: float | None = None) -> Entry:
        """Write one entry durably (file and directory fsynced) and return it."""
        at = time.time() if received_at is None else received_at
        with self._lock:
            self._seq += 1
            entry_id = f"{time.time_ns():020d}-{self._seq:06d}-{uuid.uuid4().hex[:8]}"
        data = json.dumps({"id": entry_id, "receivedAt": at, "alert": alert.to_json()}).encode()
        try:
            write_durably(self.dir / f"{entry_id}.json", data)
        except OSError as e:
            raise JournalError(f"cannot write journal entry in {self.dir}: {e}") from e
        return Entry(entry_id, at, alert)

    def pending(self) -> list[Entry]:
        """Entries not yet marked done, oldest first; unreadable ones are set aside, not lost."""
        entries = []
        for path in sorted(self.dir.glob("*.json")):
            try:
                raw = json.loads(path.read_bytes())
                entries.append(Entry(raw["id"], float(raw["receivedAt"]), parse_alert(raw["alert"])))
            except (OSError, ValueError, KeyError, TypeError, AlertPayloadError):
                path.rename(path.with_suffix(".corrupt"))
        return entries

    def depth(self, *, now: float | None = None) -> tuple[int, float]:
        """(entries waiting, age in seconds of the oldest, 0 when none), from the file names alone:
        an entry's id starts with the nanosecond time it was written (cheap enough for every scrape)."""
        names = sorted(p.name for p in self.dir.glob("*.json"))
        if not names:
            return 0, 0.0
        try:
            oldest = int(names[0].split("-", 1)[0]) / 1e9
        except ValueError:
            return len(names), 0.0
        return len(names), max(0.0, (time.time() if now is None else now) - oldest)

    def done(self, entry: Entry) -> None:
        """Forget an entry once its outcome is final."""
        (self.dir / f"{entry.id}.json").unlink(missing_ok=True)
