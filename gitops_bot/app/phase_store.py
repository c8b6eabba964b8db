"""Phase marks of rollbacks as annotated tags in the GitOps repo, sealed with the state key (see
core.phases); only authenticated tags are read back, so a pushed tag cannot fake a phase."""

from __future__ import annotations

import logging
from collections import defaultdict

from gitops_bot.app.engine import Engine
from gitops_bot.core.errors import GitopsBotError
from gitops_bot.core.phases import PhaseMark, parse_phase, phase_message
from gitops_bot.core.refs import PHASE_PREFIX, phase_tag

log = logging.getLogger("gitops_bot")


def write_phase(engine: Engine, agent: str, rollback_sha: str, mark: PhaseMark) -> bool:
    """Push the tag for one phase (caller holds engine.exclusive()); False when it exists already
    (the first mark pushed wins) or cannot be written now (logged; the watch goes on)."""
    name = phase_tag(rollback_sha, mark.phase)
    try:
        message = engine.trusted.seal(name, rollback_sha, phase_message(agent, rollback_sha, mark))
        return engine.repo.tag(name, rollback_sha, message, replace=False)
    except GitopsBotError as e:
        if "already exists" in str(e):  # fetched from another replica (or written before a restart)
            return False
        log.warning("cannot record phase %s of %s yet: %s", mark.phase, rollback_sha[:12], e)
        return False


def read_phases(engine: Engine) -> dict[str, list[PhaseMark]]:
    """sha12 of each rollback -> its authenticated phase marks."""
    found: dict[str, list[PhaseMark]] = defaultdict(list)
    for name, message in engine.trusted.tag_messages(PHASE_PREFIX).items():
        sha12, _, _ = name.partition("/")
        mark = parse_phase(message)
        if mark is not None:
            found[sha12].append(mark)
    return dict(found)
