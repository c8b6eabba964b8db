"""Percentiles and the printed breakdowns of a benchmark run."""

import cProfile
import io
import math
import pstats
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the runs import ms() from here
    from bot_harness import AlertRun
    from plumbing import PlumbingRun


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


def breakdown(runs: "list[AlertRun]") -> list[str]:
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


def plumbing_breakdown(runs: "list[PlumbingRun]") -> list[str]:
    """Median per step across the plumbing rollbacks."""
    labels = list(runs[0].steps)
    lines = [f"     {k:48} {ms(pct([r.steps.get(k, 0.0) for r in runs], 50))}" for k in labels]
    lines.append(
        f"     {'(blobs shown per rollback: median/max)':48} {pct([r.shows for r in runs], 50)}/{max(r.shows for r in runs)}"
    )
    return lines


def profile_lines(profiler: cProfile.Profile) -> list[str]:
    """cProfile top 20 by cumulative time, trimmed to the interesting columns."""
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(20)
    return ["     " + line for line in text.getvalue().splitlines() if line.strip()]
