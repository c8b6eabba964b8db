"""CLI polish (--version, help with defaults, every subcommand listed) and the pure escalation lifecycle."""

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gitops_bot import __version__
from gitops_bot.app.config import load_config
from gitops_bot.app.logs import configure, event
from gitops_bot.cli import _parser
from gitops_bot.core.errors import ConfigError
from gitops_bot.core.escalation import Escalation, plan_round, should_page
from gitops_bot.core.pause import pause_verdict, read_pause
from tests.test_crash_and_cli import cli

COMMANDS = [
    "serve",
    "demo",
    "demo-github",
    "culprit",
    "rollback",
    "audit",
    "policy",
    "mark-good",
    "watch-good",
    "pause",
    "resume",
]
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_version_flag_prints_the_package_version() -> None:
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"gitops-bot {__version__}"


def test_top_level_help_lists_every_subcommand_with_a_line() -> None:
    text = cli("--help").stdout
    for command in COMMANDS:
        assert re.search(rf"^\s+{re.escape(command)}\s+\S|^\s+{re.escape(command)}\n\s+\S", text, re.M), (
            command
        )


def test_every_flag_of_every_subcommand_has_help_and_shows_its_default() -> None:
    sub = next(a for a in _parser()._actions if a.dest == "command")
    for name, parser in sub.choices.items():  # type: ignore[attr-defined]
        for action in parser._actions:
            assert action.help, f"{name} {action.option_strings} has no help"
        text = parser.format_help()
        if any(a.dest == "config" for a in parser._actions):
            assert "(default: gitops-bot.yaml)" in text, name
        assert "(default: info)" in text, name


def test_a_bad_log_level_is_refused_by_the_cli() -> None:
    result = cli("audit", "--log-level", "verbose")
    assert result.returncode == 2 and "invalid choice: 'verbose'" in result.stderr


@pytest.fixture
def root_logging() -> Iterator[None]:
    """configure() replaces the root logger's handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_log_lines_carry_fields_and_never_ansi(fmt: str, root_logging: None) -> None:
    stream = io.StringIO()
    configure(fmt, "info", stream=stream)  # type: ignore[arg-type]
    event(
        logging.getLogger("gitops_bot"),
        logging.INFO,
        "\x1b[32mROLLED_BACK\x1b[0m x",
        agent="a b",
        commit=None,
    )
    logging.getLogger("gitops_bot").debug("hidden at info")
    line = stream.getvalue()
    assert "\x1b" not in line and "hidden" not in line and line.count("\n") == 1
    if fmt == "json":
        data = json.loads(line)
        assert (data["message"], data["agent"], "commit" in data) == ("ROLLED_BACK x", "a b", False)
    else:
        assert line.rstrip().endswith('ROLLED_BACK x agent="a b"')


def esc(reason: str, *, agent: str | None = "billing-agent", expires: datetime | None = None) -> Escalation:
    return Escalation(reason, agent, "agents", f"{reason} summary", "why", NOW, expires)


def test_held_escalation_is_reposted_ahead_then_resolved_when_it_clears() -> None:
    first = plan_round({}, [esc("breaker", agent=None)], [], now=NOW, resend=timedelta(minutes=1))
    (post,) = first.posts
    assert post.ends_at == NOW + timedelta(minutes=4) and not post.resolved
    later = NOW + timedelta(minutes=3)
    again = plan_round(first.open, [esc("breaker", agent=None)], [], now=later, resend=timedelta(minutes=1))
    assert again.posts[0].ends_at == later + timedelta(minutes=4) and again.posts[0].starts_at == NOW
    cleared = plan_round(again.open, [], [], now=later, resend=timedelta(minutes=1))
    assert [(p.resolved, p.ends_at) for p in cleared.posts] == [(True, later)] and not cleared.open


def test_one_shot_keeps_its_expiry_as_ends_at_and_lapses() -> None:
    shot = esc("limit", expires=NOW + timedelta(hours=4))
    first = plan_round({}, [], [shot], now=NOW, resend=timedelta(minutes=1))
    assert first.posts[0].ends_at == NOW + timedelta(hours=4)
    gone = plan_round(first.open, [], [], now=NOW + timedelta(hours=5), resend=timedelta(minutes=1))
    assert [p.resolved for p in gone.posts] == [True] and not gone.open


def test_unknown_agents_are_never_paged_fleet_wide_ones_always() -> None:
    assert not should_page(esc("limit", agent="ghost"), frozenset({"billing-agent"}))
    assert should_page(esc("limit"), frozenset({"billing-agent"}))
    assert should_page(esc("breaker", agent=None), frozenset())


def test_a_hand_written_pause_file_still_pauses() -> None:
    verdict = pause_verdict(read_pause("stop everything please"), "billing-agent")
    assert verdict is not None and (verdict.kind, verdict.code) == ("escalate", "paused")
    assert pause_verdict(read_pause(None), "billing-agent") is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("escalations: {enabled: yes-please}", "escalations.enabled: Input should be a valid boolean"),
        ("escalations: {resend: soon}", "escalations.resend"),
        ("prometheus: {url: 'https://p', headers: {X-Tenant: 7}}", "prometheus.headers.X-Tenant"),
        (
            "prometheus: {url: 'https://p', basic_auth: {username: bot}}",
            "prometheus.basic_auth.password_env: is required",
        ),
    ],
)
def test_bad_escalation_and_prometheus_settings_are_refused(extra: str, message: str, tmp_path: Path) -> None:
    config = tmp_path / "gitops-bot.yaml"
    config.write_text(f"repo: {{url: file:///nowhere.git}}\n{extra}\n")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(config)
