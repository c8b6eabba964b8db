"""The pure cluster verdicts: a table per controller, and the on-deployed trigger's timing clause."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from gitops_bot.core.cluster import (
    ArgoAppStatus,
    ClusterVerdict,
    FluxStatus,
    argo_verdict,
    flux_verdict,
    revision_sha,
)

REVERT = "a" * 40
LATER = "b" * 40
ROGUE = "c" * 40
OK = frozenset({REVERT, LATER})
T = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
V = ClusterVerdict

SYNCED = ArgoAppStatus(
    name="agents-support",
    target_revision="HEAD",
    automated=True,
    sync_status="Synced",
    sync_revision=REVERT,
    health_status="Healthy",
    health_changed_at=T + timedelta(seconds=20),
    operation_phase="Succeeded",
    operation_revision=REVERT,
    operation_started_at=T,
    operation_finished_at=T + timedelta(seconds=10),
    can_sync=True,
)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, V.DEPLOYED),
        ({"sync_revision": LATER, "operation_revision": LATER}, V.DEPLOYED),
        ({"target_revision": "main"}, V.DEPLOYED),
        ({"target_revision": "refs/heads/main"}, V.DEPLOYED),
        ({"target_revision": "v1.0.0"}, V.PINNED),
        ({"target_revision": ROGUE}, V.PINNED),
        ({"target_revision": "release"}, V.PINNED),
        ({"operation_phase": "Failed", "operation_message": "hook failed"}, V.SYNC_FAILED),
        ({"operation_phase": "Error", "sync_status": "OutOfSync"}, V.SYNC_FAILED),
        ({"operation_phase": "Failed", "operation_revision": ROGUE, "sync_revision": ROGUE}, V.WAITING),
        ({"health_status": "Degraded"}, V.DEGRADED),
        ({"health_status": "Degraded", "sync_status": "OutOfSync", "operation_revision": ROGUE}, V.WAITING),
        ({"health_status": "Progressing"}, V.WAITING),
        ({"health_status": "Suspended"}, V.WAITING),
        ({"operation_phase": "Running"}, V.WAITING),
        ({"sync_status": "OutOfSync", "operation_revision": ROGUE}, V.WAITING),
        ({"sync_status": "OutOfSync", "operation_revision": ROGUE, "can_sync": False}, V.SYNC_WINDOW_DENIED),
        ({"sync_revision": ROGUE, "operation_revision": ROGUE, "can_sync": False}, V.SYNC_WINDOW_DENIED),
        ({"can_sync": False}, V.DEPLOYED),  # a window closing after the rollout changes nothing
        ({"operation_phase": None, "operation_revision": None}, V.DEPLOYED),  # Synced without an operation
        ({"operation_revision": ROGUE}, V.DEPLOYED),
    ],
)
def test_argo_verdict_table(change: dict[str, object], expected: ClusterVerdict) -> None:
    outcome = argo_verdict(replace(SYNCED, **change), REVERT, OK, "main")  # type: ignore[arg-type]
    assert outcome.verdict is expected, outcome.reason
    assert outcome.reason.startswith("Application agents-support")
    assert outcome.verdict.final is (expected is not V.WAITING)


def test_on_deployed_timing_clause_matches_the_catalog_trigger() -> None:
    trigger = yaml.safe_load(
        (Path(__file__).parents[1] / "contracts/argocd/triggers_on-deployed.yaml").read_text()
    )
    when = trigger[0]["when"]
    assert "phase in ['Succeeded']" in when and "health.status == 'Healthy'" in when
    assert "Add(1 * time.Minute).Before(time.Parse(app.status.operationState.finishedAt))" in when
    long_before = replace(
        SYNCED, health_changed_at=T + timedelta(seconds=5), operation_finished_at=T + timedelta(minutes=5)
    )
    assert (
        argo_verdict(long_before, REVERT, OK, "main").verdict is V.WAITING
    )  # health predates the sync's end
    steady = replace(long_before, health_changed_at=T - timedelta(hours=1))
    assert argo_verdict(steady, REVERT, OK, "main").verdict is V.DEPLOYED  # healthy all along
    just_before = replace(long_before, health_changed_at=T + timedelta(minutes=4, seconds=30))
    assert argo_verdict(just_before, REVERT, OK, "main").verdict is V.DEPLOYED


READY = FluxStatus(
    kind="Kustomization",
    name="support",
    namespace="flux-system",
    suspended=False,
    source_suspended=False,
    source_ref_kind="branch",
    source_ref="main",
    generation=3,
    observed_generation=3,
    ready="True",
    ready_reason="ReconciliationSucceeded",
    applied_revision=f"main@sha1:{REVERT}",
    attempted_revision=f"main@sha1:{REVERT}",
)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, V.DEPLOYED),
        ({"applied_revision": f"main@sha1:{LATER}"}, V.DEPLOYED),
        ({"kind": "HelmRelease", "applied_revision": f"0.1.0+{REVERT[:12]}"}, V.DEPLOYED),
        ({"applied_revision": f"main@sha1:{ROGUE}"}, V.WAITING),
        ({"observed_generation": 2}, V.WAITING),
        ({"ready": "Unknown", "ready_reason": "Progressing"}, V.WAITING),
        ({"suspended": True}, V.SUSPENDED),
        ({"source_suspended": True}, V.SUSPENDED),
        ({"source_ref_kind": "tag", "source_ref": "v1.0.0"}, V.PINNED),
        ({"source_ref_kind": "commit", "source_ref": ROGUE}, V.PINNED),
        ({"source_ref_kind": "branch", "source_ref": "release"}, V.PINNED),
        ({"source_ref_kind": "name", "source_ref": "refs/heads/main"}, V.DEPLOYED),
        (
            {
                "ready": "False",
                "ready_reason": "ReconciliationFailed",
                "applied_revision": f"main@sha1:{ROGUE}",
            },
            V.SYNC_FAILED,
        ),
        ({"ready": "False", "ready_reason": "HealthCheckFailed"}, V.DEGRADED),
        (
            {
                "ready": "False",
                "ready_reason": "ArtifactFailed",
                "attempted_revision": f"main@sha1:{ROGUE}",
                "applied_revision": f"main@sha1:{ROGUE}",
            },
            V.WAITING,
        ),
    ],
)
def test_flux_verdict_table(change: dict[str, object], expected: ClusterVerdict) -> None:
    status = replace(READY, **change)  # type: ignore[arg-type]
    outcome = flux_verdict(status, REVERT, OK, "main")
    assert outcome.verdict is expected, outcome.reason
    assert f"{status.namespace}/{status.name}" in outcome.reason


@pytest.mark.parametrize(
    ("revision", "sha"),
    [
        (f"main@sha1:{REVERT}", REVERT),
        (f"sha1:{REVERT}", REVERT),
        (f"main/{REVERT}", REVERT),
        (f"0.1.0+{REVERT[:12]}", REVERT[:12]),
        (REVERT, REVERT),
        ("0.1.0", None),
        ("", None),
        (None, None),
    ],
)
def test_revision_sha_reads_every_flux_revision_format(revision: str | None, sha: str | None) -> None:
    assert revision_sha(revision) == sha


def test_short_or_foreign_shas_are_never_accepted() -> None:
    short = replace(READY, kind="HelmRelease", applied_revision="0.1.0+aaaa")
    assert flux_verdict(short, REVERT, OK, "main").verdict is V.WAITING
    assert flux_verdict(READY, REVERT, frozenset(), "main").verdict is V.WAITING
