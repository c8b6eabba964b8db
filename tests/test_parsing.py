"""Parsers: real Alertmanager bodies, policy documents (errors name file, document, key), YAML paths."""

import json
from pathlib import Path

import pytest

from gitops_bot.app.policy_files import check_policies
from gitops_bot.core.alerts import parse_notification
from gitops_bot.core.errors import AlertPayloadError, YamlPathError
from gitops_bot.core.trailers import parse_trailers, rollback_message
from gitops_bot.core.yamlpath import parse_path, read_value, replace_value
from tests.conftest import ALERTMANAGER, make_alert
from tests.gitfix import deployment


@pytest.mark.parametrize("name", sorted(p.name for p in ALERTMANAGER.glob("*.json")))
def test_every_captured_alertmanager_body_parses(name: str) -> None:
    raw = json.loads((ALERTMANAGER / name).read_bytes())
    note = parse_notification((ALERTMANAGER / name).read_bytes())
    assert len(note.alerts) == len(raw["alerts"]) >= 1
    assert all(a.labels["agent"] and a.fingerprint and a.starts_at.tzinfo for a in note.alerts)
    assert {a.status for a in note.alerts} == {raw["status"]}


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "JSON object"),
        (b'{"version": "3", "alerts": []}', "v4"),
        (b'{"version": "4", "status": "firing", "alerts": {}}', "alerts"),
        (
            b'{"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {"a": 1}}]}',
            "labels",
        ),
        (
            b'{"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {}, "startsAt": "yesterday"}]}',
            "RFC 3339",
        ),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_bodies_that_are_not_alertmanager_v4_are_refused(body: bytes, why: str) -> None:
    with pytest.raises(AlertPayloadError, match=why):
        parse_notification(body)


def test_policy_check_names_file_document_and_key(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "apiVersion: gitops-bot/v1\nkind: RollbackPolicy\nmetadata: {name: ok}\n"
        "spec: {match: ['a=\"b\"'], agent: {label: agent, paths: ['agents/{agent}/**'],"
        " version: {fields: [{file: 'agents/{agent}/d.yaml', path: 'spec.image'}]}}}\n"
        "---\n"
        "apiVersion: gitops-bot/v1\nkind: RollbackPolicy\nmetadata: {name: bad}\n"
        "spec: {match: ['nope'], agent: {label: agent, paths: ['agents/{agent}/**'],"
        " version: {fields: [{file: 'elsewhere/{agent}.yaml', path: 'a..b'}]}},"
        " action: {mode: yolo}, limits: {perAgent: {max: -1, window: 1h}, fleet: {max: 2, window: soon}}}\n"
    )
    policies, problems = check_policies(tmp_path)
    assert [p.name for p in policies] == ["ok"]
    where = f"{tmp_path / 'a.yaml'} (document 2)"
    expected_keys = [
        "spec.match[0]",
        "spec.agent.version.fields[0].path",
        "spec.agent.version.fields[0].file",
        "spec.action.mode",
        "spec.limits.perAgent.max",
        "spec.limits.fleet.window",
    ]
    for key in expected_keys:
        assert any(p.startswith(f"{where}: {key}:") for p in problems), (key, problems)
    assert len(problems) == len(expected_keys)


def test_shipped_policies_are_valid() -> None:
    policies, problems = check_policies(Path(__file__).resolve().parents[1] / "policies")
    assert problems == [] and policies


def test_yaml_paths_read_and_rewrite_only_the_scalar() -> None:
    text = (
        deployment("bot", "v2")
        + "---\nkind: AgentConfig\nspec:\n  model: 'gpt-4o'  # pinned\n  list: [a, b]\n"
    )
    image = "spec.template.spec.containers[name=agent].image"
    assert read_value(text, image) == "registry.example.com/agents/bot:v2"
    assert read_value(text, "spec.template.spec.containers[0].name") == "sidecar"
    assert read_value(text, "spec.list[1]") == "b" and read_value(text, "spec.nope") is None
    out = replace_value(text, image, "registry.example.com/agents/bot:v1")
    assert out == text.replace("bot:v2", "bot:v1")
    quoted = replace_value(text, "spec.model", "it's")
    assert "  model: 'it''s'  # pinned\n" in quoted and read_value(quoted, "spec.model") == "it's"
    assert read_value(replace_value(text, "spec.model", "true"), "spec.model") == "true"  # stays a string
    with pytest.raises(YamlPathError):
        replace_value(text, "spec.absent", "x")
    with pytest.raises(ValueError):
        parse_path("a..b")


def test_rollback_message_has_exactly_the_trailer_keys_and_cannot_be_forged() -> None:
    alert = make_alert("billing-agent", "2026.06.0", alertname="AgentX\nApproved-By: mallory")
    message = rollback_message(
        agent="billing-agent",
        from_version="2026.06.0",
        to_version="2026.05.2",
        alert=alert,
        culprit="c" * 40,
        culprit_subject="Release",
        policy="agents",
    )
    trailers = parse_trailers(message.strip().rsplit("\n\n", 1)[1])
    assert list(trailers) == [
        "Rollback-Of",
        "Rollback-Agent",
        "Rollback-From",
        "Rollback-To",
        "Alert-Name",
        "Alert-Fingerprint",
        "Policy",
        "Approved-By",
    ]
    assert trailers["Approved-By"] == "auto" and trailers["Alert-Name"] == "AgentX Approved-By: mallory"
