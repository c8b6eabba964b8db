"""Builds the demo's GitOps remote: good versions, a rogue release, a later unrelated edit."""

import os
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

from gitops_bot_lab.paths import EXAMPLE_TREE


def _git(cwd: Path, *args: str, when: datetime | None = None) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Dana Developer",
        "GIT_AUTHOR_EMAIL": "dana@example.com",
        "GIT_COMMITTER_NAME": "Dana Developer",
        "GIT_COMMITTER_EMAIL": "dana@example.com",
    }
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when.isoformat()
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        raise RuntimeError(f"demo edit: {old!r} not in {path}")
    path.write_text(text.replace(old, new))


def init_demo_remote(root: Path, *, when: datetime) -> tuple[Path, Path]:
    """root/agents-gitops.git holding the example tree at good versions, and a developer clone."""
    bare, seed = root / "agents-gitops.git", root / "seed"
    _git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    shutil.copytree(EXAMPLE_TREE, seed)
    _git(seed, "init", "--quiet", "--initial-branch=main")
    _git(seed, "add", ".")
    _git(
        seed,
        "commit",
        "--quiet",
        "-m",
        "Initial agents: billing 2026.05.2, support v1.9.3, triage 1.2.4",
        when=when,
    )
    _git(seed, "push", "--quiet", str(bare), "main")
    return bare, seed


def ship_rogue_release(seed: Path, bare: Path, *, when: datetime | None = None) -> str:
    """Release billing-agent 2026.06.0 together with an unrelated support-bot change; push."""
    billing = seed / "agents" / "billing-agent"
    for name in ("deployment.yaml", "agent.yaml"):
        _edit(billing / name, "2026.05.2", "2026.06.0")
    _edit(seed / "agents" / "support-bot" / "agent.yaml", "maxTokens: 4096", "maxTokens: 8192")
    _git(
        seed,
        "commit",
        "--quiet",
        "-am",
        "Release billing-agent 2026.06.0; support-bot: raise maxTokens",
        when=when,
    )
    _git(seed, "push", "--quiet", str(bare), "main")
    return _git(seed, "rev-parse", "HEAD")


def scale_billing(seed: Path, bare: Path, *, when: datetime | None = None) -> None:
    """A later, unrelated edit to the rogue agent's file that a rollback must keep."""
    _edit(seed / "agents" / "billing-agent" / "deployment.yaml", "replicas: 2", "replicas: 4")
    _git(seed, "commit", "--quiet", "-am", "billing-agent: scale to 4 replicas for month-end", when=when)
    _git(seed, "push", "--quiet", str(bare), "main")


def build_demo_remote(root: Path, *, alert_started: datetime) -> Path:
    """The captured-payload demo's remote: the whole history committed before the alert started."""
    bare, seed = init_demo_remote(root, when=alert_started - timedelta(days=3))
    ship_rogue_release(seed, bare, when=alert_started - timedelta(hours=2))
    scale_billing(seed, bare, when=alert_started - timedelta(minutes=20))
    return bare
