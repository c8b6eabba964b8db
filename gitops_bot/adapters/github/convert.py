"""PyGithub objects to the project's PullInfo (only attributes list items carry: no lazy GETs)."""

from github.PullRequest import PullRequest

from gitops_bot.core.github.types import PullInfo


def from_pull(pr: PullRequest) -> PullInfo:
    """Our PullInfo from PyGithub's; only fields list items carry too, so nothing triggers a lazy GET."""
    return PullInfo(
        number=pr.number,
        state=pr.state,
        merged=pr.merged_at is not None,
        labels=frozenset(lb.name for lb in pr.labels),
        body=pr.body or "",
        html_url=pr.html_url,
        author=pr.user.login,
        created_at=pr.created_at,
        head_ref=pr.head.ref,
        head_sha=pr.head.sha,
        base_ref=pr.base.ref,
        node_id=pr.node_id,
    )
