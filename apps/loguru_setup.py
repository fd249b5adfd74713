"""loguru set-up for the experiment script: one pipeline for loguru's records and the library's.

The experiment script is code we run ourselves, so it may use loguru (a library we
ship may not: ``grade_predictor`` uses the standard library and stays silent until
an application configures logging). Two worlds then meet in one process:

* the script logs through loguru's global ``logger``;
* ``grade_predictor`` logs through stdlib loggers (``grade_predictor.evaluate``, ...).

:class:`InterceptHandler` joins them. It sits on the stdlib root logger and re-emits
every stdlib record through loguru, so a single set of loguru sinks (stdout and a
rotating file) sees both, in one format, with the same context fields. It maps the
level by name (so a custom stdlib level still gets a number) and walks up the stack
past the ``logging`` module's own frames, so ``{name}``, ``{function}`` and
``{line}`` point at the library code that made the call, not at this handler.

Choices worth knowing:

* ``logger.configure(extra=DEFAULT_EXTRA)`` gives every record a ``run_id``, ``fold``
  and ``model``, so a format that uses ``{extra[fold]}`` never fails for a record
  logged outside a fold (loguru would print a formatting error instead of the line).
* ``diagnose=False`` on every sink: loguru's default prints the local variables of
  every frame in a traceback, which is how an API key in a local variable or in
  ``os.environ`` ends up in a log file.
* The file sink uses ``enqueue=True``: records go through a queue and a worker
  thread writes them, so logging from several threads or processes never
  interleaves half-lines, and a slow disk does not stall training.
  :func:`shutdown_loguru` must then run before exit so the queue is drained.
* Redaction (``logkit.redaction.loguru_patcher``) runs as a loguru patcher, once
  per record, before any sink sees it.
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from loguru import logger

from logkit.redaction import loguru_patcher

__all__ = [
    "DEFAULT_EXTRA",
    "TEXT_FORMAT",
    "InterceptHandler",
    "configure_loguru",
    "install_intercept_handler",
    "shutdown_loguru",
]

DEFAULT_EXTRA: Mapping[str, str] = {"run_id": "-", "fold": "-", "model": "-"}
"""Values of the context fields for records logged outside a run or a fold."""

TEXT_FORMAT = (
    "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | "
    "run={extra[run_id]} fold={extra[fold]} model={extra[model]} | "
    "{name}:{function}:{line} - {message}"
)
"""The human-readable line format, shared by the stdout and the file sink."""

_LOGGING_FILE = logging.__file__


class InterceptHandler(logging.Handler):
    """A stdlib handler that re-emits every record through loguru's ``logger``.

    Put it on the root logger (see :func:`install_intercept_handler`): records from
    any stdlib logger that propagates then reach loguru's sinks.
    """

    def emit(self, record: logging.LogRecord) -> None:
        """Send ``record`` to loguru at the matching level, attributed to its real caller."""
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno

        # Skip this handler's frame, then the logging module's frames (and importlib's,
        # for records logged during an import), to land on the frame that called
        # logger.info(...) etc. loguru's depth counts frames above the opt() caller.
        frame = inspect.currentframe()
        depth = 0
        while frame is not None:
            filename = frame.f_code.co_filename
            inside_logging = filename == _LOGGING_FILE
            inside_import = "importlib" in filename and "_bootstrap" in filename
            if depth > 0 and not (inside_logging or inside_import):
                break
            frame = frame.f_back
            depth += 1

        logger.opt(depth=depth, exception=record.exc_info).log(level, record.getMessage())


def install_intercept_handler(*, level: int | str = logging.INFO) -> InterceptHandler:
    """Make an :class:`InterceptHandler` the root logger's only handler.

    Args:
        level: the root logger's level. Use the lowest level any loguru sink shows:
            a lower root level only makes every suppressed ``debug()`` call build a
            record that no sink will print.

    Returns:
        The installed handler (``shutdown_loguru`` removes it again).
    """
    handler = InterceptHandler()
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Python warnings become records of the "py.warnings" logger, so they reach the
    # same sinks instead of going to stderr on their own.
    logging.captureWarnings(True)
    return handler


def _level_number(level: str) -> int:
    return logger.level(level.upper()).no


def configure_loguru(
    *,
    level: str = "INFO",
    log_file: str | Path | None = None,
    file_level: str = "DEBUG",
    json: bool = False,
    console: TextIO | None = None,
    rotation: str = "10 MB",
    retention: int = 5,
) -> list[int]:
    """Replace loguru's default sink with a stdout sink and an optional rotating file sink.

    Also installs :class:`InterceptHandler` on the stdlib root logger, so the
    library's records go to the same sinks.

    Args:
        level: the console sink's threshold.
        log_file: path of the file sink (its folder is created); ``None`` for no file.
        file_level: the file sink's threshold; the file usually keeps more detail
            than the console.
        json: write JSON lines (``serialize=True``) instead of :data:`TEXT_FORMAT`.
        console: stream of the console sink; ``None`` means ``sys.stdout`` at call time.
        rotation: when the file rotates (a loguru rotation spec such as ``"10 MB"``).
        retention: how many rotated files to keep.

    Returns:
        The ids of the added sinks.

    Raises:
        ValueError: if a level name is unknown to loguru.
    """
    console_level = _level_number(level)
    file_level_no = _level_number(file_level)

    logger.remove()
    logger.configure(extra=dict(DEFAULT_EXTRA), patcher=loguru_patcher)

    common: dict[str, Any] = {
        "format": TEXT_FORMAT,
        "serialize": json,
        "backtrace": False,
        "diagnose": False,
    }
    sink_ids = [logger.add(console if console is not None else sys.stdout, level=console_level, **common)]
    lowest = console_level
    if log_file is not None:
        sink_ids.append(
            logger.add(
                Path(log_file),
                level=file_level_no,
                rotation=rotation,
                retention=retention,
                encoding="utf-8",
                enqueue=True,
                colorize=False,
                **common,
            )
        )
        lowest = min(lowest, file_level_no)
    install_intercept_handler(level=lowest)
    return sink_ids


def shutdown_loguru() -> None:
    """Flush queued records, close every sink and detach loguru from stdlib logging.

    Call it before the process exits: records still in an ``enqueue=True`` sink's
    queue are otherwise lost.
    """
    logger.complete()
    logger.remove()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, InterceptHandler):
            root.removeHandler(handler)
    logging.captureWarnings(False)
