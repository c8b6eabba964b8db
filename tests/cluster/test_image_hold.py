"""Keep the bad version out: after the revert the rolled-back tag is excluded in the ImageRepository (or
the ImageUpdateAutomation suspended) through the Kubernetes stand-in, recorded in git, and lifted by CLI."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_bot.cli import main
from gitops_bot_lab.fakes.kube import FakeKube
from tests.cluster.conftest import NS, kubeconfig
from tests.cluster.harness import alert_and_wait, bot_config, running
from tests.cluster.test_cluster_watch_flux import rogue_applied
from tests.conftest import policy_yaml
from tests.gitfix import Remote, git

EXCLUDED = r"^1\.1\.0$"


def hold_bot(tmp_path: Path, remote: Remote, kube: FakeKube, image: dict[str, str]) -> dict[str, Any]:
    """The bot config (also written as gitops-bot.yaml for the CLI)."""
    kube_cfg = {"kubeconfig": str(kubeconfig(tmp_path / "kubeconfig", kube.url))}
    cluster = {"flux": {"kustomization": "flux-system/{agent}"}, "imageAutomation": image, "timeout": "5s"}
    (tmp_path / "cli-policies").mkdir()
    (tmp_path / "cli-policies" / "agents.yaml").write_text(policy_yaml(cluster=cluster))
    config = {
        "repo": {"url": remote.url, "workdir": "cli/repo"},
        "policies": "cli-policies",
        "kubernetes": kube_cfg,
    }
    (tmp_path / "gitops-bot.yaml").write_text(yaml.safe_dump(config))
    return {"cluster": cluster, "kube": kube_cfg}


def hold_tags(remote: Remote) -> list[str]:
    return git(remote.bare, "tag", "--list", "gitops-bot/image-hold/*").split()


def test_rolled_back_tag_is_excluded_and_lifting_it_is_a_recorded_cli_command(
    tmp_path: Path, remote: Remote, kube: FakeKube, capsys: pytest.CaptureFixture[str]
) -> None:
    parts = hold_bot(tmp_path, remote, kube, {"excludeTag": "flux-system/{agent}"})
    rogue_applied(remote, kube)
    runtime = bot_config(
        tmp_path, remote, cluster=parts["cluster"], extra={"kubernetes": parts["kube"]}, timeout="5s"
    )
    with running(runtime):
        sha = alert_and_wait(runtime, "support", "1.1.0")
        assert runtime.cluster is not None and runtime.cluster.finished[sha] == "healthy"
    assert EXCLUDED in kube.obj("imagerepositories", NS, "support")["spec"]["exclusionList"]
    (held,) = hold_tags(remote)
    assert held.startswith("gitops-bot/image-hold/support/1.1.0/held-")
    assert git(remote.bare, "rev-list", "-n1", held) == sha
    # Only the revert touched git: no second commit for the hold.
    assert "Roll back support" in git(remote.bare, "log", "-1", "--format=%s", "main")
    config = str(tmp_path / "gitops-bot.yaml")
    assert main(["lift-exclusion", "--config", config, "--agent", "support", "--version", "1.1.0"]) == 0
    assert "removed the exclusion of tag 1.1.0" in capsys.readouterr().out
    assert EXCLUDED not in kube.obj("imagerepositories", NS, "support")["spec"]["exclusionList"]
    lifted = [t for t in hold_tags(remote) if "/lifted-" in t]
    assert len(lifted) == 1 and "lifted by cli:" in git(
        remote.bare, "tag", "-l", "--format=%(contents)", lifted[0]
    )
    assert main(["lift-exclusion", "--config", config, "--agent", "support", "--version", "1.1.0"]) == 1
    assert "is not held out of image automation" in capsys.readouterr().err
    assert kube.contract_errors == []


def test_suspending_the_image_update_automation_instead(
    tmp_path: Path, remote: Remote, kube: FakeKube
) -> None:
    parts = hold_bot(tmp_path, remote, kube, {"suspendAutomation": "flux-system/agents"})
    rogue_applied(remote, kube)
    runtime = bot_config(
        tmp_path, remote, cluster=parts["cluster"], extra={"kubernetes": parts["kube"]}, timeout="5s"
    )
    with running(runtime):
        alert_and_wait(runtime, "support", "1.1.0")
    assert kube.obj("imageupdateautomations", NS, "agents")["spec"]["suspend"] is True
    assert (
        main(
            [
                "lift-exclusion",
                "--config",
                str(tmp_path / "gitops-bot.yaml"),
                "--agent",
                "support",
                "--version",
                "1.1.0",
            ]
        )
        == 0
    )
    assert kube.obj("imageupdateautomations", NS, "agents")["spec"]["suspend"] is False
    assert kube.contract_errors == []
