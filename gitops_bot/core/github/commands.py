"""PR comment commands (/approve, /veto, /hold, /unhold) and who may give them (pure)."""

import re
from dataclasses import dataclass

from gitops_bot.core.policy import PERMISSIONS, Approvers

COMMANDS = ("approve", "veto", "hold", "unhold")
_COMMAND = re.compile(r"^/(approve|veto|hold|unhold)(?:\s+(.*))?$", re.IGNORECASE)


@dataclass(frozen=True)
class Command:
    """One command read from the first line of a comment."""

    name: str
    argument: str = ""


@dataclass(frozen=True)
class Authorization:
    """Whether a commenter may command the bot, and why not."""

    allowed: bool
    reason: str = ""


def parse_command(body: str) -> Command | None:
    """The command on the comment's first line, or None (quoted lines and prose never count)."""
    first = body.strip().split("\n", 1)[0].strip()
    found = _COMMAND.match(first)
    if found is None:
        return None
    argument = " ".join((found[2] or "").split())
    return Command(found[1].lower(), argument)


def rank(permission: str) -> int:
    """Position of a repository permission in read < triage < write < maintain < admin (-1: none)."""
    return PERMISSIONS.index(permission) if permission in PERMISSIONS else -1


def effective_permission(role_name: str, permission: str) -> str:
    """The role GitHub reports, or the legacy base permission for custom roles it cannot rank."""
    return role_name if role_name in PERMISSIONS else permission


def authorize(approvers: Approvers, login: str, held: str, *, in_team: bool | None = None) -> Authorization:
    """Compare the commenter's permission value with the policy's, then narrow to users/teams."""
    if rank(held) < rank(approvers.permission):
        shown = held if held in PERMISSIONS else "no access"
        return Authorization(False, f"needs `{approvers.permission}` permission (you have {shown})")
    if not approvers.users and not approvers.teams:
        return Authorization(True)
    if login.lower() in (u.lower() for u in approvers.users) or in_team:
        return Authorization(True)
    names = [f"@{u}" for u in approvers.users] + [f"team {t}" for t in approvers.teams]
    return Authorization(False, f"is limited to {', '.join(names)}")
