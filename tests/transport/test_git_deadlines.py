"""Finding 2 and 9: every git call ends in bounded time with a clear reason; races come from porcelain."""

import os
import time
from pathlib import Path

import pytest

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.adapters.gitrun import GitLimits
from gitops_bot.app.engine import Engine
from gitops_bot.app.forge.local import LocalForge
from gitops_bot.core.errors import GitError, GitTimeoutError, PushRejectedError
from tests.conftest import make_alert, make_policy
from tests.gitfix import Remote, agent_files, git
from tests.githttp import StallingProxy, http_remote

ROGUE = "2026.06.0"


def _big_remote(remote: Remote) -> None:
    """Enough incompressible history that a clone's pack is far over the proxy's byte budget."""
    remote.commit({"blobs/noise.bin": os.urandom(400_000).hex()}, "Add test noise")


def test_clone_from_a_remote_that_stalls_mid_transfer_fails_on_git_low_speed_limit(
    remote: Remote, tmp_path: Path
) -> None:
    _big_remote(remote)
    with http_remote(remote.bare.parent) as port:
        proxy = StallingProxy(port, budget=8_000)
        limits = GitLimits(network_timeout=60, low_speed_limit=1000, low_speed_time=2)
        started = time.monotonic()
        try:
            with pytest.raises(GitError) as caught:
                GitRepo(f"http://127.0.0.1:{proxy.port}/remote.git", "main", tmp_path / "bot", limits)
        finally:
            proxy.close()
    elapsed = time.monotonic() - started
    assert proxy.stalled.is_set(), "the proxy never stalled: the test proved nothing"
    assert elapsed < 20, f"took {elapsed:.1f}s"
    assert not isinstance(caught.value, GitTimeoutError)  # git's own low-speed abort came first
    assert "cannot clone" in str(caught.value) and "too slow" in str(caught.value).lower()
    assert not (tmp_path / "bot").exists()  # nothing half-cloned left behind


def test_a_stall_that_slips_under_the_speed_limit_is_killed_at_the_deadline(
    remote: Remote, tmp_path: Path
) -> None:
    _big_remote(remote)
    with http_remote(remote.bare.parent) as port:
        proxy = StallingProxy(port, budget=8_000)
        limits = GitLimits(network_timeout=3, low_speed_limit=1, low_speed_time=600)
        started = time.monotonic()
        try:
            with pytest.raises(GitTimeoutError) as caught:
                GitRepo(f"http://127.0.0.1:{proxy.port}/remote.git", "main", tmp_path / "bot", limits)
        finally:
            proxy.close()
    assert proxy.stalled.is_set()
    assert time.monotonic() - started < 15
    assert "killed after its 3s deadline" in str(caught.value)


def _hook(remote: Remote, script: str) -> None:
    hook = remote.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\n" + script + "\n")
    hook.chmod(0o755)


def _engine(remote: Remote, tmp_path: Path, limits: GitLimits | None = None) -> Engine:
    repo = GitRepo(remote.url, "main", tmp_path / "bot" / "repo", limits)
    return Engine(repo, LocalForge(), (make_policy(),), deadline=5)


def test_push_whose_pre_receive_hook_never_returns_is_killed_with_its_helpers(
    remote: Remote, tmp_path: Path
) -> None:
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    _hook(remote, "echo 'checking the change calendar...' >&2\nexec sleep 613")
    engine = _engine(remote, tmp_path, GitLimits(network_timeout=2))
    started = time.monotonic()
    with pytest.raises(GitTimeoutError) as caught:
        engine.handle(make_alert("billing-agent", ROGUE))
    assert time.monotonic() - started < 10
    assert "git push killed after its 2s deadline" in str(caught.value)
    assert "checking the change calendar" in str(caught.value)  # what git said so far is kept
    time.sleep(0.2)
    assert not _processes_running("sleep 613"), "the hook outlived the kill"
    assert "Roll back" not in git(remote.bare, "log", "--format=%s", "main")


def _processes_running(cmdline: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cmdline").read_bytes().replace(b"\0", b" ").strip() == (
                cmdline.encode()
            ):
                found.append(proc.name)
        except OSError:
            continue
    return found


def test_a_hook_refusal_keeps_its_whole_reason_and_is_not_taken_for_a_race(
    remote: Remote, tmp_path: Path
) -> None:
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    _hook(
        remote,
        "echo 'CHANGE FREEZE until Monday 09:00 (ticket OPS-42).' >&2\n"
        "echo 'hint: do not fetch first or retry; ask #release' >&2\n"
        "echo 'non-fast-forward pushes are also refused' >&2\nexit 1",
    )
    engine = _engine(remote, tmp_path)
    with pytest.raises(GitError) as caught:
        engine.handle(make_alert("billing-agent", ROGUE))
    assert not isinstance(caught.value, PushRejectedError)
    assert engine.races_lost == 0  # "fetch first" in a hook's prose is not a race
    text = str(caught.value)
    assert "CHANGE FREEZE until Monday 09:00 (ticket OPS-42)." in text and "ask #release" in text
    assert "[remote rejected] (pre-receive hook declined)" in text


def test_a_real_non_fast_forward_is_a_race_read_from_porcelain(remote: Remote, tmp_path: Path) -> None:
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    engine = _engine(remote, tmp_path)
    head = engine.repo.sync()
    sha = engine.repo.commit_files({"agents/billing-agent/agent.yaml": b"x: 1\n"}, "local", parent=head)
    remote.pull()
    remote.commit(agent_files("triage-agent", "1.2.5"), "Release triage 1.2.5")
    with pytest.raises(PushRejectedError, match=r"fetch first"):
        engine.repo.push(f"{sha}:refs/heads/main")
