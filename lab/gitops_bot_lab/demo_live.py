"""`make demo` with the real stack: Prometheus + Alertmanager + a fake agent following the remote."""

import secrets
import subprocess
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gitops_bot.app.audit import audit_records, audit_table
from gitops_bot.app.config import parse_config
from gitops_bot.app.server import create_app
from gitops_bot.app.wiring import Runtime
from gitops_bot.core.plan import Plan
from gitops_bot_lab.demo_repo import init_demo_remote, scale_billing, ship_rogue_release
from gitops_bot_lab.fake_agent import FakeAgent, fast_rules, version_from_git
from gitops_bot_lab.fakes.loopback import LoopbackServer
from gitops_bot_lab.paths import AGENT_RULES, POLICIES
from gitops_bot_lab.stack import free_port, start_alertmanager, start_prometheus, wait_until

VERIFY = """  verify:
    still_firing: 'ALERTS{alertname="{alertname}",agent="{agent}",alertstate="firing"}'
    recovered: 'sum(rate(agent_tool_calls_total{agent="{agent}"}[10s])) < 10'
    timeout: 2m
"""
AGENT, ROGUE = "billing-agent", "2026.06.0"


def _policies(root: Path) -> Path:
    folder = root / "policies"
    folder.mkdir()
    (folder / "agents.yaml").write_text((POLICIES / "agents.yaml").read_text() + VERIFY)
    return folder


def _runtime(root: Path, remote: Path, port: int, am_url: str, prom_url: str) -> Runtime:
    config = parse_config(
        {
            "repo": {"url": f"file://{remote}", "branch": "main", "workdir": "state/repo"},
            "server": {"listen": f"127.0.0.1:{port}"},
            "policies": str(_policies(root)),
            "alertmanager": {"url": am_url, "resync": "1h"},
            "prometheus": {"url": prom_url, "poll": "1s"},
        },
        base=root,
    )
    return Runtime(config)


def _line(t0: float, at: float, text: str) -> None:
    print(f"  {at - t0:6.1f}s  {text}")


def run_live_demo(root: Path) -> int:
    """Push a rogue release and let the real stack and the bot take it from there."""
    bare, seed = init_demo_remote(root, when=datetime.now(UTC) - timedelta(days=3))
    token, port = secrets.token_hex(12), free_port()
    with ExitStack() as stack:
        agent = stack.enter_context(
            FakeAgent(
                AGENT,
                lambda: version_from_git(bare, "main", f"agents/{AGENT}/deployment.yaml"),
                {ROGUE},
                version_poll=0.2,
            )
        )
        am = stack.enter_context(start_alertmanager(root, f"http://127.0.0.1:{port}/api/v1/alerts", token))
        rules = fast_rules(AGENT_RULES, root / "fast-rules.yaml")
        prom = stack.enter_context(start_prometheus(root, [agent.target], [rules], am.url))
        runtime = _runtime(root, bare, port, am.url, prom.url)
        stack.enter_context(LoopbackServer(create_app(runtime.bot, token=token), port=port))
        runtime.start()
        stack.callback(runtime.stop)
        print(
            f"== real stack up: Prometheus {prom.url}, Alertmanager {am.url}, bot :{port}, agent {agent.target}"
        )
        print("   (rules: manifests/monitoring/agent-rules.yaml with for:/windows shortened for the demo)")
        wait_until(lambda: _scraped(prom.url), 30, 0.5, what="Prometheus scraping the agent")
        return _timeline(runtime, agent, bare, seed)


def _scraped(prom_url: str) -> bool:
    from gitops_bot.adapters.prometheus import Prometheus

    return bool(Prometheus(prom_url).query('agent_requests_total{agent="billing-agent"}'))


def _pushed_plan(runtime: Runtime, reverted: str) -> Plan | None:
    """The plan of the outcome that pushed this revert, once the worker has recorded it."""
    sha = reverted.split()[0]
    return next((o.plan for o in list(runtime.bot.recent) if o.plan is not None and o.commit == sha), None)


def _timeline(runtime: Runtime, agent: FakeAgent, bare: Path, seed: Path) -> int:
    def rollback_head() -> str | None:
        head = _git(bare, "log", "-1", "--format=%H %s", "main")
        return head if " Roll back " in f" {head}" else None

    t0 = time.time()
    culprit = ship_rogue_release(seed, bare)
    scale_billing(seed, bare)
    print("\n== timeline (seconds after the rogue release was pushed)")
    _line(
        t0,
        t0,
        f"rogue release pushed: {culprit[:12]} Release billing-agent 2026.06.0 (+ a later replicas edit)",
    )
    reverted = wait_until(rollback_head, 120, 0.05, what="the bot's revert")
    t_revert = time.time()
    _line(
        t0,
        agent.switched_at[ROGUE],
        "breach: agent exports 2026.06.0 metrics (30 tool calls/s, 50% PII leaks)",
    )
    first_at, first = runtime.bot.accepted[0]
    _line(t0, first_at, f"alert: {first.name} ({first.labels.get('severity')}) from Alertmanager's webhook")
    # The push is visible on the remote a moment before the worker records its outcome: wait for it.
    plan = wait_until(lambda: _pushed_plan(runtime, reverted), 30, 0.02, what="the recorded rollback")
    _line(t0, t_revert, f"culprit: {plan.culprit.sha[:12]} {plan.culprit.subject!r} by {plan.culprit.author}")
    _line(t0, t_revert, f"revert pushed: {reverted}")
    wait_until(lambda: agent.version != ROGUE, 30, 0.05, what="the agent to follow main back")
    _line(t0, time.time(), f"agent back on {agent.version} (the Argo CD stand-in follows main)")
    tag = f"refs/tags/gitops-bot/recovery/{reverted[:12]}"
    wait_until(lambda: _git(bare, "for-each-ref", "--format=%(contents)", tag), 120, 0.1, what="recovery")
    record = audit_records(runtime.bot.engine, agent=None)[0].recovery or {}
    _line(
        t0,
        time.time(),
        f"recovery recorded: {record.get('Recovery')} via {record.get('Recovery-Signal')}, "
        f"{record.get('Alert-To-Recovery-Seconds')}s after the alert started",
    )
    print("\n== the revert on main (git log --stat -1)")
    print(_git(bare, "log", "--stat", "-1", "main"))
    print("\n== audit (from commit trailers and recovery tags)")
    print(audit_table(audit_records(runtime.bot.engine, agent=None)))
    return 0


def _git(bare: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(bare), *args], capture_output=True, text=True, check=True
    ).stdout.strip()
