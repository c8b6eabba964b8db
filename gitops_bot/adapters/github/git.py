"""Git work the GitHub forge needs beyond the core loop: PR heads, amends, quarantine reads."""

import contextlib
import difflib
from datetime import UTC, datetime

from gitops_bot.adapters.gitrepo import BOT_ENV, GitRepo
from gitops_bot.adapters.push_status import push_refusal
from gitops_bot.core.errors import GitError, PushRejectedError
from gitops_bot.core.plan import Plan


def _run(repo: GitRepo, *args: str, env: dict[str, str] | None = None) -> str:
    return repo.git(*args, env=env)  # the one runner: deadlines, whole stderr, GitError


def fetch_head(repo: GitRepo, number: int, head_ref: str) -> str:
    """Fetch a PR's head (the branch, else GitHub's refs/pull/N/head for forks) and return its sha."""
    local = f"refs/gitops-bot/pull/{number}"
    for source in (f"refs/heads/{head_ref}", f"refs/pull/{number}/head"):
        try:
            _run(repo, "fetch", "--quiet", "--no-tags", "origin", f"+{source}:{local}")
        except GitError:
            continue
        return _run(repo, "rev-parse", local)
    raise GitError(f"cannot fetch the head of PR #{number} ({head_ref})")


def amend_message(repo: GitRepo, sha: str, message: str) -> str:
    """The same tree and parents under a new message, committed as the bot."""
    parents = _run(repo, "rev-list", "--parents", "-n", "1", sha).split()[1:]
    args = ["commit-tree", f"{sha}^{{tree}}", "-m", message.rstrip("\n")]
    for parent in parents:
        args += ["-p", parent]
    return _run(repo, *args, env=BOT_ENV).strip()


def force_push(repo: GitRepo, sha: str, branch: str, *, expected: str) -> None:
    """Replace the bot's own branch tip, only if it is still `expected` (lease)."""
    result = repo.runner.run(
        "push",
        "--porcelain",
        f"--force-with-lease=refs/heads/{branch}:{expected}",
        "origin",
        f"{sha}:refs/heads/{branch}",
        check=False,
    )
    refusal = push_refusal(result)
    if isinstance(refusal, PushRejectedError):
        raise PushRejectedError(f"branch {branch} moved; not overwriting it") from refusal
    if refusal is not None:
        raise refusal


def rollback_branches(repo: GitRepo, prefix: str) -> list[tuple[str, str, datetime]]:
    """(branch, tip sha, tip commit time) of every remote branch under prefix, fetched locally."""
    local = "refs/gitops-bot/branches/"
    _run(repo, "fetch", "--quiet", "--prune", "--no-tags", "origin", f"+refs/heads/{prefix}*:{local}*")
    out = _run(repo, "for-each-ref", "--format=%(refname) %(objectname) %(committerdate:unix)", local)
    found = []
    for line in out.splitlines():
        ref, sha, at = line.split()
        found.append((prefix + ref.removeprefix(local), sha, datetime.fromtimestamp(int(at), tz=UTC)))
    return found


def delete_branch(repo: GitRepo, branch: str) -> None:
    """Delete the bot's branch on the remote (already gone is fine)."""
    with contextlib.suppress(GitError):
        repo.push(f":refs/heads/{branch}")


def changed_files(repo: GitRepo, base: str, head: str) -> list[str]:
    """Files a PR changes: from the merge base of base and head to head."""
    return _run(repo, "diff", "--name-only", "--no-renames", f"{base}...{head}").splitlines()


def merge_base(repo: GitRepo, base: str, head: str) -> str:
    """The merge base of two revisions."""
    return _run(repo, "merge-base", base, head).strip()


def plan_diff(repo: GitRepo, plan: Plan) -> str:
    """Unified diff of what the rollback writes, against the head it was planned on."""
    out: list[str] = []
    for name in sorted(plan.files):
        before = (repo.read(plan.head, name) or "").splitlines(keepends=True)
        after = plan.files[name].decode("utf-8", errors="replace").splitlines(keepends=True)
        out += difflib.unified_diff(before, after, f"a/{name}", f"b/{name}")
    return "".join(line if line.endswith("\n") else line + "\n" for line in out)
