"""`executor: argo-workflows` wired into the running bot: two replicas, duplicate alerts, the veto window."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from gitops_bot.app.argo_executor import drive
from gitops_bot.app.config import load_config
from gitops_bot.app.wiring import Runtime
from gitops_bot.app.workflow_step import starts_at_arg
from gitops_bot.cli import main
from gitops_bot.core.alerts import parse_alert
from gitops_bot.core.errors import ConfigError, UsageError
from gitops_bot.core.github.commands import Command
from gitops_bot_lab.fakes.argo_workflows import FakeArgoWorkflows
from tests.argo.conftest import NAMESPACE, TOKEN, replica_config
from tests.argo.helpers import adapter, finished, request, trailers, waiting_at_approve
from tests.conftest import firing_body
from tests.gitfix import Remote, agent_files


def test_duplicate_alerts_on_two_replicas_make_one_workflow_and_the_window_lands_it(
    argo_veto: FakeArgoWorkflows, remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rogue = remote.commit(agent_files("billing-agent", "2026.06.0"), "Release billing 2026.06.0")
    monkeypatch.setenv("TEST_ARGO_TOKEN", TOKEN)
    replicas = [
        Runtime(load_config(replica_config(tmp_path / f"bot{i}", remote, argo_veto.url))) for i in (0, 1)
    ]
    body = firing_body("billing-agent", "2026.06.0", started=datetime.now(UTC) - timedelta(minutes=2))
    for runtime in replicas:
        runtime.start()
    try:
        for i in range(5):
            replicas[i % 2].bot.enqueue(parse_alert(body["alerts"][0]))
        assert all(r.bot.wait_idle(30) for r in replicas)
        outcomes = sorted(o.kind for r in replicas for o in r.bot.recent)
        assert outcomes == ["ignored"] * 4 + ["proposed"]
        assert len(argo_veto.store.workflows) == 1 and all(not r.bot.journal.pending() for r in replicas)
        ((_, name),) = argo_veto.store.workflows
        done = argo_veto.wait_for(NAMESPACE, name, finished)
    finally:
        for runtime in replicas:
            runtime.stop()
    assert done["status"]["phase"] == "Succeeded"
    assert trailers(remote)["Rollback-Of"] == rogue
    assert trailers(remote)["Approved-By"] == "veto-window-expired"
    assert trailers(remote)["Alert-Name"] == "AgentPolicyViolations"
    assert argo_veto.contract_errors == []


def test_an_unacknowledged_submit_stays_journaled(
    argo_veto: FakeArgoWorkflows, remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote.commit(agent_files("billing-agent", "2026.06.0"), "Release billing 2026.06.0")
    monkeypatch.setenv("TEST_ARGO_TOKEN", TOKEN)
    runtime = Runtime(load_config(replica_config(tmp_path / "bot", remote, argo_veto.url)))
    runtime.bot.retry_delay = 0.01
    argo_veto.fail_next("POST", r"/api/v1/workflows/", 503, times=3 * 4)  # every try of every in-line retry
    body = firing_body("billing-agent", "2026.06.0", started=datetime.now(UTC) - timedelta(minutes=2))
    runtime.bot.start()
    try:
        runtime.bot.enqueue(parse_alert(body["alerts"][0]))
        assert runtime.bot.wait_idle(30)
        assert [o.kind for o in runtime.bot.recent] == ["failed"] and "HTTP 503" in runtime.bot.recent[
            0
        ].reason
        assert len(runtime.bot.journal.pending()) == 1 and argo_veto.store.workflows == {}
    finally:
        runtime.bot.stop()


def test_the_executor_needs_its_token(
    remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_ARGO_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"\$TEST_ARGO_TOKEN is not set"):
        Runtime(load_config(replica_config(tmp_path / "bot", remote, "http://127.0.0.1:9")))


def test_audit_in_flight_shows_the_workflows_phase_and_hold(
    argo_veto: FakeArgoWorkflows,
    remote: Remote,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    remote.commit(agent_files("billing-agent", "2026.06.0"), "Release billing 2026.06.0")
    monkeypatch.setenv("TEST_ARGO_TOKEN", TOKEN)
    config = str(replica_config(tmp_path / "bot", remote, argo_veto.url))
    bot = adapter(argo_veto)
    name = bot.submit(request(deadline=datetime.now(UTC) + timedelta(hours=1))).name
    argo_veto.wait_for(NAMESPACE, name, waiting_at_approve)
    bot.hold(name, "carol")
    assert main(["audit", "--config", config, "--in-flight", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["workflow"], row["phase"], row["agent"], row["approve"]) == (
        name,
        "Running",
        "billing-agent",
        "held by carol",
    )
    assert row["link"] == f"{argo_veto.url}/workflows/{NAMESPACE}/{name}"
    assert main(["audit", "--config", config, "--in-flight"]) == 0
    assert "held by carol" in capsys.readouterr().out
    bot.veto(name, "bob")
    argo_veto.wait_for(NAMESPACE, name, finished)
    assert main(["audit", "--config", config, "--in-flight"]) == 0
    assert capsys.readouterr().out.strip() == "no rollback workflows in flight"


def test_a_step_given_a_bad_start_time_fails_loudly() -> None:
    assert starts_at_arg("2026-12-01T12:00:00.250000Z") == datetime(2026, 12, 1, 12, 0, 0, 250000, tzinfo=UTC)
    with pytest.raises(UsageError, match="not RFC 3339"):
        starts_at_arg("yesterday")
    with pytest.raises(UsageError, match="no time zone"):
        starts_at_arg("2026-12-01T12:00:00")


@pytest.mark.parametrize(
    ("executor", "message"),
    [
        ({"kind": "argo-workflows", "namespace": "gitops"}, "needs server and namespace"),
        ({"kind": "tekton"}, "executor.kind"),
        ({"kind": "argo-workflows", "server": "http://a", "namespace": "n", "tokenEnv": "X"}, "tokenEnv"),
    ],
)
def test_a_wrong_executor_section_is_refused(tmp_path: Path, executor: dict[str, str], message: str) -> None:
    config = tmp_path / "gitops-bot.yaml"
    config.write_text(yaml.safe_dump({"repo": {"url": "file:///r.git"}, "executor": executor}))
    with pytest.raises(ConfigError, match=message):
        load_config(config)


def test_inline_stays_the_default(tmp_path: Path) -> None:
    config = tmp_path / "gitops-bot.yaml"
    config.write_text(yaml.safe_dump({"repo": {"url": "file:///r.git"}}))
    assert load_config(config).executor.kind == "inline"


def test_pr_commands_drive_the_approve_node(argo_veto: FakeArgoWorkflows, remote: Remote) -> None:
    remote.commit(agent_files("billing-agent", "2026.06.0"), "Release billing 2026.06.0")
    bot = adapter(argo_veto)
    name = bot.submit(request(deadline=datetime.now(UTC) - timedelta(seconds=1))).name
    argo_veto.wait_for(NAMESPACE, name, waiting_at_approve)
    assert drive(bot, name, Command("hold"), "carol").startswith("Held by @carol")
    assert bot.resume_due(datetime.now(UTC)) == []  # past the deadline, but held
    assert drive(bot, name, Command("unhold"), "carol").startswith("Hold released by @carol")
    argo_veto.wait_for(NAMESPACE, name, finished)
    assert trailers(remote)["Approved-By"] == "carol"
    assert drive(bot, name, Command("veto", "too late"), "bob").startswith("Too late for `/veto`")
