"""Every git ref name the bot writes or reads, in one place.

Tags and branches under these names are the bot's durable state (known-good versions, vetoes,
recoveries, rollback branches); reading and writing them through one module keeps the names
from drifting apart.
"""

KNOWN_GOOD_PREFIX = "known-good/"
VETO_PREFIX = "gitops-bot/vetoed/"
RECOVERY_PREFIX = "gitops-bot/recovery/"
ROLLBACK_BRANCH_PREFIX = "gitops-bot/rollback/"


def known_good_prefix(agent: str) -> str:
    """Tags marking versions of one agent known to be good."""
    return f"{KNOWN_GOOD_PREFIX}{agent}/"


def known_good_tag(agent: str, sha: str) -> str:
    """The known-good tag for an agent at a commit."""
    return f"{known_good_prefix(agent)}{sha[:12]}"


def veto_tag(agent: str, culprit: str) -> str:
    """Records that people refused the rollback of this culprit."""
    return f"{VETO_PREFIX}{agent}/{culprit[:12]}"


def recovery_tag(rollback_sha: str) -> str:
    """Records how a rollback ended (recovered or timed out)."""
    return f"{RECOVERY_PREFIX}{rollback_sha[:12]}"


def rollback_branch(agent: str, culprit: str) -> str:
    """The rollback branch: one per agent and culprit, so replicas and retries meet on it."""
    return f"{ROLLBACK_BRANCH_PREFIX}{agent}/{culprit[:12]}"
