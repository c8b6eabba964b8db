"""The git adapter: the bot's own clone of the GitOps repo, driven through GitPython."""

import re
import subprocess
from collections.abc import Generator, Sequence
from datetime import UTC, datetime
from io import BufferedReader
from pathlib import Path
from typing import cast

import git

from gitops_bot.adapters.gitclone import Clone
from gitops_bot.core.culprit import CommitInfo
from gitops_bot.core.errors import GitError, PushRejectedError
from gitops_bot.core.trailers import RollbackRecord, parse_trailers, record_from

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
_CLONE_CONFIG = {
    "user.name": BOT_NAME,
    "user.email": BOT_EMAIL,
    "core.commitGraph": "true",
    "gc.auto": "0",
}
_REJECTED = ("non-fast-forward", "fetch first", "[rejected]", "stale info", "failed to update ref")


def _at(ts: str) -> datetime:
    return datetime.fromtimestamp(int(ts), tz=UTC)


class GitRepo:
    """A working clone that tracks one branch of one remote."""

    def __init__(
        self,
        url: str,
        branch: str,
        workdir: Path,
        *,
        max_file_bytes: int = 1024 * 1024,
        defer_clone: bool = False,
    ) -> None:
        """Open the clone in workdir, else clone now (defer_clone: when clone() is called)."""
        self.url, self.branch, self.workdir = url, branch, workdir
        self.max_file_bytes = max_file_bytes  # manifests over this are refused before parsing
        self.remote_ref = f"origin/{branch}"
        self._scanned: tuple[str, tuple[RollbackRecord, ...]] = ("", ())
        self._clone = Clone(url, branch, workdir, config=_CLONE_CONFIG)
        if self._clone.exists():
            self._clone.open()
        elif not defer_clone:
            self._clone.make()
            self._clone.index_history()
        else:
            self._clone.make_room()

    # The clone itself (adapters/gitclone.py): every git call below goes through `repo`, which
    # waits while a background clone is still being made.

    def clone(self) -> None:
        """Make the full clone if there is none yet (idempotent)."""
        self._clone.make()

    @property
    def ready(self) -> bool:
        """Whether the clone is complete (before that, git work waits)."""
        return self._clone.ready

    @property
    def clone_error(self) -> str | None:
        """Why the last clone attempt failed, if it did."""
        return self._clone.error

    @property
    def repo(self) -> git.Repo:
        """The GitPython repo, once the clone is complete."""
        return self._clone.repo

    def update_environment(self, **env: str) -> None:
        """Environment for every later git command of this clone, the clone itself included."""
        self._clone.update_environment(**env)

    def indexed(self) -> bool:
        """Whether the changed-path filters are written."""
        return self._clone.indexed()

    def index_history(self) -> None:
        """Write the changed-path filters that make path-limited walks cheap (seconds on 50k commits)."""
        self._clone.index_history()

    def _git(self, *args: str, env: dict[str, str] | None = None) -> str:
        try:
            return str(self.repo.git.execute(["git", *args], env=env))
        except git.GitCommandError as e:
            raise GitError(f"git {args[0]} failed: {_why(e)}") from e

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
        return self.repo.head.commit.hexsha

    def read(self, rev: str, path: str) -> str | None:
        """A file's text at a revision for display (undecodable bytes shown as U+FFFD), or None."""
        data = self.read_bytes(rev, path)
        return data.decode("utf-8", errors="replace") if data is not None else None

    def read_bytes(self, rev: str, path: str) -> bytes | None:
        """A file's exact bytes at a revision, or None when it does not exist there."""
        try:
            _, kind, _, data = self.repo.git.get_object_data(f"{rev}:{path}")
        except ValueError:
            return None
        except git.GitCommandError as e:
            raise GitError(f"cannot read {path} at {rev}: {_why(e)}") from e
        is_blob = cast(bytes, kind) == b"blob"  # GitPython's stubs say str; it hands back bytes
        return bytes(data) if is_blob else None

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
            self.repo.git.get_object_header(f"{rev}:{path.rstrip('/')}")
        except ValueError:
            return False
        return True

    def commits(self, rev: str, paths: Sequence[str]) -> Generator[CommitInfo, None, None]:
        """First-parent commits from rev (newest first) that changed any of paths, read lazily.

        Streaming lets the culprit walk stop git as soon as it has passed the culprit, which on a
        deep history is most of the cost; closing the iterator ends the git process.
        """
        args = ["git", "log", "-z", "--first-parent", f"--format={_COMMIT_FORMAT}", rev, "--", *paths]
        try:
            proc = self.repo.git.execute(args, as_process=True)
        except git.GitCommandError as e:
            raise GitError(f"git log failed: {_why(e)}") from e
        popen = cast("subprocess.Popen[bytes]", proc.proc)
        stdout, stderr = cast(BufferedReader, popen.stdout), cast(BufferedReader, popen.stderr)
        pending = b""
        try:
            while chunk := stdout.read1(1 << 16):
                pending += chunk
                *records, pending = pending.split(b"\0")
                for record in records:
                    if text := record.decode("utf-8", errors="replace").lstrip("\n"):
                        yield _commit(text)
            if pending.strip():
                yield _commit(pending.decode("utf-8", errors="replace").lstrip("\n"))
            if popen.wait() != 0:
                raise GitError(f"git log {rev} failed: {stderr.read().decode(errors='replace').strip()}")
        finally:
            if popen.poll() is None:
                popen.kill()
                popen.wait()

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
        try:
            self.repo.git.merge_base("--is-ancestor", older, newer)
        except git.GitCommandError as e:
            if e.status == 1:
                return False
            raise GitError(f"merge-base failed: {_why(e)}") from e
        return True

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
        msg_file = Path(self.repo.git_dir) / "GITOPS_BOT_MSG"
        msg_file.write_text(message, encoding="utf-8")
        self._git("commit", "--quiet", "--no-verify", "--cleanup=verbatim", "-F", str(msg_file), env=BOT_ENV)
        return self.head_sha()

    def push(self, refspec: str) -> bool:
        """Push a refspec (never forced); False if the remote already had exactly this commit.

        Raises PushRejectedError if the remote moved.
        """
        try:
            out = str(self.repo.git.push("--porcelain", "origin", refspec))
            # Two replicas building the same rollback in the same second make the same sha.
            return not any(line.startswith("=\t") for line in out.splitlines())
        except git.GitCommandError as e:
            text = f"{e.stdout} {e.stderr}"
            if any(marker in text for marker in _REJECTED):
                raise PushRejectedError(f"push of {refspec} rejected: the remote moved") from e
            raise GitError(f"git push failed: {_why(e)}") from e

    def tag(self, name: str, rev: str, message: str, *, replace: bool = True) -> bool:
        """Create an annotated tag and push it; without replace, False if it already exists remotely."""
        force = ["--force"] if replace else []
        # Locally always forced: a tag left by a try that died before its push must not block the
        # retry. The push (forced only with replace) is what decides.
        self._git("tag", "--annotate", "--force", "--message", message, name, rev)
        try:
            self.repo.git.push("--porcelain", *force, "origin", f"refs/tags/{name}")
        except git.GitCommandError as e:
            if not replace and "already exists" in f"{e.stdout} {e.stderr}":
                self._git("fetch", "--quiet", "origin", f"+refs/tags/{name}:refs/tags/{name}")
                return False
            raise GitError(f"git push of tag {name} failed: {_why(e)}") from e
        return True

    def tag_messages(self, prefix: str) -> dict[str, str]:
        """Annotated tags under refs/tags/<prefix>: name (after the prefix) -> message."""
        out = self._git("for-each-ref", f"--format=%(refname){_FS}%(contents){_RS}", f"refs/tags/{prefix}")
        found = {}
        for chunk in out.split(_RS):
            name, sep, message = chunk.lstrip("\n").partition(_FS)
            if sep and name.startswith(f"refs/tags/{prefix}") and "\n" not in name:
                found[name.removeprefix(f"refs/tags/{prefix}")] = message
        return found


def _commit(chunk: str) -> CommitInfo:
    if not _HEADER.match(chunk):
        raise GitError(f"unexpected git log record: {chunk[:80]!r}")
    sha, ts, parents, author, message = chunk.split(_FS, 4)
    return CommitInfo(sha, _at(ts), author, message, tuple(parents.split()))


def _why(e: Exception) -> str:
    if isinstance(e, git.GitCommandError):
        text = (e.stderr or e.stdout or "").strip().strip("'").strip()
        return text.splitlines()[-1] if text else f"exit {e.status}"
    return str(e)
