"""From an alert to (policy, agent, version), or a reason to ignore it (pure)."""

import re
from dataclasses import dataclass

from gitops_bot.core.alerts import Alert
from gitops_bot.core.culprit import Verdict
from gitops_bot.core.paths import has_control, is_plain_name
from gitops_bot.core.policy import Policy, select_policy

_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+:-]{0,127}")  # fullmatch only: `$` allows a final "\n"


@dataclass(frozen=True)
class Routed:
    """An alert that a policy claims, naming a plausible agent."""

    alert: Alert
    policy: Policy
    agent: str
    version: str | None
    approved_by: str = "auto"


def route(alert: Alert, policies: tuple[Policy, ...]) -> Routed | Verdict:
    """Pick the policy and read agent/version labels, refusing anything not a plain name."""
    if not alert.firing:
        return Verdict("ignore", "resolved alerts trigger nothing", "resolved")
    policy = select_policy(policies, alert.labels)
    if policy is None:
        return Verdict("ignore", "no policy matches the alert", "no_policy")
    agent = alert.labels.get(policy.agent_label, "")
    if not is_plain_name(agent):
        return Verdict(
            "ignore", f"label {policy.agent_label}={agent!r} is not a plain agent name", "bad_label"
        )
    version = alert.labels.get(policy.version_label) if policy.version_label else None
    if version is not None and (_VERSION.fullmatch(version) is None or has_control(version)):
        return Verdict(
            "ignore",
            f"label {policy.version_label}={version!r} is not a plain version",
            "bad_label",
        )
    return Routed(alert=alert, policy=policy, agent=agent, version=version or None)
