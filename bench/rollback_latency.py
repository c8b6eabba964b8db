"""Rollback latency: alert POST -> revert pushed by the real bot, against bare git plumbing doing the same.

Builds (and caches) a synthetic GitOps repo with `git fast-import`, runs the bot in-process behind its
real Flask app, posts one real Alertmanager v4 body per rogue agent, and times each until its push
returned. Then does the same rollbacks with plain `git` subprocesses on a fresh copy and prints both
distributions and their ratio. Exit 1 only when something functional went wrong.
"""

import argparse
import contextlib
import copy
import cProfile
import hashlib
import io
import json
import logging
import math
import os
import pstats
import queue
import random
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
POLICIES = ROOT / "policies"
PAYLOADS = (ROOT / "tests" / "contracts" / "alertmanager",)
PAYLOAD = "firing-single-policy-violation.json"
TOKEN = "bench-token"
ALERTNAME = "AgentPolicyViolations"
GEN_VERSION = 1  # bump whenever the generated history changes shape, so stale caches are not reused
SEED = 20261127
TARGET_P99 = 1.0
TARGET_RATIO = 1.5
ROGUE_WINDOW = 5000  # deepest culprit, in first-parent commits below the tip
COMMIT_STEP = 600  # seconds between first-parent commits: 50k commits span about a year


# ---------------------------------------------------------------- synthetic repo


@dataclass
class AgentState:
    """The mutable knobs of one agent's two manifests."""

    name: str
    release: int
    replicas: int
    max_calls: int
    max_tokens: int
    ticket: int
    team: str
    frozen: bool = False  # its rogue release happened: nothing may change its version afterwards

    @property
    def version(self) -> str:
        """The agent's current release."""
        return version_of(self.release)

    def deployment(self) -> str:
        """deployment.yaml in the layout of manifests/agents-gitops."""
        n, v = self.name, self.version
        return (
            f"# {n}: the agent runtime. Image tag = agent release; Argo CD syncs this folder.\n"
            f"# owner: team-{self.team}; last change: OPS-{self.ticket}\n"
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
            f"  name: {n}\n  namespace: agents\n"
            f"  labels: {{app.kubernetes.io/name: {n}, app.kubernetes.io/part-of: agents}}\n"
            f"spec:\n  replicas: {self.replicas}\n  selector:\n"
            f"    matchLabels: {{app.kubernetes.io/name: {n}}}\n"
            f"  template:\n    metadata:\n      labels: {{app.kubernetes.io/name: {n}}}\n"
            "    spec:\n      containers:\n"
            "        - name: otel-collector   # sidecar: ships agent metrics and traces\n"
            "          image: otel/opentelemetry-collector:0.112.0\n"
            "        - name: agent\n"
            f"          image: registry.example.com/agents/{n}:{v}   # release under test\n"
            "          env:\n"
            "            - {name: AGENT_CONFIG, value: /etc/agent/agent.yaml}\n"
            f'            - {{name: MAX_TOOL_CALLS_PER_TURN, value: "{self.max_calls}"}}\n'
            "          ports:\n            - {name: metrics, containerPort: 9464}\n"
        )

    def agent_yaml(self) -> str:
        """agent.yaml: spec.version and spec.promptBundle follow the image tag."""
        n, v = self.name, self.version
        return (
            "# Agent behaviour: model, prompt bundle and tool allow-list.\n"
            "apiVersion: agents.example.com/v1\nkind: AgentConfig\nmetadata:\n"
            f'  name: {n}\nspec:\n  version: "{v}"           # must follow the image tag\n'
            "  model: gpt-4o-2024-11-20\n"
            f"  promptBundle: prompts/{n}@{v}\n  maxTokens: {self.max_tokens}\n"
            "  tools: [search_kb, create_ticket]\n"
        )


def version_of(release: int) -> str:
    """Release counter -> CalVer-ish version string (unique per counter value)."""
    return f"2026.{release // 10:02d}.{release % 10}"


def dep_path(agent: str) -> str:
    """An agent's deployment manifest."""
    return f"agents/{agent}/deployment.yaml"


def cfg_path(agent: str) -> str:
    """An agent's behaviour config."""
    return f"agents/{agent}/agent.yaml"


@dataclass(frozen=True)
class Rogue:
    """One planted culprit: the alert's agent, the version it shipped and where it sits."""

    agent: str
    version: str
    previous: str
    mark: int
    depth: int  # first-parent commits above it at the end of the build
    via_merge: bool
    sha: str = ""


@dataclass(frozen=True)
class BuiltRepo:
    """The cached bare remote and what the generator planted in it."""

    path: Path
    agents: int
    first_parent: int
    side_commits: int
    merges: int
    build_seconds: float
    history_end: int
    rogues: tuple[Rogue, ...]


class Stream:
    """A git fast-import stream written straight into the importer's stdin."""

    def __init__(self, sink: io.BufferedWriter) -> None:
        self.sink = sink
        self.mark = 0

    def commit(
        self,
        ref: str,
        who: str,
        when: int,
        message: str,
        files: dict[str, str],
        *,
        parent: int | None = None,
        merge: int | None = None,
    ) -> int:
        """Emit one commit; `parent` only when it is not simply the ref's current tip."""
        self.mark += 1
        msg = message.encode()
        out = [f"commit {ref}\nmark :{self.mark}\n".encode()]
        out.append(f"author {who} {when} +0000\ncommitter {who} {when} +0000\n".encode())
        out.append(b"data %d\n%s\n" % (len(msg), msg))
        if parent is not None:
            out.append(f"from :{parent}\n".encode())
        if merge is not None:
            out.append(f"merge :{merge}\n".encode())
        for path, text in files.items():
            data = text.encode()
            out.append(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data))
        out.append(b"\n")
        self.sink.write(b"".join(out))
        return self.mark


DEVS = tuple(
    f"{n.title()} Dev <{n}@example.com>"
    for n in ("ana", "bo", "chen", "dara", "eli", "femi", "gus", "hana", "ivo", "jun", "kai", "lea")
)


def _edit(rng: random.Random, agents: list[AgentState]) -> tuple[str, dict[str, str]]:
    """One everyday change: replicas, env, comments, maxTokens, a release, or several agents at once."""
    roll = rng.random()
    a = rng.choice(agents)
    if roll < 0.28:
        a.replicas = rng.choice([r for r in (1, 2, 3, 4, 6, 8) if r != a.replicas])
        return f"{a.name}: scale to {a.replicas} replicas", {dep_path(a.name): a.deployment()}
    if roll < 0.43:
        a.max_calls = rng.choice([c for c in (4, 6, 8, 12, 16) if c != a.max_calls])
        return f"{a.name}: MAX_TOOL_CALLS_PER_TURN={a.max_calls}", {dep_path(a.name): a.deployment()}
    if roll < 0.60:
        a.ticket += rng.randint(1, 500)
        return f"{a.name}: note OPS-{a.ticket} in the header", {dep_path(a.name): a.deployment()}
    if roll < 0.72:
        a.max_tokens = rng.choice([t for t in (2048, 4096, 8192, 16384) if t != a.max_tokens])
        return f"{a.name}: maxTokens {a.max_tokens}", {cfg_path(a.name): a.agent_yaml()}
    if roll < 0.88:
        unfrozen = [x for x in agents if not x.frozen]
        a = rng.choice(unfrozen)
        a.release += rng.randint(1, 3)
        return f"Release {a.name} {a.version}", {
            dep_path(a.name): a.deployment(),
            cfg_path(a.name): a.agent_yaml(),
        }
    several = rng.sample(agents, 3)
    files: dict[str, str] = {}
    for b in several:
        b.replicas = b.replicas % 8 + 1
        files[dep_path(b.name)] = b.deployment()
    return "Rebalance replicas: " + ", ".join(b.name for b in several), files


def _rogue_positions(commits: int, rogues: int, rng: random.Random) -> dict[int, int]:
    """First-parent index -> rogue number: depths spread geometrically from a few to thousands."""
    deepest = min(ROGUE_WINDOW, commits // 4)
    positions: dict[int, int] = {}
    for k in range(rogues):
        depth = round(2 * (deepest / 2) ** (k / max(rogues - 1, 1)))
        index = commits - 1 - depth
        while index in positions:  # geometric spacing collides at the shallow end
            index -= 1
        positions[index] = k
    order = list(positions)
    rng.shuffle(order)  # which agent gets which depth is random
    return {index: rank for rank, index in enumerate(order)}


def build_repo(dest: Path, *, agents: int, commits: int, rogues: int) -> BuiltRepo:
    """Generate the history into a new bare repo at dest with one fast-import run."""
    rng = random.Random(SEED)
    started = time.perf_counter()
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    _run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(tmp)])
    states = [
        AgentState(
            name=f"agent-{i:04d}",
            release=rng.randint(10, 80),
            replicas=rng.choice((1, 2, 3, 4)),
            max_calls=8,
            max_tokens=4096,
            ticket=rng.randint(1000, 9000),
            team=rng.choice(("core", "billing", "support", "growth", "infra")),
        )
        for i in range(agents)
    ]
    rogue_agents = rng.sample(states, rogues)
    positions = _rogue_positions(commits, rogues, rng)
    history_end = int(time.time()) - 2 * 3600  # everything is older than any alert we post
    start = history_end - (commits - 1) * COMMIT_STEP
    planted: dict[int, Rogue] = {}
    side = merges = 0
    importer = subprocess.Popen(
        ["git", "--git-dir", str(tmp), "fast-import", "--quiet", f"--export-marks={tmp / 'marks'}"],
        stdin=subprocess.PIPE,
    )
    assert importer.stdin is not None
    stream = Stream(importer.stdin)  # type: ignore[arg-type]
    initial = {"README.md": "# agents-gitops (synthetic)\n\nOne folder per agent under `agents/`.\n"}
    for a in states:
        initial[dep_path(a.name)] = a.deployment()
        initial[cfg_path(a.name)] = a.agent_yaml()
    stream.commit("refs/heads/main", DEVS[0], start, f"Initial import of {agents} agents", initial)
    for i in range(1, commits):
        when = start + i * COMMIT_STEP
        who = rng.choice(DEVS)
        as_merge = rng.random() < 0.08
        if i in positions:
            a = rogue_agents[positions[i]]
            previous = a.version
            a.release += 1
            a.frozen = True
            message = f"Release {a.name} {a.version}\n\nChangelog: new planner, wider tool access.\n"
            files = {dep_path(a.name): a.deployment(), cfg_path(a.name): a.agent_yaml()}
            as_merge = positions[i] % 4 == 3
        else:
            message, files = _edit(rng, states)
        if not as_merge:
            mark = stream.commit("refs/heads/main", who, when, message, files)
        else:
            # A one- or two-commit PR branch off the tip, merged with a merge commit (GitHub style).
            tip = stream.mark
            pr_files = dict(files)
            pr = stream.commit("refs/heads/pr", who, when - 120, message, files, parent=tip)
            side += 1
            if rng.random() < 0.3 and i not in positions:
                more_message, more = _edit(rng, states)
                pr = stream.commit("refs/heads/pr", who, when - 60, more_message, more)
                pr_files |= more
                side += 1
            number = 1000 + i
            mark = stream.commit(
                "refs/heads/main",
                "GitHub <noreply@github.com>",
                when,
                f"Merge pull request #{number} from {who.split()[0].lower()}/pr-{number}\n\n{message}",
                pr_files,
                merge=pr,
            )
            merges += 1
        if i in positions:
            a = rogue_agents[positions[i]]
            planted[i] = Rogue(a.name, a.version, previous, mark, commits - 1 - i, as_merge)
    importer.stdin.close()
    if importer.wait() != 0:
        raise RuntimeError("git fast-import failed")
    marks = dict(line.split() for line in (tmp / "marks").read_text().splitlines())
    rogue_list = tuple(replace(r, sha=marks[f":{r.mark}"]) for _, r in sorted(planted.items()))
    git_dir = ["git", "--git-dir", str(tmp)]
    _run([*git_dir, "update-ref", "-d", "refs/heads/pr"])
    _run([*git_dir, "symbolic-ref", "HEAD", "refs/heads/main"])
    # Like a real forge: one pack with a bitmap (fast clones) and a commit-graph on the server side.
    _run([*git_dir, "repack", "-a", "-d", "-b", "-q"])
    _run([*git_dir, "commit-graph", "write", "--reachable"])
    (tmp / "marks").unlink()
    built = BuiltRepo(
        path=dest,
        agents=agents,
        first_parent=commits,
        side_commits=side,
        merges=merges,
        build_seconds=time.perf_counter() - started,
        history_end=history_end,
        rogues=rogue_list,
    )
    meta = {**built.__dict__, "path": str(dest), "rogues": [r.__dict__ for r in rogue_list]}
    (tmp / "bench-meta.json").write_text(json.dumps(meta, indent=1))
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return built


def cached_repo(*, agents: int, commits: int, rogues: int) -> tuple[BuiltRepo, bool]:
    """The built repo for these parameters, building it on first use."""
    dest = OUT / f"repo-g{GEN_VERSION}-a{agents}-c{commits}-r{rogues}-s{SEED}.git"
    meta = dest / "bench-meta.json"
    if meta.exists():
        raw = json.loads(meta.read_text())
        raw["path"] = dest
        raw["rogues"] = tuple(Rogue(**r) for r in raw["rogues"])
        return BuiltRepo(**raw), True
    OUT.mkdir(parents=True, exist_ok=True)
    return build_repo(dest, agents=agents, commits=commits, rogues=rogues), False


# ---------------------------------------------------------------- helpers


def _run(args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def fresh_copy(built: BuiltRepo, dest: Path) -> Path:
    """A private copy of the cached remote, so runs never see each other's pushes."""
    shutil.copytree(built.path, dest, symlinks=True)
    return dest


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (with 50 samples p99 is the maximum: no interpolation flattery)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    """Seconds as a fixed-width millisecond figure."""
    return f"{seconds * 1000:8.1f} ms"


def summary(values: list[float]) -> str:
    """p50/p90/p99/max in one line."""
    return "  ".join(f"{k} {ms(pct(values, p))}" for k, p in (("p50", 50), ("p90", 90), ("p99", 99))) + (
        f"  max {ms(max(values))}"
    )


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


# ---------------------------------------------------------------- A: the bot


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
        repo.read = self.wrap(lambda *a: "cat-file --batch (read blobs)", repo.read)  # type: ignore[method-assign]
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
        # The real wiring (clone + _tune happen here, untimed); only the forge gets a stopwatch.
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


class BenchError(Exception):
    """Something functional went wrong: a rollback missing, doubled or wrong."""


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


# ---------------------------------------------------------------- B: bare git plumbing


def _image(text: str) -> str:
    return next(
        line.split()[1] for line in text.splitlines() if "image: registry.example.com/agents/" in line
    )


@dataclass
class PlumbingRun:
    """One rollback done with plain git commands."""

    agent: str
    total: float
    steps: dict[str, float]
    culprit: str
    shows: int


def plumbing_rollback(work: Path, agent: str) -> PlumbingRun:
    """fetch, reset, path-limited log, show blobs until the version changes, rewrite, commit, push."""
    steps: dict[str, float] = {}
    shows = 0

    def git(label: str, *args: str) -> str:
        t = time.perf_counter()
        done = subprocess.run(["git", *args], cwd=work, capture_output=True, text=True)
        steps[label] = steps.get(label, 0.0) + time.perf_counter() - t
        if done.returncode != 0:
            raise BenchError(f"plumbing: git {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    files = [cfg_path(agent), dep_path(agent)]
    t0 = time.perf_counter()
    git("fetch", "fetch", "--quiet", "origin", "+refs/heads/main:refs/remotes/origin/main")
    git("reset", "reset", "--quiet", "--hard", "origin/main")
    current = _image((work / files[1]).read_text())
    culprit, shows = walk_to_culprit(work, agent, files[1], current, steps)
    if not culprit:
        raise BenchError(f"plumbing: no culprit for {agent}")
    old_dep = git("show culprit^", "show", f"{culprit}^:{files[1]}")
    git("show culprit^", "show", f"{culprit}^:{files[0]}")
    new_v, old_v = current.rsplit(":", 1)[1], _image(old_dep).rsplit(":", 1)[1]
    for name, pairs in (
        (files[1], [(f"/{agent}:{new_v}", f"/{agent}:{old_v}")]),
        (files[0], [(f'"{new_v}"', f'"{old_v}"'), (f"{agent}@{new_v}", f"{agent}@{old_v}")]),
    ):
        path = work / name
        text = path.read_text()
        for old, new in pairs:
            text = text.replace(old, new)
        path.write_text(text)
    message = f"Roll back {agent} {new_v} -> {old_v}\n\nRollback-Of: {culprit}\nRollback-Agent: {agent}\n"
    git("commit", "commit", "--quiet", "--no-verify", "-am", message)
    git("push", "push", "--porcelain", "origin", "HEAD:refs/heads/main")
    return PlumbingRun(agent, time.perf_counter() - t0, steps, culprit, shows)


def walk_to_culprit(
    work: Path, agent: str, dep: str, current: str, steps: dict[str, float]
) -> tuple[str, int]:
    """The same minimal walk the bot does: one pathspec, streamed, git stopped once past the culprit."""
    t = time.perf_counter()
    culprit, shows = "", 0
    args = ["git", "log", "--first-parent", "--format=%H", "origin/main", "--", f"agents/{agent}"]
    with subprocess.Popen(args, cwd=work, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:  # git flushes per commit on a pipe
            sha = line.strip()
            shows += 1
            shown = subprocess.run(["git", "show", f"{sha}:{dep}"], cwd=work, capture_output=True, text=True)
            if _image(shown.stdout) != current:
                break
            culprit = sha
        proc.kill()
    steps["log + show (streamed walk)"] = time.perf_counter() - t
    return culprit, shows


# ---------------------------------------------------------------- report


def breakdown(runs: list[AlertRun]) -> list[str]:
    """Median per phase across the measured alerts of run A."""
    lines = [
        f"     {'POST answered (HTTP + parse + journal fsync)':48} {ms(pct([r.post for r in runs], 50))}",
        f"     {'POST start -> worker starts handling':48} {ms(pct([r.to_worker for r in runs], 50))}",
    ]
    labels = sorted(
        {k for r in runs for k in r.git}, key=lambda k: -pct([r.git.get(k, 0.0) for r in runs], 50)
    )
    for label in labels:
        calls = max(r.git_calls.get(label, 0) for r in runs)
        shown = f"{label} (x{calls} max)" if calls > 1 else label
        lines.append(f"     {shown:48} {ms(pct([r.git.get(label, 0.0) for r in runs], 50))}")
    py = [r.handle - sum(r.git.values()) for r in runs]
    lines.append(f"     {'python in the worker (plan, YAML, trailers)':48} {ms(pct(py, 50))}")
    return lines


def plumbing_breakdown(runs: list[PlumbingRun]) -> list[str]:
    """Median per step across the plumbing rollbacks."""
    labels = list(runs[0].steps)
    lines = [f"     {k:48} {ms(pct([r.steps.get(k, 0.0) for r in runs], 50))}" for k in labels]
    lines.append(
        f"     {'(blobs shown per rollback: median/max)':48} {pct([r.shows for r in runs], 50)}/{max(r.shows for r in runs)}"
    )
    return lines


def bloom_check(work: Path, agent: str) -> list[str]:
    """Whether git uses the changed-path Bloom filters for a two-file walk and the bot's one-dir walk."""
    lines = []
    for label, paths in (
        ("two files", [cfg_path(agent), dep_path(agent)]),
        ("one dir (as the bot)", [f"agents/{agent}"]),
    ):
        trace = work.parent / "trace2.json"
        trace.unlink(missing_ok=True)
        env = {**os.environ, "GIT_TRACE2_EVENT": str(trace)}
        t = time.perf_counter()
        _run(["git", "log", "--first-parent", "--format=%H", "origin/main", "--", *paths], cwd=work, env=env)
        seconds = time.perf_counter() - t
        stats = "no bloom statistics reported (filters not used)"
        for line in trace.read_text().splitlines():
            event = json.loads(line)
            if event.get("event") == "data_json" and event.get("key") == "statistics":
                stats = "bloom " + json.dumps(event.get("value"))
        lines.append(f"     {label:24} {ms(seconds)}  {stats}")
    return lines


def profile_lines(profiler: cProfile.Profile) -> list[str]:
    """cProfile top 20 by cumulative time, trimmed to the interesting columns."""
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(20)
    return ["     " + line for line in text.getvalue().splitlines() if line.strip()]


# ---------------------------------------------------------------- main


def main() -> int:
    """Build or reuse the repo, run A and B, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--commits", type=int, default=50000, help="first-parent commits on main")
    parser.add_argument("--alerts", type=int, default=50, help="measured alerts (plus one warm-up)")
    parser.add_argument("--keep", action="store_true", help="keep the run's clones and remotes")
    parser.add_argument("--profile", action="store_true", help="cProfile one extra alert in the worker")
    args = parser.parse_args()
    if args.agents < args.alerts + 2 or args.commits < 4 * (args.alerts + 2):
        parser.error("need agents >= alerts + 2 and commits >= 4 * (alerts + 2)")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access-log line per POST

    built, cached = cached_repo(agents=args.agents, commits=args.commits, rogues=args.alerts + 2)
    rogues = list(built.rogues)
    random.Random(SEED + 1).shuffle(rogues)  # alert order independent of depth
    warmup, measured, spare = rogues[0], rogues[1 : args.alerts + 1], rogues[args.alerts + 1]
    depths = sorted(r.depth for r in built.rogues)
    print(
        f"== synthetic repo: {built.first_parent:,} first-parent commits ({built.merges:,} merges, "
        f"+{built.side_commits:,} on PR branches), {built.agents:,} agents x 2 manifests"
    )
    print(
        f"   {len(depths)} planted culprits at depths {depths[0]}..{depths[-1]:,} "
        f"({sum(r.via_merge for r in built.rogues)} via merge commits); built in {built.build_seconds:.1f} s"
        f"{' (cached)' if cached else ''}: {built.path.relative_to(ROOT)}"
    )

    run_dir = OUT / f"run-{datetime.now(UTC):%Y%m%dT%H%M%S}-{os.getpid()}"
    problems: list[str] = []
    try:
        started = datetime.now(UTC) - timedelta(seconds=30)
        template = load_payload()
        # ---- A
        remote_a = fresh_copy(built, run_dir / "remote-a.git")
        bot = BotRun(run_dir / "bot", remote_a, args.alerts + 2)
        runs: list[AlertRun] = []
        outcomes: dict[str, Outcome] = {}
        profiler_out: list[str] = []
        t = time.perf_counter()
        with bot.serving():
            warm = bot.fire(alert_body(template, warmup, started), warmup.agent)
            outcomes[warmup.agent] = warm.outcome
            for r in measured:
                run = bot.fire(alert_body(template, r, started), r.agent)
                if run.outcome.plan is None or run.outcome.plan.culprit.sha != r.sha:
                    problems.append(
                        f"{r.agent}: bot picked culprit {run.outcome.plan and run.outcome.plan.culprit.sha}"
                    )
                runs.append(run)
                outcomes[r.agent] = run.outcome
            done_rogues = [warmup, *measured]
            if args.profile:
                bot.profiler = cProfile.Profile()
                prof = bot.fire(alert_body(template, spare, started), spare.agent)
                outcomes[spare.agent] = prof.outcome
                done_rogues.append(spare)
                profiler_out = profile_lines(bot.profiler)
        a_seconds = time.perf_counter() - t
        verify_remote(remote_a, done_rogues, outcomes)
        # ---- B
        remote_b = fresh_copy(built, run_dir / "remote-b.git")
        work_b = run_dir / "plumbing" / "repo"
        plain = GitRepo(f"file://{remote_b}", "main", work_b)  # same clone and _tune as the bot's
        plain.repo.close()
        tuned = _run(
            [
                "git",
                "config",
                "--local",
                "--get-regexp",
                r"^(core\.commitgraph|fetch\.writecommitgraph|gc\.auto)$",
            ],
            cwd=work_b,
        )
        warm_b = plumbing_rollback(work_b, warmup.agent)
        plumb = [plumbing_rollback(work_b, r.agent) for r in measured]
        problems += [
            f"{p.agent}: plumbing found culprit {p.culprit[:12]}"
            for p, r in zip(plumb, measured, strict=True)
            if p.culprit != r.sha
        ]
        bloom = bloom_check(work_b, measured[0].agent)
    except BenchError as e:
        print(f"FUNCTIONAL FAILURE: {e}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)

    a, b = [r.latency for r in runs], [p.total for p in plumb]
    print(f"   bot clone + commit-graph (excluded): {bot.clone_seconds:.1f} s; run A took {a_seconds:.1f} s")
    print(
        "== git settings on both clones (GitRepo._tune): "
        + ", ".join(line.replace(" ", "=") for line in tuned.split("\n") if line)
        + ", commit-graph write --reachable --changed-paths"
    )
    print(f"\n== A  bot: POST -> revert pushed, {len(a)} alerts one at a time (warm-up excluded)")
    print(f"   {summary(a)}")
    top = sorted(warm.git.items(), key=lambda kv: -kv[1])[:3]
    print(f"   warm-up {ms(warm.latency).strip()}: " + ", ".join(f"{k} {ms(v).strip()}" for k, v in top))
    print("   where the time goes (median per alert):")
    print("\n".join(breakdown(runs)))
    print(
        f"\n== B  bare git plumbing, same rollbacks on a fresh copy (warm-up {ms(warm_b.total).strip()} excluded)"
    )
    print(f"   {summary(b)}")
    print("\n".join(plumbing_breakdown(plumb)))
    print("\n== changed-path Bloom filters for the culprit walk (one agent, trace2):")
    print("\n".join(bloom))
    ratio50, ratio99 = pct(a, 50) / pct(b, 50), pct(a, 99) / pct(b, 99)
    print(f"\n== ratio A/B: p50 {ratio50:.2f}  p99 {ratio99:.2f}")
    verdict = {True: "PASS", False: "FAIL"}
    print(f"== target A p99 <= {TARGET_P99:.1f} s: {verdict[pct(a, 99) <= TARGET_P99]} ({pct(a, 99):.3f} s)")
    print(
        f"== target ratio <= {TARGET_RATIO}: p50 {verdict[ratio50 <= TARGET_RATIO]}, p99 {verdict[ratio99 <= TARGET_RATIO]}"
    )
    if profiler_out:
        print("\n== cProfile of one more alert in the worker (engine.handle, wall time):")
        print("\n".join(profiler_out))
    if problems:
        print("FUNCTIONAL FAILURE:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
