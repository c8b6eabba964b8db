"""Durable journal of alerts accepted but not yet handled, with group commit.

Layout: segment files `<name>.json`, one JSON object per line, each line one accepted batch (the
claimed alerts of one webhook body). A request's batch is durable (fdatasync) before its 2xx, but
concurrent requests share one fdatasync: the first waiting request writes everyone's lines and
syncs once (leader/follower), so 20 senders do not queue behind 20 syncs. A segment goes away when
every alert in it is done (the next batch starts a new one), so a `*.json` file exists exactly while
something is pending. Finished alerts are noted in a `.done` side file without a sync: losing a note
only replays an alert, and replays are harmless because git decides (stale / already rolled back).
"""

import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from gitops_bot.adapters.durable import fsync_dir
from gitops_bot.core.alerts import Alert, parse_alert
from gitops_bot.core.errors import AlertPayloadError, JournalError

SEGMENT_BYTES = 8 * 1024 * 1024  # start a new segment past this, so finished ones can be deleted


@dataclass(frozen=True)
class Entry:
    """A journaled alert and when it was accepted; id is `<batch>.<index>`."""

    id: str
    received_at: float
    alert: Alert

    @property
    def batch(self) -> str:
        """The batch the entry came in."""
        return self.id.rpartition(".")[0]


@dataclass
class _Write:
    line: bytes
    batch: str
    ids: set[str]
    finished: bool = False
    error: JournalError | None = None


@dataclass
class _Segment:
    name: str
    live: set[str] = field(default_factory=set)  # entry ids not yet done
    handle: IO[bytes] | None = None  # open for appending while it is the current segment
    size: int = 0


class Journal:
    """Survives kill -9: a batch is on disk before the webhook is answered."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self._seq = 0
        self._cv = threading.Condition()
        self._queue: list[_Write] = []
        self._leading = False
        self._segments: dict[str, _Segment] = {}
        self._current: _Segment | None = None
        self._where: dict[str, str] = {}  # batch -> segment name
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise JournalError(f"cannot create journal {directory}: {e.strerror or e}") from e

    def append(self, alert: Alert, *, received_at: float | None = None) -> Entry:
        """Write one entry durably and return it."""
        return self.append_batch([alert], received_at=received_at)[0]

    def append_batch(self, alerts: Sequence[Alert], *, received_at: float | None = None) -> list[Entry]:
        """Write alerts durably as one batch and return their entries (group-committed)."""
        if not alerts:
            return []
        at = time.time() if received_at is None else received_at
        with self._cv:
            self._seq += 1
            batch = f"{time.time_ns():020d}-{self._seq:06d}-{uuid.uuid4().hex[:8]}"
        raw = {"id": batch, "receivedAt": at, "alerts": [a.to_json() for a in alerts]}
        entries = [Entry(f"{batch}.{i}", at, alert) for i, alert in enumerate(alerts)]
        self._commit(_Write(json.dumps(raw).encode() + b"\n", batch, {e.id for e in entries}))
        return entries

    def _commit(self, write: _Write) -> None:
        with self._cv:
            self._queue.append(write)
            while not write.finished:
                if self._leading:
                    self._cv.wait()
                    continue
                self._leading, group, self._queue = True, self._queue, []
                self._cv.release()
                try:
                    error, segment = self._write_group(group), self._current
                finally:
                    self._cv.acquire()
                for w in group:  # registered before anyone can see the segment as finished
                    w.finished, w.error = True, error
                    if error is None and segment is not None:
                        self._where[w.batch] = segment.name
                        segment.live |= w.ids
                self._leading = False
                self._cv.notify_all()
            if write.error is not None:
                raise write.error

    def _write_group(self, group: list[_Write]) -> JournalError | None:
        """Append every waiting batch and sync once (called by one leader at a time)."""
        try:
            segment = self._open_segment()
            assert segment.handle is not None
            data = b"".join(w.line for w in group)
            segment.handle.write(data)
            segment.handle.flush()
            os.fdatasync(segment.handle.fileno())
            segment.size += len(data)
        except OSError as e:
            self._close_current()  # never append after a torn write: the next batch starts afresh
            return JournalError(f"cannot write journal entry in {self.dir}: {e.strerror or e}")
        return None

    def _open_segment(self) -> _Segment:
        current = self._current
        if current is not None and current.size < SEGMENT_BYTES:
            return current
        self._close_current()
        with self._cv:
            self._seq += 1
            name = f"{time.time_ns():020d}-{self._seq:06d}"
        path = self.dir / f"{name}.json"
        handle = open(path, "xb")  # noqa: SIM115 - held open while it is the current segment
        fsync_dir(self.dir)  # the segment's name is durable before any batch in it is acknowledged
        segment = _Segment(name, handle=handle)
        with self._cv:
            self._segments[name] = segment
            self._current = segment
        return segment

    def _close_current(self) -> None:
        current, self._current = self._current, None
        if current is not None and current.handle is not None:
            with contextlib.suppress(OSError):
                current.handle.close()
            current.handle = None
            with self._cv:
                self._drop_if_finished(current)

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
        """Entries not yet done, oldest first; unreadable lines are set aside (kept), not lost."""
        entries: list[Entry] = []
        for path in sorted(self.dir.glob("*.json")):
            found, bad = _read_segment(path)
            done = _done_ids(path)
            todo = [e for e in found if e.id not in done]
            if bad:
                self._set_aside(path, bad, keep=bool(todo))
            with self._cv:
                segment = self._segments.setdefault(path.stem, _Segment(path.stem))
                segment.live |= {e.id for e in todo}
                self._where |= {e.batch: path.stem for e in todo}
            entries += todo
        return entries

    def _set_aside(self, path: Path, bad: list[str], *, keep: bool) -> None:
        """Copy unreadable lines to `<segment>.corrupt` (once); drop the segment if nothing else is in it."""
        corrupt = path.with_suffix(".corrupt")
        try:
            if not corrupt.exists():
                with open(corrupt, "w") as f:
                    f.writelines(line + "\n" for line in bad)
            if not keep:
                path.unlink()
                path.with_suffix(".done").unlink(missing_ok=True)
        except OSError as e:
            raise JournalError(
                f"journal entry {path} is corrupt and cannot be set aside ({e.strerror or e}): "
                "make the journal folder writable or move the file away"
            ) from e

    def depth(self, *, now: float | None = None) -> tuple[int, float]:
        """(entries waiting, age in seconds of the oldest, 0 when none), from memory: cheap enough for
        every scrape. A segment's name starts with the nanosecond time it was opened (its oldest batch)."""
        with self._cv:
            live = [(name, len(seg.live)) for name, seg in self._segments.items() if seg.live]
        if not live:
            return 0, 0.0
        count = sum(n for _, n in live)
        try:
            oldest = int(min(name for name, _ in live).split("-", 1)[0]) / 1e9
        except ValueError:
            return count, 0.0
        return count, max(0.0, (time.time() if now is None else now) - oldest)

    def done(self, entry: Entry) -> None:
        """Forget an entry once its outcome is final; a segment goes with its last entry."""
        with self._cv:
            name = self._where.get(entry.batch, entry.batch)
            segment = self._segments.setdefault(name, _Segment(name))
            segment.live.discard(entry.id)
            if segment.live:
                with open(self.dir / f"{name}.done", "a") as f:  # no sync: a lost note replays, harmlessly
                    f.write(entry.id + "\n")
                return
            if segment is self._current and not self._leading:
                self._current = None  # finished: the next batch starts a new segment
                if segment.handle is not None:
                    segment.handle.close()
                    segment.handle = None
            self._drop_if_finished(segment)

    def _drop_if_finished(self, segment: _Segment) -> None:
        if segment.live or segment.handle is not None:
            return
        self._segments.pop(segment.name, None)
        self._where = {b: s for b, s in self._where.items() if s != segment.name}
        for suffix in (".json", ".done"):
            (self.dir / f"{segment.name}{suffix}").unlink(missing_ok=True)


def _read_segment(path: Path) -> tuple[list[Entry], list[str]]:
    """Entries of every readable line, and the unreadable lines (a torn last line among them: it
    was never synced, so never acknowledged, but it is kept for a person to look at)."""
    try:
        lines = path.read_bytes().decode("utf-8", errors="replace").split("\n")
    except OSError as e:
        raise JournalError(f"cannot read journal {path}: {e.strerror or e}") from e
    entries, bad = [], []
    for line in lines:
        if not line.strip():
            continue
        try:
            entries += _batch(json.loads(line), path)
        except (ValueError, KeyError, TypeError, AlertPayloadError):
            bad.append(line)
    return entries, bad


def _batch(raw: Any, path: Path) -> list[Entry]:
    at = float(raw["receivedAt"])
    if "alert" in raw:  # a one-alert file written before batches and segments
        return [Entry(f"{path.stem}.0", at, parse_alert(raw["alert"]))]
    batch = str(raw["id"])
    return [Entry(f"{batch}.{i}", at, parse_alert(a)) for i, a in enumerate(raw["alerts"])]


def _done_ids(path: Path) -> set[str]:
    try:
        return set(path.with_suffix(".done").read_text().split())
    except FileNotFoundError:
        return set()
    except OSError as e:
        raise JournalError(f"cannot read {path.with_suffix('.done')}: {e.strerror or e}") from e
