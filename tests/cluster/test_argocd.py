"""The Argo CD adapter against the contract-checked stand-in, over a real bare repo and loopback HTTP."""

import socket

import pytest

from gitops_bot.adapters.argocd import ArgoCD, ArgoCDConfig, ArgoCDError, ArgoErrorKind
from gitops_bot.core.cluster import ClusterVerdict, argo_verdict
from gitops_bot_lab.fakes.argocd import FakeArgoCD
from tests.cluster.conftest import ARGO_TOKEN, release
from tests.gitfix import Remote, git

APP = "agents-support"


def client(argo: FakeArgoCD, token: str = ARGO_TOKEN, refresh_timeout_s: float = 10.0) -> ArgoCD:
    """The real adapter pointed at the stand-in (plain http on loopback)."""
    return ArgoCD(ArgoCDConfig(url=argo.url, token=token, timeout_s=5.0, refresh_timeout_s=refresh_timeout_s))


def rogue_then_revert(remote: Remote, argo: FakeArgoCD, *, automated: bool = True) -> str:
    """1.1.0 ships and is deployed, then the bot's revert to 1.0.0 lands on main; returns the revert."""
    release(remote, "1.1.0")
    argo.tick()
    for app in argo.controller.apps.values():
        app.automated = automated
    return release(remote, "1.0.0", "Roll back support 1.1.0 -> 1.0.0")


def test_refresh_after_revert_reaches_deployed_with_automated_sync(remote: Remote, argo: FakeArgoCD) -> None:
    revert = rogue_then_revert(remote, argo)
    status = client(argo).refresh(APP)
    assert status.sync_revision == revert and status.operation_revision == revert
    assert status.sync_status == "Synced" and status.health_status == "Healthy" and status.can_sync is True
    outcome = argo_verdict(status, revert, frozenset({revert}), "main")
    assert outcome.verdict is ClusterVerdict.DEPLOYED, outcome.reason
    assert [e.query for e in argo.log if e.method == "GET" and e.query] == [{"refresh": ["normal"]}]
    assert argo.contract_errors == []


def test_rollout_still_progressing_is_waiting_until_healthy(remote: Remote, argo: FakeArgoCD) -> None:
    release(remote, "1.1.0")
    argo.tick()
    argo.app(APP).progressing_passes = 2
    revert = release(remote, "1.0.0")
    adapter = client(argo)
    seen = [argo_verdict(adapter.refresh(APP), revert, frozenset({revert}), "main").verdict for _ in range(3)]
    assert seen == [ClusterVerdict.WAITING, ClusterVerdict.WAITING, ClusterVerdict.DEPLOYED]
    assert adapter.status(APP).health_changed_at is not None
    assert argo.contract_errors == []


def test_later_commit_on_top_of_revert_counts_as_deployed(remote: Remote, argo: FakeArgoCD) -> None:
    revert = rogue_then_revert(remote, argo)
    later = remote.commit({"agents/billing/notes.txt": "unrelated\n"}, "billing notes")
    status = client(argo).refresh(APP)
    assert status.sync_revision == later
    assert argo_verdict(status, revert, frozenset({revert, later}), "main").verdict is ClusterVerdict.DEPLOYED
    assert argo.contract_errors == []


def test_manual_application_waits_until_the_bot_syncs_the_revert(remote: Remote, argo: FakeArgoCD) -> None:
    revert = rogue_then_revert(remote, argo, automated=False)
    adapter = client(argo)
    before = adapter.refresh(APP)
    assert before.automated is False and before.sync_status == "OutOfSync"
    assert argo_verdict(before, revert, frozenset({revert}), "main").verdict is ClusterVerdict.WAITING
    adapter.sync(APP, revert)
    after = adapter.status(APP)
    assert after.operation_phase == "Succeeded" and after.operation_revision == revert
    assert argo_verdict(after, revert, frozenset({revert}), "main").verdict is ClusterVerdict.DEPLOYED
    assert argo.log[-3].body == {"name": APP, "revision": revert}
    assert argo.contract_errors == []


def test_sync_to_a_revision_is_refused_when_auto_sync_follows_the_branch(
    remote: Remote, argo: FakeArgoCD
) -> None:
    revert = rogue_then_revert(remote, argo)
    with pytest.raises(ArgoCDError) as err:
        client(argo).sync(APP, revert)
    assert err.value.kind is ArgoErrorKind.REFUSED and err.value.status == 400
    assert "auto-sync currently set to HEAD" in err.value.message
    assert argo.contract_errors == []


@pytest.mark.parametrize("phase", ["Failed", "Error"])
def test_failed_sync_of_the_revert_is_sync_failed(remote: Remote, argo: FakeArgoCD, phase: str) -> None:
    release(remote, "1.1.0")
    argo.tick()
    argo.app(APP).sync_failure = phase  # type: ignore[assignment]
    revert = release(remote, "1.0.0")
    status = client(argo).refresh(APP)
    outcome = argo_verdict(status, revert, frozenset({revert}), "main")
    assert outcome.verdict is ClusterVerdict.SYNC_FAILED and phase in outcome.reason
    assert "admission webhook denied" in outcome.reason
    assert argo.contract_errors == []


def test_degraded_after_syncing_the_revert_is_degraded(remote: Remote, argo: FakeArgoCD) -> None:
    release(remote, "1.1.0")
    argo.tick()
    argo.app(APP).health_after_sync = "Degraded"
    revert = release(remote, "1.0.0")
    outcome = argo_verdict(client(argo).refresh(APP), revert, frozenset({revert}), "main")
    assert outcome.verdict is ClusterVerdict.DEGRADED
    assert argo.contract_errors == []


def test_controller_that_never_picks_the_revert_up_keeps_waiting(remote: Remote, argo: FakeArgoCD) -> None:
    rogue = release(remote, "1.1.0")
    argo.tick()
    argo.app(APP).controller_stuck = True
    revert = release(remote, "1.0.0")
    adapter = client(argo)
    for _ in range(3):
        status = adapter.refresh(APP)
        assert status.sync_revision == rogue
        assert argo_verdict(status, revert, frozenset({revert}), "main").verdict is ClusterVerdict.WAITING
    assert argo.contract_errors == []


def test_application_pinned_to_a_tag_is_pinned(remote: Remote, argo: FakeArgoCD) -> None:
    git(remote.dev, "tag", "v1.0.0")
    git(remote.dev, "push", "--quiet", "origin", "v1.0.0")
    argo.add_app("agents-pinned", repo_url=remote.url, path="agents/support", target_revision="v1.0.0")
    revert = rogue_then_revert(remote, argo)
    status = client(argo).refresh("agents-pinned")
    outcome = argo_verdict(status, revert, frozenset({revert}), "main")
    assert outcome.verdict is ClusterVerdict.PINNED and "'v1.0.0'" in outcome.reason
    assert argo.contract_errors == []


def test_deny_sync_window_is_reported_and_blocks_a_manual_sync(remote: Remote, argo: FakeArgoCD) -> None:
    revert = rogue_then_revert(remote, argo, automated=False)
    argo.app(APP).sync_window_denies = True
    adapter = client(argo)
    status = adapter.refresh(APP)
    assert status.can_sync is False
    assert (
        argo_verdict(status, revert, frozenset({revert}), "main").verdict is ClusterVerdict.SYNC_WINDOW_DENIED
    )
    with pytest.raises(ArgoCDError) as err:
        adapter.sync(APP, revert)
    assert err.value.kind is ArgoErrorKind.FORBIDDEN and "sync window" in err.value.message
    assert argo.contract_errors == []


def test_wrong_token_is_an_auth_error(argo: FakeArgoCD) -> None:
    with pytest.raises(ArgoCDError) as err:
        client(argo, token="not-the-token").refresh(APP)
    assert err.value.kind is ArgoErrorKind.AUTH and err.value.status == 401
    assert "invalid session" in err.value.message
    assert argo.contract_errors == []


def test_unknown_application_is_forbidden_as_argo_cd_hides_existence(argo: FakeArgoCD) -> None:
    with pytest.raises(ArgoCDError) as err:
        client(argo).status("agents-nobody")
    assert err.value.kind is ArgoErrorKind.FORBIDDEN and err.value.status == 403
    assert argo.contract_errors == []


@pytest.mark.parametrize(("status", "kind"), [(404, ArgoErrorKind.NOT_FOUND), (500, ArgoErrorKind.SERVER)])
def test_scripted_error_answers_reach_the_caller_typed(
    argo: FakeArgoCD, status: int, kind: ArgoErrorKind
) -> None:
    argo.fail_next("GET", r"/applications/agents-support$", status)
    with pytest.raises(ArgoCDError) as err:
        client(argo).refresh(APP)
    assert err.value.kind is kind and err.value.status == status
    assert argo.contract_errors == []


def test_refresh_that_outlives_its_own_deadline_is_a_timeout(argo: FakeArgoCD) -> None:
    argo.refresh_delay_s = 1.0
    adapter = client(argo, refresh_timeout_s=0.3)
    with pytest.raises(ArgoCDError) as err:
        adapter.refresh(APP)
    assert err.value.kind is ArgoErrorKind.TIMEOUT and err.value.__cause__ is not None
    assert adapter.status(APP).name == APP  # the plain read has its own, separate deadline
    assert argo.contract_errors == []


def test_unreachable_server_is_wrapped() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    adapter = ArgoCD(ArgoCDConfig(url=f"http://127.0.0.1:{port}", token="t", timeout_s=2))
    with pytest.raises(ArgoCDError) as err:
        adapter.status(APP)
    assert err.value.kind is ArgoErrorKind.UNREACHABLE and err.value.__cause__ is not None


def test_tls_is_verified_by_default_and_a_ca_bundle_replaces_the_system_store() -> None:
    assert ArgoCD(ArgoCDConfig(url="https://argocd.example", token="t")).session.verify is True
    bundle = ArgoCD(ArgoCDConfig(url="https://argocd.example", token="t", ca_bundle="/etc/argocd/ca.pem"))
    assert bundle.session.verify == "/etc/argocd/ca.pem"


def test_token_from_an_empty_environment_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARGOCD_TOKEN_FOR_TEST", raising=False)
    with pytest.raises(ArgoCDError, match="ARGOCD_TOKEN_FOR_TEST"):
        ArgoCDConfig.from_env("https://argocd.example", "ARGOCD_TOKEN_FOR_TEST")
    monkeypatch.setenv("ARGOCD_TOKEN_FOR_TEST", "abc")
    assert ArgoCDConfig.from_env("https://argocd.example", "ARGOCD_TOKEN_FOR_TEST").token == "abc"
