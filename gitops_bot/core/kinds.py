"""Closed sets of states, outcomes and reasons, as Literals so mypy rejects a misspelt kind.

Literals rather than Enums: values are compared, logged, used as metric labels and written to
JSON as they are, and helpers keep building them from string constants without conversions.
"""

from typing import Literal

# Why the bot will not act now: nothing to do, people must decide, or try again later.
VerdictKind = Literal["ignore", "escalate", "hold"]

# What became of one alert (the `gitops_bot_alerts_handled_total{outcome}` label).
OutcomeKind = Literal["rolled_back", "proposed", "planned", "ignored", "held", "escalated", "failed"]

# Why an alert was ignored, escalated or held (metric label `reason`, audit `code`).
ReasonCode = Literal[
    "other",
    "resolved",
    "no_policy",
    "bad_label",
    "unknown_agent",
    "stale_version",
    "predates_commit",
    "rollback_of_rollback",
    "opted_out",
    "no_culprit",
    "no_previous_version",
    "nothing_to_restore",
    "unrestorable",
    "unreadable",
    "limit",
    "breaker",
    "not_firing",
    "silenced",
    "hold",
    "duplicate",
    "paused",
]

# Why an escalation was posted to Alertmanager (its `reason` label): a refused rollback's code, or
# a condition the bot watches.
EscalationReason = ReasonCode | Literal["recovery_timeout", "policy_problem"]

# The next step of a rollback pull request's state machine.
StepKind = Literal["none", "wait", "merge", "close", "update", "reply"]

# How one merge attempt ended.
MergeStatus = Literal["merged", "already", "armed", "blocked", "closed", "holding"]

# How a recovery watch ended.
RecoveryStatus = Literal["recovered", "timeout"]

# An Alertmanager alert's status.
AlertStatus = Literal["firing", "resolved"]
