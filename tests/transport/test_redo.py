"""Issue 10 churn, the parts: back-off against a deadline, the in-process redo commit, when to replan."""

import subprocess
from pathlib import Path

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.adapters.rebase import commit_onto, moved_under
from gitops_bot.app.engine import Engine
from gitops_bot.app.forge import Delivery
from gitops_bot.app.forge.local import LocalForge
from gitops_bot.app.redo import Backoff
from gitops_bot.core.plan import Plan
from tests.conftest import make_alert, make_policy
from tests.gitfix import Remote, agent_files, deployment, git

ROGUE = "2026.06.0"


def test_backoff_is_jittered_bounded_and_stops_at_the_deadline() -> None:
    now = [0.0]
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += seconds

    backoff = Backoff(2.0, first=0.01, cap=0.1, clock=lambda: now[0], sleep=sleep)
    while backoff.wait():
        pass
    assert 1.9 <= now[0] <= 2.0 and len(pauses) > 15
    assert all(0.005 <= p <= 0.1 for p in pauses) and pauses[0] <= 0.01
    assert len(set(pauses)) == len(pauses)  # jittered: no lockstep with a pusher on a fixed beat


def test_the_in_process_redo_commit_is_the_commit_git_itself_would_write(
    remote: Remote, tmp_path: Path
) -> None:
    repo = GitRepo(remote.url, "main", tmp_path / "bot")
    head = repo.sync()
    files = {
        "agents/billing-agent/deployment.yaml": deployment("billing-agent", "2026.05.1").encode(),
        "agents/new-agent/agent.yaml": b"kind: AgentConfig\n",  # a folder that does not exist yet
    }
    sha = commit_onto(repo, head, files, "Roll back billing-agent\n\nRollback-Agent: billing-agent\n")
    subprocess.run(["git", "fsck", "--strict", "--no-dangling"], cwd=tmp_path / "bot", check=True)
    for name, text in files.items():
        (tmp_path / "bot" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "bot" / name).write_bytes(text)
    git(tmp_path / "bot", "add", "-A")
    git(tmp_path / "bot", "commit", "--quiet", "-m", "same edit by git")
    assert git(tmp_path / "bot", "rev-parse", f"{sha}^{{tree}}") == git(
        tmp_path / "bot", "rev-parse", "HEAD^{tree}"
    )
    assert git(tmp_path / "bot", "rev-parse", f"{sha}^") == head


def test_redo_replans_when_the_agent_files_or_a_rollback_arrived(remote: Remote, tmp_path: Path) -> None:
    repo = GitRepo(remote.url, "main", tmp_path / "bot")
    old = repo.sync()
    files = ["agents/billing-agent/agent.yaml", "agents/billing-agent/deployment.yaml"]
    remote.commit(agent_files("triage-agent", "1.2.5"), "Release triage 1.2.5")
    other = repo.sync()
    assert not moved_under(repo, old, other, files)
    remote.commit(agent_files("billing-agent", "2026.05.2", replicas=5), "Scale billing")
    touched = repo.sync()
    assert moved_under(repo, other, touched, files)
    remote.commit({"notes.txt": "x\n"}, "Roll back support-bot\n\nRollback-Of: " + "a" * 40)
    assert moved_under(repo, touched, repo.sync(), ["agents/triage-agent/agent.yaml"])


class AlwaysRacedForge(LocalForge):
    """Before every push of the bot's, someone else lands a commit first: the branch never stands still."""

    def __init__(self, remote: Remote) -> None:
        self.remote, self.n = remote, 0

    def publish(self, repo: GitRepo, plan: Plan, sha: str) -> Delivery:
        self.n += 1
        self.remote.pull()
        self.remote.commit({"ci/build.txt": f"{self.n}\n"}, f"ci: bump {self.n}")
        return super().publish(repo, plan, sha)


def test_a_branch_that_never_stands_still_fails_at_the_deadline_not_after_n_tries(
    remote: Remote, tmp_path: Path
) -> None:
    remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")
    forge = AlwaysRacedForge(remote)
    engine = Engine(GitRepo(remote.url, "main", tmp_path / "bot"), forge, (make_policy(),), deadline=1.5)
    outcome = engine.handle(make_alert("billing-agent", ROGUE))
    assert outcome.kind == "failed" and "races in 1.5s" in outcome.reason
    assert engine.races_lost == forge.n > 5  # more than the old fixed 5 attempts, bounded by time
    assert "Roll back" not in git(remote.bare, "log", "--format=%s", "main")
