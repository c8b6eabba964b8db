"""The bot's own alert rules: promtool check, Operator copy equal to the plain file, both sides tested."""

from pathlib import Path
from typing import Any

import yaml

from tests.monitoring.test_rules import _promtool, _run

ROOT = Path(__file__).resolve().parents[2]
PLAIN = ROOT / "manifests" / "monitoring" / "gitops-bot-rules.yaml"
OPERATOR = ROOT / "manifests" / "bot" / "base" / "prometheusrule.yaml"
UNIT_TESTS = Path(__file__).resolve().parent / "gitops_bot_rules_test.yaml"
ALERTS = {
    "GitopsBotDown",
    "GitopsBotJournalBacklog",
    "GitopsBotRollbackFailed",
    "GitopsBotEscalationPending",
    "GitopsBotRecoveryTimedOut",
}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_promtool_accepts_the_bot_rules() -> None:
    result = _run([_promtool(), "check", "rules", str(PLAIN)])
    assert result.returncode == 0 and f"SUCCESS: {len(ALERTS)} rules found" in result.stdout, result.stdout


def test_promtool_unit_tests_of_the_bot_rules_pass() -> None:
    result = _run([_promtool(), "test", "rules", str(UNIT_TESTS)])
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


def test_the_operator_rule_in_the_kustomize_base_carries_the_same_groups() -> None:
    operator = load(OPERATOR)
    assert (operator["apiVersion"], operator["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert operator["spec"]["groups"] == load(PLAIN)["groups"]
    assert "prometheusrule.yaml" in load(OPERATOR.parent / "kustomization.yaml")["resources"]


def test_every_bot_alert_is_tested_firing_and_quiet() -> None:
    rules = {r["alert"]: r for g in load(PLAIN)["groups"] for r in g["rules"]}
    assert set(rules) == ALERTS
    assert all(r["labels"]["severity"] in {"critical", "warning"} for r in rules.values())
    fires: set[str] = set()
    quiet: set[str] = set()
    for group in load(UNIT_TESTS)["tests"]:
        for case in group["alert_rule_test"]:
            (fires if case.get("exp_alerts") else quiet).add(case["alertname"])
    assert fires == ALERTS and quiet == ALERTS
