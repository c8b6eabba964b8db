"""A GitOps repo served by the fake GitHub, and bot replicas whose forge talks to it via PyGithub."""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from github import Auth

from gitops_bot.adapters.github.api import GitHubAPI
from gitops_bot.adapters.github.inbox import Inbox
from gitops_bot.adapters.github.settings import GitHubSettings, make_client
from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.app.engine import Engine
from gitops_bot.app.github.forge import GitHubForge
from gitops_bot.core.policy import Policy
from gitops_bot.core.trailers import parse_trailers
from gitops_bot_lab.fakes.github import FakeGitHub, webhook_headers
from tests.conftest import TEST_KEYS, make_alert, make_policy
from tests.gitfix import Remote, agent_files, git, make_remote

ROGUE, GOOD = "2026.06.0", "2026.05.2"
SECRET = "webhook-s3cret"
BOT = "gitops-bot[bot]"


class Clock:
    """An injected clock the tests move by hand instead of sleeping through veto windows."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


@dataclass
class Replica:
    """One running bot: engine over its own clone, GitHub forge, recorded back-off sleeps."""

    engine: Engine
    forge: GitHubForge
    sleeps: list[float] = field(default_factory=list)

    def alert(self, version: str | None = ROGUE) -> Any:
        """Handle the billing-agent alert; returns the Outcome."""
        return self.engine.handle(make_alert("billing-agent", version))


@dataclass
class World:
    """The fake GitHub over a real bare repo, the developer clone, and a clock."""

    root: Path
    remote: Remote
    gh: FakeGitHub
    clock: Clock

    def replica(self, name: str = "bot", policy: Policy | None = None, **kw: Any) -> Replica:
        """A bot replica with a fresh work tree and its own PyGithub client."""
        sleeps: list[float] = []
        client = make_client(
            GitHubSettings(repo=self.gh.full_name, api_url=self.gh.url), Auth.Token(self.gh.token)
        )
        api = GitHubAPI(client, self.gh.full_name, sleep=sleeps.append, **kw)
        forge = GitHubForge(
            api,
            secret=SECRET.encode(),
            inbox=Inbox(self.root / name / "inbox"),
            clock=self.clock,
            interval=0.05,
        )
        repo = GitRepo(self.remote.url, "main", self.root / name / "repo")
        engine = Engine(repo, forge, (policy or make_policy(),), clock=self.clock, keys=TEST_KEYS)
        forge.bind(engine)
        return Replica(engine, forge, sleeps)

    def ship_rogue(self) -> str:
        """A developer releases billing-agent 2026.06.0 on main."""
        self.remote.pull()
        return self.remote.commit(agent_files("billing-agent", ROGUE), "Release billing 2026.06.0")

    def main_trailers(self, rev: str = "main") -> dict[str, str]:
        """Trailers of the commit at the tip of main (the first-parent commit)."""
        return parse_trailers(git(self.remote.bare, "log", "-1", "--format=%(trailers:only,unfold)", rev))

    def main_file(self, name: str = "agents/billing-agent/deployment.yaml") -> str:
        return self.remote.show(name)

    def deliver(
        self, forge: GitHubForge, payload: dict[str, Any], event: str = "issue_comment"
    ) -> tuple[int, str]:
        """Sign and hand a webhook to the forge the way the Flask route does."""
        body = json.dumps(payload).encode()
        headers = webhook_headers(event, body, SECRET)
        return forge.receive(
            event=event,
            delivery=headers["X-GitHub-Delivery"],
            signature=headers["X-Hub-Signature-256"],
            body=body,
        )

    def comment(self, forge: GitHubForge, login: str, number: int, text: str, action: str = "created") -> str:
        """A person comments on the PR; the bot receives the webhook and its loop handles it."""
        status, said = self.deliver(forge, self.gh.add_comment_as(login, number, text, action=action))
        handled = forge.loop.drain()
        return f"{status} {said} {handled}"

    def bot_comments(self, number: int) -> list[str]:
        return [c.body for c in self.gh.comments if c.issue_number == number and c.user == BOT]

    def labels(self, number: int) -> set[str]:
        return set(self.gh.issues[number].labels)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """billing-agent and support-bot at good versions, served by the fake GitHub `acme/agents-gitops`."""
    remote = make_remote(tmp_path, {"billing-agent": GOOD, "support-bot": "v1.9.3"})
    gh = FakeGitHub(
        remote.bare,
        owner="acme",
        repo="agents-gitops",
        bot_login=BOT,
        permissions={
            "alice": "maintain",
            "bob": "write",
            "mallory": "read",
            "trina": "triage",
            "eve": "none",
        },
    )
    with gh:
        yield World(tmp_path, remote, gh, Clock())
    assert gh.contract_errors == [], gh.contract_errors


def veto_policy(window: str = "5m", **action: Any) -> Policy:
    """The standard policy in veto-window mode."""
    return make_policy(action={"mode": "veto-window", "vetoWindow": window, **action})
