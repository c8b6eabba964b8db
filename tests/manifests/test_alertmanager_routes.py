"""The example Alertmanager config sends agent alerts to the bot AND still pages humans (amtool proves it)."""

from pathlib import Path

import pytest

from tests.binaries import require_tool, run_tool

CONFIG = Path(__file__).resolve().parents[2] / "manifests" / "alertmanager" / "alertmanager.yaml"
INSTALL = "Debian package prometheus-alertmanager"

# The route as it shipped before: `continue: true` on the bot's route but no human route after it, so
# the root receiver (only a fallback when no child matches) was never reached for agent alerts.
BROKEN_BEFORE = """
route:
  receiver: default
  routes:
    - matchers: ['alertname=~"Agent.*"', 'signature!=""']
      receiver: gitops-bot
      continue: true
receivers:
  - name: default
  - name: gitops-bot
"""

ROGUE_AGENT_ALERT = ("alertname=AgentPolicyViolations", "signature=policy_violation", "agent=billing-agent")


def receivers_for(config: Path, *labels: str) -> list[str]:
    """What `amtool config routes test` says the alert with these labels is sent to."""
    amtool = require_tool("amtool", INSTALL)
    done = run_tool(amtool, "config", "routes", "test", f"--config.file={config}", *labels)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().split(",")


def test_the_example_config_is_valid() -> None:
    done = run_tool(require_tool("amtool", INSTALL), "check-config", str(CONFIG))
    assert done.returncode == 0 and "SUCCESS" in done.stdout, done.stdout + done.stderr


def test_a_rogue_agent_alert_reaches_the_bot_and_pages_humans() -> None:
    assert receivers_for(CONFIG, *ROGUE_AGENT_ALERT) == ["gitops-bot", "oncall"]


@pytest.mark.parametrize(
    "labels",
    [
        ("alertname=AgentErrorRate", "agent=billing-agent"),  # an agent alert without a signature
        ("alertname=GitopsBotEscalation", "agent=billing-agent", "reason=breaker_open"),  # never to the bot
        ("alertname=NodeDown", "instance=node-1"),
    ],
)
def test_alerts_the_bot_does_not_act_on_page_humans_only(labels: tuple[str, ...]) -> None:
    assert receivers_for(CONFIG, *labels) == ["oncall"]


def test_the_old_route_stopped_humans_being_paged(tmp_path: Path) -> None:
    """The check above can fail: the config as it was sends a rogue-agent alert to the bot alone."""
    old = tmp_path / "alertmanager.yaml"
    old.write_text(BROKEN_BEFORE)
    assert receivers_for(old, *ROGUE_AGENT_ALERT) == ["gitops-bot"]
