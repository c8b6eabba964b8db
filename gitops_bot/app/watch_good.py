"""`watch-good`: tag `known-good/<agent>/<sha>` on versions that baked quietly, asking Prometheus."""

import logging
from datetime import UTC, datetime

from gitops_bot.adapters.prometheus import PrometheusReader
from gitops_bot.app.engine import Engine
from gitops_bot.app.planner import version_commit
from gitops_bot.core.bake import alerts_query, bake_decision
from gitops_bot.core.policy import Policy
from gitops_bot.core.refs import KNOWN_GOOD_PREFIX, known_good_tag
from gitops_bot.core.resolution import resolve_policy
from gitops_bot.core.versions import display_version

log = logging.getLogger("gitops_bot")


def agents_of(engine: Engine, head: str, policy: Policy) -> list[dict[str, str]]:
    """Agents the policy can see (with the labels that place them), enumerated from the tree."""
    repo = engine.repo
    found = resolve_policy(
        policy, repo.list_files(head), lambda f: repo.read_bytes(head, f), {}, max_bytes=repo.max_file_bytes
    )
    return [dict(view.bindings) for view in found.agents]


def _quiet(reader: PrometheusReader, url: str | None, query: str) -> bool | None:
    if url is None:
        return None
    firing, error = reader.nonempty(url, query)
    if firing is None:
        log.warning("watch-good: %s", error)
        return None
    return not firing


def watch_good_once(
    engine: Engine,
    *,
    prometheus_url: str | None,
    now: datetime | None = None,
    reader: PrometheusReader | None = None,
) -> list[str]:
    """One pass over every agent; returns a line per agent saying what was decided."""
    now = now or datetime.now(UTC)
    reader = reader or PrometheusReader()
    with engine.exclusive():
        head = engine.repo.sync()
    tagged = {tag.target for tag in engine.trusted.tags(KNOWN_GOOD_PREFIX)}
    report = []
    for policy in engine.policies:
        bake = policy.verify.bake_time if policy.verify else None
        url = (policy.verify.prometheus if policy.verify else None) or prometheus_url
        with engine.exclusive():  # GitPython's cat-file process is shared with the worker
            agents = agents_of(engine, head, policy)
        for bindings in agents:
            agent = bindings["agent"]
            with engine.exclusive():  # GitPython's cat-file process is shared with the worker
                current, since = version_commit(engine.repo, head, policy, bindings)
            if since is None or bake is None:
                continue
            first = next(i for i, v in enumerate(current) if v is not None)
            version = display_version(current[first], policy.fields[first].version_prefix)
            seconds = int((now - since.commit.committed_at).total_seconds())
            query = alerts_query(
                agent_label=policy.agent_label,
                agent=agent,
                version_label=policy.version_label,
                version=version,
                seconds=seconds,
            )
            quiet = _quiet(reader, url, query) if seconds >= bake.total_seconds() else None
            ok, why = bake_decision(
                since=since.commit.committed_at,
                now=now,
                bake_time=bake,
                alert_seen=None if quiet is None else not quiet,
                already_tagged=since.commit.sha in tagged,
            )
            if ok:
                name = known_good_tag(agent, since.commit.sha)
                with engine.exclusive():
                    message = engine.trusted.seal(
                        name, since.commit.sha, f"{agent} {version}: {why} (watch-good)"
                    )
                    engine.repo.tag(name, since.commit.sha, message, replace=False)
                why = f"tagged {name}: {why}"
            report.append(f"{agent} {version}: {why}")
    return report
