"""`serve`: the webhook server with the worker behind it."""

import logging
import os

from werkzeug.serving import make_server

from gitops_bot.app.config import Config
from gitops_bot.app.crashpoints import from_env as crash_from_env
from gitops_bot.app.server import create_app
from gitops_bot.app.wiring import Runtime
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


def serve(config: Config, *, insecure: bool) -> int:
    """Run until interrupted; journaled alerts not yet handled resume on the next start."""
    token = alert_token(config, insecure=insecure)
    # The one read of the crash variable; a missing clone is made while already serving.
    runtime = Runtime(config, crash=crash_from_env(os.environ), defer_clone=True)
    runtime.start()
    server = make_server(
        config.listen_host, config.listen_port, create_app(runtime.bot, token=token), threaded=True
    )
    log.info("listening on %s:%d (forge %s)", config.listen_host, config.listen_port, config.forge)
    try:
        server.serve_forever()
    finally:
        server.shutdown()
        runtime.stop()
    return 0
