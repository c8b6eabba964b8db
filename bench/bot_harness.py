"""Side A: the real bot in-process behind its real HTTP app, timed from alert POST to revert pushed."""

import contextlib
import copy
import cProfile
import hashlib
import json
import queue
import shutil
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from synthetic_repo import ROOT, BenchError, Rogue, _run, dep_path
from werkzeug.serving import make_server

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.adapters.journal import Entry, Journal
from gitops_bot.app.config import load_config
from gitops_bot.app.engine import Outcome
from gitops_bot.app.forge import Delivery
from gitops_bot.app.forge.local import LocalForge
from gitops_bot.app.policy_files import load_policies
from gitops_bot.app.server import create_app
from gitops_bot.app.service import Bot
from gitops_bot.app.wiring import make_engine
from gitops_bot.core.alerts import Alert, format_time
from gitops_bot.core.plan import Plan
from gitops_bot.core.policy import Limit, Policy

POLICIES = ROOT / "policies"


PAYLOADS = (ROOT / "tests" / "contracts" / "alertmanager",)


PAYLOAD = "firing-single-policy-violation.json"


TOKEN = "bench-token"


ALERTNAME = "AgentPolicyViolations"


def load_payload() -> dict[str, Any]:
    """The captured Alertmanager body (shared contracts if beside the checkout, else the demo copy)."""
    for folder in PAYLOADS:
        if (folder / PAYLOAD).exists():
            data: dict[str, Any] = json.loads((folder / PAYLOAD).read_text())
            return data
    raise FileNotFoundError(PAYLOAD)


def alert_body(template: dict[str, Any], rogue: Rogue, started: datetime) -> bytes:
    """The real v4 body with this agent's labels, start time and fingerprint put in."""
    body = copy.deepcopy(template)
    alert = body["alerts"][0]
    alert["labels"] |= {"agent": rogue.agent, "version": rogue.version, "alertname": ALERTNAME}
    summary_text = f"Agent {rogue.agent} {rogue.version} violates policy pii-disclosure"
    alert["annotations"] = {"summary": summary_text}
    alert["startsAt"] = format_time(started)
    alert["fingerprint"] = hashlib.sha256(rogue.agent.encode()).hexdigest()[:16]
    labels = alert["labels"]
    body["groupLabels"] = body["commonLabels"] = dict(labels)
    body["commonAnnotations"] = {"summary": summary_text}
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    body["groupKey"] = f'{{}}/{{alertname="{ALERTNAME}"}}:{{{inner}}}'
    return json.dumps(body).encode()


def post(url: str, body: bytes) -> int:
    """POST as Alertmanager does; return the status."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Alertmanager/0.25.0",
            "Authorization": f"Bearer {TOKEN}",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        return int(response.status)


def bench_policies(policies_dir: Path, alerts: int) -> tuple[Policy, ...]:
    """The shipped policies with only the fleet breaker widened so N sequential rollbacks can pass."""
    out = []
    for p in load_policies(policies_dir):
        fleet = p.fleet and Limit(max=max(p.fleet.max, alerts + 10), window=p.fleet.window)
        out.append(replace(p, fleet=fleet))
    return tuple(out)


class TimedForge(LocalForge):
    """LocalForge that notes when each push returned: the end point of the measured latency."""

    def __init__(self) -> None:
        self.pushed_at: dict[str, float] = {}

    def publish(self, repo: GitRepo, plan: Plan, sha: str) -> Delivery:
        """Push as LocalForge does, then stamp the time."""
        where = super().publish(repo, plan, sha)
        self.pushed_at[plan.agent] = time.perf_counter()
        return where


def _git_label(args: tuple[str, ...]) -> str:
    if args[0] != "log":
        return args[0]
    if any(a.startswith("--grep") for a in args):
        return "log --grep (rate limits)"
    if "-1" in args:
        return "log -1 (commit info)"
    return "log -- files (culprit walk)"


@dataclass
class Probe:
    """Wall time of the bot's git calls by kind within one alert (wrappers, behaviour unchanged)."""

    calls: list[tuple[str, float]] = field(default_factory=list)
    handle_started: float = 0.0
    handle_ended: float = 0.0

    def wrap(self, label: Callable[..., str], fn: Callable[..., Any]) -> Callable[..., Any]:
        """fn, timed into self.calls under label(*args)."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.calls.append((label(*args), time.perf_counter() - t))

        return timed

    def attach(self, repo: GitRepo) -> None:
        """Instrument one GitRepo instance (instance attributes shadow its methods)."""
        repo._git = self.wrap(lambda *a: _git_label(a), repo._git)  # type: ignore[method-assign]
        repo.read_bytes = self.wrap(lambda *a: "cat-file --batch (read blobs)", repo.read_bytes)  # type: ignore[method-assign]
        repo.push = self.wrap(lambda *a: "push", repo.push)  # type: ignore[method-assign]
        repo.head_sha = self.wrap(lambda *a: "head sha (GitPython refs)", repo.head_sha)  # type: ignore[method-assign]


@dataclass
class AlertRun:
    """One measured alert of run A."""

    agent: str
    latency: float
    post: float
    to_worker: float
    git: dict[str, float]
    git_calls: dict[str, int]
    handle: float
    outcome: Outcome


class BotRun:
    """The bot wired like `make_bot`, served by its Flask app on a loopback port."""

    def __init__(self, root: Path, remote: Path, alerts: int) -> None:
        (root / "policies").mkdir(parents=True)
        shutil.copy(POLICIES / "agents.yaml", root / "policies" / "agents.yaml")
        cfg = root / "gitops-bot.yaml"
        cfg.write_text(
            f"repo: {{url: 'file://{remote}', branch: main, workdir: state/repo}}\n"
            "forge: {kind: local}\n"
            "server: {listen: '127.0.0.1:0', alertmanager_token_env: GITOPS_BOT_ALERT_TOKEN}\n"
            "policies: policies/\n"
        )
        config = load_config(cfg)
        t = time.perf_counter()
        # The real wiring (clone + changed-path index happen here, untimed); only the forge gets a stopwatch.
        self.engine = make_engine(config, bench_policies(config.policies, alerts))
        self.clone_seconds = time.perf_counter() - t
        self.repo, self.forge = self.engine.repo, TimedForge()
        self.engine.forge = self.forge
        self.bot = Bot(self.engine, Journal(config.workdir.parent / "journal"))
        self.probe = Probe()
        self.probe.attach(self.repo)
        self.done: queue.Queue[Outcome] = queue.Queue()
        self.profiler: cProfile.Profile | None = None
        self._wrap_engine()
        self.server = make_server("127.0.0.1", 0, create_app(self.bot, token=TOKEN), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/v1/alerts"

    def _wrap_engine(self) -> None:
        handle, process = self.engine.handle, self.bot.process

        def timed_handle(alert: Alert, *, dry_run: bool = False) -> Outcome:
            self.probe.handle_started = time.perf_counter()
            if self.profiler is not None:
                outcome: Outcome = self.profiler.runcall(handle, alert, dry_run=dry_run)
            else:
                outcome = handle(alert, dry_run=dry_run)
            self.probe.handle_ended = time.perf_counter()
            return outcome

        def signalling_process(entry: Entry) -> Outcome:
            outcome = process(entry)
            self.done.put(outcome)  # the worker has recorded it and cleared the journal entry
            return outcome

        self.engine.handle = timed_handle  # type: ignore[method-assign]
        self.bot.process = signalling_process  # type: ignore[method-assign]

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        """Worker and HTTP server up for the duration."""
        self.bot.start()
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield
        finally:
            self.server.shutdown()
            self.bot.stop()
            self.repo.repo.close()

    def fire(self, body: bytes, agent: str) -> AlertRun:
        """POST one alert and wait for its outcome; latency runs from before the POST to the push."""
        self.probe.calls.clear()
        t0 = time.perf_counter()
        status = post(self.url, body)
        t_post = time.perf_counter()
        if status != 200:
            raise BenchError(f"{agent}: webhook answered {status}")
        try:
            outcome = self.done.get(timeout=120)
        except queue.Empty as e:
            raise BenchError(f"{agent}: no outcome within 120 s") from e
        pushed = self.forge.pushed_at.pop(agent, None)
        if outcome.kind != "rolled_back" or outcome.agent != agent or pushed is None:
            raise BenchError(f"{agent}: expected a rollback, got {outcome.kind}: {outcome.reason}")
        git: dict[str, float] = {}
        calls: dict[str, int] = {}
        for label, seconds in self.probe.calls:
            git[label] = git.get(label, 0.0) + seconds
            calls[label] = calls.get(label, 0) + 1
        return AlertRun(
            agent=agent,
            latency=pushed - t0,
            post=t_post - t0,
            to_worker=self.probe.handle_started - t0,
            git=git,
            git_calls=calls,
            handle=pushed - self.probe.handle_started,
            outcome=outcome,
        )


def verify_remote(remote: Path, rogues: list[Rogue], outcomes: dict[str, Outcome]) -> None:
    """Exactly one rollback commit per alert on the remote, for the right agent and culprit."""
    fmt = "%H%x1f%(trailers:key=Rollback-Agent,valueonly)%x1f%(trailers:key=Rollback-Of,valueonly)%x1e"
    out = _run(
        ["git", "--git-dir", str(remote), "log", "--first-parent", f"--format={fmt}", "-n", "500", "main"]
    )
    seen: dict[str, list[tuple[str, str]]] = {}
    for chunk in out.split("\x1e"):
        chunk = chunk.strip("\n")
        if chunk:
            sha, agent, culprit = (part.strip() for part in chunk.split("\x1f"))
            if agent:
                seen.setdefault(agent, []).append((sha, culprit))
    problems = []
    for r in rogues:
        found = seen.pop(r.agent, [])
        if len(found) != 1:
            problems.append(f"{r.agent}: {len(found)} rollback commits on the remote (want 1)")
            continue
        sha, culprit = found[0]
        if culprit != r.sha:
            problems.append(f"{r.agent}: Rollback-Of {culprit[:12]}, planted culprit {r.sha[:12]}")
        if r.agent in outcomes and outcomes[r.agent].commit != sha:
            problems.append(f"{r.agent}: outcome commit {outcomes[r.agent].commit} is not remote {sha}")
        image = _run(["git", "--git-dir", str(remote), "show", f"main:{dep_path(r.agent)}"])
        if f"/{r.agent}:{r.previous} " not in image:
            problems.append(f"{r.agent}: remote image is not back at {r.previous}")
    problems += [f"{agent}: unexpected rollback commit(s) {found}" for agent, found in seen.items()]
    if problems:
        raise BenchError("remote check failed:\n  " + "\n  ".join(problems))
