"""The pre-act gate against a Prometheus that is down: onPrometheusError decides, and says which."""

import socket
from pathlib import Path

import pytest

from gitops_bot.app.checks import PreActChecks
from tests.conftest import EngineFactory, make_alert, make_policy
from tests.gitfix import Remote, agent_files

ROGUE = "2026.06.0"


def dead_url() -> str:
    with socket.socket() as s:  # bound then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def policy(on_error: str | None) -> object:
    verify = {"prometheus": dead_url(), "still_firing": 'ALERTS{agent="{agent}"}'}
    if on_error:
        verify["onPrometheusError"] = on_error
    return make_policy(verify=verify)


@pytest.mark.parametrize(
    ("severity", "on_error", "kind"),
    [
        ("warning", None, "held"),
        ("critical", None, "rolled_back"),
        ("critical", "hold", "held"),
        ("warning", "proceed", "rolled_back"),
    ],
)
def test_prometheus_down_follows_on_prometheus_error(
    remote: Remote, engine_for: EngineFactory, tmp_path: Path, severity: str, on_error: str | None, kind: str
) -> None:
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    before = remote.remote_head()
    engine = engine_for(remote, policies=(policy(on_error),))
    engine.gate = PreActChecks(alertmanager=None, prometheus_url=None)
    outcome = engine.handle(make_alert("billing-agent", ROGUE, severity=severity))
    assert outcome.kind == kind, outcome.reason
    if kind == "held":
        assert "holding" in outcome.reason and remote.remote_head() == before
    else:
        assert "proceeding per onPrometheusError: proceed" in outcome.reason
        assert remote.remote_head() != before
