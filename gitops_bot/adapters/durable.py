"""Durable files: what the journal and the GitHub inbox promise before they answer "accepted".

A file is durable once its bytes are fsynced, it is renamed into place (readers never see half a
file) and its folder is fsynced (the rename itself survives a power cut). OSError is left to the
caller, which knows which error to raise and what to tell the sender.
"""

import os
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    """Make a rename in the folder durable (the file's own fsync does not cover its name)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes, *, sync_dir: bool = True) -> None:
    """Write `data` to `path` atomically and durably; no temp file is left behind on failure.

    With `sync_dir=False` the caller fsyncs the folder itself once for many files (group commit).
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
        if sync_dir:
            fsync_dir(path.parent)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
