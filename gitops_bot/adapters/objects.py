"""Writing a commit straight into the clone's object store, in-process.

Used only on the redo path under churn, where every git process spawned inside the fetch-to-push
window is time the competing pusher uses to win again. Objects are read through the clone's
long-lived cat-file process and written as loose objects (zlib-deflated `<type> <size>\\0<data>`,
named by SHA-1), exactly as `git hash-object -w` would.
"""

import hashlib
import os
import tempfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitops_bot.core.errors import GitError

_TREE_MODE = b"40000"
_FILE_MODE = b"100644"


class ObjectWriter:
    """Builds trees and a commit on top of a parent, reading via `cat` (GitPython's persistent git)."""

    def __init__(self, git_dir: Path, cat: Any) -> None:
        self.objects, self.cat = git_dir / "objects", cat
        self._trees: dict[str, bytes] = {}  # trees written here, not re-read through cat-file

    def write(self, kind: str, data: bytes) -> str:
        """Store one object (idempotent) and return its id."""
        raw = kind.encode() + b" %d\0" % len(data) + data
        sha = hashlib.sha1(raw, usedforsecurity=False).hexdigest()
        path = self.objects / sha[:2] / sha[2:]
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="tmp_obj_")
            with os.fdopen(fd, "wb") as f:
                f.write(zlib.compress(raw, 1))
            os.replace(tmp, path)  # readers see a whole object or none
        if kind == "tree":
            self._trees[sha] = data
        return sha

    def _read(self, sha: str, kind: str) -> bytes:
        if kind == "tree" and sha in self._trees:
            return self._trees[sha]
        _, found, _, data = self.cat.get_object_data(sha)
        if found != kind.encode():
            raise GitError(f"object {sha[:12]} is a {found!r}, expected a {kind}")
        return bytes(data)

    def commit(self, parent: str, files: Mapping[str, bytes], message: str, ident: str) -> str:
        """A commit of parent's tree with files replaced (created if absent), by ident."""
        header = self._read(parent, "commit").split(b"\n\n", 1)[0]
        tree = next(line.split()[1].decode() for line in header.splitlines() if line.startswith(b"tree "))
        for name, data in files.items():
            tree = self._put(tree, name.split("/"), self.write("blob", data))
        body = f"tree {tree}\nparent {parent}\nauthor {ident}\ncommitter {ident}\n\n{message}"
        return self.write("commit", body.encode())

    def _put(self, tree: str | None, parts: list[str], blob: str) -> str:
        entries = _parse_tree(self._read(tree, "tree")) if tree else {}
        name = parts[0].encode()
        if len(parts) == 1:
            mode = entries.get(name, (_FILE_MODE, b""))[0]
            entries[name] = (mode if mode != _TREE_MODE else _FILE_MODE, bytes.fromhex(blob))
        else:
            sub = entries.get(name)
            inner = sub[1].hex() if sub is not None and sub[0] == _TREE_MODE else None
            entries[name] = (_TREE_MODE, bytes.fromhex(self._put(inner, parts[1:], blob)))
        return self.write("tree", _format_tree(entries))


def _parse_tree(data: bytes) -> dict[bytes, tuple[bytes, bytes]]:
    entries, i = {}, 0
    while i < len(data):
        space = data.index(b" ", i)
        nul = data.index(b"\0", space)
        entries[data[space + 1 : nul]] = (data[i:space], data[nul + 1 : nul + 21])
        i = nul + 21
    return entries


def _format_tree(entries: dict[bytes, tuple[bytes, bytes]]) -> bytes:
    # git orders tree entries by name, with a folder compared as if its name ended in "/".
    def key(name: bytes) -> bytes:
        return name + b"/" if entries[name][0] == _TREE_MODE else name

    return b"".join(entries[n][0] + b" " + n + b"\0" + entries[n][1] for n in sorted(entries, key=key))
