"""Does the cluster run the revert, and is the revert still in force on the branch? (pure)

`carried`: the first-parent commits after the revert, oldest first, each still carry the revert until
the one that brought the rolled-back version back (image automation re-bumping the tag, or a person
overriding the rollback; found by app.agent_values). `argo_synced` / `flux_synced` say whether the controller applied a
revision that carries it, before health settles (the "cluster synced" phase).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gitops_bot.core.cluster import ArgoAppStatus, FluxStatus, revision_sha


@dataclass(frozen=True)
class Carried:
    """The commits that carry the revert, and the first one that undid it (if any)."""

    acceptable: frozenset[str]
    undone_by: str | None = None


def carried(revert: str, later: Sequence[str], undone_by: str | None) -> Carried:
    """`later`: the first-parent commits after the revert, oldest first."""
    acceptable = {revert}
    for sha in later:
        if sha == undone_by:
            return Carried(frozenset(acceptable), sha)
        acceptable.add(sha)
    return Carried(frozenset(acceptable))


def _named(sha: str | None, acceptable: frozenset[str]) -> bool:
    return bool(sha) and len(sha or "") >= 7 and any(full.startswith(sha or "") for full in acceptable)


def argo_synced(s: ArgoAppStatus, acceptable: frozenset[str]) -> bool:
    """Argo CD applied a revision carrying the revert (Synced to it, or its sync operation succeeded)."""
    if s.sync_status == "Synced" and _named(s.sync_revision, acceptable):
        return True
    return s.operation_phase == "Succeeded" and _named(s.operation_revision, acceptable)


def flux_synced(s: FluxStatus, acceptable: frozenset[str]) -> bool:
    """Flux applied a revision carrying the revert (health may still be pending)."""
    return _named(revision_sha(s.applied_revision), acceptable)
