"""Accepted GitHub deliveries on disk until handled; a bounded set of keys already seen."""

import json
import os
import re
from pathlib import Path

from gitops_bot.adapters.durable import write_durably
from gitops_bot.core.errors import JournalError
from gitops_bot.core.github.webhooks import Event, event_from_json, event_to_json

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class Inbox:
    """pending/<key>.json until done; seen/<key> (created exclusively) makes redeliveries no-ops."""

    def __init__(self, directory: Path, *, keep: int = 2000) -> None:
        self.pending_dir, self.seen_dir, self.keep = directory / "pending", directory / "seen", keep
        try:
            self.pending_dir.mkdir(parents=True, exist_ok=True)
            self.seen_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise JournalError(f"cannot create the GitHub inbox in {directory}: {e}") from e

    def put(self, key: str, event: Event) -> bool:
        """Store a new delivery durably; False when this key was seen before.

        The delivery is on disk (fsynced) before it is marked seen, so a crash in between can
        only lead to handling it twice (commands are idempotent), never to losing it.
        """
        name = _UNSAFE.sub("_", key)
        if (self.seen_dir / name).exists():
            return False
        try:
            write_durably(self.pending_dir / f"{name}.json", json.dumps(event_to_json(event)).encode())
            os.close(os.open(self.seen_dir / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False  # a concurrent duplicate won; the pending file holds the same delivery
        except OSError as e:
            raise JournalError(f"cannot store delivery {key}: {e}") from e
        self._prune()
        return True

    def pending(self) -> list[tuple[str, Event]]:
        """Deliveries not yet handled, oldest first; unreadable ones are set aside."""
        out = []
        for path in sorted(self.pending_dir.glob("*.json"), key=lambda p: p.stat().st_mtime_ns):
            try:
                out.append((path.stem, event_from_json(json.loads(path.read_text(encoding="utf-8")))))
            except (OSError, ValueError, TypeError):
                path.rename(path.with_suffix(".corrupt"))
        return out

    def done(self, key: str) -> None:
        """Forget a handled delivery (its key stays in seen/)."""
        (self.pending_dir / f"{_UNSAFE.sub('_', key)}.json").unlink(missing_ok=True)

    def _prune(self) -> None:
        """Keep the newest `keep` seen keys: redeliveries come within hours, not forever."""
        seen = sorted(self.seen_dir.iterdir(), key=lambda p: p.stat().st_mtime_ns)
        for path in seen[: max(0, len(seen) - self.keep)]:
            path.unlink(missing_ok=True)
