"""What the version fields at the branch head say about an alert's agent (pure).

Only an agent nothing in the repo names is ignored; an agent the repo knows whose version cannot
be read, or could be read more than one way, is escalated with the reason.
"""

from gitops_bot.core.culprit import Verdict
from gitops_bot.core.edits import Outcome, Resolved
from gitops_bot.core.policy import Policy


def judge_reads(policy: Policy, agent: str, reads: tuple[Resolved, ...]) -> Verdict | None:
    """None when at least one field reads cleanly and none is refused; the verdict otherwise."""
    refused = [(i, r) for i, r in enumerate(reads) if r.outcome is Outcome.REFUSED]
    if refused:
        why = "; ".join(f"field {i} ({policy.fields[i].path}): {r.reason}" for i, r in refused)
        return Verdict("escalate", f"cannot read {agent}'s version safely: {why}", "unreadable")
    if any(r.outcome is Outcome.FOUND for r in reads):
        return None
    if all(r.outcome is Outcome.NOT_NAMED for r in reads):
        return Verdict(
            "ignore",
            f"unknown agent {agent!r}: no file or selector of policy {policy.name} names it",
            "unknown_agent",
        )
    why = "; ".join(f"field {i}: {r.reason}" for i, r in enumerate(reads) if r.outcome is Outcome.MISSING)
    return Verdict(
        "escalate", f"{agent} is in the repo but no version field can be read: {why}", "unreadable"
    )
