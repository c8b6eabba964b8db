"""The one way the bot runs git: a deadline on every call, the whole (bounded) stderr, typed errors.

A remote that accepts a connection and then goes silent must not freeze the worker (which holds the
work-tree lock) forever, so every call has a wall-clock deadline after which git's whole process
group is killed (git spawns remote helpers, ssh, receive-pack and hooks). HTTP transfers also get
git's low-speed abort and ssh gets connect/keepalive timeouts, so a stall fails well before the kill.
"""

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from gitops_bot.core.errors import GitError, GitTimeoutError

STDERR_LIMIT = 4096  # enough for a hook's whole reason, bounded so a chatty remote cannot flood logs
# Commands that talk to the remote; everything else reads or writes the local clone only.
NETWORK = frozenset({"clone", "fetch", "push", "ls-remote", "pull"})


@dataclass(frozen=True)
class GitLimits:
    """Deadlines for git (gitops-bot.yaml `git:`); seconds unless said otherwise."""

    network_timeout: float = 120.0  # clone, fetch, push: killed after this
    local_timeout: float = 60.0  # everything else (log, commit, reset, ...)
    low_speed_limit: int = 1000  # bytes/s: HTTP transfers slower than this ...
    low_speed_time: int = 20  # ... for this long are aborted by git itself
    ssh_connect_timeout: int = 10
    ssh_keepalive: int = 5  # ServerAliveInterval; 3 missed answers end the connection

    def deadline(self, command: str) -> float:
        """The kill deadline for one git subcommand."""
        return self.network_timeout if command in NETWORK else self.local_timeout


@dataclass(frozen=True)
class GitResult:
    """What a finished git call printed."""

    status: int
    stdout: str
    stderr: str


def bounded(text: str, limit: int = STDERR_LIMIT) -> str:
    """Keep the head and the tail of a long text: a hook's reason comes first, git's verdict last."""
    text = text.strip()
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit} characters cut ...]\n{text[-half:]}"


def oneline(text: str) -> str:
    """stderr folded onto one line for outcomes and log lines."""
    return " | ".join(line.strip() for line in text.splitlines() if line.strip())


class GitRunner:
    """Runs git in one folder under GitLimits."""

    def __init__(self, cwd: Path, limits: GitLimits | None = None) -> None:
        self.cwd, self.limits = cwd, limits or GitLimits()
        self.extra_env: dict[str, str] = {}  # e.g. credentials for the forge, set once by wiring

    def env(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """The process environment: no prompts, stall limits for HTTP and ssh."""
        lim = self.limits
        ssh = os.environ.get("GIT_SSH_COMMAND", "ssh")  # ssh keeps the first value: the operator's wins
        return {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_HTTP_LOW_SPEED_LIMIT": str(lim.low_speed_limit),
            "GIT_HTTP_LOW_SPEED_TIME": str(lim.low_speed_time),
            "GIT_SSH_COMMAND": f"{ssh} -o BatchMode=yes -o ConnectTimeout={lim.ssh_connect_timeout}"
            f" -o ServerAliveInterval={lim.ssh_keepalive} -o ServerAliveCountMax=3",
            **self.extra_env,
            **(env or {}),
        }

    def _start(
        self, args: tuple[str, ...], env: Mapping[str, str] | None, cwd: Path | None, stdin: bool = False
    ) -> "subprocess.Popen[bytes]":
        try:
            return subprocess.Popen(
                ["git", *args],
                cwd=cwd or self.cwd,
                env=self.env(env),
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group, so the kill reaches helpers and hooks
            )
        except OSError as e:  # the clone's folder is gone, or git is not installed
            raise GitError(f"cannot run git {args[0]} in {cwd or self.cwd}: {e.strerror or e}") from e

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        cwd: Path | None = None,
        data: bytes | None = None,
    ) -> GitResult:
        """Run `git args`; raise GitError (GitTimeoutError past the deadline) unless check is off."""
        deadline = self.limits.deadline(args[0])
        proc = self._start(args, env, cwd, stdin=data is not None)
        try:
            out, err = proc.communicate(data, timeout=deadline)
        except subprocess.TimeoutExpired as e:
            _kill_group(proc)
            out, err = proc.communicate()
            why = bounded(err.decode("utf-8", errors="replace"))
            raise GitTimeoutError(
                f"git {args[0]} killed after its {deadline:g}s deadline"
                + (f": {oneline(why)}" if why else "")
            ) from e
        result = GitResult(
            proc.returncode, out.decode("utf-8", errors="replace"), bounded(err.decode(errors="replace"))
        )
        if check and result.status != 0:
            raise GitError(
                f"git {args[0]} failed (exit {result.status}): {oneline(result.stderr) or 'no message'}"
            )
        return result

    @contextmanager
    def stream(self, *args: str) -> Iterator[IO[bytes]]:
        """`git args` with stdout read as it comes; the deadline still kills it; closing ends it."""
        proc = self._start(args, None, None)
        deadline = self.limits.deadline(args[0])
        killed = threading.Event()

        def expire() -> None:
            killed.set()
            _kill_group(proc)

        timer = threading.Timer(deadline, expire)
        timer.daemon = True
        timer.start()
        finished = False
        try:
            assert proc.stdout is not None
            yield proc.stdout
            finished = True
        finally:
            timer.cancel()
            if proc.poll() is None and not finished:
                _kill_group(proc)  # the reader stopped early (culprit found): end git now
            status = proc.wait()
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
        if finished and killed.is_set():
            raise GitTimeoutError(f"git {args[0]} killed after its {deadline:g}s deadline")
        if finished and status != 0:
            raise GitError(f"git {args[0]} failed (exit {status}): {oneline(bounded(err)) or 'no message'}")


def _kill_group(proc: "subprocess.Popen[bytes]") -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(proc.pid, signal.SIGKILL)
