"""The shipped WorkflowTemplate, executed by the stand-in with the installed gitops-bot over a bare git remote."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from gitops_bot.core.alerts import format_time
from gitops_bot_lab.fakes.argo_workflows import FakeArgoWorkflows
from tests.argo.conftest import NAMESPACE, TOKEN, make_cluster, shipped_template
from tests.argo.helpers import adapter, finished, node, request, trailers, waiting_at_approve
from tests.gitfix import Remote, agent_files, git


@pytest.fixture
def rogue(remote: Remote) -> str:
    """billing-agent 2026.06.0 released after 2026.05.2: the culprit."""
    return remote.commit(agent_files("billing-agent", "2026.06.0"), "Release billing 2026.06.0")


def test_approve_resumes_only_the_approve_node_and_apply_lands_the_revert(
    argo: FakeArgoWorkflows, remote: Remote, rogue: str
) -> None:
    bot = adapter(argo)
    started = datetime.now(UTC).replace(microsecond=250000) - timedelta(minutes=3)
    name = bot.submit(request(started=started)).name
    waiting = argo.wait_for(NAMESPACE, name, waiting_at_approve)
    plan = node(waiting, "plan")
    assert plan is not None and {p["name"]: p["value"] for p in plan["outputs"]["parameters"]} == {
        "outcome": "planned",
        "culprit": rogue,
        "from": "2026.06.0",
        "to": "2026.05.2",
    }
    assert remote.remote_head() == rogue  # nothing lands while approve waits
    bot.approve(name, "alice")
    done = argo.wait_for(NAMESPACE, name, finished)
    assert done["status"]["phase"] == "Succeeded"
    assert [n["displayName"] for n in done["status"]["nodes"].values() if n["type"] != "StepGroup"] == [
        name,
        "plan",
        "approve",
        "apply",
        "verify",
    ]
    resumes = [x for x in argo.log if x.path.endswith("/resume")]
    assert [x.body for x in resumes] == [
        {"name": name, "namespace": NAMESPACE, "nodeFieldSelector": "displayName=approve"}
    ]
    assert trailers(remote) == {
        "Rollback-Of": rogue,
        "Rollback-Agent": "billing-agent",
        "Rollback-From": "2026.06.0",
        "Rollback-To": "2026.05.2",
        "Rollback-From-Ref": "registry.example.com/agents/billing-agent:2026.06.0",
        "Rollback-To-Ref": "registry.example.com/agents/billing-agent:2026.05.2",
        "Alert-Name": "AgentPolicyViolations",
        "Alert-Fingerprint": "3ecc831ed00f1c68",
        "Policy": "agents",
        "Approved-By": "alice",
    }
    body = git(remote.bare, "log", "-1", "--format=%b", "main")
    assert body.startswith(f"Argo Workflow {NAMESPACE}/{name} rolled this back.")  # the audit trail
    assert f"started at {format_time(started)}" in body  # the alert's own startsAt, not the step's clock
    assert "billing-agent:2026.05.2" in remote.show("agents/billing-agent/deployment.yaml")
    assert remote.count() == 3 and argo.contract_errors == []


def test_veto_stops_the_workflow_and_nothing_lands(
    argo: FakeArgoWorkflows, remote: Remote, rogue: str
) -> None:
    bot = adapter(argo)
    name = bot.submit(request()).name
    argo.wait_for(NAMESPACE, name, waiting_at_approve)
    bot.veto(name, "bob", "the spike is a load test")
    done = argo.wait_for(NAMESPACE, name, finished)
    approve = node(done, "approve")
    assert done["status"]["phase"] == "Failed" and node(done, "apply") is None
    assert approve is not None and approve["phase"] == "Failed"
    assert approve["message"] == "vetoed by bob: the spike is a load test"
    assert remote.remote_head() == rogue and argo.contract_errors == []


def test_the_deadline_resumes_a_waiting_rollback_but_not_a_held_one(
    argo: FakeArgoWorkflows, remote: Remote, rogue: str
) -> None:
    remote.commit(agent_files("triage-agent", "1.3.0"), "Release triage 1.3.0")
    replica_a, replica_b = adapter(argo), adapter(argo)
    past = datetime.now(UTC) - timedelta(seconds=1)
    billing = replica_a.submit(request(deadline=past)).name
    triage = replica_a.submit(request("triage-agent", "1.3.0", deadline=past)).name
    for name in (billing, triage):
        argo.wait_for(NAMESPACE, name, waiting_at_approve)
    replica_b.hold(triage, "carol")
    assert replica_a.resume_due(datetime.now(UTC) - timedelta(minutes=5)) == []  # window still open then
    assert replica_b.resume_due(datetime.now(UTC)) == [billing]  # any replica, from the workflows' own state
    assert replica_a.resume_due(datetime.now(UTC)) == []
    done = argo.wait_for(NAMESPACE, billing, finished)
    assert done["status"]["phase"] == "Succeeded"
    assert trailers(remote)["Approved-By"] == "veto-window-expired"
    held = replica_a.get(triage)
    assert held is not None and held.approve is not None
    assert (held.phase, held.approve.phase, held.approve.held_by) == ("Running", "Running", "carol")
    replica_a.approve(triage, "carol")  # /unhold releases it
    argo.wait_for(NAMESPACE, triage, finished)
    assert trailers(remote)["Rollback-Agent"] == "triage-agent"
    assert trailers(remote)["Approved-By"] == "carol" and argo.contract_errors == []


def test_a_stale_alert_plans_nothing_and_skips_approve_and_apply(
    argo: FakeArgoWorkflows, remote: Remote, rogue: str
) -> None:
    name = adapter(argo).submit(request(version="2026.04.9")).name  # a version no longer deployed
    done = argo.wait_for(NAMESPACE, name, finished)
    assert done["status"]["phase"] == "Succeeded"
    assert [node(done, step)["phase"] for step in ("plan", "approve", "apply", "verify")] == [  # type: ignore[index]
        "Succeeded",
        "Skipped",
        "Skipped",
        "Skipped",
    ]
    assert remote.remote_head() == rogue


def test_a_templated_policy_rolls_back_only_the_alerts_environment(tmp_path: Path, remote: Remote) -> None:
    fields = [
        {
            "file": "envs/{env}/agents/{agent}/deployment.yaml",
            "path": "spec.template.spec.containers[name=agent].image",
        }
    ]
    agent_spec = {
        "label": "agent",
        "paths": ["envs/{env}/agents/{agent}/**"],
        "version": {"label": "version", "fields": fields},
    }
    for env in ("prod", "staging"):
        remote.commit(
            {f"envs/{env}/{k}": v for k, v in agent_files("billing-agent", "2026.05.2").items()},
            f"{env}: billing",
        )
    rogue = {
        f"envs/{env}/{k}": v
        for env in ("prod", "staging")
        for k, v in agent_files("billing-agent", "2026.06.0").items()
    }
    remote.commit(rogue, "Release billing 2026.06.0 everywhere")
    with FakeArgoWorkflows(make_cluster(tmp_path / "pods", remote, agent=agent_spec), token=TOKEN) as argo:
        argo.store.create_template(NAMESPACE, {"template": shipped_template()})
        bot = adapter(argo)
        prod = bot.submit(request(labels={"env": "prod"}))
        staging = bot.submit(request(labels={"env": "staging"}))
        assert prod.created and staging.created and prod.name != staging.name
        argo.wait_for(NAMESPACE, prod.name, waiting_at_approve)
        bot.approve(prod.name, "alice")
        assert argo.wait_for(NAMESPACE, prod.name, finished)["status"]["phase"] == "Succeeded"
        bot.veto(staging.name, "bob")
        argo.wait_for(NAMESPACE, staging.name, finished)
    assert "billing-agent:2026.05.2" in remote.show("envs/prod/agents/billing-agent/deployment.yaml")
    assert "billing-agent:2026.06.0" in remote.show("envs/staging/agents/billing-agent/deployment.yaml")


def test_a_plan_that_escalates_fails_the_workflow_and_nothing_lands(
    argo: FakeArgoWorkflows, remote: Remote, rogue: str
) -> None:
    old_alert = request(started=datetime.now(UTC) - timedelta(days=90))  # began before the release
    name = adapter(argo).submit(old_alert).name
    done = argo.wait_for(NAMESPACE, name, finished)
    plan = node(done, "plan")
    assert done["status"]["phase"] == "Failed" and plan is not None
    assert (plan["phase"], plan["message"]) == ("Failed", "Error (exit code 2)")
    assert done["status"]["message"] == f"child '{plan['id']}' failed"
    assert node(done, "approve") is None and remote.remote_head() == rogue


def test_a_missing_secret_key_fails_the_step_as_the_kubelet_would(
    tmp_path: Path, remote: Remote, rogue: str
) -> None:
    cluster = make_cluster(tmp_path / "pods", remote)
    cluster = replace(cluster, secrets={"gitops-bot": {"github-token": "t"}})  # no state-key
    with FakeArgoWorkflows(cluster, token=TOKEN) as argo:
        argo.store.create_template(NAMESPACE, {"template": shipped_template()})
        name = adapter(argo).submit(request()).name
        done = argo.wait_for(NAMESPACE, name, finished)
    plan = node(done, "plan")
    assert done["status"]["phase"] == "Failed" and plan is not None
    assert plan["message"] == "CreateContainerConfigError: secret 'gitops-bot' has no key 'state-key'"
    assert remote.remote_head() == rogue


def test_a_bare_resume_by_selector_leaves_approved_by_unset_so_the_bot_always_supplies_it(
    argo: FakeArgoWorkflows, remote: Remote, rogue: str
) -> None:
    bot = adapter(argo)
    name = bot.submit(request()).name
    argo.wait_for(NAMESPACE, name, waiting_at_approve)
    bot.resume(name)  # what updateSuspendedNode does: Succeeded, defaults NOT applied
    done = argo.wait_for(NAMESPACE, name, finished)
    apply = node(done, "apply")
    assert apply is not None and apply["phase"] == "Failed"
    assert apply["message"] == "failed to resolve {{steps.approve.outputs.parameters.approvedBy}}"
    assert remote.remote_head() == rogue


def test_resume_without_selector_applies_the_defaults(
    argo: FakeArgoWorkflows, remote: Remote, rogue: str
) -> None:
    name = adapter(argo).submit(request()).name
    argo.wait_for(NAMESPACE, name, waiting_at_approve)
    resp = requests.put(
        f"{argo.url}/api/v1/workflows/{NAMESPACE}/{name}/resume",
        json={},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert resp.status_code == 200
    assert argo.wait_for(NAMESPACE, name, finished)["status"]["phase"] == "Succeeded"
    assert trailers(remote)["Approved-By"] == "veto-window-expired" and argo.contract_errors == []
