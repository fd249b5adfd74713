"""Console and file output for an application: a colour formatter and ``configure()``.

An application (script, notebook, service) calls :func:`configure` once at start-up.
Libraries such as ``grade_predictor`` never do: they only create loggers.

The colour formatter never changes the LogRecord it is given. A record is shared by
every handler it reaches, so a formatter that rewrote ``record.levelname`` would leak
ANSI escape codes into the log file (erratum 1 of the source notes).
"""

from __future__ import annotations

import copy
import logging
import os
import re
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TextIO

__all__ = [
    "CONSOLE_FORMAT",
    "CONSOLE_HANDLER_NAME",
    "FILE_FORMAT",
    "FILE_HANDLER_NAME",
    "LEVEL_COLOURS",
    "ColourFormatter",
    "IsoFormatter",
    "configure",
    "parse_level",
]

#: Short console lines: ``INFO     grade_predictor.model: Fitting on 120 rows``.
CONSOLE_FORMAT = "%(levelname)-8s %(name)s: %(message)s"
#: Detailed file lines: ISO time, level, logger, function:line, message.
FILE_FORMAT = "%(asctime)s %(levelname)-8s %(name)s %(funcName)s:%(lineno)d %(message)s"

#: Names that mark the handlers :func:`configure` owns (and replaces on a second call).
CONSOLE_HANDLER_NAME = "logkit.console"
FILE_HANDLER_NAME = "logkit.file"

RESET = "\033[0m"
LEVEL_COLOURS: dict[str, str] = {
    "DEBUG": "\033[36m",  # cyan
    "INFO": "\033[32m",  # green
    "WARNING": "\033[33m",  # yellow
    "ERROR": "\033[31m",  # red
    "CRITICAL": "\033[1;35m",  # bold magenta
}

# The levelname field of a format string, with its width/alignment, per style.
_LEVEL_FIELD = {
    "%": re.compile(r"%\(levelname\)(?P<spec>[-#0 +]*\d*)s"),
    "{": re.compile(r"\{levelname(?::(?P<spec>[^{}]*))?\}"),
    "$": re.compile(r"\$\{levelname\}|\$levelname\b"),
}
_PLAIN_FIELD = {"%": "%(levelname)s", "{": "{levelname}", "$": "${levelname}"}


class IsoFormatter(logging.Formatter):
    """A Formatter whose ``%(asctime)s`` is ISO 8601 local time with milliseconds and offset.

    Example: ``2026-03-01T14:05:09.042+00:00``. An explicit ``datefmt`` still wins.
    """

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """Return the record's creation time as ISO 8601 (or with ``datefmt`` if given)."""
        if datefmt:
            return super().formatTime(record, datefmt)
        return datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")


class ColourFormatter(IsoFormatter):
    """Colour the level name when the output is a terminal; never modify the record.

    Args:
        fmt: Format string (default :data:`CONSOLE_FORMAT`).
        datefmt: ``strftime`` format for ``%(asctime)s`` (default ISO 8601).
        style: ``"%"``, ``"{"`` or ``"$"``, as for :class:`logging.Formatter`.
        use_colour: ``True`` or ``False`` forces colour on or off. ``None`` (default)
            colours only if ``stream`` is a TTY and ``NO_COLOR`` is not set.
        stream: The stream the handler writes to (default ``sys.stdout``); only used to
            decide whether to colour.
        validate: Check the format string, as for :class:`logging.Formatter`.
        defaults: Values for format fields a record may lack, e.g. ``{"fold": "-"}``
            (as for :class:`logging.Formatter`, Python 3.10+).

    The record is copied before the level name is coloured, so other handlers (a log
    file, a JSON sink) never see escape codes. Width and alignment in the format string
    (``%(levelname)-8s``) apply to the visible name, so columns stay aligned.
    """

    def __init__(
        self,
        fmt: str | None = None,
        datefmt: str | None = None,
        style: Literal["%", "{", "$"] = "%",
        validate: bool = True,
        *,
        use_colour: bool | None = None,
        stream: TextIO | None = None,
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        fmt = CONSOLE_FORMAT if fmt is None else fmt
        super().__init__(fmt, datefmt, style, validate, defaults=defaults)
        if use_colour is None:
            use_colour = _stream_wants_colour(sys.stdout if stream is None else stream)
        self.use_colour = use_colour
        match = _LEVEL_FIELD[style].search(fmt)
        self._level_spec = (match.group("spec") or "") if match and style != "$" else ""
        self._style_char = style
        # A twin formatter whose levelname field has no width: the padding is done on the
        # visible text before the escape codes are added around it.
        stripped = _LEVEL_FIELD[style].sub(_PLAIN_FIELD[style].replace("\\", r"\\"), fmt)
        self._colour_twin = IsoFormatter(stripped, datefmt, style, validate, defaults=defaults)

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record``; with colour, format a coloured copy and leave the original alone."""
        if not self.use_colour:
            return super().format(record)
        coloured = copy.copy(record)
        name = record.levelname
        padded = self._pad(name)
        colour = LEVEL_COLOURS.get(name, "")
        coloured.levelname = padded.replace(name, f"{colour}{name}{RESET}", 1) if colour else padded
        # The twin caches exc_text on the copy only; the original record is untouched.
        return self._colour_twin.format(coloured)

    def _pad(self, name: str) -> str:
        if not self._level_spec:
            return name
        if self._style_char == "%":
            return f"%{self._level_spec}s" % name
        return format(name, self._level_spec)


def configure(
    console_level: int | str = logging.INFO,
    log_file: str | os.PathLike[str] | None = None,
    file_level: int | str = logging.DEBUG,
    *,
    stream: TextIO | None = None,
) -> None:
    """Attach a console handler (and optionally a file handler) to the root logger.

    Call once at application start-up; calling again replaces the handlers this
    function added earlier (so no line is ever written twice) and leaves every other
    handler alone.

    Args:
        console_level: Threshold of the console handler, e.g. ``logging.INFO`` or ``"info"``.
        log_file: Path of a log file written with :data:`FILE_FORMAT` (no colour).
            Its parent folder is created if needed. ``None`` means no file.
        file_level: Threshold of the file handler.
        stream: Where console lines go (default ``sys.stdout``).

    The root logger's level becomes the lowest level one of these handlers needs: a
    DEBUG file makes the root DEBUG, a console alone at INFO keeps DEBUG calls cheap
    (they are discarded before a record is even built).

    Raises:
        ValueError: If a level name is unknown.
    """
    console_level = parse_level(console_level)
    file_level = parse_level(file_level)
    root = logging.getLogger()
    _remove_own_handlers(root)

    console = logging.StreamHandler(sys.stdout if stream is None else stream)
    console.set_name(CONSOLE_HANDLER_NAME)
    console.setLevel(console_level)
    console.setFormatter(ColourFormatter(CONSOLE_FORMAT, stream=console.stream))
    handlers: list[logging.Handler] = [console]

    if log_file is not None:
        path = Path(log_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(path, encoding="utf-8")
        file_handler.set_name(FILE_HANDLER_NAME)
        file_handler.setLevel(file_level)
        file_handler.setFormatter(IsoFormatter(FILE_FORMAT))
        handlers.append(file_handler)

    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(min(handler.level for handler in handlers))


def parse_level(level: int | str) -> int:
    """Turn ``20``, ``"INFO"``, ``"info"`` or ``"20"`` into the numeric level 20.

    Raises:
        ValueError: If ``level`` is not a known level name or a number.
    """
    if isinstance(level, bool):
        raise ValueError(f"not a logging level: {level!r}")
    if isinstance(level, int):
        return level
    text = str(level).strip()
    if text.isdigit():
        return int(text)
    mapping = logging.getLevelNamesMapping()
    if text.upper() in mapping:
        return mapping[text.upper()]
    known = ", ".join(sorted(mapping, key=mapping.__getitem__))
    raise ValueError(f"unknown logging level {level!r}; use one of {known} or a number")


def _remove_own_handlers(logger: logging.Logger) -> None:
    for handler in list(logger.handlers):
        if handler.get_name() in (CONSOLE_HANDLER_NAME, FILE_HANDLER_NAME):
            logger.removeHandler(handler)
            handler.close()


def _stream_wants_colour(stream: object) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (ValueError, OSError):  # closed or detached stream
        return False
