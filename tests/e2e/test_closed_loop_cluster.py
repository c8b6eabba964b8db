"""Alert -> revert -> Argo CD / Flux (stand-ins) sync -> the agent's metrics recover -> resolved, with the
real Prometheus and Alertmanager, every phase time printed; and a sync failure escalated, not waited out."""

import time
from pathlib import Path
from typing import Any

import pytest

from gitops_bot.core.alerts import parse_time
from gitops_bot_lab.stack import wait_until
from tests.e2e.cluster_lab import AGENT, GOOD, ROGUE, ClusterLab, cluster_lab
from tests.gitfix import agent_files, git

PHASES = ("started", "accepted", "landed", "synced", "healthy", "resolved")


def recovery_record(bare: Path, sha: str) -> str:
    return git(bare, "for-each-ref", "--format=%(contents)", f"refs/tags/gitops-bot/recovery/{sha[:12]}")


def revert_on_main(bare: Path) -> str | None:
    head = git(bare, "log", "-1", "--format=%H %s", "main")
    return head.split()[0] if "Roll back" in head else None


def healthy_phases(lab: ClusterLab) -> dict[str, Any] | None:
    phases = lab.phases()
    return phases if "healthy" in phases.get("times", {}) else None


@pytest.mark.parametrize("flavour", ["argocd", "flux"])
def test_rogue_release_is_rolled_back_through_the_cluster_and_every_phase_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], flavour: str
) -> None:
    with cluster_lab(tmp_path, monkeypatch, flavour) as lab:
        lab.runtime.start()
        lab.remote.commit(agent_files(AGENT, ROGUE), f"Release {AGENT} {ROGUE}")
        lab.deploy_rogue()  # the controller's own poll deploys the release
        wait_until(lambda: lab.agent.version == ROGUE, 30, 0.05, what="the rogue version running")
        sha = wait_until(lambda: revert_on_main(lab.remote.bare), 90, 0.05, what="the bot's revert on main")
        message = wait_until(
            lambda: recovery_record(lab.remote.bare, sha), 90, 0.1, what="the recovery record"
        )
        good_at = lab.agent.switches[-1][1]  # when the pods went back to the good version
        phases = wait_until(lambda: healthy_phases(lab), 30, 0.1, what="the healthy phase")
    times, seconds = phases["times"], phases["seconds"]
    with capsys.disabled():
        print(f"\n[{flavour} closed loop] phases: " + ", ".join(f"{p} {times.get(p, '-')}" for p in PHASES))
        print(f"[{flavour} closed loop] seconds: " + ", ".join(f"{k} {v}" for k, v in seconds.items()))
    assert "Recovery: recovered" in message
    assert set(PHASES) <= set(times), times
    assert list(seconds) == [
        "alert_to_accepted",
        "accepted_to_landed",
        "landed_to_synced",
        "synced_to_healthy",
        "healthy_to_resolved",
        "synced_to_resolved",
        "alert_to_resolved",
    ]
    assert lab.agent.versions_seen == [GOOD, ROGUE, GOOD]
    if flavour == "argocd":  # the rollout is Progressing for a few polls after the sync
        assert seconds["synced_to_healthy"] > 0
    # The agent went back to the good version only once the cluster synced the revert (not at the push).
    assert parse_time(times["landed"], where="t").timestamp() <= good_at
    assert phases["clusterFailed"] is None


def test_argocd_sync_failure_keeps_the_agent_rogue_and_is_escalated_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    verify = {"recovered": 'sum(rate(agent_tool_calls_total{agent="{agent}"}[10s])) < 10', "timeout": "20s"}
    with cluster_lab(tmp_path, monkeypatch, "argocd", verify=verify) as lab:
        assert lab.argo is not None
        lab.runtime.start()
        lab.remote.commit(agent_files(AGENT, ROGUE), f"Release {AGENT} {ROGUE}")
        lab.deploy_rogue()
        lab.argo.app(f"agents-{AGENT}").sync_failure = "Failed"  # e.g. an admission webhook now refuses it
        wait_until(lambda: lab.agent.version == ROGUE, 30, 0.05, what="the rogue version running")
        wait_until(lambda: lab.phases().get("clusterFailed"), 90, 0.2, what="the escalation")
        time.sleep(1)
        assert lab.agent.version == ROGUE  # git says GOOD, the cluster still runs ROGUE
        failure = lab.phases()["clusterFailed"]
    assert failure.startswith("sync-failed: ") and "admission webhook denied" in failure
    assert "ESCALATE rollback" in caplog.text
