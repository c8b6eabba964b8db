"""Fuzz the parsers that read outside input: only the project's typed errors may come out."""

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gitops_bot.core.alerts import parse_notification
from gitops_bot.core.durations import parse_duration
from gitops_bot.core.errors import AlertPayloadError, WebhookPayloadError, YamlPathError
from gitops_bot.core.github.body import read_ticket
from gitops_bot.core.github.webhooks import accepted
from gitops_bot.core.matchers import parse_matcher
from gitops_bot.core.paths import is_plain_name
from gitops_bot.core.promql import render, template_problems
from gitops_bot.core.route import Routed, route
from gitops_bot.core.yamlpath import parse_path, read_value
from tests.conftest import ALERTMANAGER, CONTRACTS, TEST_KEYS, make_policy
from tests.fuzz.budget import EXECUTIONS, FUZZ, JSON, bodies, examples

ALERT_EXAMPLE = json.loads((ALERTMANAGER / "firing-grouped-3-agents.json").read_text())
WEBHOOKS = CONTRACTS / "github" / "webhooks"
HOOK_EXAMPLES = {e: examples(WEBHOOKS / f"{e}.json")[0] for e in ("issue_comment", "pull_request", "push")}
POLICIES = (make_policy(),)


@FUZZ
@given(bodies(ALERT_EXAMPLE))
def test_alertmanager_webhook_parser(body: bytes) -> None:
    EXECUTIONS["alertmanager webhook parser"] += 1
    try:
        notification = parse_notification(body)
    except AlertPayloadError:
        return
    for alert in notification.alerts:  # whatever parses must route to a decision, never crash
        routed = route(alert, POLICIES)
        if isinstance(routed, Routed):
            assert is_plain_name(routed.agent)


@FUZZ
@given(st.sampled_from([*sorted(HOOK_EXAMPLES), "ping"]), st.data())
def test_github_webhook_parser(event: str, data: st.DataObject) -> None:
    EXECUTIONS["github webhook parser"] += 1
    body = data.draw(bodies(HOOK_EXAMPLES.get(event, {})))
    try:
        accepted(event, body, repo="Codertocat/Hello-World", bot_login="gitops-bot[bot]")
    except WebhookPayloadError:
        return


@FUZZ
@given(st.one_of(st.text(max_size=60), st.from_regex(r'[a-z_]{1,8}(=|!=|=~|!~)"[^"]{0,12}"', fullmatch=True)))
def test_matcher_parser(text: str) -> None:
    EXECUTIONS["matcher parser"] += 1
    try:
        parse_matcher(text)
    except ValueError:
        return


@FUZZ
@given(st.one_of(JSON, st.from_regex(r"(\d{1,6}(ms|s|m|h|d|w|y)){1,3}", fullmatch=True)))
def test_duration_parser(value: Any) -> None:
    EXECUTIONS["duration parser"] += 1
    try:
        assert parse_duration(value).total_seconds() > 0
    except ValueError:
        return


@FUZZ
@given(
    st.one_of(
        st.text(max_size=40),
        st.from_regex(r"[a-z]{1,5}(\.[a-z]{1,5}|\[\d\]|\[name=[a-z]{1,4}\])*", fullmatch=True),
    ),
    st.text(max_size=80),
)
def test_field_path_parser_and_reader(path: str, yaml_text: str) -> None:
    EXECUTIONS["field path parser"] += 1
    try:
        parse_path(path)
    except (ValueError, YamlPathError):
        return
    read_value(yaml_text, path)  # never raises: None for a missing path or broken YAML


@FUZZ
@given(st.text(max_size=120), st.dictionaries(st.sampled_from(["agent", "version"]), st.text(max_size=20)))
def test_promql_template_checker(template: str, values: dict[str, str]) -> None:
    EXECUTIONS["promql template checker"] += 1
    if template_problems(template):
        return
    render(template, values)


@FUZZ
@given(st.one_of(st.text(max_size=200), JSON.map(lambda d: f"<!-- gitops-bot:ticket {json.dumps(d)} -->")))
def test_pr_ticket_reader(body: str) -> None:
    EXECUTIONS["pr ticket reader"] += 1
    read_ticket(body, TEST_KEYS)  # Ticket, Forged or None; never raises
