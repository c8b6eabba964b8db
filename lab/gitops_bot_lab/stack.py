"""Runs the real Prometheus and Alertmanager binaries on loopback ports (demo and e2e tests)."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import yaml

PROMETHEUS = "prometheus"
# Debian names the Alertmanager binary prometheus-alertmanager.
ALERTMANAGER = "prometheus-alertmanager"
READY_TIMEOUT = 30.0
LOG_TAIL_CHARS = 4000

T = TypeVar("T")


class StackError(RuntimeError):
    """A stack process failed to start or become ready."""


def binary_path(name: str) -> str:
    """Where a binary is; StackError naming the Debian package when it is missing."""
    path: str | None = shutil.which(name)
    if path is None:
        raise StackError(f"{name} not found on PATH (Debian packages: prometheus, prometheus-alertmanager)")
    return path


def have_stack() -> bool:
    """Whether both Prometheus and Alertmanager are installed."""
    return all(shutil.which(b) for b in (PROMETHEUS, ALERTMANAGER))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float,
    interval: float = 0.2,
    *,
    what: str | Callable[[], str] = "condition",
) -> T:
    """Poll predicate until it returns a truthy value (returned); TimeoutError after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            # what may be a callable so the message shows the state at timeout, not at the start.
            description = what() if callable(what) else what
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {description}")
        time.sleep(interval)


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """GET a URL; (status, body), or (0, b"") if nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except (OSError, urllib.error.URLError):
        return 0, b""


def get_json(url: str, timeout: float = 2.0) -> Any:
    """GET a URL and decode its JSON body (raises on non-200)."""
    status, body = http_get(url, timeout)
    if status != 200:
        raise StackError(f"GET {url} answered {status}: {body[:500]!r}")
    return json.loads(body)


@dataclass
class Running:
    """A started stack process; stop() (or leaving its `with` block) kills it."""

    name: str
    proc: subprocess.Popen[bytes]
    url: str
    port: int
    log_path: Path
    config_path: Path

    def log(self) -> str:
        """The process' combined stdout/stderr so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the process, killing it if it does not exit in time."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)

    def __enter__(self) -> Running:
        """Use as a context manager that stops the process on exit."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the process."""
        self.stop()


def _spawn(
    name: str,
    make_cmd: Callable[[int], list[str]],
    workdir: Path,
    config_path: Path,
    ready_timeout: float,
    attempts: int = 3,
) -> Running:
    """Start make_cmd(port) on a free port, logging to workdir/<name>.log, and wait for /-/ready.

    Retries on a new port if another process grabbed the one free_port() returned.
    """
    for attempt in range(1, attempts + 1):
        try:
            return _spawn_once(name, make_cmd(port := free_port()), workdir, port, config_path, ready_timeout)
        except StackError as err:
            if "address already in use" not in str(err) or attempt == attempts:
                raise
    raise AssertionError("unreachable")


def _spawn_once(
    name: str, cmd: list[str], workdir: Path, port: int, config_path: Path, ready_timeout: float
) -> Running:
    """Start cmd once and wait for /-/ready; StackError carrying the log tail if it fails."""
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        # The child keeps its own copy of the log fd, so closing ours right away is fine.
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir
        )
    running = Running(name, proc, f"http://127.0.0.1:{port}", port, log_path, config_path)

    def ready() -> bool:
        if proc.poll() is not None:
            raise StackError(f"{name} exited with {proc.returncode}")
        return http_get(f"{running.url}/-/ready", timeout=1.0)[0] == 200

    try:
        wait_until(ready, ready_timeout, 0.1, what=f"{name} /-/ready")
    except (StackError, TimeoutError) as err:
        running.stop()
        tail = running.log()[-LOG_TAIL_CHARS:]
        raise StackError(f"{name} failed to start: {err}\n$ {' '.join(cmd)}\n{tail}") from err
    return running


def start_alertmanager(
    tmp_path: Path,
    webhook_url: str,
    bearer_token: str,
    *,
    group_wait: str = "1s",
    group_interval: str = "1s",
    repeat_interval: str = "1h",
    group_by: Sequence[str] = ("alertname", "agent", "version"),
    ready_timeout: float = READY_TIMEOUT,
) -> Running:
    """Run Alertmanager on loopback with one webhook receiver (bearer auth, send_resolved)."""
    binary = binary_path(ALERTMANAGER)
    workdir = tmp_path / "alertmanager"
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    config = {
        "route": {
            "receiver": "bot",
            "group_by": list(group_by),
            "group_wait": group_wait,
            "group_interval": group_interval,
            "repeat_interval": repeat_interval,
        },
        "receivers": [
            {
                "name": "bot",
                "webhook_configs": [
                    {
                        "url": webhook_url,
                        "send_resolved": True,
                        "http_config": {"authorization": {"credentials": bearer_token}},
                    }
                ],
            }
        ],
    }
    config_path = workdir / "alertmanager.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")

    def command(port: int) -> list[str]:
        return [
            binary,
            f"--config.file={config_path}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            # An empty address disables clustering: no gossip port, no peer wait before notifying.
            "--cluster.listen-address=",
        ]

    return _spawn("alertmanager", command, workdir, config_path, ready_timeout)


def start_prometheus(
    tmp_path: Path,
    scrape_targets: list[str],
    rule_files: list[Path],
    alertmanager_url: str | None,
    *,
    ready_timeout: float = READY_TIMEOUT,
) -> Running:
    """Run Prometheus on loopback scraping targets ("host:port") every 1s, evaluating rules 1s."""
    binary = binary_path(PROMETHEUS)
    # rule_files entries are globs to Prometheus: a wrong path would silently load no rules.
    missing = [str(p) for p in rule_files if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"rule files not found: {missing}")
    workdir = tmp_path / "prometheus"
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        # scrape_timeout must not exceed scrape_interval (its 10s default would be rejected).
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(Path(p).resolve()) for p in rule_files],
        "scrape_configs": [{"job_name": "agents", "static_configs": [{"targets": list(scrape_targets)}]}],
    }
    if alertmanager_url:
        parsed = urllib.parse.urlsplit(alertmanager_url)
        alertmanager: dict[str, Any] = {
            "scheme": parsed.scheme or "http",
            "api_version": "v2",
            "static_configs": [{"targets": [parsed.netloc]}],
        }
        if parsed.path.strip("/"):
            alertmanager["path_prefix"] = parsed.path
        config["alerting"] = {"alertmanagers": [alertmanager]}
    config_path = workdir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")

    def command(port: int) -> list[str]:
        return [
            binary,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ]

    running = _spawn("prometheus", command, workdir, config_path, ready_timeout)
    groups = get_json(f"{running.url}/api/v1/rules")["data"]["groups"]
    if rule_files and not groups:
        running.stop()
        raise StackError(f"prometheus loaded no rule groups from {rule_files}\n{running.log()}")
    return running


def prometheus_alerts(prometheus: Running) -> list[dict[str, Any]]:
    """Prometheus' active (pending or firing) alerts, for assertions and debugging."""
    alerts: list[dict[str, Any]] = get_json(f"{prometheus.url}/api/v1/alerts")["data"]["alerts"]
    return alerts


def prometheus_query(prometheus: Running, expr: str) -> list[dict[str, Any]]:
    """Result vector of an instant PromQL query."""
    url = f"{prometheus.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    result: list[dict[str, Any]] = get_json(url)["data"]["result"]
    return result


@dataclass(frozen=True)
class Received:
    """One request the sink received."""

    at: float
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class WebhookSink:
    """A loopback HTTP server recording every POSTed JSON body (an Alertmanager webhook target)."""

    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The URL to configure as webhook."""
        assert self._server is not None, "sink not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/alerts"

    def start(self) -> WebhookSink:
        """Serve on 127.0.0.1:<free port> in a daemon thread."""
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", errors="replace")
                with sink._lock:
                    sink.received.append(
                        Received(time.monotonic(), self.path, dict(self.headers.items()), body)
                    )
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output clean."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-sink", daemon=True)
        self._thread.start()
        return self

    def snapshot(self) -> list[Received]:
        """A copy of what was received so far."""
        with self._lock:
            return list(self.received)

    def stop(self) -> None:
        """Shut the server down."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> WebhookSink:
        """Start on entering a `with` block."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop on leaving a `with` block."""
        self.stop()


@contextlib.contextmanager
def dump_logs_on_failure(*processes: Running) -> Iterator[None]:
    """Re-raise any failure with the given processes' log tails appended (for CI debugging)."""
    try:
        yield
    except BaseException as err:
        tails = "\n".join(f"--- {p.name} log ---\n{p.log()[-LOG_TAIL_CHARS:]}" for p in processes)
        if isinstance(err, AssertionError | TimeoutError):
            raise type(err)(f"{err}\n{tails}") from err
        raise
