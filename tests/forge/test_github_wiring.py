"""github mode from gitops-bot.yaml, and the recovery watcher escalating on the rollback's PR."""

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from gitops_bot.app.config import parse_config
from gitops_bot.app.github.forge import GitHubForge
from gitops_bot.app.metrics import Metrics
from gitops_bot.app.watcher import RecoveryWatcher
from gitops_bot.app.wiring import make_engine
from gitops_bot.core.errors import ConfigError
from tests.conftest import POLICY_DOC, make_alert
from tests.forge.conftest import World


def config_for(world: World, tmp_path: Path, **github: object) -> dict[str, object]:
    return {
        "repo": {"url": world.remote.url, "branch": "main", "workdir": str(tmp_path / "wired" / "repo")},
        "forge": {
            "kind": "github",
            "github": {"repo": world.gh.full_name, "api_url": world.gh.url, **github},
        },
        "policies": str(tmp_path / "policies"),
    }


def test_github_mode_is_wired_from_the_config(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "agents.yaml").write_text(yaml.safe_dump(POLICY_DOC))
    raw = config_for(world, tmp_path, token_env="T_TOKEN", webhook_secret_env="T_SECRET")
    monkeypatch.delenv("T_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"\$T_TOKEN is not set"):
        make_engine(parse_config(raw, base=tmp_path))
    monkeypatch.setenv("T_TOKEN", world.gh.token)
    with pytest.raises(ConfigError, match=r"\$T_SECRET is not set"):
        make_engine(parse_config(raw, base=tmp_path))
    monkeypatch.setenv("T_SECRET", "s")
    engine = make_engine(parse_config(raw, base=tmp_path))
    assert isinstance(engine.forge, GitHubForge) and engine.forge.bound
    world.ship_rogue()
    assert engine.handle(make_alert("billing-agent", "2026.06.0")).kind == "rolled_back"
    assert world.gh.pull(1)["merged"]


def test_recovery_timeout_escalates_on_the_rollbacks_pr(world: World) -> None:
    world.ship_rogue()
    bot = world.replica()
    assert bot.alert().kind == "rolled_back"
    watcher = RecoveryWatcher(bot.engine, Metrics(), prometheus_url=None, escalate=bot.forge.escalate)
    bot.engine.repo.sync()
    assert watcher.resume() == 1
    [(watch, result)] = watcher.poll_once(now=world.clock.now + timedelta(hours=1))
    assert result.status == "timeout"
    [escalation] = [c for c in world.bot_comments(1) if "did not recover" in c]
    assert f"rollback {watch.rollback_sha[:12]}" in escalation and "people decide" in escalation
