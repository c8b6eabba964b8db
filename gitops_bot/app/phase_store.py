"""Phase marks of rollbacks as annotated tags in the GitOps repo (see core.phases)."""

from __future__ import annotations

import logging
from collections import defaultdict

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.core.errors import GitopsBotError
from gitops_bot.core.phases import PhaseMark, parse_phase, phase_message
from gitops_bot.core.refs import PHASE_PREFIX, phase_tag

log = logging.getLogger("gitops_bot")


def write_phase(repo: GitRepo, agent: str, rollback_sha: str, mark: PhaseMark) -> bool:
    """Push the tag for one phase; False when it exists already (the first mark pushed wins)."""
    try:
        return repo.tag(
            phase_tag(rollback_sha, mark.phase),
            rollback_sha,
            phase_message(agent, rollback_sha, mark),
            replace=False,
        )
    except GitopsBotError as e:
        if "already exists" in str(e):  # fetched from another replica (or written before a restart)
            return False
        log.warning("cannot record phase %s of %s yet: %s", mark.phase, rollback_sha[:12], e)
        return False


def read_phases(repo: GitRepo) -> dict[str, list[PhaseMark]]:
    """sha12 of each rollback -> its phase marks (tags that do not parse are ignored)."""
    found: dict[str, list[PhaseMark]] = defaultdict(list)
    for name, message in repo.tag_messages(PHASE_PREFIX).items():
        sha12, _, _ = name.partition("/")
        mark = parse_phase(message)
        if mark is not None:
            found[sha12].append(mark)
    return dict(found)
