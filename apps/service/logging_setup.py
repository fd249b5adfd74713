"""structlog set-up for the prediction service: one JSON object per line on stdout.

A service's logs are read by machines first (a log shipper, then a query engine), so
every line on stdout must be one JSON object, whoever wrote it: our own structlog
calls, ``grade_predictor``'s stdlib records, uvicorn's startup and error messages.
One pipeline renders them all:

* structlog calls run the processors configured with :func:`structlog.configure`
  and end in ``ProcessorFormatter.wrap_for_formatter``, which hands the event dict
  to a stdlib logger;
* stdlib records (``logging.getLogger("uvicorn.error")``, ``grade_predictor.*``)
  reach the root logger's single handler, whose :class:`structlog.stdlib.ProcessorFormatter`
  runs the same pre-processing (``foreign_pre_chain``) on them;
* both then go through the same final processors and the same renderer.

The shared pre-processing adds the request context bound with
:mod:`structlog.contextvars` (``request_id``), the level, the logger's name and a UTC
ISO timestamp. The final processors turn an exception into a plain ``exception``
string (JSON only: no local variables, so no secret in a local leaks), then run
``logkit.redaction.redact_processor`` as the very last step before rendering, so it
also sees the exception text and the fields of foreign records.

``cache_logger_on_first_use`` stays off: module-level loggers then follow a later
reconfiguration (``structlog.testing.capture_logs`` in tests, a notebook that
re-runs this function). The cost is a small lookup per call.
"""

from __future__ import annotations

import logging
import sys

import structlog
from structlog.typing import EventDict

from logkit.redaction import redact_processor

__all__ = ["HANDLER_NAME", "UVICORN_LOGGERS", "configure_logging", "shared_processors"]

HANDLER_NAME = "apps.service.stdout"
"""Name of the root logger's stdout handler, so it can be found and replaced."""

UVICORN_LOGGERS: tuple[str, ...] = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
"""uvicorn's loggers: their own handlers are removed and they propagate to the root."""

_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def shared_processors() -> list[structlog.typing.Processor]:
    """Processors run on every event, from structlog or from stdlib logging, before rendering."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


_LEADING_KEYS = ("timestamp", "level", "logger", "event")


def _leading_keys_first(_logger: object, _method: str, event_dict: EventDict) -> EventDict:
    """Put timestamp, level, logger and event at the front, so every line starts alike."""
    ordered = {key: event_dict[key] for key in _LEADING_KEYS if key in event_dict}
    ordered.update(event_dict)
    return ordered


def _final_processors(*, json: bool) -> list[structlog.typing.Processor]:
    if json:
        return [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_processor,
            _leading_keys_first,
            structlog.processors.JSONRenderer(),
        ]
    # The console renderer draws exceptions itself. rich's traceback formatter shows
    # local variables by default: turn that off, a local may hold a secret.
    renderer = structlog.dev.ConsoleRenderer(
        colors=sys.stdout.isatty(),
        exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=False),
    )
    return [structlog.stdlib.ProcessorFormatter.remove_processors_meta, redact_processor, renderer]


def configure_logging(*, json: bool | None = None, level: str = "INFO") -> None:
    """Send every log line of the process, structlog's and stdlib's, to stdout through one pipeline.

    Args:
        json: ``True`` for one JSON object per line, ``False`` for coloured console
            output; ``None`` picks JSON unless stdout is a terminal.
        level: the lowest level written (a stdlib level name).

    Raises:
        ValueError: if ``level`` is not a standard level name.
    """
    level_name = level.upper()
    if level_name not in _LEVELS:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(_LEVELS)}")
    if json is None:
        json = not sys.stdout.isatty()

    shared = shared_processors()
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        context_class=dict,
        cache_logger_on_first_use=False,
    )

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=_final_processors(json=json),
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        if old.get_name() == HANDLER_NAME:
            old.close()
    root.addHandler(handler)
    root.setLevel(level_name)

    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)
    # The service writes its own completion line per request; uvicorn's access line
    # would be a second, less informative one. (main() also passes access_log=False.)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # Warnings become records of "py.warnings" and are rendered like everything else.
    logging.captureWarnings(True)
