"""`mark-good`: tag the branch head as a known-good version of one agent."""

from collections.abc import Mapping

from gitops_bot.app.engine import Engine
from gitops_bot.app.manifests import values_at
from gitops_bot.core.errors import UsageError
from gitops_bot.core.paths import is_plain_name
from gitops_bot.core.refs import known_good_tag
from gitops_bot.core.versions import display_version


def mark_good(engine: Engine, agent: str, *, who: str, labels: Mapping[str, str] | None = None) -> str:
    """Tag `known-good/<agent>/<short sha>` on the head and push it; return what was done.

    The tag chooses future rollback targets, so it is sealed with the state key: holding the key
    is what authenticates the person (a tag pushed by hand is ignored and reported).
    """
    if not is_plain_name(agent):
        raise UsageError(f"--agent {agent!r} is not a plain agent name")
    if not engine.keys.configured:
        raise UsageError("mark-good needs the state key (the environment variable named by state_key_env)")
    with engine.exclusive():  # `serve` may be using the same clone
        return _mark(engine, agent, who, dict(labels or {}))


def _mark(engine: Engine, agent: str, who: str, labels: dict[str, str]) -> str:
    repo = engine.repo
    head = repo.sync()
    for policy in engine.policies:
        if any(name not in labels for name in policy.template_labels):
            continue  # this policy's files need --label for e.g. {env}
        values = values_at(repo, head, policy, {**labels, "agent": agent})
        if any(v is not None for v in values):
            shown = ", ".join(display_version(v) for v in values if v is not None)
            name = known_good_tag(agent, head)
            repo.tag(
                name, head, engine.trusted.seal(name, head, f"{agent} {shown} marked known-good by {who}")
            )
            return f"tagged {name} ({agent} {shown})"
    raise UsageError(f"unknown agent {agent!r}: no policy finds its version fields at {head[:12]}")
