"""Checks for the rogue-agent alerting rules: promtool check/test, Operator copy, rule shape."""

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.binaries import require_binary

ROOT = Path(__file__).resolve().parents[2]
PLAIN_RULES = ROOT / "manifests" / "monitoring" / "agent-rules.yaml"
OPERATOR_RULES = ROOT / "manifests" / "monitoring" / "prometheusrule.yaml"
TEST_DIR = Path(__file__).resolve().parent
PROMTOOL_TESTS = sorted(TEST_DIR.glob("*_test.yaml"))

# The bot keys its rollback policy on these signatures: renaming one is a breaking change.
EXPECTED_SIGNATURES = {
    "AgentExcessiveToolCalls": "excessive_api_calls",
    "AgentToolCallsAboveBaseline": "excessive_api_calls_relative",
    "AgentPolicyViolations": "policy_violation",
    "AgentHarmfulOutput": "harmful_output",
    "AgentTokenSpike": "token_spike",
    "AgentCostSpike": "cost_spike",
    "AgentErrorRate": "error_rate",
}

# A minimum-sample clause: `sum by (agent, version) (increase(<base>[<window>])) >= N`.
MIN_SAMPLE = re.compile(
    r"sum by \(agent, version\) \(increase\("
    r"(?:agent_requests_total|agent_moderation_checked_total)\[\w+\]\)\)\s*>=\s*(\d+)"
)


def _promtool() -> str:
    return require_binary("promtool")


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a command bounded in time, capturing output."""
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def _load(path: Path) -> Any:
    """Parse one YAML file."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _rules() -> list[dict[str, Any]]:
    """All rules of the plain rule file, across groups."""
    return [rule for group in _load(PLAIN_RULES)["groups"] for rule in group["rules"]]


def test_promtool_check_rules() -> None:
    """The plain rule file is valid for Prometheus."""
    result = _run([_promtool(), "check", "rules", str(PLAIN_RULES)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(EXPECTED_SIGNATURES)} rules found" in result.stdout


def test_promtool_test_files_exist() -> None:
    """The promtool unit tests are found, so the parametrized test below is not vacuous."""
    assert len(PROMTOOL_TESTS) >= 2, PROMTOOL_TESTS


@pytest.mark.parametrize("test_file", PROMTOOL_TESTS, ids=lambda p: p.name)
def test_promtool_unit_tests(test_file: Path) -> None:
    """Each promtool unit-test file passes (fires on rogue, quiet on healthy/sparse/missing)."""
    result = _run([_promtool(), "test", "rules", str(test_file)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout, result.stdout


def test_prometheusrule_groups_equal_plain_groups() -> None:
    """The Operator PrometheusRule carries exactly the plain file's groups."""
    operator = _load(OPERATOR_RULES)
    assert operator["apiVersion"] == "monitoring.coreos.com/v1"
    assert operator["kind"] == "PrometheusRule"
    assert operator["metadata"]["name"]
    assert operator["spec"]["groups"] == _load(PLAIN_RULES)["groups"]


def test_alert_names_and_signatures() -> None:
    """Exactly the expected alerts exist, each with its signature."""
    got = {rule["alert"]: rule["labels"]["signature"] for rule in _rules()}
    assert got == EXPECTED_SIGNATURES


@pytest.mark.parametrize("alert", sorted(EXPECTED_SIGNATURES))
def test_rule_shape(alert: str) -> None:
    """Every rule has for:, severity+signature labels, a summary naming agent and version."""
    rule = next(r for r in _rules() if r.get("alert") == alert)
    assert alert.startswith("Agent")
    assert re.fullmatch(r"\d+[smh]", str(rule.get("for", ""))), rule.get("for")
    assert rule["labels"]["severity"] in {"critical", "warning"}
    assert rule["labels"]["signature"]
    summary = rule["annotations"]["summary"]
    assert "{{ $labels.agent }}" in summary and "{{ $labels.version }}" in summary, summary
    assert rule["annotations"]["description"]


@pytest.mark.parametrize("alert", sorted(EXPECTED_SIGNATURES))
def test_rule_aggregates_by_agent_version_with_min_sample(alert: str) -> None:
    """Every expr aggregates by (agent, version...) and carries a minimum-sample guard."""
    expr = next(r for r in _rules() if r.get("alert") == alert)["expr"]
    thresholds = [int(n) for n in MIN_SAMPLE.findall(expr)]
    assert thresholds and min(thresholds) >= 20, expr
    # Every aggregation keeps agent (and version unless it builds the per-agent baseline).
    for grouping in re.findall(r"sum by \(([^)]*)\)", expr):
        labels = [label.strip() for label in grouping.split(",")]
        assert labels[0] == "agent", expr
        assert labels == ["agent"] or labels[1] == "version", expr
    assert "without" not in expr, "aggregate with `by` so extra labels cannot leak"


def test_every_alert_has_firing_and_quiet_unit_tests() -> None:
    """The promtool tests cover each alert both firing and quiet (not just one side)."""
    fires: set[str] = set()
    quiet: set[str] = set()
    for test_file in PROMTOOL_TESTS:
        for group in _load(test_file)["tests"]:
            for case in group.get("alert_rule_test", []):
                (fires if case.get("exp_alerts") else quiet).add(case["alertname"])
    assert fires >= set(EXPECTED_SIGNATURES), set(EXPECTED_SIGNATURES) - fires
    assert quiet >= set(EXPECTED_SIGNATURES), set(EXPECTED_SIGNATURES) - quiet
