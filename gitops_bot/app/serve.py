"""`serve`: the webhook server (waitress) with the worker behind it, drained on SIGTERM.

waitress, not gunicorn: gunicorn's model is forked worker processes, and each fork would start its
own rollback worker thread, journal replay and loops over the same clone and journal — exactly the
single owner this design relies on (one worker serialises git work; one process owns the journal).
waitress serves from one process: an event loop holds idle and half-open connections without a
thread each, a fixed pool of threads runs requests only once they are fully read, and idle or
stalled connections are closed after `server.read_timeout`.
"""

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

from waitress.server import create_server

from gitops_bot.app.cluster_events_http import ClusterEventKeys
from gitops_bot.app.config import Config
from gitops_bot.app.crashpoints import from_env as crash_from_env
from gitops_bot.app.server import create_app
from gitops_bot.app.wiring import Runtime, make_engine, state_keys
from gitops_bot.core.errors import ConfigError

log = logging.getLogger("gitops_bot")
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
CONNECTION_LIMIT = 1000  # connections held open at once; beyond it new ones wait in the listen backlog


def alert_token(config: Config, *, insecure: bool) -> str | None:
    """The bearer token from the environment; refuse to run open unless told to."""
    token = os.environ.get(config.token_env) or None
    if token is None and not insecure:
        raise ConfigError(
            f"${config.token_env} is not set: refusing to serve without a token (or pass --insecure-no-auth)"
        )
    return token


def cluster_keys(config: Config) -> ClusterEventKeys:
    """The push-mode keys from the environment (an endpoint whose key is unset answers 404)."""
    argo_env = config.argocd.notifications_token_env if config.argocd else None
    flux_env = config.cluster.flux_events_token_env
    return ClusterEventKeys(
        flux_hmac=os.environ.get(flux_env) or None if flux_env else None,
        argo_token=os.environ.get(argo_env) or None if argo_env else None,
    )


def read_token(config: Config) -> str | None:
    """The audit's bearer token when `server.read_token_env` names one; it must then be set."""
    if config.read_token_env is None:
        return None
    token = os.environ.get(config.read_token_env) or None
    if token is None:
        raise ConfigError(f"${config.read_token_env} is not set (server.read_token_env)")
    return token


def check_state_key(config: Config, *, insecure: bool) -> None:
    """Refuse to run without a state key unless told to (then bot tags and tickets are not authenticated)."""
    if state_keys(config).configured:
        return
    if not insecure:
        raise ConfigError(
            f"${config.state_key_env} is not set: refusing to serve without a state key "
            "(or pass --insecure-no-state-key)"
        )
    log.warning("no state key: bot tags and PR tickets are NOT authenticated (--insecure-no-state-key)")


def access_log(app: WSGIApp) -> WSGIApp:
    """One `gitops_bot.access` event per request (waitress writes no access log of its own)."""
    logger = logging.getLogger("gitops_bot.access")

    def logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started, status = time.monotonic(), ["-"]

        def record(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = code.split(" ", 1)[0]
            return start_response(code, headers, exc_info)

        try:
            return app(environ, record)
        finally:
            took = (time.monotonic() - started) * 1000
            path = environ.get("PATH_INFO", "")
            logger.info("%s %s %s %.1fms", environ.get("REQUEST_METHOD", ""), path, status[0], took)

    return logged


class _Drain(Exception):
    """SIGTERM arrived: stop accepting, finish the job in hand, exit 0."""


def _on_term(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the drain short
    raise _Drain()


def serve(config: Config, *, insecure: bool, insecure_state: bool = False) -> int:
    """Run until SIGTERM/SIGINT; journaled alerts not yet handled resume on the next start."""
    token, reader = alert_token(config, insecure=insecure), read_token(config)
    check_state_key(config, insecure=insecure_state)
    # The one read of the crash variable; a missing clone is made while already serving.
    crash = crash_from_env(os.environ)
    engine = make_engine(config, insecure_state=insecure_state, crash=crash, defer_clone=True)
    runtime = Runtime(config, engine, crash=crash, defer_clone=True)
    runtime.start()
    read_timeout = max(1, round(config.read_timeout))
    server = create_server(
        access_log(
            create_app(
                runtime.bot,
                token=token,
                read_token=reader,
                max_body=config.max_body,
                cluster_keys=cluster_keys(config),
            )
        ),
        host=config.listen_host,
        port=config.listen_port,
        threads=config.threads,
        connection_limit=CONNECTION_LIMIT,
        channel_timeout=read_timeout,  # no byte for this long (headers or body): closed
        cleanup_interval=max(1, read_timeout // 2),
        max_request_body_size=config.max_body + 1,  # our own check answers 413 with a reason
        ident="gitops-bot",
        clear_untrusted_proxy_headers=True,
    )
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_term)
    log.info("listening on %s:%d (forge %s)", config.listen_host, config.listen_port, config.forge)
    try:
        server.run()  # returns on KeyboardInterrupt (SIGINT) after stopping its threads
    except _Drain:
        log.info("SIGTERM: no new connections; finishing the job in hand (the journal keeps the rest)")
    finally:
        server.close()  # the listening socket: new connections are refused from here
        server.task_dispatcher.shutdown(cancel_pending=False, timeout=config.read_timeout)
        runtime.stop()
        log.info("stopped")
        sys.stderr.flush()
    return 0
