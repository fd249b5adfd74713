"""A production logging setup as a ``logging.config.dictConfig`` dictionary.

:func:`rotating_config` returns a plain dict (printable, serialisable to JSON or
YAML, easy to adjust) with:

- a console handler on stdout;
- ``info.log`` (INFO and above) and ``error.log`` (ERROR and above), both rotating
  files with the detailed format;
- a small named filter, :class:`RunIdFilter`, that stamps every record with the run id;
- ``disable_existing_loggers: False``, so module loggers created before the call
  keep working (the default ``True`` silently disables them).

:func:`apply_rotating_config` creates the log folder first (dictConfig fails with
"Unable to configure handler" when it is missing) and then applies the dict.
"""

from __future__ import annotations

import logging
import logging.config
import os
import uuid
from pathlib import Path
from typing import Any

from logkit.console import CONSOLE_FORMAT, parse_level

__all__ = [
    "DETAILED_FORMAT",
    "RunIdFilter",
    "apply_rotating_config",
    "new_run_id",
    "rotating_config",
    "timed_rotating_config",
]

#: File lines: ISO time, level, run id, logger, function:line, message.
DETAILED_FORMAT = "%(asctime)s %(levelname)-8s run=%(run_id)s %(name)s %(funcName)s:%(lineno)d %(message)s"


class RunIdFilter(logging.Filter):
    """Stamp every record with ``run_id`` (a value from ``extra=`` is kept).

    Args:
        run_id: The identifier of this run, e.g. an experiment-tracker id.
    """

    def __init__(self, run_id: str = "-") -> None:
        super().__init__()
        self.run_id = run_id

    def filter(self, record: logging.LogRecord) -> bool:
        """Add ``record.run_id`` if it is missing; never drops a record."""
        if not hasattr(record, "run_id"):
            record.run_id = self.run_id
        return True


def new_run_id() -> str:
    """Return a short random run id such as ``"3f9c2a71b0d4"``."""
    return uuid.uuid4().hex[:12]


def rotating_config(
    log_dir: str | os.PathLike[str],
    *,
    console_level: int | str = "INFO",
    max_bytes: int = 10 * 1024 * 1024,
    backup_count: int = 5,
    run_id: str | None = None,
    when: str | None = None,
    interval: int = 1,
) -> dict[str, Any]:
    """Build a dictConfig dict: console + rotating ``info.log`` and ``error.log``.

    Args:
        log_dir: Folder of the log files (not created here; see :func:`apply_rotating_config`).
        console_level: Threshold of the console handler.
        max_bytes: Size at which a file rolls over (default 10 MiB = 10 * 1024 * 1024).
        backup_count: Rolled-over files to keep (``info.log.1`` ... ``info.log.N``).
        run_id: Written on every line; ``None`` generates a fresh one.
        when: If given (``"midnight"``, ``"H"``, ``"D"``, ``"W0"``...), rotate by time with
            ``TimedRotatingFileHandler`` instead of by size; ``max_bytes`` is then unused.
        interval: Number of ``when`` units between rollovers.

    The root level is INFO, or the console level if that is lower: no handler here wants
    records below it, so cheaper calls are discarded early.
    """
    console = parse_level(console_level)
    folder = Path(log_dir)
    run_id = new_run_id() if run_id is None else run_id

    def file_handler(name: str, level: str) -> dict[str, Any]:
        common = {
            "level": level,
            "formatter": "detailed",
            "filters": ["run_id"],
            "filename": str(folder / name),
            "backupCount": backup_count,
            "encoding": "utf-8",
        }
        if when is None:
            return {"class": "logging.handlers.RotatingFileHandler", "maxBytes": max_bytes, **common}
        return {
            "class": "logging.handlers.TimedRotatingFileHandler",
            "when": when,
            "interval": interval,
            "utc": True,
            **common,
        }

    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"run_id": {"()": "logkit.dictconfig.RunIdFilter", "run_id": run_id}},
        "formatters": {
            "console": {"()": "logkit.console.ColourFormatter", "fmt": CONSOLE_FORMAT},
            "detailed": {"()": "logkit.console.IsoFormatter", "fmt": DETAILED_FORMAT},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "level": console,
                "formatter": "console",
                "filters": ["run_id"],
                "stream": "ext://sys.stdout",
            },
            "info_file": file_handler("info.log", "INFO"),
            "error_file": file_handler("error.log", "ERROR"),
        },
        # No "propagate" here: the root has no parent to propagate to.
        "root": {"level": min(console, logging.INFO), "handlers": ["console", "info_file", "error_file"]},
    }


def timed_rotating_config(
    log_dir: str | os.PathLike[str], *, when: str = "midnight", **kwargs: Any
) -> dict[str, Any]:
    """Like :func:`rotating_config` but rotating by time (default: at midnight UTC)."""
    return rotating_config(log_dir, when=when, **kwargs)


def apply_rotating_config(log_dir: str | os.PathLike[str], **kwargs: Any) -> None:
    """Create ``log_dir`` if needed, then apply :func:`rotating_config` with ``kwargs``.

    dictConfig replaces (and closes) every handler of the root logger.
    """
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    logging.config.dictConfig(rotating_config(log_dir, **kwargs))
