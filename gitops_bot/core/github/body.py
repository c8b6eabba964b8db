"""The rollback PR's body: evidence for people, and the ticket (state) for the bot (pure)."""

import json
import re
from dataclasses import dataclass
from datetime import datetime

from gitops_bot.core.alerts import format_time
from gitops_bot.core.github.pr_state import Ticket, human, ticket_from_json, ticket_to_json
from gitops_bot.core.plan import Plan
from gitops_bot.core.policy import Approvers
from gitops_bot.core.statekey import StateKeys
from gitops_bot.core.trailers import one_line

NEXT_START, NEXT_END = "<!-- gitops-bot:next -->", "<!-- /gitops-bot:next -->"
_TICKET = re.compile(r"<!-- gitops-bot:ticket (.*?) -->", re.DOTALL)
_NEXT = re.compile(re.escape(NEXT_START) + r".*?" + re.escape(NEXT_END), re.DOTALL)
MAX_DIFF = 30_000  # GitHub caps a body at 65536 characters


@dataclass(frozen=True)
class Forged:
    """A ticket marker whose authenticator does not verify: someone edited the bot's state."""

    reason: str


@dataclass(frozen=True)
class Evidence:
    """What the PR shows people about why it exists."""

    agent: str
    alert_name: str
    summary: str
    started: datetime
    generator_url: str
    culprit: str
    culprit_subject: str
    culprit_author: str
    from_version: str
    to_version: str
    target_source: str
    policy: str
    diff: str


def evidence_of(plan: Plan, diff: str) -> Evidence:
    """The evidence of a planned rollback."""
    alert = plan.alert
    return Evidence(
        agent=plan.agent,
        alert_name=alert.name,
        summary=alert.annotations.get("summary", "").strip() or "(no summary)",
        started=alert.starts_at,
        generator_url=alert.generator_url,
        culprit=plan.culprit.sha,
        culprit_subject=plan.culprit.subject,
        culprit_author=plan.culprit.author,
        from_version=plan.from_version,
        to_version=plan.to_version,
        target_source=plan.target_source,
        policy=plan.policy.name,
        diff=diff,
    )


def _at(when: datetime) -> str:
    return format_time(when.replace(microsecond=0))


def _cell(text: str) -> str:
    return one_line(text).replace("|", "\\|") or "-"


def _fence(text: str) -> str:
    runs = [len(r) for r in re.findall(r"`+", text)]
    return "`" * max(3, max(runs, default=0) + 1)


def render_body(ev: Evidence, ticket: Ticket, approvers: Approvers, now: datetime, keys: StateKeys) -> str:
    """Markdown body: evidence table, the diff, what happens next and when, then the ticket."""
    diff = ev.diff if len(ev.diff) <= MAX_DIFF else ev.diff[:MAX_DIFF] + "\n... (diff truncated)\n"
    fence = _fence(diff)
    source = f"[open the alert's query]({ev.generator_url.replace(')', '%29')})" if ev.generator_url else "-"
    lines = [
        f"gitops-bot rolls back **{ev.agent}** `{ev.from_version}` → `{ev.to_version}` "
        f"because **{_cell(ev.alert_name)}** fired.",
        "",
        "| Evidence | |",
        "|---|---|",
        f"| Alert | {_cell(ev.alert_name)} |",
        f"| Summary | {_cell(ev.summary)} |",
        f"| Started | {format_time(ev.started)} |",
        f"| Generator URL | {source} |",
        f"| Culprit commit | `{ev.culprit[:12]}` {_cell(ev.culprit_subject)} |",
        f"| Culprit author | {_cell(ev.culprit_author)} |",
        f"| Version | `{ev.from_version}` → `{ev.to_version}` (from {_cell(ev.target_source)}) |",
        f"| Policy | {_cell(ev.policy)}: mode `{ticket.mode}`, merge method `{ticket.merge_method}` |",
        "",
        "### The change",
        "",
        f"{fence}diff",
        diff.rstrip("\n"),
        fence,
        "",
        "### What happens next",
        "",
        next_block(ticket, approvers, now),
        "",
        ticket_marker(ticket, keys),
    ]
    return "\n".join(lines) + "\n"


def commands_help(approvers: Approvers) -> str:
    """Who may command and how."""
    who = f"`{approvers.permission}` permission"
    names = [f"@{u}" for u in approvers.users] + [f"team {t}" for t in approvers.teams]
    if names:
        who += f", limited to {', '.join(names)}"
    return (
        f"Commands (need {who}): `/approve` merges now · `/veto [reason]` closes without merging · "
        "`/hold` stops the clock · `/unhold` restarts it."
    )


def next_text(ticket: Ticket, now: datetime) -> str:
    """One sentence: what the bot will do and when."""
    if ticket.mode == "auto":
        return "Mode `auto`: gitops-bot merges this at once, guarded by the head sha."
    if ticket.mode == "approval":
        return "Mode `approval`: nothing merges until someone allowed comments `/approve`."
    if ticket.held_remaining is not None:
        return f"Clock stopped by `/hold` with {human(ticket.held_remaining)} left; `/unhold` restarts it."
    if ticket.deadline is None:
        return "No deadline recorded: waiting for `/approve`."
    left = max(0.0, (ticket.deadline - now).total_seconds())
    return (
        f"Mode `veto-window`: merges at **{_at(ticket.deadline)}** "
        f"(in {human(left)} from {_at(now)}) unless someone vetoes."
    )


def next_block(ticket: Ticket, approvers: Approvers, now: datetime) -> str:
    """The replaceable 'what happens next' block."""
    return f"{NEXT_START}\n{next_text(ticket, now)}\n\n{commands_help(approvers)}\n{NEXT_END}"


def _canonical(data: dict[str, object]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def ticket_marker(ticket: Ticket, keys: StateKeys) -> str:
    """The ticket as an HTML comment with its state-key authenticator (`mac`).

    < and > are escaped so no value can end the comment.
    """
    data: dict[str, object] = ticket_to_json(ticket)
    if not keys.insecure:
        data["mac"] = keys.sign("ticket", _canonical(data))
    safe = _canonical(data).replace("<", "\\u003c").replace(">", "\\u003e")
    return f"<!-- gitops-bot:ticket {safe} -->"


def read_ticket(body: str, keys: StateKeys) -> Ticket | Forged | None:
    """The ticket in a PR body; Forged when its authenticator fails; None when there is none."""
    found = _TICKET.search(body or "")
    if found is None:
        return None
    try:
        raw = json.loads(found[1])
    except (json.JSONDecodeError, RecursionError):
        return Forged("the ticket is not valid JSON")
    if not isinstance(raw, dict):
        return Forged("the ticket is not a JSON object")
    mac = raw.pop("mac", None)
    if not isinstance(mac, str) and not keys.insecure:
        return Forged("the ticket carries no authenticator")
    if not keys.verify(str(mac), "ticket", _canonical(raw)):
        return Forged("the ticket's authenticator does not match its contents")
    return ticket_from_json(raw) or Forged("the ticket is not a v1 ticket")


def with_ticket(body: str, ticket: Ticket, approvers: Approvers, now: datetime, keys: StateKeys) -> str:
    """The body with the next-steps block and the ticket rewritten (evidence untouched)."""
    body = _NEXT.sub(lambda _: next_block(ticket, approvers, now), body, count=1)
    return _TICKET.sub(lambda _: ticket_marker(ticket, keys), body, count=1)
