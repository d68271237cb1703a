"""Structured logs (structlog): events with ids, never record values or secrets.

Library code asks :func:`get_logger` for a logger. Until an application configures logging
(the command line does, from ``--log-level`` or ``ISTHMUS_LOG_LEVEL``), warnings and errors go
to standard error and nothing goes to standard output, which belongs to command output.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

LEVELS = ("debug", "info", "warning", "error")


def configure_logging(level: str = "warning", *, json: bool = False) -> None:
    """Send log events at ``level`` and above to standard error, as text or JSON lines."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    if not structlog.is_configured():
        configure_logging()
    return structlog.get_logger(name)
