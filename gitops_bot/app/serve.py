"""`serve`: the webhook server with the worker behind it."""

import logging
import os

from werkzeug.serving import make_server

from gitops_bot.app.cluster_events_http import ClusterEventKeys
from gitops_bot.app.config import Config
from gitops_bot.app.server import create_app
from gitops_bot.app.wiring import Runtime, make_engine, state_keys
from gitops_bot.core.errors import ConfigError

log = logging.getLogger("gitops_bot")


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


def serve(config: Config, *, insecure: bool, insecure_state: bool = False) -> int:
    """Run until interrupted; journaled alerts not yet handled resume on the next start."""
    token, reader = alert_token(config, insecure=insecure), read_token(config)
    check_state_key(config, insecure=insecure_state)
    runtime = Runtime(config, make_engine(config, insecure_state=insecure_state))
    runtime.start()
    app = create_app(runtime.bot, token=token, read_token=reader, cluster_keys=cluster_keys(config))
    server = make_server(config.listen_host, config.listen_port, app, threaded=True)
    log.info("listening on %s:%d (forge %s)", config.listen_host, config.listen_port, config.forge)
    try:
        server.serve_forever()
    finally:
        server.shutdown()
        runtime.stop()
    return 0
