"""A fake LLM-agent metrics exporter whose behaviour turns rogue on chosen versions."""

from __future__ import annotations

import math
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from prometheus_client import CollectorRegistry, Counter, start_http_server

from gitops_bot.core.yamlpath import read_value

TOOLS = ("crm_api", "search")


@dataclass(frozen=True)
class Profile:
    """What one request of the agent does (per-request amounts and fractions)."""

    tool_calls: float
    violations: float
    flagged: float
    errors: float
    prompt_tokens: float
    completion_tokens: float
    cost_usd: float
    policy: str = "pii-disclosure"
    category: str = "violence"


# At the default 10 requests/s: 5 tool calls/s, nothing flagged or violated -> no alert.
HEALTHY = Profile(
    tool_calls=0.5,
    violations=0.0,
    flagged=0.0,
    errors=0.0,
    prompt_tokens=500,
    completion_tokens=200,
    cost_usd=0.002,
)
# 30 tool calls/s (> 10/s ceiling) and 50% of requests disclosing PII: fires
# AgentExcessiveToolCalls and AgentPolicyViolations; tokens, cost, errors stay healthy.
ROGUE = Profile(
    tool_calls=3.0,
    violations=0.5,
    flagged=0.0,
    errors=0.0,
    prompt_tokens=500,
    completion_tokens=200,
    cost_usd=0.002,
)


class _Metrics:
    """The agent-runtime metrics, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        base = ["agent", "version"]
        r = self.registry
        self.requests = Counter("agent_requests", "Requests handled.", base, registry=r)
        self.tool_calls = Counter("agent_tool_calls", "Tool calls.", [*base, "tool"], registry=r)
        self.violations = Counter(
            "agent_policy_violations", "Policy violations.", [*base, "policy"], registry=r
        )
        self.checked = Counter("agent_moderation_checked", "Outputs moderation-checked.", base, registry=r)
        self.flagged = Counter(
            "agent_moderation_flagged", "Outputs flagged.", [*base, "category"], registry=r
        )
        self.tokens = Counter("agent_tokens", "LLM tokens.", [*base, "kind"], registry=r)
        self.cost = Counter("agent_cost_usd", "LLM cost in USD.", base, registry=r)
        self.errors = Counter("agent_errors", "Failed requests.", base, registry=r)

    def clear(self) -> None:
        """Drop every series, as when the old version's pods go away."""
        for counter in (
            self.requests,
            self.tool_calls,
            self.violations,
            self.checked,
            self.flagged,
            self.tokens,
            self.cost,
            self.errors,
        ):
            counter.clear()

    def record(self, agent: str, version: str, requests: float, p: Profile) -> None:
        """Count `requests` requests behaving like profile p."""
        self.requests.labels(agent, version).inc(requests)
        self.checked.labels(agent, version).inc(requests)
        for tool in TOOLS:
            self.tool_calls.labels(agent, version, tool).inc(requests * p.tool_calls / len(TOOLS))
        self.tokens.labels(agent, version, "prompt").inc(requests * p.prompt_tokens)
        self.tokens.labels(agent, version, "completion").inc(requests * p.completion_tokens)
        self.cost.labels(agent, version).inc(requests * p.cost_usd)
        # Like real exporters, series for events that never happened are never created.
        if p.violations:
            self.violations.labels(agent, version, p.policy).inc(requests * p.violations)
        if p.flagged:
            self.flagged.labels(agent, version, p.category).inc(requests * p.flagged)
        if p.errors:
            self.errors.labels(agent, version).inc(requests * p.errors)


class FakeAgent:
    """Exports one agent's metrics on 127.0.0.1; its version follows current_version()."""

    def __init__(
        self,
        agent: str,
        current_version: Callable[[], str],
        rogue_versions: Iterable[str],
        *,
        healthy: Profile = HEALTHY,
        rogue: Profile = ROGUE,
        requests_per_tick: float = 1.0,
        tick: float = 0.1,
        version_poll: float = 0.5,
        max_runtime: float = 300.0,
    ) -> None:
        """Configure; nothing runs until start()."""
        self.agent = agent
        self.current_version = current_version
        self.rogue_versions = frozenset(rogue_versions)
        self.healthy = healthy
        self.rogue = rogue
        self.requests_per_tick = requests_per_tick
        self.tick = tick
        self.version_poll = version_poll
        # Bound the ticker so a leaked agent cannot run forever.
        self.max_runtime = max_runtime
        self.metrics = _Metrics()
        self.version: str | None = None
        self.versions_seen: list[str] = []
        self.switched_at: dict[str, float] = {}  # version -> wall time it was first exported
        self.switches: list[tuple[str, float]] = []  # every (version, wall time) switch, in order
        self.version_errors: list[Exception] = []
        self.ticks = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._port = 0

    @property
    def target(self) -> str:
        """Scrape target "127.0.0.1:<port>"."""
        return f"127.0.0.1:{self._port}"

    @property
    def metrics_url(self) -> str:
        """Where the metrics are served."""
        return f"http://{self.target}/metrics"

    def is_rogue(self) -> bool:
        """Whether the version currently exported is rogue."""
        return self.version in self.rogue_versions

    def start(self) -> FakeAgent:
        """Read the version (errors propagate), serve metrics, start ticking."""
        self._set_version(self.current_version())
        self._server, _ = start_http_server(0, addr="127.0.0.1", registry=self.metrics.registry)
        self._port = int(self._server.server_port)
        self._thread = threading.Thread(target=self._run, name=f"fake-{self.agent}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop ticking and serving."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeAgent:
        """Start on entering a `with` block."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop on leaving a `with` block."""
        self.stop()

    def _set_version(self, version: str) -> None:
        """Switch to version; a new version starts from fresh series, as new pods would."""
        if version != self.version:
            self.metrics.clear()
            self.version = version
            self.versions_seen.append(version)
            self.switched_at.setdefault(version, time.time())
            self.switches.append((version, time.time()))

    def _poll_version(self) -> None:
        """Re-read the version; keep the old one if reading fails (e.g. mid-push)."""
        try:
            self._set_version(self.current_version())
        except Exception as err:
            self.version_errors.append(err)

    def _run(self) -> None:
        """Tick until stopped or max_runtime is over."""
        deadline = time.monotonic() + self.max_runtime
        next_poll = time.monotonic() + self.version_poll
        while not self._stop.wait(self.tick) and time.monotonic() < deadline:
            if time.monotonic() >= next_poll:
                self._poll_version()
                next_poll = time.monotonic() + self.version_poll
            assert self.version is not None
            profile = self.rogue if self.is_rogue() else self.healthy
            self.metrics.record(self.agent, self.version, self.requests_per_tick, profile)
            self.ticks += 1


def image_tag(image: str) -> str:
    """The tag of an image reference ("reg:5000/app:1.2@sha256:..." -> "1.2")."""
    name = image.split("@", 1)[0]
    _repo, sep, tag = name.rpartition(":")
    if not sep or "/" in tag:
        raise ValueError(f"image reference has no tag: {image!r}")
    return tag


def version_from_git(
    bare_repo_path: Path | str,
    branch: str,
    file: str,
    yaml_path: str = "spec.template.spec.containers[name=agent].image",
    *,
    tag: bool = True,
    timeout: float = 5.0,
) -> str:
    """Read a version from `git show branch:file` of a (bare) repo: the image tag by default."""
    shown = subprocess.run(
        ["git", f"--git-dir={bare_repo_path}", "show", f"{branch}:{file}"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    value = read_value(shown.stdout, yaml_path)
    if value is None:
        raise KeyError(f"{yaml_path} not found in {branch}:{file}")
    return image_tag(value) if tag else value


_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# A count guard: `increase(<metric>[<window>]) ... >= N` (closing parens/space in between).
_COUNT_GUARD = re.compile(r"(?P<head>increase\(\w+\[(?P<window>\w+)\]\)[\s)]*>=\s*)(?P<n>\d+(?:\.\d+)?)")
_RANGE = re.compile(r"\[(\w+)\]")
DEFAULT_FAST_WINDOWS: Mapping[str, str] = {"5m": "10s", "1h": "60s"}


def _seconds(duration: str) -> int:
    """Seconds of a simple Prometheus duration like 5m."""
    match = _DURATION.match(duration)
    if not match:
        raise ValueError(f"unsupported duration {duration!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def fast_expr(expr: str, windows: Mapping[str, str]) -> str:
    """Shrink range windows and scale count guards by the same factor (rounded up, >= 1)."""

    def scale(match: re.Match[str]) -> str:
        old = match.group("window")
        if old not in windows:
            raise ValueError(f"no fast window for [{old}] in {expr!r}")
        factor = _seconds(windows[old]) / _seconds(old)
        scaled = max(1, math.ceil(float(match.group("n")) * factor))
        return f"{match.group('head')}{scaled}"

    def window(match: re.Match[str]) -> str:
        if match.group(1) not in windows:
            raise ValueError(f"no fast window for [{match.group(1)}] in {expr!r}")
        return f"[{windows[match.group(1)]}]"

    return _RANGE.sub(window, _COUNT_GUARD.sub(scale, expr))


def fast_rules(
    src: Path,
    dst: Path,
    *,
    for_: str = "2s",
    windows: Mapping[str, str] = DEFAULT_FAST_WINDOWS,
) -> Path:
    """Write a test copy of a rule file with short for:, short windows and scaled count guards."""
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    for group in data["groups"]:
        for rule in group["rules"]:
            rule["expr"] = fast_expr(rule["expr"], windows)
            if "for" in rule:
                rule["for"] = for_
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return dst
