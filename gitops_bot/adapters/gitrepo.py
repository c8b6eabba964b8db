"""The git adapter: the bot's own clone of the GitOps repo, driven through GitPython."""

import re
import shutil
import threading
from collections.abc import Generator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import git

from gitops_bot.adapters.clone_repair import clear_stale_locks
from gitops_bot.adapters.gitrun import GitLimits, GitRunner
from gitops_bot.adapters.push_status import push_refusal
from gitops_bot.core.culprit import CommitInfo
from gitops_bot.core.errors import GitError, PushRejectedError
from gitops_bot.core.statekey import TagRecord
from gitops_bot.core.trailers import RollbackRecord, parse_trailers, record_from

CLONE_WAIT = 900.0  # how long git work waits for a clone in progress (then fails; callers retry)

BOT_NAME = "gitops-bot"
BOT_EMAIL = "gitops-bot@users.noreply.local"
# Every commit the bot makes is authored and committed as the bot, whatever the clone's config says.
BOT_ENV = {
    "GIT_AUTHOR_NAME": BOT_NAME,
    "GIT_AUTHOR_EMAIL": BOT_EMAIL,
    "GIT_COMMITTER_NAME": BOT_NAME,
    "GIT_COMMITTER_EMAIL": BOT_EMAIL,
}
_FS, _RS = "\x1f", "\x1e"
# Records are NUL-separated (`log -z`): a commit message cannot contain NUL, so it cannot forge a
# commit into the culprit walk. The fields a committer controls come last.
_COMMIT_FORMAT = f"%H{_FS}%ct{_FS}%P{_FS}%an <%ae>{_FS}%B"
_HEADER = re.compile(r"^[0-9a-f]{40}\x1f\d+\x1f(?:[0-9a-f]{40}(?: [0-9a-f]{40})*)?\x1f")


def _at(ts: str) -> datetime:
    return datetime.fromtimestamp(int(ts), tz=UTC)


class GitRepo:
    """A working clone that tracks one branch of one remote."""

    def __init__(
        self,
        url: str,
        branch: str,
        workdir: Path,
        limits: GitLimits | None = None,
        *,
        max_file_bytes: int = 1024 * 1024,
        defer_clone: bool = False,
    ) -> None:
        """Open the clone in workdir, else clone now (defer_clone: when clone() is called, in the
        background; every git call waits for it, and the changed-path index comes after it)."""
        self.url, self.branch, self.workdir = url, branch, workdir
        self.max_file_bytes = max_file_bytes  # manifests over this are refused before parsing
        self.remote_ref = f"origin/{branch}"
        self._runner = GitRunner(workdir, limits)
        self._scanned: tuple[str, tuple[RollbackRecord, ...]] = ("", ())
        self._repo: git.Repo | None = None
        self._ready = threading.Event()
        self._index_later = defer_clone
        self.clone_error: str | None = None  # why the last background clone failed (for /readyz)
        if defer_clone and not (workdir / ".git").exists():
            workdir.parent.mkdir(parents=True, exist_ok=True)  # the engine's lock file sits there
        else:
            self.repo = self._open()

    # -- the clone itself: made now or in the background; git work waits for it ----------------

    @property
    def repo(self) -> git.Repo:
        """The GitPython repo, once the clone is complete."""
        self._wait()
        assert self._repo is not None
        return self._repo

    @repo.setter
    def repo(self, value: git.Repo) -> None:
        self._repo = value
        self._ready.set()

    @property
    def runner(self) -> GitRunner:
        """The git runner of the work tree, once the clone is complete."""
        self._wait()
        return self._runner

    def _wait(self) -> None:
        if not self._ready.wait(CLONE_WAIT):
            raise GitError(f"the clone of {self.url} is not complete after {CLONE_WAIT:.0f} s")

    @property
    def ready(self) -> bool:
        """Whether the clone is complete."""
        return self._ready.is_set()

    def clone(self) -> None:
        """Make the clone if there is none yet (idempotent); clone_error says why it failed."""
        if self._ready.is_set():
            return
        try:
            self.repo = self._open()
        except GitError as e:
            self.clone_error = str(e)
            raise
        self.clone_error = None

    def update_environment(self, **env: str) -> None:
        """Environment for every later git command, the clone itself included (e.g. a token)."""
        self._runner.extra_env.update(env)

    def indexed(self) -> bool:
        """Whether the changed-path filters are written (fetches keep them current from then on)."""
        got = self._runner.run("config", "--get", "fetch.writeCommitGraph", check=False)
        return got.status == 0 and got.stdout.strip() == "true"

    def index_history(self) -> None:
        """Write the changed-path filters (seconds on 50k commits); safe while serving, as git
        swaps the graph file atomically. Fetches write the graph only once this first write is
        done, so they never contend for its lock."""
        self._runner.run("commit-graph", "write", "--reachable", "--changed-paths")
        self._runner.run("config", "fetch.writeCommitGraph", "true")

    def _open(self) -> git.Repo:
        """Open the clone, cloning first when there is none."""
        if not (self.workdir / ".git").exists():
            self._clone()
        try:
            repo = git.Repo(self.workdir)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError) as e:
            raise GitError(f"{self.workdir} is not a usable clone: {e}") from e
        origin = self._runner.run("config", "--get", "remote.origin.url").stdout.strip()
        if origin != self.url:
            raise GitError(f"{self.workdir} is a clone of {origin}, not {self.url}")
        return repo

    def _clone(self) -> None:
        """A full clone (culprits at any depth, limit windows and ancestry need all of history),
        made beside workdir and renamed into place: a process killed mid-clone leaves nothing
        that the next start would take for a good clone."""
        side = self.workdir.with_name(f"{self.workdir.name}.cloning")
        shutil.rmtree(side, ignore_errors=True)
        self.workdir.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._runner.run(
                "clone", "--quiet", "--branch", self.branch, self.url, str(side), cwd=self.workdir.parent
            )
            side.rename(self.workdir)
        except (GitError, OSError) as e:
            # Nothing half-cloned is left to trip the next try; a timeout stays a timeout.
            shutil.rmtree(side, ignore_errors=True)
            kind = type(e) if isinstance(e, GitError) else GitError
            raise kind(f"cannot clone {self.url} (branch {self.branch}) into {self.workdir}: {e}") from e
        self._tune()

    def repair(self) -> str:
        """Make the clone usable again; say what was done ("" when it was fine).

        Stale lock files (a git killed mid-write) are removed unless a live git still works in the
        clone; a clone whose work tree or history is gone is re-cloned. Raises GitError when it
        cannot (remote down, a live git holding a lock, the folder belongs to another remote).
        """
        done = clear_stale_locks(self.workdir, self.runner.limits.local_timeout)
        healthy = (self.workdir / ".git").is_dir() and self.runner.run(
            "rev-parse", "--verify", "--quiet", f"{self.remote_ref}^{{commit}}", check=False
        ).status == 0
        if healthy:
            return "; ".join(done)
        self.repo.close()
        if self.workdir.exists():
            shutil.rmtree(self.workdir)  # our own clone, beyond use: history is on the remote
        self._scanned = ("", ())
        self.repo = self._open()
        return "; ".join([*done, f"re-cloned {self.workdir}"])

    def _tune(self) -> None:
        """Commit-graph with changed-path filters makes path-limited history walks cheap."""
        for key, value in (
            ("user.name", BOT_NAME),
            ("user.email", BOT_EMAIL),
            ("core.commitGraph", "true"),
            ("gc.auto", "0"),
        ):
            self._runner.run("config", key, value)
        if self._index_later:  # a plain graph now (a fraction of a second), the filters after
            self._runner.run("commit-graph", "write", "--reachable")
        else:
            self.index_history()

    def _git(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        """stdout of a checked git call, without its final newline."""
        out = self.runner.run(*args, env=env).stdout
        return out[:-1] if out.endswith("\n") else out

    def git(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        """Run any git command in the clone under the deadlines (for forge helpers)."""
        return self._git(*args, env=env)

    def sync(self) -> str:
        """Fetch the branch and tags, reset the work tree onto it, return the head sha."""
        self._git(
            "fetch",
            "--quiet",
            "--prune",
            "--tags",
            "--force",
            "origin",
            f"+refs/heads/{self.branch}:refs/remotes/{self.remote_ref}",
        )
        self._git("reset", "--quiet", "--hard", self.remote_ref)
        return self.head_sha()

    def head_sha(self) -> str:
        """The sha the work tree sits on."""
        return self._git("rev-parse", "HEAD")

    def read(self, rev: str, path: str) -> str | None:
        """A file's text at a revision for display (undecodable bytes shown as U+FFFD), or None."""
        data = self.read_bytes(rev, path)
        return data.decode("utf-8", errors="replace") if data is not None else None

    def read_bytes(self, rev: str, path: str) -> bytes | None:
        """A file's exact bytes at a revision, or None when it does not exist there."""
        try:
            _, kind, _, data = self.repo.git.get_object_data(_object_name(rev, path))
        except ValueError:
            return None
        except git.GitCommandError as e:
            raise GitError(f"cannot read {path} at {rev}: {(e.stderr or str(e)).strip()}") from e
        is_blob = cast(bytes, kind) == b"blob"  # GitPython's stubs say str; it hands back bytes
        return bytes(data) if is_blob else None

    def blob_id(self, rev: str, path: str) -> str | None:
        """The object id at rev:path through the long-lived cat-file process (no new git), or None."""
        try:
            return str(self.repo.git.get_object_header(_object_name(rev, path))[0])
        except ValueError:
            return None

    def list_files(self, rev: str) -> list[str]:
        """Every file path at a revision."""
        return self._git("ls-tree", "-r", "-z", "--name-only", rev).split("\0")[:-1] if rev else []

    def list_dir(self, rev: str, path: str) -> list[str]:
        """Names of the entries directly inside a folder at a revision (empty if absent)."""
        out = (
            self._git("ls-tree", "--name-only", f"{rev}:{path.rstrip('/')}") if self.exists(rev, path) else ""
        )
        return out.splitlines()

    def exists(self, rev: str, path: str) -> bool:
        """Whether the path exists at the revision."""
        try:
            self.repo.git.get_object_header(_object_name(rev, path.rstrip("/")))
        except ValueError:
            return False
        return True

    def commits(self, rev: str, paths: Sequence[str]) -> Generator[CommitInfo, None, None]:
        """First-parent commits from rev (newest first) that changed any of paths, read lazily.

        Streaming lets the culprit walk stop git as soon as it has passed the culprit, which on a
        deep history is most of the cost; closing the iterator ends the git process.
        """
        args = ["log", "-z", "--first-parent", f"--format={_COMMIT_FORMAT}", rev, "--", *paths]
        with self.runner.stream(*args) as stdout:
            pending = b""
            while chunk := stdout.read1(1 << 16):  # type: ignore[attr-defined]
                pending += chunk
                *records, pending = pending.split(b"\0")
                for record in records:
                    if text := record.decode("utf-8", errors="replace").lstrip("\n"):
                        yield _commit(text)
            if pending.strip():
                yield _commit(pending.decode("utf-8", errors="replace").lstrip("\n"))

    def commit_info(self, rev: str) -> CommitInfo:
        """One commit's info."""
        return _commit(self._git("log", "-1", f"--format={_COMMIT_FORMAT}", rev))

    def rollbacks(
        self, *, since: datetime | None = None, agent: str | None = None
    ) -> tuple[RollbackRecord, ...]:
        """Bot rollbacks on the branch's first-parent line, newest first, read from trailers.

        No --since: git stops walking at the first old-dated commit, and committer dates on a
        shared branch are not monotonic (rebases, skewed clocks), so the window is applied here.
        The scan is incremental from the last head seen (a cache only; git stays the record).
        """
        head = self._git("rev-parse", self.remote_ref)
        seen, records = self._scanned
        if seen != head:
            if seen and self.is_ancestor(seen, head):
                records = self._scan_rollbacks(f"{seen}..{head}") + records
            else:
                records = self._scan_rollbacks(head)
            self._scanned = (head, records)
        return tuple(
            r
            for r in records
            if (agent is None or r.agent == agent) and (since is None or r.committed_at >= since)
        )

    def _scan_rollbacks(self, revs: str) -> tuple[RollbackRecord, ...]:
        out = self._git(
            "log",
            "-z",
            "--first-parent",
            f"--format=%H{_FS}%ct{_FS}%(trailers:only,unfold)",
            "--grep=^Rollback-Of: ",
            "--extended-regexp",
            revs,
        )
        records = []
        for chunk in out.split("\0"):
            chunk = chunk.lstrip("\n")
            if chunk:
                sha, ts, trailers = chunk.split(_FS, 2)
                if (record := record_from(sha, _at(ts), parse_trailers(trailers))) is not None:
                    records.append(record)
        return tuple(records)

    def tags(self, patterns: Sequence[str]) -> list[tuple[str, str]]:
        """(tag name, commit sha) for tags matching the for-each-ref patterns."""
        out = self._git("for-each-ref", "--format=%(refname:strip=2) %(*objectname)%(objectname)", *patterns)
        pairs = []
        for line in out.splitlines():
            name, _, shas = line.partition(" ")
            pairs.append((name, shas[:40]))  # peeled commit first for annotated tags
        return pairs

    def is_ancestor(self, older: str, newer: str) -> bool:
        """Whether older is reachable from newer."""
        result = self.runner.run("merge-base", "--is-ancestor", older, newer, check=False)
        if result.status not in (0, 1):
            raise GitError(f"git merge-base failed (exit {result.status}): {result.stderr}")
        return result.status == 0

    def changed_files(self, sha: str) -> list[str]:
        """Files a commit changed against its first parent (a merge: what the merge brought in)."""
        return self._git("diff-tree", "-r", "--name-only", f"{sha}^1", sha).splitlines()

    def first_parent_after(self, sha: str) -> list[str]:
        """Commits on the branch's first-parent line after sha, oldest first (empty if sha is head)."""
        out = self._git("rev-list", "--first-parent", "--reverse", f"{sha}..{self.remote_ref}")
        return out.split()

    def commit_files(
        self, files: dict[str, bytes], message: str, *, parent: str, remove: Sequence[str] = ()
    ) -> str:
        """Write files (and delete `remove`), commit as the bot on top of parent; return the new sha.

        The files were computed from `parent`: if the work tree moved meanwhile (someone else
        synced this clone), committing would silently undo whatever arrived, so refuse.
        """
        if (head := self.head_sha()) != parent:
            raise PushRejectedError(f"work tree moved from {parent[:12]} to {head[:12]} before the commit")
        for name, text in files.items():
            path = self.workdir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text)  # exact bytes: no newline or encoding translation
        if files:
            self._git("add", "--", *files)
        if remove:
            self._git("rm", "--quiet", "--", *remove)
        msg_file = self.workdir / ".git" / "GITOPS_BOT_MSG"
        msg_file.write_text(message, encoding="utf-8")
        self._git("commit", "--quiet", "--no-verify", "--cleanup=verbatim", "-F", str(msg_file), env=BOT_ENV)
        return self.head_sha()

    def push(self, refspec: str) -> bool:
        """Push a refspec (never forced); False if the remote already had exactly this commit.

        Raises PushRejectedError if the remote moved.
        """
        result = self.runner.run("push", "--porcelain", "origin", refspec, check=False)
        refusal = push_refusal(result)
        if refusal is not None:
            raise refusal
        # Two replicas building the same rollback in the same second make the same sha.
        return not any(line.startswith("=\t") for line in result.stdout.splitlines())

    def tag(self, name: str, rev: str, message: str, *, replace: bool = True) -> bool:
        """Create an annotated tag and push it; without replace, False if it already exists remotely."""
        force = ["--force"] if replace else []
        # verbatim: the message is stored byte for byte, so an authenticator over it still verifies.
        # Locally always forced: the tag may already be here (fetched by a sync after a crash that
        # came right after the push, or left by a try that died before it); the push decides.
        self._git("tag", "--annotate", "--cleanup=verbatim", "--force", "--message", message, name, rev)
        result = self.runner.run("push", "--porcelain", *force, "origin", f"refs/tags/{name}", check=False)
        if not replace and "[rejected] (already exists)" in result.stdout:
            self._git(
                "fetch", "--quiet", "--no-write-fetch-head", "origin", f"+refs/tags/{name}:refs/tags/{name}"
            )
            return False
        if (refusal := push_refusal(result)) is not None:
            raise GitError(f"push of tag {name} refused: {refusal}") from refusal
        return True

    def tag_records(self, prefix: str) -> list[TagRecord]:
        """Every tag under refs/tags/<prefix> with the commit it points at and its message."""
        fields = "%(refname)", "%(objecttype)", "%(*objectname)", "%(objectname)", "%(contents)"
        out = self._git("for-each-ref", f"--format={_FS.join(fields)}{_RS}", f"refs/tags/{prefix}")
        found = []
        for chunk in out.split(_RS):
            parts = chunk.lstrip("\n").split(_FS, 4)
            if len(parts) == 5 and parts[0].startswith("refs/tags/") and "\n" not in parts[0]:
                ref, kind, peeled, sha, message = parts
                found.append(TagRecord(ref.removeprefix("refs/tags/"), peeled or sha, message, kind == "tag"))
        return found

    def tag_messages(self, prefix: str) -> dict[str, str]:
        """Annotated tags under refs/tags/<prefix>: name (after the prefix) -> message."""
        out = self._git("for-each-ref", f"--format=%(refname){_FS}%(contents){_RS}", f"refs/tags/{prefix}")
        found = {}
        for chunk in out.split(_RS):
            name, sep, message = chunk.lstrip("\n").partition(_FS)
            if sep and name.startswith(f"refs/tags/{prefix}") and "\n" not in name:
                found[name.removeprefix(f"refs/tags/{prefix}")] = message
        return found


def _object_name(rev: str, path: str) -> str:
    """`rev:path` for GitPython's long-lived `cat-file --batch` process, which reads one name per line.

    Last line of defence: a newline (or any whitespace or control character) in the name would
    split it into two requests and leave every later answer off by one until a restart.
    """
    name = f"{rev}:{path}"
    if any(c.isspace() or not c.isprintable() for c in name):
        raise GitError(f"refusing to look up {name!r}: whitespace or control characters in an object name")
    return name


def _commit(chunk: str) -> CommitInfo:
    if not _HEADER.match(chunk):
        raise GitError(f"unexpected git log record: {chunk[:80]!r}")
    sha, ts, parents, author, message = chunk.split(_FS, 4)
    return CommitInfo(sha, _at(ts), author, message, tuple(parents.split()))
