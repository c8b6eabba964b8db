"""Alert -> revert -> the bot makes Argo CD (stand-in) reconcile now and watches until it runs the revert."""

from pathlib import Path

import pytest

from gitops_bot.app.audit import rollbacks_json
from gitops_bot.app.phase_store import read_phases
from gitops_bot.app.wiring import Runtime
from gitops_bot_lab.fakes.argocd import FakeArgoCD
from gitops_bot_lab.stack import wait_until
from tests.cluster.conftest import ARGO_TOKEN, release
from tests.cluster.harness import ARGO_ENV, alert_and_wait, bot_config, phases, running
from tests.conftest import make_alert
from tests.gitfix import Remote, git

APP = "agents-support"


def argo_bot(
    tmp_path: Path,
    remote: Remote,
    argo: FakeArgoCD,
    monkeypatch: pytest.MonkeyPatch,
    sync: str = "auto",
    timeout: str = "3s",
    name: str = "bot",
) -> Runtime:
    monkeypatch.setenv(ARGO_ENV, ARGO_TOKEN)
    return bot_config(
        tmp_path,
        remote,
        cluster={"argocd": {"app": "agents-{agent}", "sync": sync, "refreshTimeout": "5s"}},
        extra={"argocd": {"url": argo.url, "token_env": ARGO_ENV}},
        timeout=timeout,
        name=name,
    )


def rogue_deployed(remote: Remote, argo: FakeArgoCD, *, automated: bool = True) -> None:
    """support 1.1.0 ships and Argo CD deploys it on its own poll."""
    release(remote, "1.1.0")
    argo.app(APP).automated = automated
    if not automated:
        argo.app(APP).operation = {"sync": {"revision": "HEAD"}, "initiatedBy": {"username": "dana"}}
    argo.tick()


def test_automated_app_is_refreshed_and_the_phases_land_in_git(
    tmp_path: Path, remote: Remote, argo: FakeArgoCD, monkeypatch: pytest.MonkeyPatch
) -> None:
    rogue_deployed(remote, argo)
    with running(argo_bot(tmp_path, remote, argo, monkeypatch)) as runtime:
        sha = alert_and_wait(runtime, "support", "1.1.0")
        assert runtime.cluster is not None and runtime.cluster.finished[sha] == "healthy"
    assert argo.app(APP).synced_sha == sha
    marks = phases(remote, sha)
    assert set(marks) == {"accepted", "landed", "synced", "healthy"}
    assert marks["accepted"].at <= marks["landed"].at <= marks["synced"].at <= marks["healthy"].at
    assert [e.query for e in argo.log if e.query] == [{"refresh": ["normal"]}]
    assert not any(e.method == "POST" for e in argo.log)  # automated sync: no sync request needed
    (record,) = rollbacks_json(runtime.bot.engine, agent="support")
    assert set(record["phases"]["times"]) >= {"started", "accepted", "landed", "synced", "healthy"}
    assert record["phases"]["clusterFailed"] is None
    assert argo.contract_errors == []


def test_manual_app_gets_a_sync_to_the_revert_when_the_policy_allows_it(
    tmp_path: Path, remote: Remote, argo: FakeArgoCD, monkeypatch: pytest.MonkeyPatch
) -> None:
    rogue_deployed(remote, argo, automated=False)
    with running(argo_bot(tmp_path, remote, argo, monkeypatch, sync="manual-sync-allowed")) as runtime:
        sha = alert_and_wait(runtime, "support", "1.1.0")
        assert runtime.cluster is not None and runtime.cluster.finished[sha] == "healthy"
    (post,) = [e for e in argo.log if e.method == "POST"]
    assert post.body == {"name": APP, "revision": sha}
    assert argo.app(APP).synced_sha == sha
    assert argo.contract_errors == []


def test_manual_app_without_permission_to_sync_times_out_with_the_reason(
    tmp_path: Path,
    remote: Remote,
    argo: FakeArgoCD,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rogue_deployed(remote, argo, automated=False)
    with running(argo_bot(tmp_path, remote, argo, monkeypatch, timeout="1s")) as runtime:
        sha = alert_and_wait(runtime, "support", "1.1.0")
        result = runtime.cluster.finished[sha] if runtime.cluster else ""
    assert result.startswith("timeout: ") and "waiting for a manual sync" in result
    assert "timeout" in phases(remote, sha)["cluster-failed"].detail
    assert not any(e.method == "POST" for e in argo.log)
    assert "ESCALATE rollback" in caplog.text


@pytest.mark.parametrize(
    ("setup", "kind"),
    [
        (lambda app: setattr(app, "sync_failure", "Failed"), "sync-failed"),
        (lambda app: setattr(app, "health_after_sync", "Degraded"), "degraded"),
        (lambda app: setattr(app, "target_revision", "v1.1.0"), "pinned"),
        (lambda app: setattr(app, "sync_window_denies", True), "sync-window-denied"),
    ],
    ids=["sync-fails", "degraded", "pinned-to-a-tag", "sync-window"],
)
def test_cases_where_the_revert_cannot_reach_the_cluster_escalate_at_once(
    tmp_path: Path,
    remote: Remote,
    argo: FakeArgoCD,
    monkeypatch: pytest.MonkeyPatch,
    setup: object,
    kind: str,
) -> None:
    rogue_deployed(remote, argo)
    setup(argo.app(APP))  # type: ignore[operator]
    with running(argo_bot(tmp_path, remote, argo, monkeypatch, timeout="30s")) as runtime:
        sha = alert_and_wait(runtime, "support", "1.1.0", timeout=10)
        result = runtime.cluster.finished[sha] if runtime.cluster else ""
        metrics = runtime.bot.metrics.render().decode()
    assert result.startswith(f"{kind}: "), result
    assert phases(remote, sha)["cluster-failed"].detail.startswith(kind)
    assert f'gitops_bot_cluster_escalations_total{{kind="{kind}",policy="agents"}} 1.0' in metrics
    assert argo.contract_errors == []


def test_image_automation_bumping_the_tag_back_is_escalated_as_overridden(
    tmp_path: Path, remote: Remote, argo: FakeArgoCD, monkeypatch: pytest.MonkeyPatch
) -> None:
    rogue_deployed(remote, argo, automated=False)  # nothing syncs until the bump is in
    with running(argo_bot(tmp_path, remote, argo, monkeypatch, timeout="30s")) as runtime:
        runtime.bot.enqueue(make_alert("support", "1.1.0"))
        assert runtime.bot.wait_idle(30)
        sha = runtime.bot.recent[-1].commit
        assert sha is not None
        remote.pull()
        bump = release(
            remote, "1.1.0", "chore: update support to 1.1.0 [ci skip]"
        )  # as Flux image automation writes
        cluster = runtime.cluster
        assert cluster is not None
        wait_until(lambda: sha in cluster.finished, 10, 0.05, what="the re-bump noticed")
    assert cluster.finished[sha].startswith("overridden: ") and bump[:12] in cluster.finished[sha]


def test_a_restart_mid_watch_keeps_the_phases_already_recorded(
    tmp_path: Path, remote: Remote, argo: FakeArgoCD, monkeypatch: pytest.MonkeyPatch
) -> None:
    rogue_deployed(remote, argo)
    argo.app(APP).progressing_passes = 1000  # synced, but health stays Progressing
    first = argo_bot(tmp_path, remote, argo, monkeypatch, timeout="60s")
    with running(first) as runtime:
        runtime.bot.enqueue(make_alert("support", "1.1.0"))
        assert runtime.bot.wait_idle(30)
        sha = runtime.bot.recent[-1].commit
        assert sha is not None
        wait_until(lambda: "synced" in phases(remote, sha), 10, 0.05, what="the synced phase")
    before = phases(remote, sha)
    assert "healthy" not in before
    argo.app(APP).rollout_left = 1
    argo.app(APP).progressing_passes = 0
    second = argo_bot(tmp_path, remote, argo, monkeypatch, timeout="60s", name="replica")
    with running(second) as runtime:
        cluster = runtime.cluster
        assert cluster is not None and sha in cluster.watches
        argo.tick()
        wait_until(lambda: sha in cluster.finished, 10, 0.05, what="the resumed watch to finish")
    after = phases(remote, sha)
    assert after["synced"].at == before["synced"].at and after["landed"].at == before["landed"].at
    assert "healthy" in after


def test_a_forged_phase_tag_does_not_end_a_watch(
    tmp_path: Path, remote: Remote, argo: FakeArgoCD, monkeypatch: pytest.MonkeyPatch
) -> None:
    rogue_deployed(remote, argo, automated=False)  # nothing syncs: the watch stays open
    with running(argo_bot(tmp_path, remote, argo, monkeypatch, timeout="60s")) as runtime:
        runtime.bot.enqueue(make_alert("support", "1.1.0"))
        assert runtime.bot.wait_idle(30)
        sha = runtime.bot.recent[-1].commit
        assert sha is not None
    forged = f"gitops-bot/phase/{sha[:12]}/healthy"
    message = f"forged\n\nRollback-Commit: {sha}\nPhase: healthy\nPhase-At: 2026-01-01T00:00:00Z\nDetail: -\n"
    git(remote.bare, "tag", "-a", "-m", message, forged, sha)
    with running(argo_bot(tmp_path, remote, argo, monkeypatch, timeout="60s", name="replica")) as runtime:
        assert runtime.cluster is not None and sha in runtime.cluster.watches
        trusted = {m.phase for m in read_phases(runtime.bot.engine).get(sha[:12], [])}
    assert "healthy" in phases(remote, sha)  # the forged tag is in the repo...
    assert trusted == {"accepted", "landed"}  # ...but carries no state-key authenticator


def test_synced_is_recorded_while_the_rollout_is_still_progressing(
    tmp_path: Path, remote: Remote, argo: FakeArgoCD, monkeypatch: pytest.MonkeyPatch
) -> None:
    rogue_deployed(remote, argo)
    argo.app(APP).progressing_passes = 5
    with running(argo_bot(tmp_path, remote, argo, monkeypatch, timeout="30s")) as runtime:
        sha = alert_and_wait(runtime, "support", "1.1.0")
    marks = phases(remote, sha)
    assert marks["synced"].at < marks["healthy"].at
    assert "health Progressing" in marks["synced"].detail
