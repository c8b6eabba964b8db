"""Redoing a rollback on a branch that moved, in as few git processes as possible.

Under churn the remote's branch moves every few tens of milliseconds; the time from reading its head
(fetch) to updating it (push) decides whether the bot ever wins. So the redo is: one fetch, one check
that nothing relevant arrived, one `git fast-import` that writes the same edit as a commit on the new
head (no work tree, index or reset), then the push.
"""

import time
from collections.abc import Mapping, Sequence

import git

from gitops_bot.adapters.gitrepo import BOT_EMAIL, BOT_NAME, GitRepo
from gitops_bot.adapters.objects import ObjectWriter
from gitops_bot.core.errors import GitError

_WALK_LIMIT = 500  # commits between old and new head read in-process; more: plan from scratch


def fetch_branch(repo: GitRepo) -> str:
    """Fetch the branch (no tags, no reset) and return the remote head."""
    repo.git(
        "fetch", "--quiet", "--no-tags", "origin", f"+refs/heads/{repo.branch}:refs/remotes/{repo.remote_ref}"
    )
    loose = repo.workdir / ".git" / "refs" / "remotes" / repo.remote_ref
    try:  # fetch writes the updated ref loose: reading it saves a process inside the race window
        sha = loose.read_text().strip()
    except OSError:
        sha = ""
    return sha if len(sha) == 40 else repo.git("rev-parse", repo.remote_ref)


def moved_under(repo: GitRepo, old: str, new: str, files: Sequence[str]) -> bool:
    """Whether commits from old to new touch files or record a rollback (limits must be recounted).

    Read through the clone's long-lived cat-file process (no new git process): blob ids of the
    files at both ends, then the commits in between (bounded; a history that is not a plain
    descendant of old counts as moved).
    """
    cat = repo.repo.git
    try:
        if any(repo.blob_id(old, f) != repo.blob_id(new, f) for f in files):
            return True
        seen: set[str] = set()
        todo = [new]
        while todo:
            sha = todo.pop()
            if sha == old or sha in seen:
                continue
            seen.add(sha)
            if len(seen) > _WALK_LIMIT:
                return True
            raw = cat.get_object_data(sha)[3].decode("utf-8", errors="replace")
            header, _, message = raw.partition("\n\n")
            if any(line.startswith("Rollback-Of:") for line in message.splitlines()):
                return True
            parents = [line.split()[1] for line in header.splitlines() if line.startswith("parent ")]
            if not parents:
                return True  # reached the root without meeting old: not a descendant
            todo += parents
    except (ValueError, git.GitCommandError) as e:
        raise GitError(f"cannot compare {old[:12]}..{new[:12]}: {e}") from e
    return False


def commit_onto(repo: GitRepo, parent: str, files: Mapping[str, bytes], message: str) -> str:
    """A bot commit on parent with files replaced, written in-process; returns its sha."""
    ident = f"{BOT_NAME} <{BOT_EMAIL}> {int(time.time())} +0000"
    return ObjectWriter(repo.workdir / ".git", repo.repo.git).commit(parent, files, message, ident)
