"""Pure parts of github mode with plain values: commands, the PR state machine, webhooks, quarantine."""

import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth

from gitops_bot.adapters.github.settings import GitHubSettings, build_auth, git_auth_env, parse_github
from gitops_bot.core.errors import ConfigError, WebhookPayloadError
from gitops_bot.core.github.body import Evidence, Forged, read_ticket, render_body, with_ticket
from gitops_bot.core.github.commands import Command, authorize, effective_permission, parse_command
from gitops_bot.core.github.pr_state import (
    AUTO_MERGE,
    BLOCKED,
    HELD,
    VETOED,
    PrView,
    Ticket,
    merge_commit,
    on_command,
    on_tick,
)
from gitops_bot.core.github.quarantine import Quarantined, agents_in, quarantined, reintroduced, status_for
from gitops_bot.core.github.types import error_text, retry_delay
from gitops_bot.core.github.webhooks import (
    CommentEvent,
    PullRequestEvent,
    command_in,
    event_from_json,
    event_key,
    event_to_json,
    parse_webhook,
    verify_signature,
)
from gitops_bot.core.policy import Approvers
from gitops_bot.core.refs import rollback_branch
from gitops_bot.core.trailers import RollbackRecord, parse_trailers
from tests.conftest import CONTRACTS, TEST_KEYS

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
WEBHOOKS = CONTRACTS / "github" / "webhooks"
TICKET = Ticket("billing-agent", "c" * 40, "agents", "veto-window", "merge", "2026.06.0", "2026.05.2", T0)


def view(ticket: Ticket = TICKET, labels: frozenset[str] = frozenset(), open_: bool = True) -> PrView:
    return PrView(7, open_, False, labels, ticket)


# -- commands and permissions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/approve", Command("approve")),
        ("  /APPROVE  \nthanks", Command("approve")),
        ("/veto   the   model is fine\nmore text", Command("veto", "the model is fine")),
        ("/hold", Command("hold")),
        ("/unhold", Command("unhold")),
        ("/approved", None),
        ("please /approve", None),
        ("> /approve\n\nno way", None),
        ("", None),
    ],
)
def test_commands_are_read_from_the_first_line_only(body: str, expected: Command | None) -> None:
    assert parse_command(body) == expected


@pytest.mark.parametrize(
    ("required", "held", "allowed"),
    [
        ("write", "admin", True),
        ("write", "maintain", True),
        ("write", "write", True),
        ("write", "triage", False),
        ("write", "read", False),
        ("write", "none", False),
        ("maintain", "write", False),
        ("admin", "maintain", False),
        ("triage", "triage", True),
    ],
)
def test_permission_is_compared_by_value(required: str, held: str, allowed: bool) -> None:
    assert authorize(Approvers(permission=required), "someone", held).allowed is allowed


def test_custom_roles_fall_back_to_the_legacy_permission() -> None:
    assert effective_permission("maintain", "write") == "maintain"
    assert effective_permission("security-reviewer", "write") == "write"
    assert effective_permission("none", "none") == "none"


def test_users_and_teams_narrow_but_never_widen() -> None:
    approvers = Approvers(permission="write", users=("Alice",), teams=("acme/sre",))
    assert authorize(approvers, "alice", "write").allowed
    refused = authorize(approvers, "bob", "admin")
    assert not refused.allowed and "@Alice" in refused.reason and "team acme/sre" in refused.reason
    assert authorize(approvers, "bob", "write", in_team=True).allowed
    assert not authorize(approvers, "alice", "read").allowed


# -- the state machine -------------------------------------------------------------------------


def test_veto_window_waits_then_merges_as_expired() -> None:
    assert on_tick(view(), T0 - timedelta(seconds=1)).kind == "wait"
    step = on_tick(view(), T0)
    assert (step.kind, step.approved_by) == ("merge", "veto-window-expired")


def test_modes_blocked_and_armed_prs() -> None:
    assert on_tick(view(replace(TICKET, mode="auto")), T0).approved_by == "auto"
    assert (
        on_tick(view(replace(TICKET, mode="approval", deadline=None)), T0 + timedelta(days=9)).kind == "wait"
    )
    for state in ({"blocked": True}, {"armed": True}):  # from the sealed ticket, never from labels
        assert on_tick(view(replace(TICKET, **state)), T0 + timedelta(hours=1)).kind == "none"
    for label in (BLOCKED, AUTO_MERGE):  # a label anyone with triage can add changes nothing
        assert on_tick(view(labels=frozenset({label})), T0 + timedelta(hours=1)).kind == "merge"
    assert on_tick(view(open_=False), T0 + timedelta(hours=1)).kind == "none"


def test_hold_stops_the_clock_and_unhold_restarts_it_with_what_was_left() -> None:
    now = T0 - timedelta(minutes=3)
    held = on_command(view(), Command("hold"), "alice", now)
    assert held.kind == "update" and held.add_labels == (HELD,)
    assert held.ticket is not None and held.ticket.held_remaining == 180 and held.ticket.deadline is None
    assert on_tick(view(held.ticket), T0 + timedelta(hours=5)).kind == "none"
    again = on_command(view(held.ticket), Command("hold"), "bob", now)
    assert again.kind == "reply" and "already" in again.reply
    later = T0 + timedelta(hours=5)
    unheld = on_command(view(held.ticket), Command("unhold"), "bob", later)
    assert unheld.ticket is not None and unheld.ticket.deadline == later + timedelta(minutes=3)
    assert unheld.remove_labels == (HELD,) and not unheld.ticket.held
    nearly = on_command(
        view(replace(TICKET, deadline=None, held_remaining=2.0)), Command("unhold"), "b", later
    )
    assert nearly.ticket is not None and nearly.ticket.deadline == later + timedelta(minutes=1)


def test_approve_veto_and_commands_on_closed_prs() -> None:
    approve = on_command(view(), Command("approve"), "alice", T0)
    assert (approve.kind, approve.approved_by) == ("merge", "alice")
    veto = on_command(view(), Command("veto", "false positive"), "alice", T0)
    assert (veto.kind, veto.reason, veto.add_labels) == ("close", "false positive", (VETOED,))
    assert on_command(view(), Command("veto"), "alice", T0).reason == "no reason given"
    assert on_command(view(open_=False), Command("approve"), "alice", T0).kind == "none"
    no_clock = on_command(view(replace(TICKET, mode="approval")), Command("hold"), "alice", T0)
    assert no_clock.kind == "reply" and "no clock" in no_clock.reply


def test_merge_commit_ends_with_the_trailers_and_the_final_approval() -> None:
    message = "Roll back a 2 -> 1 (X)\n\nbody\n\nRollback-Of: abc\nRollback-Agent: a\nApproved-By: pending\n"
    title, body = merge_commit(message, "alice", 12)
    assert title == "Roll back a 2 -> 1 (X) (#12)"
    assert body.endswith("Approved-By: alice")
    assert parse_trailers(body.rsplit("\n\n", 1)[-1]) == {
        "Rollback-Of": "abc",
        "Rollback-Agent": "a",
        "Approved-By": "alice",
    }


# -- PR body and ticket ------------------------------------------------------------------------


def evidence(summary: str = "violates policy") -> Evidence:
    return Evidence(
        "billing-agent", "AgentPolicyViolations", summary, T0, "http://vm/graph", "c" * 40, "Release | 2026",
        "Dana <d@x>", "2026.06.0", "2026.05.2", "parent of cccc", "agents", "-a\n+b\n",
    )  # fmt: skip


def test_body_shows_the_evidence_and_round_trips_the_ticket() -> None:
    hostile = replace(TICKET, alert={"annotations": {"summary": "evil --> <!-- x"}})
    body = render_body(evidence(), hostile, Approvers(users=("alice",)), T0 - timedelta(minutes=5), TEST_KEYS)
    for needle in (
        "AgentPolicyViolations",
        "violates policy",
        "http://vm/graph",
        "`cccccccccccc`",
        "Dana <d@x>",
    ):
        assert needle in body
    assert "Release \\| 2026" in body and "```diff\n-a\n+b\n```" in body
    assert "merges at **2026-06-01T12:00:00Z** (in 5m 0s" in body and "limited to @alice" in body
    assert read_ticket(body, TEST_KEYS) == hostile
    held = replace(hostile, deadline=None, held_remaining=61.0)
    rewritten = with_ticket(body, held, Approvers(), T0, TEST_KEYS)
    assert (
        read_ticket(rewritten, TEST_KEYS) == held
        and "1m 1s left" in rewritten
        and "violates policy" in rewritten
    )
    assert read_ticket("a human PR", TEST_KEYS) is None
    assert isinstance(read_ticket("<!-- gitops-bot:ticket {bad -->", TEST_KEYS), Forged)


def test_branch_names_are_one_per_agent_and_culprit() -> None:
    assert (
        rollback_branch("billing-agent", "0123456789abcdef" * 2)
        == "gitops-bot/rollback/billing-agent/0123456789ab"
    )


# -- webhooks: real GitHub examples -------------------------------------------------------------


def examples(event: str) -> list[bytes]:
    return [json.dumps(e).encode() for e in json.loads((WEBHOOKS / f"{event}.json").read_text())]


def test_every_real_issue_comment_example_parses_and_only_created_counts() -> None:
    parsed = [parse_webhook("issue_comment", body) for body in examples("issue_comment")]
    assert all(isinstance(p, CommentEvent) for p in parsed)
    comments = [p for p in parsed if isinstance(p, CommentEvent)]
    assert {p.action for p in comments} == {"created", "edited", "deleted"}
    assert {p.author for p in comments} == {"Codertocat"} and all(not p.is_pull for p in comments)
    on_pr = [replace(p, is_pull=True, body="/approve") for p in comments]
    counted = [p.action for p in on_pr if command_in(p, bot_login=None)[0] is not None]
    assert counted == ["created"] * 5
    assert command_in(replace(on_pr[0], author_type="Bot"), bot_login=None)[1] == "comment by a bot"
    assert command_in(on_pr[0], bot_login="Codertocat")[1] == "comment by a bot"
    assert command_in(comments[0], bot_login=None)[1] == "comment on an issue, not a pull request"


def test_every_real_pull_request_example_parses() -> None:
    parsed = [parse_webhook("pull_request", body) for body in examples("pull_request")]
    assert all(isinstance(p, PullRequestEvent) for p in parsed)
    first = parsed[0]
    assert isinstance(first, PullRequestEvent)
    assert (first.number, first.head_ref, first.base_ref, first.repo) == (
        2,
        "changes",
        "master",
        "Codertocat/Hello-World",
    )
    assert len(first.head_sha) == 40
    assert event_from_json(event_to_json(first)) == first
    assert parse_webhook("ping", b"{}") is None and parse_webhook("push", examples("push")[0]) is None


@pytest.mark.parametrize(
    "body", [b"{oops", b"[]", b'{"repository": {"full_name": "a/b"}, "action": "created"}']
)
def test_malformed_deliveries_are_payload_errors(body: bytes) -> None:
    with pytest.raises(WebhookPayloadError):
        parse_webhook("issue_comment", body)


def test_signature_is_hmac_sha256_over_the_raw_body() -> None:
    body = examples("issue_comment")[0]
    good = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert verify_signature(body, good, b"s3cret")
    assert not verify_signature(body + b" ", good, b"s3cret")
    assert not verify_signature(body, good, b"other")
    assert not verify_signature(body, None, b"s3cret") and not verify_signature(body, "", b"s3cret")
    assert not verify_signature(body, good.replace("sha256=", "sha1="), b"s3cret")


def test_a_comment_is_one_command_whatever_the_delivery() -> None:
    comment = parse_webhook("issue_comment", examples("issue_comment")[0])
    assert comment is not None and event_key(comment, "d1") == event_key(comment, "d2")
    pr = parse_webhook("pull_request", examples("pull_request")[0])
    assert pr is not None and event_key(pr, "d1") != event_key(pr, "d2")


# -- quarantine -----------------------------------------------------------------------------------


def record(agent: str, version: str, sha: str = "r" * 40) -> RollbackRecord:
    return RollbackRecord(sha, T0, agent, version, "1.0", "c" * 40, "AgentX", "fp", "agents", "auto")


def test_quarantine_flags_only_a_version_the_pr_brings_back() -> None:
    entries = quarantined(
        [record("billing-agent", "2026.06.0"), record("billing-agent", "2026.06.0", "old" * 13)]
    )
    assert entries == (Quarantined("billing-agent", "2026.06.0", "r" * 40, "AgentX"),)
    image = "registry/billing-agent:2026.06.0"
    found = reintroduced(
        "billing-agent", ("registry/billing-agent:2026.05.2", "2026.05.2"), (image, "2026.06.0"), entries
    )
    assert found is not None and found.value == image
    assert reintroduced("billing-agent", (image, "2026.06.0"), (image, "2026.06.0"), entries) is None
    assert reintroduced("support-bot", (None,), ("x:2026.06.0",), entries) is None
    state, text = status_for([found])
    assert state == "failure" and "billing-agent 2026.06.0" in text and "rrrrrrrrrrrr" in text
    assert status_for([])[0] == "success"


def test_changed_files_map_back_to_agents() -> None:
    templates = ["agents/{agent}/deployment.yaml", "agents/{agent}/agent.yaml"]
    files = ["agents/a/deployment.yaml", "agents/b/agent.yaml", "agents/c/README.md", "other.yaml"]
    assert agents_in(files, templates) == {"a", "b"}


# -- back-off and GitHub error shapes ------------------------------------------------------------


def test_backoff_follows_github_rate_limit_headers() -> None:
    now = 1_000_000.0
    assert retry_delay(403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1000060"}, 0, now) == 61.0
    assert retry_delay(429, {"Retry-After": "7"}, 3, now) == 7.0
    assert retry_delay(429, {}, 0, now) == 60.0
    assert retry_delay(403, {"x-ratelimit-remaining": "12"}, 0, now) is None  # permission, not a limit
    assert [retry_delay(502, {}, a, now) for a in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert retry_delay(0, {}, 1, now) == 2.0
    for status in (404, 405, 409, 422):
        assert retry_delay(status, {}, 0, now) is None


def test_recorded_github_error_shapes_read_as_one_line() -> None:
    recorded = json.loads((CONTRACTS / "github" / "recorded" / "errors.json").read_text())[0]["response"]
    assert error_text(recorded) == "Validation Failed: resource=Label field=color code=invalid"
    protection = json.loads((CONTRACTS / "github" / "recorded" / "branch-protection.json").read_text())
    missing = next(x for x in protection if x["status"] == 404)["response"]
    assert error_text(missing) == "Branch not protected"
    graphql = {
        "data": None,
        "errors": [{"type": "UNPROCESSABLE", "message": "Pull request is in clean status"}],
    }
    assert error_text(graphql) == "Pull request is in clean status"


# -- settings and auth -----------------------------------------------------------------------------


def test_settings_defaults_and_errors(tmp_path: Path) -> None:
    s = parse_github({"repo": "acme/agents-gitops"}, base=tmp_path)
    assert (s.api_url, s.token_env, s.webhook_secret_env, s.poll_seconds) == (
        "https://api.github.com", "GITHUB_TOKEN", "GITHUB_WEBHOOK_SECRET", 15.0,
    )  # fmt: skip
    ghe = parse_github({"repo": "a/b", "api_url": "https://ghe.example/api/v3/", "poll": "2s"}, base=tmp_path)
    assert ghe.api_url == "https://ghe.example/api/v3" and ghe.poll_seconds == 2.0
    for bad in ({}, {"repo": "no-slash"}, {"repo": "a/b", "app_id": 1}, {"repo": "a/b", "poll": "soon"}):
        with pytest.raises(ConfigError):
            parse_github(bad, base=tmp_path)
    with pytest.raises(ConfigError, match="GITHUB_TOKEN"):
        build_auth(s, {})
    assert isinstance(build_auth(s, {"GITHUB_TOKEN": "t"}), Auth.Token)


def test_github_app_auth_is_built_from_the_private_key_file(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "app.pem").write_bytes(pem)
    raw = {
        "repo": "acme/agents-gitops",
        "app_id": 123456,
        "private_key_file": "keys/app.pem",
        "installation_id": "42",
    }
    with pytest.raises(ConfigError, match="bot_login: required with a GitHub App"):
        parse_github(raw, base=tmp_path)
    settings = parse_github({**raw, "bot_login": "acme-gitops-bot[bot]"}, base=tmp_path)
    assert settings.private_key_file == tmp_path / "keys" / "app.pem"
    auth = build_auth(settings, {})
    assert isinstance(auth, Auth.AppInstallationAuth) and auth.installation_id == 42
    jwt = Auth.AppAuth("123456", pem.decode()).token  # what PyGithub signs to mint installation tokens
    assert jwt.count(".") == 2
    with pytest.raises(ConfigError, match="cannot read"):
        build_auth(replace(settings, private_key_file=tmp_path / "missing.pem"), {})


def test_git_auth_header_carries_the_token() -> None:
    env = git_auth_env("ghs_abc")
    assert env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
    assert env["GIT_CONFIG_VALUE_0"] == "Authorization: Basic eC1hY2Nlc3MtdG9rZW46Z2hzX2FiYw=="
    assert GitHubSettings(repo="acme/x").owner == "acme"
