"""Counting system errors by kind, where they are logged.

Every system error is logged once with its stack where it happens (the
HTTP error middleware for a 5xx, the actor runtime for a crash or a
supervisor that gives up); a handler on the `rateline` logger counts each
such record, so the count and the log cannot disagree and the alert rules
see every one.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter

SYSTEM_ERRORS = Counter(
    "rateline_system_errors_total",
    "System errors logged, by kind (http: a 5xx answer; actor: an actor crash "
    "or a supervisor giving up; other).",
    ["kind"],
)
_KINDS = {"rateline.errors": "http", "rateline.actors": "actor"}


class ErrorCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        SYSTEM_ERRORS.labels(_KINDS.get(record.name, "other")).inc()


_HANDLER = ErrorCounter()


def count_system_errors(logger_name: str = "rateline") -> None:
    """Count the errors logged under `logger_name` (idempotent)."""
    logger = logging.getLogger(logger_name)
    if _HANDLER not in logger.handlers:
        logger.addHandler(_HANDLER)
