"""git plumbing over the fake GitHub's bare repository: the few operations GitHub itself performs."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gitops_bot_lab.fakes.loopback import git_env

GIT_TIMEOUT_S = 30
GITHUB_COMMITTER = ("GitHub", "noreply@github.com")


class GitError(RuntimeError):
    """A git command failed."""


class BareRepo:
    """Thin wrapper around `git --git-dir=<bare>` for the few operations GitHub performs."""

    def __init__(self, path: Path, default_branch: str) -> None:
        self.path = path
        self.default_branch = default_branch

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run git against the bare repo with a bounded timeout and a neutral config."""
        cmd = ["git", "--git-dir", str(self.path), *args] if cwd is None else ["git", *args]
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=git_env(env),
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
        if check and proc.returncode != 0:
            raise GitError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc

    def out(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        """stdout of a successful git command, stripped."""
        return self.run(*args, env=env).stdout.strip()

    def ensure(self) -> None:
        """Create the bare repo if missing."""
        if not (self.path / "HEAD").exists():
            self.path.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                ["git", "init", "--quiet", "--bare", "-b", self.default_branch, str(self.path)],
                check=True,
                capture_output=True,
                timeout=GIT_TIMEOUT_S,
            )

    def rev(self, ref: str) -> str | None:
        """Commit sha a ref/sha points to, or None."""
        proc = self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    def branch_sha(self, branch: str) -> str | None:
        """Tip of refs/heads/<branch>, or None."""
        return self.rev(f"refs/heads/{branch}")

    def refs(self, prefix: str = "refs/") -> dict[str, str]:
        """All refs under prefix, name -> sha."""
        out = self.out("for-each-ref", "--format=%(refname) %(objectname)", prefix)
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def update_ref(self, ref: str, new: str, old: str | None = None) -> bool:
        """Compare-and-swap a ref (old='' means must not exist); False if the CAS lost."""
        args = ["update-ref", ref, new] + ([old] if old is not None else [])
        return self.run(*args, check=False).returncode == 0

    def delete_ref(self, ref: str) -> bool:
        """Delete a ref; False if it did not exist."""
        if self.run("show-ref", "--verify", "--quiet", ref, check=False).returncode != 0:
            return False
        return self.run("update-ref", "-d", ref, check=False).returncode == 0

    def is_ancestor(self, a: str, b: str) -> bool:
        """Whether commit a is reachable from b."""
        return self.run("merge-base", "--is-ancestor", a, b, check=False).returncode == 0

    def merge_tree(self, base: str, head: str) -> str | None:
        """Tree of merging head into base, or None on conflict (git >= 2.38 --write-tree)."""
        proc = self.run("merge-tree", "--write-tree", "--no-messages", base, head, check=False)
        if proc.returncode == 0:
            return proc.stdout.split()[0]
        if proc.returncode == 1:
            return None
        raise GitError(f"git merge-tree failed: {proc.stderr.strip()}")

    def commit_tree(
        self,
        tree: str,
        parents: Sequence[str],
        message: str,
        author: tuple[str, str],
        committer: tuple[str, str] = GITHUB_COMMITTER,
    ) -> str:
        """Create a commit object from a tree."""
        args = ["commit-tree", tree]
        for p in parents:
            args += ["-p", p]
        args += ["-m", message]
        return self.out(*args, env=ident_env(author, committer))

    def commits_between(self, base: str, head: str) -> list[str]:
        """Commits in head not in base, oldest first."""
        out = self.out("rev-list", "--reverse", f"{base}..{head}")
        return out.split()

    def message(self, sha: str) -> str:
        """Full commit message."""
        return self.run("show", "-s", "--format=%B", sha).stdout.rstrip("\n")

    def commit_info(self, sha: str) -> dict[str, Any]:
        """Tree, parents, author/committer identity and message of a commit."""
        fmt = "%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B"
        parts = self.run("show", "-s", f"--format={fmt}", sha).stdout.split("\x00", 8)
        keys = ("tree", "parents", "an", "ae", "ad", "cn", "ce", "cd", "message")
        info: dict[str, Any] = dict(zip(keys, parts, strict=True))
        info["parents"] = info["parents"].split()
        info["message"] = info["message"].rstrip("\n")
        return info

    def numstat(self, a: str, b: str) -> list[tuple[str, int, int, str]]:
        """(status, additions, deletions, path) for each file changed from a to b."""
        stats: dict[str, tuple[int, int]] = {}
        for line in self.out("diff", "--numstat", "--no-renames", a, b).splitlines():
            add, dele, path = line.split("\t", 2)
            stats[path] = (int(add) if add != "-" else 0, int(dele) if dele != "-" else 0)
        status: dict[str, str] = {}
        for line in self.out("diff", "--name-status", "--no-renames", a, b).splitlines():
            code, path = line.split("\t", 1)
            status[path] = {"A": "added", "D": "removed"}.get(code[:1], "modified")
        return [(status.get(p, "modified"), *stats[p], p) for p in sorted(stats)]

    def write_commit(
        self,
        parent: str | None,
        files: Mapping[str, str | bytes | None],
        message: str,
        author: tuple[str, str],
    ) -> str:
        """Commit file changes (None deletes) on top of parent using a throwaway index."""
        with tempfile.TemporaryDirectory(prefix="fakegh-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if parent:
                self.run("read-tree", parent, env=env)
            for path, content in files.items():
                if content is None:
                    self.run("update-index", "--force-remove", path, env=env)
                    continue
                blob = self._hash_blob(content)
                self.run("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            tree = self.out("write-tree", env=env)
        return self.commit_tree(tree, [parent] if parent else [], message, author, author)

    def _hash_blob(self, content: str | bytes) -> str:
        """Store content as a blob."""
        data = content.encode() if isinstance(content, str) else content
        proc = subprocess.run(
            ["git", "--git-dir", str(self.path), "hash-object", "-w", "--stdin"],
            input=data,
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=True,
        )
        return proc.stdout.decode().strip()

    def replay(self, onto: str, commits: Sequence[str]) -> str | None:
        """Cherry-pick commits onto `onto` in a temp worktree (rebase merge); None on conflict."""
        with tempfile.TemporaryDirectory(prefix="fakegh-rebase-") as tmp:
            wt = Path(tmp) / "wt"
            self.run("worktree", "add", "--quiet", "--detach", str(wt), onto)
            try:
                env = ident_env(GITHUB_COMMITTER, GITHUB_COMMITTER)
                for sha in commits:
                    proc = self.run(
                        "cherry-pick",
                        "--allow-empty",
                        "--keep-redundant-commits",
                        sha,
                        env={k: v for k, v in env.items() if "COMMITTER" in k},
                        cwd=wt,
                        check=False,
                    )
                    if proc.returncode != 0:
                        return None
                return self.run("rev-parse", "HEAD", cwd=wt).stdout.strip()
            finally:
                self.run("worktree", "remove", "--force", str(wt), check=False)
                self.run("worktree", "prune", check=False)


def ident_env(author: tuple[str, str], committer: tuple[str, str]) -> dict[str, str]:
    """Environment pinning author and committer identities for git."""
    return {
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_COMMITTER_NAME": committer[0],
        "GIT_COMMITTER_EMAIL": committer[1],
    }
