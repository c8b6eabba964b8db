"""The synthetic GitOps repo the benchmarks run on: 1,000s of agents, 50k+ commits, planted rogue releases.

Built with `git fast-import` (seconds, not minutes) and cached under bench/out by its parameters.
"""

import io
import json
import random
import shutil
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


OUT = ROOT / "bench" / "out"


GEN_VERSION = 1  # bump whenever the generated history changes shape, so stale caches are not reused


SEED = 20261127


ROGUE_WINDOW = 5000  # deepest culprit, in first-parent commits below the tip


COMMIT_STEP = 600  # seconds between first-parent commits: 50k commits span about a year


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


def _run(args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def fresh_copy(built: BuiltRepo, dest: Path) -> Path:
    """A private copy of the cached remote, so runs never see each other's pushes."""
    shutil.copytree(built.path, dest, symlinks=True)
    return dest


class BenchError(Exception):
    """Something functional went wrong: a rollback missing, doubled or wrong."""
