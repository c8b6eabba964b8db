"""The worker: a bug while handling one alert neither stops it nor loses the alert."""

from pathlib import Path

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.adapters.journal import Journal
from gitops_bot.app.forge.local import LocalForge
from gitops_bot.app.service import Bot
from gitops_bot.core.plan import Plan
from tests.conftest import EngineFactory, make_alert
from tests.gitfix import Remote, agent_files, git


class BuggyOnceForge(LocalForge):
    """Fails with a plain bug (not a GitopsBotError) the first time, like a crash in new code."""

    def __init__(self) -> None:
        self.calls = 0

    def publish(self, repo: GitRepo, plan: Plan, sha: str):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls == 1:
            raise TypeError("unexpected None")
        return super().publish(repo, plan, sha)


def test_a_crash_in_handling_keeps_the_worker_alive_and_the_alert_journaled(
    remote: Remote, engine_for: EngineFactory, tmp_path: Path
) -> None:
    remote.commit(agent_files("billing-agent", "2026.06.0"), "Release billing 2026.06.0")
    journal = Journal(tmp_path / "journal")
    bot = Bot(engine_for(remote, forge=BuggyOnceForge()), journal)
    bot.start()
    try:
        bot.enqueue(make_alert("billing-agent", "2026.06.0"))
        assert bot.wait_idle(30)
        assert bot.alive() and len(journal.pending()) == 1
        assert git(remote.bare, "log", "--format=%s", "main").count("Roll back") == 0
    finally:
        bot.stop()
    restarted = Bot(bot.engine, journal)  # the journal replays it on the next start
    restarted.start()
    try:
        assert restarted.wait_idle(30) and journal.pending() == []
        assert git(remote.bare, "log", "--format=%s", "main").count("Roll back") == 1
    finally:
        restarted.stop()
