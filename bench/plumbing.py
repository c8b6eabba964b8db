"""Side B: the same rollback done with bare git plumbing (fetch, one-pathspec walk, edit, commit, push).

The baseline keeps its meaning across releases so the bot/plumbing ratio stays comparable.
"""

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from report import ms
from synthetic_repo import BenchError, _run, cfg_path, dep_path


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
