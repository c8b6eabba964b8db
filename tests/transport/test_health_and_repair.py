"""Findings 2 and 5: /livez vs /readyz while git stalls; a damaged clone is repaired or reported."""

import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from gitops_bot.adapters.clone_repair import clear_stale_locks
from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.adapters.gitrun import GitLimits
from gitops_bot.adapters.journal import Journal
from gitops_bot.app.engine import Engine
from gitops_bot.app.forge.local import LocalForge
from gitops_bot.app.server import create_app
from gitops_bot.app.service import Bot
from gitops_bot.core.errors import GitError
from tests.conftest import firing_body, make_alert, make_policy
from tests.gitfix import Remote, agent_files, git
from tests.transport.served import start_serve, wait_for

ROGUE = "2026.06.0"


def _stalling_hook(remote: Remote, seconds: int) -> None:
    hook = remote.bare / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\nexec sleep {seconds}\n")
    hook.chmod(0o755)


def test_push_to_a_hung_hook_through_serve_ends_in_bounded_time_and_livez_stays_200(
    tmp_path: Path, remote: Remote
) -> None:
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    _stalling_hook(remote, 600)
    served = start_serve(tmp_path, remote, "git: {network_timeout: 2s}\nrollback: {deadline: 5s}\n")
    try:
        started = time.monotonic()
        assert served.post(firing_body("billing-agent", ROGUE, started=remote.clock))[0] == 200
        lives = []
        while (
            served.metric('gitops_bot_alerts_handled_total{outcome="failed"}') < 1
            and time.monotonic() - started < 40
        ):
            lives.append(served.get("/livez")[0])
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        assert served.metric('gitops_bot_alerts_handled_total{outcome="failed"}') == 1
        assert elapsed < 20, f"the job took {elapsed:.1f}s"  # 3 attempts x 2 s push deadline + back-off
        assert len(lives) > 5 and set(lives) == {200}  # slow, within its deadline: alive
        assert served.get("/readyz")[0] == 200
    finally:
        served.stop(signal.SIGKILL)
    assert "git push killed after its 2s deadline" in served.output()
    assert "Roll back" not in git(remote.bare, "log", "--format=%s", "main")


def test_livez_names_the_job_stuck_well_past_its_deadline(tmp_path: Path, remote: Remote) -> None:
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    _stalling_hook(remote, 30)
    repo = GitRepo(remote.url, "main", tmp_path / "bot" / "repo", GitLimits(network_timeout=8))
    engine = Engine(repo, LocalForge(), (make_policy(),), deadline=1)
    bot = Bot(engine, Journal(tmp_path / "bot" / "journal"), job_deadline=0.5, retries=0)
    client = create_app(bot, token=None).test_client()
    bot.start()
    try:
        bot.enqueue(make_alert("billing-agent", ROGUE))
        wait_for(lambda: bot.current is not None, 10, "the worker taking the job")
        time.sleep(1.0)  # past 1.5 x its 0.5 s deadline, still inside git's 8 s kill deadline
        answer = client.get("/livez")
        assert answer.status_code == 503
        assert "AgentPolicyViolations" in answer.json["job"] and "deadline" in answer.json["job"]
    finally:
        bot.stop(timeout=15)


def test_stale_index_lock_from_a_killed_git_is_removed_and_the_rollback_lands(
    remote: Remote, tmp_path: Path
) -> None:
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    engine = Engine(GitRepo(remote.url, "main", tmp_path / "bot"), LocalForge(), (make_policy(),))
    (tmp_path / "bot" / ".git" / "index.lock").write_text("")  # what git killed mid-write leaves
    outcome = engine.handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "rolled_back", outcome.reason
    assert not (tmp_path / "bot" / ".git" / "index.lock").exists()


def test_a_lock_held_by_a_live_git_is_left_alone(remote: Remote, tmp_path: Path) -> None:
    GitRepo(remote.url, "main", tmp_path / "bot")
    lock = tmp_path / "bot" / ".git" / "index.lock"
    lock.write_text("")
    holder = subprocess.Popen(["git", "hash-object", "--stdin"], cwd=tmp_path / "bot", stdin=subprocess.PIPE)
    try:
        time.sleep(0.2)
        assert clear_stale_locks(tmp_path / "bot", deadline=60) == []  # young and held: wait for it
        assert lock.exists()
        with pytest.raises(GitError, match=rf"held for \d+s by live git process\(es\) \[{holder.pid}\]"):
            clear_stale_locks(tmp_path / "bot", deadline=0)  # held past any deadline: say by whom
        assert lock.exists()
    finally:
        holder.kill()
        holder.wait()
    assert clear_stale_locks(tmp_path / "bot", deadline=60)[0].startswith("removed stale .git/index.lock")
    assert not lock.exists()


def indexed(clone: Path) -> bool:
    """Whether serve's background index of a fresh clone is written (its last step sets this)."""
    got = subprocess.run(
        ["git", "-C", str(clone), "config", "--get", "fetch.writeCommitGraph"], capture_output=True
    )
    return got.stdout.strip() == b"true"


def test_deleted_clone_is_recloned_and_the_audit_never_500s(tmp_path: Path, remote: Remote) -> None:
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    served = start_serve(tmp_path, remote)
    try:
        wait_for(lambda: indexed(served.state / "repo"), 30, "the background changed-path index")
        shutil.rmtree(served.state / "repo")  # not while git still writes into it
        status, records = served.get("/api/v1/rollbacks")
        assert status == 200 and records == []
        assert served.post(firing_body("billing-agent", ROGUE, started=remote.clock))[0] == 200
        wait_for(
            lambda: "Roll back billing-agent" in git(remote.bare, "log", "--format=%s", "main"),
            30,
            "rollback",
        )
        shutil.rmtree(served.state / "repo")
        hidden = remote.bare.rename(remote.bare.with_name("away.git"))  # and the remote is gone too
        ready, why = served.get("/readyz")
        audit, error = served.get("/api/v1/rollbacks")
        hidden.rename(remote.bare)
        assert ready == 503 and any("unusable and not repaired" in p for p in why["problems"])
        assert audit == 503 and "cannot clone" in error["error"]
        assert served.get("/readyz")[0] == 200  # remote back: re-cloned on the next probe
        assert [r["agent"] for r in served.get("/api/v1/rollbacks")[1]] == ["billing-agent"]
    finally:
        served.stop(signal.SIGKILL)


def test_a_broken_clone_is_recloned(remote: Remote, tmp_path: Path) -> None:
    repo = GitRepo(remote.url, "main", tmp_path / "bot")
    shutil.rmtree(tmp_path / "bot" / ".git" / "objects")  # history gone, folder still there
    assert "re-cloned" in repo.repair()
    assert repo.sync() == remote.remote_head()


def test_readyz_answers_while_the_worker_holds_the_clone(tmp_path: Path, remote: Remote) -> None:
    """A probe must not queue behind a 2-minute rollback: it answers from the last repair check."""
    repo = GitRepo(remote.url, "main", tmp_path / "bot" / "repo")
    engine = Engine(repo, LocalForge(), (make_policy(),))
    bot = Bot(engine, Journal(tmp_path / "bot" / "journal"))
    bot.start()
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with engine.exclusive():
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(5)
        started = time.monotonic()
        assert bot.not_ready() == [] and time.monotonic() - started < 1
    finally:
        release.set()
        thread.join()
        bot.stop()
