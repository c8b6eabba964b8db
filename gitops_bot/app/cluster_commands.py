"""What `gitops-bot audit --stats` and `gitops-bot lift-exclusion` do (the CLI only parses and prints)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from gitops_bot.adapters.flux_images import FluxImages
from gitops_bot.app.cluster_targets import ClusterClients
from gitops_bot.app.config import Config
from gitops_bot.app.engine import Engine
from gitops_bot.app.image_hold import lift
from gitops_bot.app.outcomes import rollback_outcomes, stats_table
from gitops_bot.core.errors import UsageError
from gitops_bot.core.outcomes import aggregate
from gitops_bot.core.paths import is_plain_name


def stats_text(engine: Engine, config: Config, agent: str | None, *, as_json: bool) -> str:
    """Outcomes, precision and phase p50/p90 per policy and agent (the clone synced by the caller)."""
    window = timedelta(seconds=config.cluster.confirm_seconds)
    outcomes = rollback_outcomes(engine, now=datetime.now(UTC), window=window)
    stats = aggregate(o for o in outcomes if agent in (None, o.agent))
    if not as_json:
        return stats_table(stats)
    rows = []
    for s in stats:
        spans = {name: dict(zip(("p50", "p90"), s.quantiles(name), strict=True)) for name in s.spans}
        row = {"policy": s.policy, "agent": s.agent, "rollbacks": s.rollbacks, "confirmed": s.confirmed}
        rows.append(row | {"overridden": s.overridden, "precision": s.precision, "spans": spans})
    return json.dumps(rows, indent=2)


def lift_exclusion(
    engine: Engine, config: Config, *, agent: str, version: str, policy: str | None, who: str
) -> str:
    """Undo the image-automation hold for one agent and version; recorded in git as a tag."""
    if not is_plain_name(agent) or not is_plain_name(version):
        raise UsageError("--agent and --version must be plain names")
    spec = next(
        (
            p.cluster.image_automation
            for p in engine.policies
            if p.cluster and p.cluster.image_automation and policy in (None, p.name)
        ),
        None,
    )
    if spec is None:
        named = f" named {policy!r}" if policy else ""
        raise UsageError(f"no policy{named} has spec.cluster.imageAutomation")
    with engine.exclusive():
        engine.repo.sync()
        return lift(FluxImages(ClusterClients(config).flux()), engine, spec, agent, version, who)
