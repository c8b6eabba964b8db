"""GitHub mode: the rollback PR merges, the cluster watch starts from the merge commit git shows, and a
sync failure in Argo CD (stand-in) is said on the PR."""

from pathlib import Path

import pytest

from gitops_bot.app.cluster_targets import ClusterClients
from gitops_bot.app.cluster_watch import ClusterWatcher
from gitops_bot.app.config import parse_config
from gitops_bot.app.metrics import Metrics
from gitops_bot_lab.fakes.argocd import FakeArgoCD
from tests.cluster.harness import phases
from tests.conftest import make_policy
from tests.forge.conftest import World

APP = "agents-billing-agent"


def test_a_merged_rollback_pr_whose_sync_fails_gets_a_comment_with_the_reason(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_ARGOCD_TOKEN", "argo-token")
    with FakeArgoCD(world.remote.bare, token="argo-token") as argo:
        argo.add_app(APP, repo_url=world.remote.url, path="agents/billing-agent")
        policy = make_policy(cluster={"argocd": {"app": "agents-{agent}"}, "timeout": "1m"})
        replica = world.replica(policy=policy)
        world.ship_rogue()
        argo.tick()
        argo.app(APP).sync_failure = "Failed"
        outcome = replica.alert()
        assert outcome.kind == "rolled_back" and world.gh.pull(1)["merged"], outcome
        config = parse_config(
            {
                "repo": {"url": world.remote.url},
                "argocd": {"url": argo.url, "token_env": "TEST_ARGOCD_TOKEN"},
            },
            base=tmp_path,
        )
        watcher = ClusterWatcher(
            replica.engine, Metrics(), ClusterClients(config), escalate=replica.forge.escalate
        )
        replica.engine.repo.sync()  # what Runtime does when the forge says a PR landed: sync, resume
        assert watcher.resume() == 1
        watcher.poll_once()
    (merge,) = watcher.finished
    assert watcher.finished[merge].startswith("sync-failed: ")
    assert set(phases(world.remote, merge)) == {"landed", "cluster-failed"}  # accepted is not known here
    (said,) = [c for c in world.bot_comments(1) if "not running in the cluster" in c]
    assert "sync-failed" in said and "admission webhook denied" in said and "people decide" in said
    assert argo.contract_errors == []
