"""Making the bot's clone: a full clone into a side folder renamed into place, indexed in two steps.

Always a full clone: culprits at any depth, the limit windows (trailers over the whole window) and
ancestry checks need every commit, and the walks read trees and blobs of thousands of commits, so
a shallow clone would miss culprits and a blobless or treeless one would fetch per object.
"""

import os
import shutil
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path

import git

from gitops_bot.core.errors import GitError

CLONE_TIMEOUT = 1800.0  # a very large repo over a slow link; the bot journals alerts meanwhile
INDEX_TIMEOUT = 1800.0
CONFIG_TIMEOUT = 30.0
CLONE_WAIT = 900.0  # how long git work waits for a clone in progress (then fails; callers retry)


def _run(args: list[str], env: Mapping[str, str], timeout: float) -> str:
    try:
        done = subprocess.run(
            args,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise GitError(f"git {args[3] if len(args) > 3 else args[1]} took over {timeout:.0f} s") from e
    except OSError as e:
        raise GitError(f"cannot run git: {e}") from e
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise GitError(lines[-1] if lines else f"git exited with {done.returncode}")
    return done.stdout


def clone_into(
    url: str, branch: str, workdir: Path, *, env: Mapping[str, str], config: Mapping[str, str]
) -> None:
    """Clone url's branch into workdir (which must not exist), with config set and a commit-graph.

    The clone is made beside workdir and renamed into place, so a process killed mid-clone leaves
    no half clone that the next start would take for a good one.
    """
    side = workdir.with_name(f"{workdir.name}.cloning")
    shutil.rmtree(side, ignore_errors=True)
    workdir.parent.mkdir(parents=True, exist_ok=True)
    _run(["git", "clone", "--quiet", "--branch", branch, "--", url, str(side)], env, CLONE_TIMEOUT)
    for key, value in config.items():
        _run(["git", "-C", str(side), "config", key, value], env, CONFIG_TIMEOUT)
    # A plain commit-graph (parents, generations) is a fraction of a second and speeds every walk;
    # the changed-path filters take seconds and come later (index_history).
    _run(["git", "-C", str(side), "commit-graph", "write", "--reachable"], env, INDEX_TIMEOUT)
    try:
        os.rename(side, workdir)
    except OSError as e:
        raise GitError(f"cannot move the new clone into {workdir}: {e.strerror or e}") from e


def indexed(workdir: Path) -> bool:
    """Whether index_history finished in this clone (its last step is the config it checks)."""
    try:
        out = _run(
            ["git", "-C", str(workdir), "config", "--get", "fetch.writeCommitGraph"], {}, CONFIG_TIMEOUT
        )
    except GitError:
        return False
    return out.strip() == "true"


def index_history(workdir: Path, *, env: Mapping[str, str]) -> None:
    """Changed-path Bloom filters for every commit: path-limited walks then skip most trees.

    Safe while the bot serves (git replaces the graph file atomically). Fetches only start keeping
    the graph current (fetch.writeCommitGraph) once this first write is done, so they never
    contend with it for the graph's lock.
    """
    _run(
        ["git", "-C", str(workdir), "commit-graph", "write", "--reachable", "--changed-paths"],
        env,
        INDEX_TIMEOUT,
    )
    _run(["git", "-C", str(workdir), "config", "fetch.writeCommitGraph", "true"], env, CONFIG_TIMEOUT)


class Clone:
    """The bot's clone of one branch: opened, or made now or in the background; usable once ready."""

    def __init__(self, url: str, branch: str, workdir: Path, *, config: Mapping[str, str]) -> None:
        self.url, self.branch, self.workdir, self.config = url, branch, workdir, config
        self.error: str | None = None  # why the last attempt to make it failed
        self._repo: git.Repo | None = None
        self._env: dict[str, str] = {}
        self._ready = threading.Event()

    def exists(self) -> bool:
        """Whether a clone is already in workdir (one that was renamed into place: complete)."""
        return (self.workdir / ".git").exists()

    def make_room(self) -> None:
        """Create workdir's parent now: the engine's lock file sits beside the clone-to-be."""
        try:
            self.workdir.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise GitError(f"cannot create {self.workdir.parent}: {e.strerror or e}") from e

    def make(self) -> None:
        """Make the full clone unless it is ready (idempotent), then open it."""
        if self._ready.is_set():
            return
        try:
            clone_into(self.url, self.branch, self.workdir, env=self._env, config=self.config)
        except GitError as e:
            self.error = f"cannot clone {self.url} (branch {self.branch}) into {self.workdir}: {e}"
            raise GitError(self.error) from e
        self.error = None
        self.open()

    def open(self) -> None:
        """Open the clone in workdir; it must be a clone of url."""
        try:
            repo = git.Repo(self.workdir)
            origin = repo.remotes.origin.url
        except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError, AttributeError) as e:
            raise GitError(f"{self.workdir} is not a usable clone of {self.url}: {e}") from e
        if origin != self.url:
            raise GitError(f"{self.workdir} is a clone of {origin}, not {self.url}")
        repo.git.update_environment(**self._env)
        self._repo = repo
        self._ready.set()

    @property
    def ready(self) -> bool:
        """Whether the clone is complete."""
        return self._ready.is_set()

    @property
    def repo(self) -> git.Repo:
        """The GitPython repo; waits while the clone is being made."""
        if not self._ready.wait(CLONE_WAIT):
            raise GitError(f"the clone of {self.url} is not complete after {CLONE_WAIT:.0f} s")
        assert self._repo is not None
        return self._repo

    def update_environment(self, **env: str) -> None:
        """Environment for every later git command, the clone itself included."""
        self._env.update(env)
        if self._repo is not None:
            self._repo.git.update_environment(**env)

    def indexed(self) -> bool:
        """Whether index_history has finished in this clone."""
        return indexed(self.workdir)

    def index_history(self) -> None:
        """Write the changed-path filters (see index_history)."""
        index_history(self.workdir, env=self._env)
