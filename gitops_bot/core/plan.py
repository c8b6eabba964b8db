"""A rollback decided before anything is written: what the planner hands to a forge."""

from dataclasses import dataclass

from gitops_bot.core.alerts import Alert
from gitops_bot.core.culprit import CommitInfo
from gitops_bot.core.policy import Policy


@dataclass(frozen=True)
class Plan:
    """Everything a rollback will write, decided before anything is written."""

    alert: Alert
    policy: Policy
    agent: str
    culprit: CommitInfo
    from_version: str
    to_version: str
    target_source: str
    files: dict[str, bytes]
    message: str
    head: str
