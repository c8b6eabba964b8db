"""From an alert to (policy, agent, version), or a reason to ignore it (pure)."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from gitops_bot.core.alerts import Alert
from gitops_bot.core.culprit import Verdict
from gitops_bot.core.paths import has_control, is_plain_name
from gitops_bot.core.policy import Policy, select_policy
from gitops_bot.core.templates import label_bindings

_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+:-]{0,127}")  # fullmatch only: `$` allows a final "\n"


@dataclass(frozen=True)
class Routed:
    """An alert that a policy claims, naming a plausible agent."""

    alert: Alert
    policy: Policy
    agent: str
    version: str | None
    approved_by: str = "auto"
    labels: Mapping[str, str] = field(default_factory=dict)  # other labels the templates use

    @property
    def bindings(self) -> dict[str, str]:
        """What fills the policy's templates: `{agent}` and every other label they name."""
        return {**self.labels, "agent": self.agent}


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
    labels, why = label_bindings(policy.template_labels, alert.labels)
    if why:  # the policy claimed the alert: a label it cannot use is loud, not silent
        return Verdict("escalate", f"policy {policy.name}: {why}", "bad_label")
    return Routed(alert=alert, policy=policy, agent=agent, version=version or None, labels=labels)
