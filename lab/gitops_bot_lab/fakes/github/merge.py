"""Merging a pull request for real in the bare repository: merge, squash or rebase, and auto-merge."""

from __future__ import annotations

from collections.abc import Sequence

from gitops_bot_lab.fakes.github.model import DOCS, HttpError, Issue, error, now
from gitops_bot_lab.fakes.github.state import RepoState


def join_message(subject: str, body: str | None) -> str:
    """Commit message from subject and optional body."""
    return f"{subject}\n\n{body}" if body else subject


class Merger:
    """GitHub's merge preconditions and results; shared by the REST merge, statuses and GraphQL."""

    def __init__(self, state: RepoState) -> None:
        self._s, self._git = state, state.git

    def merge(
        self,
        issue: Issue,
        login: str,
        method: str,
        title: str | None,
        message: str | None,
        expected_sha: str | None,
    ) -> str:
        """Check GitHub's merge preconditions, write the commit(s), move the base branch."""
        doc = f"{DOCS}/pulls/pulls#merge-a-pull-request"
        pr = issue.pr
        if issue.state != "open" or pr.merged:
            raise error(405, "Pull Request is not mergeable", doc)
        if method not in self._s.allowed_merge_methods:
            raise error(405, f"{method.capitalize()} merges are not allowed on this repository.", doc)
        head = self._s.live_head(issue)
        if expected_sha and expected_sha != head:
            raise error(409, "Head branch was modified. Review and try the merge again.", doc)
        missing = self._s.missing_checks(issue)
        if missing:
            raise error(405, f'Required status check "{missing[0]}" is expected.', doc)
        base = self._git.branch_sha(pr.base)
        if base is None:
            raise error(405, "Pull Request is not mergeable", doc)
        new = self._write_merge(issue, login, method, base, head, title, message)
        if new is None:
            raise error(405, "Pull Request is not mergeable", doc)
        if not self._git.update_ref(f"refs/heads/{pr.base}", new, base):
            raise error(409, "Base branch was modified. Review and try the merge again.", doc)
        self._mark_merged(issue, login, new, base, head)
        return new

    def _write_merge(
        self,
        issue: Issue,
        login: str,
        method: str,
        base: str,
        head: str,
        title: str | None,
        message: str | None,
    ) -> str | None:
        """Create the merge result commit; None on conflicts."""
        pr = issue.pr
        tree = self._git.merge_tree(base, head)
        if tree is None:
            return None
        merger = self._s.account(login)
        if method == "merge":
            subject = title or f"Merge pull request #{issue.number} from {self._s.owner}/{pr.head}"
            text = join_message(subject, issue.title if message is None else message)
            return self._git.commit_tree(tree, [base, head], text, (login, merger.email))
        commits = self._git.commits_between(self._git.out("merge-base", base, head), head)
        if method == "squash":
            author = self._s.account(issue.user)
            subject, default_body = self._squash_defaults(issue, commits)
            text = join_message(title or subject, default_body if message is None else message)
            return self._git.commit_tree(tree, [base], text, (author.login, author.email))
        return self._git.replay(base, commits)

    def _squash_defaults(self, issue: Issue, commits: Sequence[str]) -> tuple[str, str]:
        """GitHub's default squash title/body: one commit keeps its message, else a list."""
        if len(commits) == 1:
            subject, _, rest = self._git.message(commits[0]).partition("\n")
            return f"{subject} (#{issue.number})", rest.strip("\n")
        body = "\n\n".join("* " + self._git.message(c) for c in commits)
        return f"{issue.title} (#{issue.number})", body

    def _mark_merged(self, issue: Issue, login: str, new: str, base: str, head: str) -> None:
        """Record the merge on the PR and optionally delete the head branch."""
        pr = issue.pr
        stamp = now()
        pr.merged, pr.merged_at, pr.merged_by = True, stamp, login
        pr.merge_commit_sha, pr.head_sha, pr.base_sha = new, head, base
        pr.auto_merge = None
        issue.state, issue.closed_at, issue.updated_at = "closed", stamp, stamp
        issue.closed_by = login
        if self._s.delete_branch_on_merge:
            self._git.delete_ref(f"refs/heads/{pr.head}")

    def maybe_auto_merge(self, sha: str) -> None:
        """Merge PRs with auto-merge enabled once their head's required checks pass."""
        for issue in list(self._s.issues.values()):
            pr = issue.pull
            if not pr or not pr.auto_merge or issue.state != "open":
                continue
            if self._s.live_head(issue) != sha or self._s.missing_checks(issue):
                continue
            am = pr.auto_merge
            try:
                self.merge(
                    issue,
                    am["enabled_by"]["login"],
                    am["merge_method"],
                    am["commit_title"] or None,
                    am["commit_message"] or None,
                    None,
                )
            except HttpError:
                pr.auto_merge = am  # stays armed, like GitHub when a merge is blocked

    # issues
