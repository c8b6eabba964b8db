"""Stale git lock files in the bot's clone: find them, and remove only those no live git holds.

git does not flock its lock files: a `*.lock` file existing *is* the lock, and a git killed
mid-write (OOM, kill -9, our own deadline) leaves it behind, failing every later command. So
"held" is judged the only way available: is a git process still working in this clone (its cwd
is the clone, per /proc)? The long-lived `cat-file --batch` readers never take locks and are not
counted.
"""

import os
import time
from pathlib import Path

from gitops_bot.core.errors import GitError


def lock_files(workdir: Path) -> list[Path]:
    """Lock files git may leave in a clone: index, HEAD, config, packed-refs, any ref."""
    git_dir = workdir / ".git"
    if not git_dir.is_dir():
        return []
    return sorted([*git_dir.glob("*.lock"), *(git_dir / "refs").rglob("*.lock")])


def live_git_pids(workdir: Path) -> list[int]:
    """Other git processes whose working folder is inside the clone (read from /proc)."""
    found, root = [], str(workdir.resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if not (entry / "comm").read_text().startswith("git"):
                continue
            cwd = os.readlink(entry / "cwd")
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile, or not ours to look at
            continue
        if (cwd == root or cwd.startswith(root + "/")) and b"cat-file" not in argv:
            found.append(int(entry.name))
    return found


def clear_stale_locks(workdir: Path, deadline: float) -> list[str]:
    """Remove lock files no live git holds; say what was removed.

    A lock a live git holds is left alone; if it has been held past the git deadline (nothing the
    bot runs lives that long) the clone cannot be used and GitError says by whom.
    """
    locks = lock_files(workdir)
    if not locks:
        return []
    holders = live_git_pids(workdir)
    removed = []
    for lock in locks:
        try:
            age = time.time() - lock.stat().st_mtime
        except FileNotFoundError:  # its git finished meanwhile
            continue
        if holders:
            if age > deadline:
                raise GitError(
                    f"{lock} held for {age:.0f}s by live git process(es) {holders}; not removing it"
                )
            continue
        lock.unlink(missing_ok=True)
        removed.append(f"removed stale {lock.relative_to(workdir)} ({age:.0f}s old, no git running)")
    return removed
