"""Command line: serve, demo, culprit, rollback, audit, policy check, mark-good."""

import argparse
import getpass
import importlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gitops_bot.app.audit import audit_records, audit_table
from gitops_bot.app.config import Config, load_config
from gitops_bot.app.engine import Outcome
from gitops_bot.app.policy_files import check_policies, load_policies
from gitops_bot.app.watch_good import watch_good_once
from gitops_bot.app.wiring import make_engine
from gitops_bot.app.workflow_step import starts_at_arg, write_outputs
from gitops_bot.core.alerts import Alert
from gitops_bot.core.errors import GitopsBotError, UsageError
from gitops_bot.core.paths import is_plain_name
from gitops_bot.core.policy import Policy
from gitops_bot.core.route import Routed


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gitops-bot", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="receive Alertmanager webhooks and roll back")
    serve.add_argument("--config", type=Path, default=Path("gitops-bot.yaml"))
    serve.add_argument("--insecure-no-auth", action="store_true", help="accept webhooks without a token")
    demo = sub.add_parser("demo", help="run the whole loop on a local example repo")
    demo.add_argument("--captured", action="store_true", help="replay captured payloads, no Prometheus")
    demo.add_argument(
        "--executor",
        choices=("inline", "argo-workflows"),
        default="inline",
        help="argo-workflows: each rollback as an Argo Workflow on the lab's stand-in Argo Server",
    )
    sub.add_parser("demo-github", help="github mode against a fake GitHub: PR, veto window, /approve, merge")
    for name, text in (
        ("culprit", "show the commit that shipped an agent's version"),
        ("rollback", "roll an agent back now, the same path an alert takes"),
    ):
        c = sub.add_parser(name, help=text)
        c.add_argument("--config", type=Path, default=Path("gitops-bot.yaml"))
        c.add_argument("--agent", required=True)
        c.add_argument("--version")
        c.add_argument("--policy", help="policy name (default: the first that knows the agent)")
        c.add_argument("--json", action="store_true", help="print the outcome as JSON")
    _rollback_options(sub.choices["rollback"])
    audit = sub.add_parser("audit", help="list rollbacks recorded in git")
    audit.add_argument("--config", type=Path, default=Path("gitops-bot.yaml"))
    audit.add_argument("--json", action="store_true")
    audit.add_argument("--agent")
    audit.add_argument(
        "--in-flight", action="store_true", help="rollback workflows still running (argo-workflows)"
    )
    policy = sub.add_parser("policy", help="policy tools")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    check = policy_sub.add_parser("check", help="validate RollbackPolicy files")
    check.add_argument("dir", nargs="?", type=Path, default=Path("policies"))
    good = sub.add_parser("mark-good", help="tag the current commit known-good for an agent")
    good.add_argument("--config", type=Path, default=Path("gitops-bot.yaml"))
    good.add_argument("--agent", required=True)
    watch = sub.add_parser(
        "watch-good", help="tag versions that baked with no alert as known-good (one pass)"
    )
    watch.add_argument("--config", type=Path, default=Path("gitops-bot.yaml"))
    return p


def _rollback_options(c: argparse.ArgumentParser) -> None:
    """What a workflow step (or an operator acting for an alert) passes on to the rollback commit."""
    c.add_argument("--dry-run", action="store_true", help="plan only: print what would be rolled back")
    c.add_argument("--approved-by", help="Approved-By trailer (default: cli:<user>)")
    c.add_argument("--alertname", help="Alert-Name trailer (default: ManualRollback)")
    c.add_argument("--fingerprint", help="Alert-Fingerprint trailer (default: manual)")
    c.add_argument("--summary", help="first line of the commit body (e.g. the workflow that ran it)")
    c.add_argument("--starts-at", help="the alert's startsAt, RFC 3339 (default: now)")
    c.add_argument(
        "--gate", action="store_true", help="ask Alertmanager/Prometheus before pushing, as an alert does"
    )
    c.add_argument(
        "--outputs",
        type=Path,
        metavar="DIR",
        help="also write outcome, reason, culprit, from, to, commit as one file each into DIR (step outputs)",
    )


def _manual(args: argparse.Namespace, engine_policies: tuple[Policy, ...], who: str) -> Routed:
    if not is_plain_name(args.agent):
        raise UsageError(f"--agent {args.agent!r} is not a plain agent name")
    candidates = [p for p in engine_policies if args.policy in (None, p.name)]
    if not candidates:
        raise UsageError(f"no policy named {args.policy!r}")
    policy = candidates[0]
    alertname = getattr(args, "alertname", None) or "ManualRollback"
    labels = {"alertname": alertname, policy.agent_label: args.agent}
    if args.version and policy.version_label:
        labels[policy.version_label] = args.version
    alert = Alert(
        status="firing",
        labels=labels,
        annotations={
            "summary": getattr(args, "summary", None) or f"manual rollback of {args.agent} requested by {who}"
        },
        starts_at=starts_at_arg(getattr(args, "starts_at", None)),
        ends_at=None,
        generator_url="",
        fingerprint=getattr(args, "fingerprint", None) or "manual",
    )
    return Routed(alert=alert, policy=policy, agent=args.agent, version=args.version, approved_by=who)


def _print_outcome(outcome: Outcome, *, as_json: bool) -> int:
    plan = outcome.plan
    if as_json:
        data: dict[str, Any] = {"outcome": outcome.kind, "reason": outcome.reason, "agent": outcome.agent}
        if plan is not None:
            data |= {
                "culprit": plan.culprit.sha,
                "culpritSubject": plan.culprit.subject,
                "culpritAuthor": plan.culprit.author,
                "from": plan.from_version,
                "to": plan.to_version,
                "target": plan.target_source,
                "files": sorted(plan.files),
            }
        print(json.dumps(data, indent=2))
    else:
        print(f"{outcome.kind}: {outcome.reason}")
        if plan is not None:
            print(f"culprit: {plan.culprit.sha} {plan.culprit.subject!r} by {plan.culprit.author}")
            print(f"restore: {plan.from_version} -> {plan.to_version} from {plan.target_source}")
            print(f"files:   {', '.join(sorted(plan.files))}")
    return 0 if outcome.kind in ("rolled_back", "planned", "ignored") else 2


def _lab(module: str) -> Any:
    """The demos live in the separate gitops-bot-lab distribution; say how to get it when missing."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name is None or not e.name.startswith("gitops_bot_lab"):
            raise
        raise UsageError(
            "the demos need the gitops-bot-lab package: pip install ./lab (from a checkout) "
            "or pip install 'gitops-bot[demo]'"
        ) from e


def _run(args: argparse.Namespace) -> int:
    if args.command == "demo" and args.executor == "argo-workflows":
        return int(_lab("gitops_bot_lab.demo_argo").run_argo_demo())
    if args.command == "demo":
        return int(_lab("gitops_bot_lab.demo").run_demo(captured=args.captured))
    if args.command == "demo-github":
        return int(_lab("gitops_bot_lab.demo_github").run_github_demo())
    if args.command == "policy":
        policies, problems = check_policies(args.dir)
        for problem in problems:
            print(problem, file=sys.stderr)
        if not problems:
            print(f"{len(policies)} polic{'y' if len(policies) == 1 else 'ies'} OK in {args.dir}")
        return 1 if problems else 0
    config = load_config(args.config)
    if args.command == "serve":
        from gitops_bot.app.serve import serve

        return serve(config, insecure=args.insecure_no_auth)
    if args.command == "audit" and args.in_flight:
        return _in_flight(config, as_json=args.json)
    engine = make_engine(config, load_policies(config.policies) if args.command != "audit" else ())
    if args.command == "audit":
        with engine.exclusive():  # `serve` may be using the same clone
            engine.repo.sync()
        records = audit_records(engine.repo, agent=args.agent)
        print(json.dumps([r.to_json() for r in records], indent=2) if args.json else audit_table(records))
        return 0
    if args.command == "watch-good":
        for line in watch_good_once(engine, prometheus_url=config.prometheus_url):
            print(line)
        return 0
    who = getattr(args, "approved_by", None) or f"cli:{getpass.getuser()}"
    if args.command == "mark-good":
        from gitops_bot.app.known_good import mark_good

        print(mark_good(engine, args.agent, who=who))
        return 0
    routed = _manual(args, engine.policies, who)
    dry = args.command == "culprit" or args.dry_run
    # An operator's explicit request is not re-checked against Alertmanager or Prometheus, unless
    # it acts for an alert (a workflow's apply step passes --gate).
    outcome = engine.handle_routed(routed, dry_run=dry, check=getattr(args, "gate", False))
    if getattr(args, "outputs", None) is not None:
        write_outputs(args.outputs, outcome)
    return _print_outcome(outcome, as_json=args.json)


def _in_flight(config: Config, *, as_json: bool) -> int:
    if config.executor.kind != "argo-workflows":
        raise UsageError("--in-flight needs executor.kind: argo-workflows in the config")
    from gitops_bot.app.argo_executor import in_flight, in_flight_table, make_argo

    rows = in_flight(make_argo(config.executor))
    print(json.dumps(rows, indent=2) if as_json else in_flight_table(rows))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; user mistakes and outside failures end in one line and exit 1."""
    logging.basicConfig(
        level=os.environ.get("GITOPS_BOT_LOG", "INFO"), format="%(asctime)s %(levelname)s %(message)s"
    )
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except GitopsBotError as e:
        print(f"gitops-bot: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
