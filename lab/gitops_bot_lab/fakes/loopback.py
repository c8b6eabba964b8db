"""Shared plumbing of the stand-ins: a threaded WSGI server on 127.0.0.1 and read-only git plumbing."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

GIT_TIMEOUT_S = 20
_GIT_LOCATION_VARS = frozenset(
    {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR"}
)


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment minus repo-pinning variables, with a neutral git config, plus `extra`.

    A caller such as a git hook running pytest may have pinned GIT_DIR and friends; the stand-ins
    must act on their own bare repository regardless.
    """
    env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARS}
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"})
    env.update(extra or {})
    return env


class _QuietHandler(WSGIRequestHandler):
    """No access-log line per request; the stand-ins keep their own call logs."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silenced on purpose."""


class LoopbackServer:
    """Serve a WSGI app on 127.0.0.1:<free port> from a daemon thread; use as a context manager."""

    def __init__(self, app: Callable[..., Any], *, port: int = 0, poll_interval: float = 0.5) -> None:
        # A short poll interval makes stop() quick (shutdown waits for the serve loop's next poll).
        self._app, self._port, self._poll_interval = app, port, poll_interval
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:43123."""
        if self._server is None:
            raise RuntimeError("server not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> None:
        """Bind and serve."""
        self._server = make_server(
            "127.0.0.1", self._port, self._app, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": self._poll_interval},
            name="stand-in",
            daemon=True,
        )
        self._thread.start()

    def __enter__(self) -> LoopbackServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving and join the thread (bounded)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None


class ServedOnLoopback:
    """A stand-in served by its `_server`: a context manager that starts and stops it, and its URL."""

    _server: LoopbackServer

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    @property
    def url(self) -> str:
        """Base URL of the stand-in, e.g. http://127.0.0.1:43123."""
        return self._server.url


class BareGit:
    """The few read-only questions a controller asks the real bare repository."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """git --git-dir=<bare> ..., bounded in time, independent of the caller's git env."""
        return subprocess.run(
            ["git", "--git-dir", str(self.path), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            env=git_env(),
            check=False,
        )

    def commit(self, rev: str) -> str | None:
        """Full sha of the commit `rev` names (branch, tag, sha, HEAD), or None."""
        proc = self.run("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
        return proc.stdout.strip() if proc.returncode == 0 else None

    def ref_kind(self, rev: str) -> str | None:
        """'branch', 'tag', 'commit' or None: how a controller would read this target."""
        if rev in ("", "HEAD"):
            return "branch"
        if (
            self.run(
                "show-ref", "--verify", "--quiet", f"refs/heads/{rev.removeprefix('refs/heads/')}"
            ).returncode
            == 0
        ):
            return "branch"
        if (
            self.run(
                "show-ref", "--verify", "--quiet", f"refs/tags/{rev.removeprefix('refs/tags/')}"
            ).returncode
            == 0
        ):
            return "tag"
        return "commit" if self.commit(rev) else None

    def tree(self, sha: str, path: str) -> str | None:
        """Tree id of `path` at `sha` (what a controller renders manifests from), or None."""
        spec = f"{sha}:{path.strip('/')}" if path.strip("/") not in ("", ".") else f"{sha}^{{tree}}"
        proc = self.run("rev-parse", "--verify", "--quiet", spec)
        return proc.stdout.strip() if proc.returncode == 0 else None
