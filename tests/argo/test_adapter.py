"""The adapter, through the argo-workflows SDK, against the contract-validated stand-in."""

from datetime import UTC, datetime, timedelta

import pytest

from gitops_bot.core.errors import ArgoWorkflowsError, NodeNotSuspendedError
from gitops_bot.core.workflow import workflow_base_name
from gitops_bot_lab.fakes.argo_workflows import FakeArgoWorkflows
from tests.argo.conftest import NAMESPACE
from tests.argo.helpers import adapter, finished, request, waiting_at_approve
from tests.gitfix import Remote, agent_files


@pytest.fixture
def rogue(remote: Remote) -> str:
    """billing-agent 2026.06.0 released after 2026.05.2."""
    return remote.commit(agent_files("billing-agent", "2026.06.0"), "Release billing 2026.06.0")


def creates(argo: FakeArgoWorkflows) -> list[int]:
    """Status of every create the stand-in answered."""
    return [x.status for x in argo.log if x.method == "POST" and x.path == f"/api/v1/workflows/{NAMESPACE}"]


def test_five_duplicate_alerts_from_two_replicas_submit_one_workflow(
    argo: FakeArgoWorkflows, rogue: str
) -> None:
    argo.start_delay_s = (
        30  # stays Pending: every answer carries startedAt: null, which the SDK's models reject
    )
    replicas = [adapter(argo), adapter(argo)]
    results = [replicas[i % 2].submit(request()) for i in range(5)]
    assert [r.created for r in results] == [True, False, False, False, False]
    assert {r.name for r in results} == {workflow_base_name("billing-agent", "2026.06.0", "agents")}
    assert creates(argo) == [200, 409, 409, 409, 409]
    assert len(argo.store.workflows) == 1
    view = replicas[0].get(results[0].name)
    assert view is not None and view.phase == "" and view.in_flight
    assert argo.store.workflow_json(NAMESPACE, results[0].name)["status"]["startedAt"] is None
    assert argo.contract_errors == []


def test_a_new_episode_after_a_finished_rollback_gets_the_next_name(
    argo: FakeArgoWorkflows, rogue: str
) -> None:
    bot = adapter(argo)
    first = bot.submit(request(started=datetime.now(UTC) - timedelta(minutes=5)))
    argo.wait_for(NAMESPACE, first.name, waiting_at_approve)
    bot.veto(first.name, "bob", "not this one")
    argo.wait_for(NAMESPACE, first.name, finished)
    repeat = bot.submit(request(started=datetime.now(UTC) - timedelta(minutes=5)))
    assert (repeat.name, repeat.created) == (first.name, False)  # Alertmanager re-sending the same alert
    later = bot.submit(request(started=datetime.now(UTC) + timedelta(seconds=1)))
    assert (later.name, later.created) == (f"{first.name}-2", True)
    assert argo.contract_errors == []


def test_argo_answering_5xx_is_retried_and_bounded(argo: FakeArgoWorkflows, rogue: str) -> None:
    slept: list[float] = []
    bot = adapter(argo, attempts=4, sleep=slept.append)
    argo.fail_next("POST", r"/api/v1/workflows/gitops$", 503, times=2)
    assert bot.submit(request()).created is True
    assert creates(argo) == [503, 503, 200] and slept == [0.25, 0.5]
    argo.fail_next("GET", r"/api/v1/workflows/gitops/", 500, times=10)
    with pytest.raises(ArgoWorkflowsError, match="HTTP 500") as err:
        bot.get(workflow_base_name("billing-agent", "2026.06.0", "agents"))
    assert err.value.status == 500 and len(slept) == 2 + 3  # 4 tries, 3 waits
    assert argo.contract_errors == []


def test_a_create_that_landed_before_a_5xx_is_not_doubled(argo: FakeArgoWorkflows, rogue: str) -> None:
    bot = adapter(argo)
    landed = bot.submit(request())
    argo.fail_next("POST", r"/api/v1/workflows/gitops$", 502)  # the gateway lost the answer of a retry
    again = bot.submit(request())
    assert (again.name, again.created) == (landed.name, False)
    assert creates(argo) == [200, 502, 409] and len(argo.store.workflows) == 1


def test_resuming_a_node_that_is_not_waiting_is_a_typed_error_not_a_retry(
    argo: FakeArgoWorkflows, rogue: str
) -> None:
    bot = adapter(argo)
    name = bot.submit(request()).name
    argo.wait_for(NAMESPACE, name, waiting_at_approve)
    bot.approve(name, "alice")
    argo.wait_for(NAMESPACE, name, finished)
    calls = len(argo.log)
    with pytest.raises(NodeNotSuspendedError, match="no suspend nodes matching nodeFieldSelector"):
        bot.resume(name)
    assert len(argo.log) == calls + 1


def test_wrong_token_and_unknown_workflow(argo: FakeArgoWorkflows) -> None:
    from gitops_bot.adapters.argo_workflows import ArgoWorkflows

    with pytest.raises(ArgoWorkflowsError, match="HTTP 401") as err:
        ArgoWorkflows(argo.url, NAMESPACE, "wrong", sleep=lambda _s: None).list_rollbacks()
    assert err.value.status == 401
    assert adapter(argo).get("rollback-nobody-0123456789") is None


def test_an_unreachable_server_gives_up_after_the_bounded_tries() -> None:
    from gitops_bot.adapters.argo_workflows import ArgoWorkflows

    slept: list[float] = []
    bot = ArgoWorkflows("http://127.0.0.1:9", NAMESPACE, "t", attempts=3, timeout_s=1, sleep=slept.append)
    with pytest.raises(ArgoWorkflowsError, match="no usable answer") as err:
        bot.list_rollbacks()
    assert err.value.status == 0 and len(slept) == 2


def test_a_veto_before_approve_is_reached_stops_the_whole_workflow(
    argo: FakeArgoWorkflows, remote: Remote, rogue: str
) -> None:
    argo.start_delay_s = 1.0  # the controller has not started it: no approve node yet
    bot = adapter(argo)
    name = bot.submit(request()).name
    bot.veto(name, "bob", "known load test")
    done = argo.wait_for(NAMESPACE, name, finished)
    assert done["status"]["phase"] == "Failed" and done["status"]["message"] == "Stopped with strategy 'Stop'"
    assert remote.remote_head() == rogue
    stops = [x.body for x in argo.log if x.path.endswith("/stop")]
    assert stops == [
        {
            "name": name,
            "namespace": NAMESPACE,
            "nodeFieldSelector": "displayName=approve",
            "message": "vetoed by bob: known load test",
        },
        {"name": name, "namespace": NAMESPACE},
    ]


def test_a_veto_after_approve_passed_is_refused(argo: FakeArgoWorkflows, rogue: str) -> None:
    bot = adapter(argo)
    name = bot.submit(request()).name
    argo.wait_for(NAMESPACE, name, waiting_at_approve)
    bot.approve(name, "alice")
    argo.wait_for(NAMESPACE, name, finished)
    with pytest.raises(NodeNotSuspendedError):
        bot.veto(name, "bob")


def test_the_deadline_pass_lists_only_unfinished_rollbacks(argo: FakeArgoWorkflows, rogue: str) -> None:
    bot = adapter(argo)
    name = bot.submit(request()).name
    argo.wait_for(NAMESPACE, name, waiting_at_approve)
    assert [v.name for v in bot.list_rollbacks(in_flight_only=True)] == [name]
    bot.veto(name, "bob")
    argo.wait_for(NAMESPACE, name, finished)
    assert bot.list_rollbacks(in_flight_only=True) == [] and [v.name for v in bot.list_rollbacks()] == [name]
