"""Rollback latency: alert POST -> revert pushed by the real bot, against bare git plumbing doing the same.

Builds (and caches) a synthetic GitOps repo with `git fast-import`, runs the bot in-process behind its
real Flask app, posts one real Alertmanager v4 body per rogue agent, and times each until its push
returned. Then does the same rollbacks with plain `git` subprocesses on a fresh copy and prints both
distributions and their ratio. Exit 1 only when something functional went wrong.
"""

import argparse
import cProfile
import logging
import os
import random
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta

from bot_harness import AlertRun, BotRun, alert_body, load_payload, verify_remote
from plumbing import bloom_check, plumbing_rollback
from report import breakdown, ms, pct, plumbing_breakdown, profile_lines, summary
from synthetic_repo import OUT, ROOT, SEED, BenchError, _run, cached_repo, fresh_copy

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.app.engine import Outcome

TARGET_P99 = 1.0
TARGET_P99_LARGE = 1.5  # the 200,000-commit / 5,000-agent repo (--large)
LARGE = {"agents": 5000, "commits": 200_000}


TARGET_RATIO = 1.5


def main() -> int:
    """Build or reuse the repo, run A and B, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--commits", type=int, default=50000, help="first-parent commits on main")
    parser.add_argument("--alerts", type=int, default=50, help="measured alerts (plus one warm-up)")
    parser.add_argument("--keep", action="store_true", help="keep the run's clones and remotes")
    parser.add_argument("--profile", action="store_true", help="cProfile one extra alert in the worker")
    parser.add_argument(
        "--large", action="store_true", help="200,000 commits and 5,000 agents, to show how cost grows"
    )
    args = parser.parse_args()
    if args.large:
        args.agents, args.commits = max(args.agents, LARGE["agents"]), max(args.commits, LARGE["commits"])
    target_p99 = TARGET_P99_LARGE if args.large else TARGET_P99
    if args.agents < args.alerts + 2 or args.commits < 4 * (args.alerts + 2):
        parser.error("need agents >= alerts + 2 and commits >= 4 * (alerts + 2)")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access-log line per POST

    built, cached = cached_repo(agents=args.agents, commits=args.commits, rogues=args.alerts + 2)
    rogues = list(built.rogues)
    random.Random(SEED + 1).shuffle(rogues)  # alert order independent of depth
    warmup, measured, spare = rogues[0], rogues[1 : args.alerts + 1], rogues[args.alerts + 1]
    depths = sorted(r.depth for r in built.rogues)
    print(
        f"== synthetic repo: {built.first_parent:,} first-parent commits ({built.merges:,} merges, "
        f"+{built.side_commits:,} on PR branches), {built.agents:,} agents x 2 manifests"
    )
    print(
        f"   {len(depths)} planted culprits at depths {depths[0]}..{depths[-1]:,} "
        f"({sum(r.via_merge for r in built.rogues)} via merge commits); built in {built.build_seconds:.1f} s"
        f"{' (cached)' if cached else ''}: {built.path.relative_to(ROOT)}"
    )

    run_dir = OUT / f"run-{datetime.now(UTC):%Y%m%dT%H%M%S}-{os.getpid()}"
    problems: list[str] = []
    try:
        started = datetime.now(UTC) - timedelta(seconds=30)
        template = load_payload()
        # ---- A
        remote_a = fresh_copy(built, run_dir / "remote-a.git")
        bot = BotRun(run_dir / "bot", remote_a, args.alerts + 2)
        runs: list[AlertRun] = []
        outcomes: dict[str, Outcome] = {}
        profiler_out: list[str] = []
        t = time.perf_counter()
        with bot.serving():
            warm = bot.fire(alert_body(template, warmup, started), warmup.agent)
            outcomes[warmup.agent] = warm.outcome
            for r in measured:
                run = bot.fire(alert_body(template, r, started), r.agent)
                if run.outcome.plan is None or run.outcome.plan.culprit.sha != r.sha:
                    problems.append(
                        f"{r.agent}: bot picked culprit {run.outcome.plan and run.outcome.plan.culprit.sha}"
                    )
                runs.append(run)
                outcomes[r.agent] = run.outcome
            done_rogues = [warmup, *measured]
            if args.profile:
                bot.profiler = cProfile.Profile()
                prof = bot.fire(alert_body(template, spare, started), spare.agent)
                outcomes[spare.agent] = prof.outcome
                done_rogues.append(spare)
                profiler_out = profile_lines(bot.profiler)
        a_seconds = time.perf_counter() - t
        verify_remote(remote_a, done_rogues, outcomes)
        # ---- B
        remote_b = fresh_copy(built, run_dir / "remote-b.git")
        work_b = run_dir / "plumbing" / "repo"
        plain = GitRepo(f"file://{remote_b}", "main", work_b)  # same clone and index as the bot's
        plain.repo.close()
        tuned = _run(
            [
                "git",
                "config",
                "--local",
                "--get-regexp",
                r"^(core\.commitgraph|fetch\.writecommitgraph|gc\.auto)$",
            ],
            cwd=work_b,
        )
        warm_b = plumbing_rollback(work_b, warmup.agent)
        plumb = [plumbing_rollback(work_b, r.agent) for r in measured]
        problems += [
            f"{p.agent}: plumbing found culprit {p.culprit[:12]}"
            for p, r in zip(plumb, measured, strict=True)
            if p.culprit != r.sha
        ]
        bloom = bloom_check(work_b, measured[0].agent)
    except BenchError as e:
        print(f"FUNCTIONAL FAILURE: {e}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)

    a, b = [r.latency for r in runs], [p.total for p in plumb]
    print(f"   bot clone + commit-graph (excluded): {bot.clone_seconds:.1f} s; run A took {a_seconds:.1f} s")
    print(
        "== git settings on both clones (GitRepo._tune): "
        + ", ".join(line.replace(" ", "=") for line in tuned.split("\n") if line)
        + ", commit-graph write --reachable --changed-paths"
    )
    print(f"\n== A  bot: POST -> revert pushed, {len(a)} alerts one at a time (warm-up excluded)")
    print(f"   {summary(a)}")
    top = sorted(warm.git.items(), key=lambda kv: -kv[1])[:3]
    print(f"   warm-up {ms(warm.latency).strip()}: " + ", ".join(f"{k} {ms(v).strip()}" for k, v in top))
    print("   where the time goes (median per alert):")
    print("\n".join(breakdown(runs)))
    print(
        f"\n== B  bare git plumbing, same rollbacks on a fresh copy (warm-up {ms(warm_b.total).strip()} excluded)"
    )
    print(f"   {summary(b)}")
    print("\n".join(plumbing_breakdown(plumb)))
    print("\n== changed-path Bloom filters for the culprit walk (one agent, trace2):")
    print("\n".join(bloom))
    ratio50, ratio99 = pct(a, 50) / pct(b, 50), pct(a, 99) / pct(b, 99)
    print(f"\n== ratio A/B: p50 {ratio50:.2f}  p99 {ratio99:.2f}")
    verdict = {True: "PASS", False: "FAIL"}
    print(f"== target A p99 <= {target_p99:.1f} s: {verdict[pct(a, 99) <= target_p99]} ({pct(a, 99):.3f} s)")
    print(
        f"== target ratio <= {TARGET_RATIO}: p50 {verdict[ratio50 <= TARGET_RATIO]}, p99 {verdict[ratio99 <= TARGET_RATIO]}"
    )
    if profiler_out:
        print("\n== cProfile of one more alert in the worker (engine.handle, wall time):")
        print("\n".join(profiler_out))
    if problems:
        print("FUNCTIONAL FAILURE:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
