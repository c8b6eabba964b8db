"""A real `gitops-bot serve` process that can be armed to die at a named crash point, and restarted.

The bot runs over a bare remote (local forge) or against the fake GitHub stand-in (github forge);
what happened is judged on the bare remote and the stand-in's state, never on the bot's log.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gitops_bot.app.crashpoints import ENV, EXIT_CODE, Point
from gitops_bot_lab.fakes.github import FakeGitHub, webhook_headers
from tests.conftest import firing_body, policy_yaml
from tests.gitfix import Remote, agent_files, git

TOKEN, SECRET, ROGUE, GOOD = "alert-token", "hook-secret", "2026.06.0", "2026.05.2"
AGENT = "billing-agent"
BRANCH_PREFIX = "refs/heads/gitops-bot/rollback/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def until(what: str, check: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll check (bounded in time) until it holds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def post(url: str, body: bytes, headers: dict[str, str]) -> int | None:
    """POST; None when the process died before answering (what a sender sees at a crash)."""
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return e.code
    except (ConnectionError, urllib.error.URLError, TimeoutError):
        return None


@dataclass
class Lab:
    """One bot's config, state folder and process; the remote and (github mode) the stand-in."""

    root: Path
    remote: Remote
    gh: FakeGitHub | None
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    runs: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def configure(self, action: dict[str, Any], *, recovery_poll: str = "10s") -> None:
        """Write gitops-bot.yaml and the one policy (limits generous: the test counts rollbacks)."""
        (self.root / "policies").mkdir(exist_ok=True)
        (self.root / "policies" / "agents.yaml").write_text(
            policy_yaml(action=action, limits={"perAgent": {"max": 5, "window": "1h"}})
        )
        forge = "forge: {kind: local}\n"
        if self.gh is not None:
            forge = (
                "forge:\n  kind: github\n  github:\n"
                f"    repo: {self.gh.full_name}\n    api_url: {self.gh.url}\n    token_env: CRASH_GITHUB_TOKEN\n"
                "    webhook_secret_env: CRASH_WEBHOOK_SECRET\n    poll: 100ms\n"
            )
        (self.root / "gitops-bot.yaml").write_text(
            f"repo: {{url: '{self.remote.url}', branch: main, workdir: state/repo}}\n{forge}"
            f"server: {{listen: '127.0.0.1:{self.port}', alertmanager_token_env: CRASH_ALERT_TOKEN}}\n"
            f"prometheus: {{poll: {recovery_poll}}}\npolicies: policies/\n"
        )

    def serve(self, crash: Point | None = None) -> None:
        """Start `gitops-bot serve` (armed to die at `crash`) and wait until /healthz answers."""
        env = {**os.environ, "CRASH_ALERT_TOKEN": TOKEN, "CRASH_WEBHOOK_SECRET": SECRET}
        env.pop(ENV, None)
        if crash is not None:
            env[ENV] = crash.value
        if self.gh is not None:
            env["CRASH_GITHUB_TOKEN"] = self.gh.token
        self.runs += 1
        with open(self.root / f"serve-{self.runs}.log", "wb") as log:  # for a person reading a failure
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gitops_bot.cli",
                    "serve",
                    "--config",
                    str(self.root / "gitops-bot.yaml"),
                ],
                env=env,
                stdout=log,
                stderr=log,
            )

        def healthy() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.log()
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as r:
                    return bool(r.status == 200)
            except OSError:
                return False

        until("the bot to answer /healthz", healthy, timeout=30)

    def crashed(self) -> None:
        """The armed process died at its crash point: the exit code says so, not a log line."""
        assert self.proc is not None
        try:
            code = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"the crash point was never reached\n{self.log()}") from None
        assert code == EXIT_CODE, f"exited with {code}, not at a crash point\n{self.log()}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def log(self) -> str:
        return (self.root / f"serve-{self.runs}.log").read_text(errors="replace")[-3000:]

    # -- what outside systems send --------------------------------------------------------------

    def ship_rogue(self) -> str:
        return self.remote.commit(agent_files(AGENT, ROGUE), f"Release {AGENT} {ROGUE}")

    def alert(self, status: str = "firing") -> int | None:
        body = firing_body(AGENT, ROGUE, started=datetime.now(UTC) - timedelta(minutes=1))
        if status == "resolved":
            body["status"] = body["alerts"][0]["status"] = "resolved"
            body["alerts"][0]["endsAt"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return post(
            f"{self.url}/api/v1/alerts", json.dumps(body).encode(), {"Authorization": f"Bearer {TOKEN}"}
        )

    def comment(self, login: str, text: str, number: int = 1) -> tuple[bytes, dict[str, str]]:
        """A person comments on the PR; returns the signed delivery (GitHub redelivers it as is)."""
        assert self.gh is not None
        body = json.dumps(self.gh.add_comment_as(login, number, text)).encode()
        return body, webhook_headers("issue_comment", body, SECRET)

    def deliver(self, delivery: tuple[bytes, dict[str, str]]) -> int | None:
        return post(f"{self.url}/api/v1/github", *delivery)

    # -- what the remote and the stand-in show ---------------------------------------------------

    def pending(self) -> int:
        """Alerts and webhooks accepted but not yet handled (the bot's own durable queues)."""
        state = self.root / "state"
        return len(list(state.glob("journal/*.json"))) + len(list(state.glob("github-inbox/pending/*.json")))

    def rollbacks_on_main(self) -> list[str]:
        """First-parent commits on main that roll the agent back (trailers, as the audit reads them)."""
        out = git(
            self.remote.bare,
            "log",
            "--first-parent",
            "--format=%H %(trailers:key=Rollback-Agent,valueonly)",
            "main",
        )
        return [line.split()[0] for line in out.splitlines() if line.split()[1:] == [AGENT]]

    def tags(self, prefix: str) -> list[str]:
        return git(self.remote.bare, "for-each-ref", "--format=%(refname)", f"refs/tags/{prefix}").split()

    def rollback_branches(self) -> list[str]:
        out = git(self.remote.bare, "for-each-ref", "--format=%(refname)", BRANCH_PREFIX)
        return [ref.removeprefix("refs/heads/") for ref in out.split()]

    def pulls(self) -> list[dict[str, Any]]:
        assert self.gh is not None
        return [self.gh.pull(n) for n, issue in sorted(self.gh.issues.items()) if issue.pull is not None]

    def labels(self, number: int = 1) -> set[str]:
        assert self.gh is not None
        return set(self.gh.issues[number].labels) if number in self.gh.issues else set()
