"""gitops-bot: roll a rogue AI agent back in the GitOps repo when Alertmanager says so.

Every command takes --log-format and --log-level (after the command name).
"""

import argparse
import getpass
import importlib
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gitops_bot import __version__
from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.app.audit import audit_records, audit_table
from gitops_bot.app.config import Config, load_config
from gitops_bot.app.engine import Engine, Outcome
from gitops_bot.app.forge.local import LocalForge
from gitops_bot.app.logs import LOG_FORMATS, LOG_LEVELS, configure
from gitops_bot.app.policy_files import check_policies, load_policies
from gitops_bot.app.policy_status import report, resolve_all
from gitops_bot.app.watch_good import watch_good_once
from gitops_bot.app.wiring import make_engine, make_reader
from gitops_bot.core.alerts import Alert
from gitops_bot.core.errors import GitopsBotError, UsageError
from gitops_bot.core.paths import is_plain_name
from gitops_bot.core.policy import Policy
from gitops_bot.core.policy_schema import json_schema
from gitops_bot.core.route import Routed
from gitops_bot.core.templates import label_bindings


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except where the help already explains them or there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "(default" in text or action.default in (None, False, argparse.SUPPRESS) or action.default == []:
            return text
        return super()._get_help_string(action)


CONFIG_HELP = "gitops-bot.yaml to read (relative paths in it resolve against its folder)"
LABEL_HELP = "fix a template label, e.g. env=prod (repeatable)"


def _common() -> argparse.ArgumentParser:
    """Options every subcommand takes: logging. The level is set here and nowhere else."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=None,
        help="log line format on stderr (default: json for serve, text for the other commands)",
    )
    common.add_argument("--log-level", choices=LOG_LEVELS, default="info", help="least severe level logged")
    return common


def _add(sub: Any, name: str, text: str, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=text, description=text, parents=[common], formatter_class=_Formatter
    )
    return parser


def _config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=Path("gitops-bot.yaml"), help=CONFIG_HELP)


def _label(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--label", action="append", default=[], metavar="NAME=VALUE", help=LABEL_HELP)


def _agent_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """culprit, rollback, audit, mark-good: the commands that act on one agent's history."""
    for name, text in (
        ("culprit", "show the commit that shipped an agent's version"),
        ("rollback", "roll an agent back now, the same path an alert takes"),
    ):
        c = _add(sub, name, text, common)
        _config(c)
        c.add_argument("--agent", required=True, help="agent name, as in the policy's agent label")
        c.add_argument("--version", help="the rogue version (default: whatever is deployed now)")
        c.add_argument("--policy", help="policy name (default: the first that knows the agent)")
        if name == "culprit":
            c.add_argument("--json", action="store_true", help="print JSON instead of text")
        else:
            c.add_argument("--dry-run", action="store_true", help="plan only: commit and push nothing")
        _label(c)
    audit = _add(sub, "audit", "list rollbacks recorded in git", common)
    _config(audit)
    audit.add_argument("--json", action="store_true", help="print JSON instead of a table")
    audit.add_argument("--agent", help="only this agent's rollbacks (default: all agents)")
    good = _add(sub, "mark-good", "tag the current commit known-good for an agent", common)
    _config(good)
    good.add_argument("--agent", required=True, help="agent name")
    _label(good)


def _policy_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    policy = _add(sub, "policy", "policy tools: check, schema", common)
    policy_sub = policy.add_subparsers(
        dest="policy_command", required=True, metavar="COMMAND", help="what to do with policies"
    )
    check = _add(
        policy_sub, "check", "validate RollbackPolicy files (and resolve them with --config)", common
    )
    check.add_argument(
        "dir", nargs="?", type=Path, help="policy folder (default: the config's, else policies/)"
    )
    check.add_argument("--config", type=Path, help="also resolve every field against the repo's head")
    _label(check)
    _add(policy_sub, "schema", "print the RollbackPolicy JSON Schema (policies/schema.json)", common)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gitops-bot", description=__doc__, formatter_class=_Formatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = _common()
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    serve = _add(sub, "serve", "receive Alertmanager webhooks and roll back", common)
    _config(serve)
    serve.add_argument("--insecure-no-auth", action="store_true", help="accept webhooks without a token")
    serve.add_argument(
        "--insecure-no-state-key",
        action="store_true",
        help="run without a state key: bot tags and PR tickets are written and read unauthenticated",
    )
    demo = _add(sub, "demo", "run the whole loop on a local example repo", common)
    demo.add_argument("--captured", action="store_true", help="replay captured payloads, no Prometheus")
    _add(sub, "demo-github", "github mode against a fake GitHub: PR, veto window, /approve, merge", common)
    _agent_commands(sub, common)
    _policy_commands(sub, common)
    watch = _add(sub, "watch-good", "tag versions that baked with no alert as known-good (one pass)", common)
    _config(watch)
    pause = _add(sub, "pause", "pause every rollback: commit .gitops-bot/pause (who, why)", common)
    _config(pause)
    pause.add_argument("--reason", required=True, help="why; recorded in the file and the commit")
    _config(_add(sub, "resume", "resume rollbacks: commit the removal of .gitops-bot/pause", common))
    return p


def _manual(args: argparse.Namespace, engine_policies: tuple[Policy, ...], who: str) -> Routed:
    if not is_plain_name(args.agent):
        raise UsageError(f"--agent {args.agent!r} is not a plain agent name")
    candidates = [p for p in engine_policies if args.policy in (None, p.name)]
    if not candidates:
        raise UsageError(f"no policy named {args.policy!r}")
    policy = candidates[0]
    extra = _labels(args.label)
    labels = {**extra, "alertname": "ManualRollback", policy.agent_label: args.agent}
    if args.version and policy.version_label:
        labels[policy.version_label] = args.version
    alert = Alert(
        status="firing",
        labels=labels,
        annotations={"summary": f"manual rollback of {args.agent} requested by {who}"},
        starts_at=datetime.now(UTC),
        ends_at=None,
        generator_url="",
        fingerprint="manual",
    )
    bound, why = label_bindings(policy.template_labels, labels)
    if why:
        raise UsageError(f"policy {policy.name}: {why} (pass --label NAME=VALUE)")
    return Routed(
        alert=alert, policy=policy, agent=args.agent, version=args.version, approved_by=who, labels=bound
    )


def _labels(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name or not is_plain_name(value):
            raise UsageError(f"--label {pair!r}: want NAME=VALUE with a plain value")
        out[name] = value
    return out


def _policy_check(args: argparse.Namespace) -> int:
    config = load_config(args.config) if args.config else None
    folder = args.dir or (config.policies if config else Path("policies"))
    policies, problems = check_policies(folder)
    lines: list[str] = []
    if config is not None and not problems:
        repo = GitRepo(config.repo_url, config.branch, config.workdir, max_file_bytes=config.max_file_bytes)
        with Engine(repo, LocalForge(), policies).exclusive():  # `serve` may be using the same clone
            head = repo.sync()
            lines, problems = report(resolve_all(repo, head, policies, _labels(args.label)))
        lines.insert(0, f"resolved against {config.branch} at {head[:12]}:")
    for line in lines:
        print(line)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{len(policies)} polic{'y' if len(policies) == 1 else 'ies'} OK in {folder}")
    return 1 if problems else 0


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
    if args.command == "demo":
        return int(_lab("gitops_bot_lab.demo").run_demo(captured=args.captured))
    if args.command == "demo-github":
        return int(_lab("gitops_bot_lab.demo_github").run_github_demo())
    if args.command == "policy" and args.policy_command == "schema":
        print(json.dumps(json_schema(), indent=2, sort_keys=True))
        return 0
    if args.command == "policy":
        return _policy_check(args)
    config = load_config(args.config)
    if args.command == "serve":
        from gitops_bot.app.serve import serve

        return serve(config, insecure=args.insecure_no_auth, insecure_state=args.insecure_no_state_key)
    return _run_on_repo(args, config)


def _run_on_repo(args: argparse.Namespace, config: Config) -> int:
    """The commands that work on the bot's clone of the GitOps repo."""
    # Pausing in an emergency must not depend on the policy files being valid; the audit needs
    # them: a rollback record counts only when its policy's fields prove it.
    needs_policies = args.command not in ("pause", "resume")
    engine = make_engine(config, load_policies(config.policies) if needs_policies else ())
    if args.command == "audit":
        with engine.exclusive():  # `serve` may be using the same clone
            engine.repo.sync()
        records = audit_records(engine, agent=args.agent)
        print(json.dumps([r.to_json() for r in records], indent=2) if args.json else audit_table(records))
        return 0
    if args.command == "watch-good":
        reader = make_reader(config)
        for line in watch_good_once(engine, prometheus_url=config.prometheus_url, reader=reader):
            print(line)
        return 0
    who = f"cli:{getpass.getuser()}"
    if args.command in ("pause", "resume"):
        from gitops_bot.app.pause import pause, resume

        print(pause(engine, by=who, reason=args.reason) if args.command == "pause" else resume(engine))
        return 0
    if args.command == "mark-good":
        from gitops_bot.app.known_good import mark_good

        print(mark_good(engine, args.agent, who=who, labels=_labels(args.label)))
        return 0
    routed = _manual(args, engine.policies, who)
    dry = args.command == "culprit" or args.dry_run
    # An operator's explicit request is not re-checked against Alertmanager or Prometheus.
    outcome = engine.handle_routed(routed, dry_run=dry, check=False)
    return _print_outcome(outcome, as_json=getattr(args, "json", False))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; user mistakes and outside failures end in one line and exit 1."""
    args = _parser().parse_args(argv)
    # JSON for the long-running server (log collectors), text for commands people run by hand.
    configure(args.log_format or ("json" if args.command == "serve" else "text"), args.log_level)
    try:
        return _run(args)
    except GitopsBotError as e:
        print(f"gitops-bot: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
