"""``qa serve``: run the HTTP service under uvicorn, with one or several worker processes."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import socket
import tempfile

from qa.errors import ConfigError, QAError
from service.logs import logging_config
from service.settings import ServiceSettings

logger = logging.getLogger("service.server")

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def check_port(host: str, port: int) -> None:
    """Fail early, with the fix, when the address is taken (uvicorn would only log it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise QAError(
                    f"Port {port} on {host} is already in use.",
                    "Stop the other server, or pick another port with --port (or QA_PORT).",
                ) from None
            raise ConfigError(
                f"Cannot listen on {host}:{port} ({exc.strerror or exc}).",
                "Check --host (or QA_HOST): it must be an address of this machine.",
            ) from None


def serve(settings: ServiceSettings) -> None:
    """Run until interrupted. Workers read their settings from the same QA_* environment."""
    import uvicorn

    check_port(settings.host, settings.port)
    if settings.slack_events_enabled:
        # Fail here, with the CLI's message, rather than in every worker's app factory.
        from service.slack.database import SlackDatabase

        SlackDatabase(settings.slack_db)
    if settings.host not in _LOOPBACK and not settings.api_key.get_secret_value():
        logger.warning(
            "listening on %s without QA_API_KEY: anyone who can reach it can query the index",
            settings.host,
        )
    # Workers are separate processes: hand them the command line's settings through the
    # environment, and give them one folder to pool their metrics in.
    os.environ["QA_HOST"] = settings.host
    os.environ["QA_PORT"] = str(settings.port)
    os.environ["QA_WORKERS"] = str(settings.workers)
    metrics_dir: str | None = None
    if settings.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = tempfile.mkdtemp(prefix="qa-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run(
            "service.app:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_config=logging_config(settings.log_level),
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=10,
        )
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
