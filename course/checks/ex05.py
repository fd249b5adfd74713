"""Checks for assignment 05, handlers and formatters.

Task 5.1 ``configure_logging(log_file, stream)``: an INFO console and a DEBUG file.
Task 5.2 ``ColourFormatter``: colour the console's level name without leaking ANSI codes into the file.
Task 5.3 ``setup_console(stream, level)``: safe to call again and again.
Task 5.4 ``make_file_formatter()``: LogRecord attributes in a format string, in UTC.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from course.checks.support import ListHandler, expect, isolated, passed

__all__ = [
    "LEVEL_COLOURS",
    "RESET",
    "task_1",
    "task_1_hidden",
    "task_2",
    "task_2_hidden",
    "task_3",
    "task_3_hidden",
    "task_4",
    "task_4_hidden",
]

#: The colours task 5.2 asks for, one ANSI code per level name.
LEVEL_COLOURS = {
    "DEBUG": "\033[36m",
    "INFO": "\033[32m",
    "WARNING": "\033[33m",
    "ERROR": "\033[31m",
    "CRITICAL": "\033[35m",
}
RESET = "\033[0m"

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _show(text: str) -> str:
    """Quote captured text for a message, ANSI codes visible as ``\\x1b``."""
    return repr(text) if text else "nothing"


# --- Task 5.1 ---------------------------------------------------------------------------------------


@dataclass
class _Run:
    console: str
    file_text: str
    stderr: str
    root_level: int
    handlers: list[logging.Handler]
    stream: io.StringIO
    file_exists: bool


_PROBES = (
    ("experiment", logging.DEBUG, "debug detail 5101"),
    ("grade_predictor.model", logging.INFO, "model fitted 5102"),
    ("experiment", logging.WARNING, "fold 3 has only 12 samples 5103"),
)


def _run_configure(configure_logging: Callable[..., object], *, as_str: bool = False) -> _Run:
    with tempfile.TemporaryDirectory() as tmp:
        log_file = Path(tmp) / "train.log"
        stream = io.StringIO()
        with isolated() as captured:
            configure_logging(str(log_file) if as_str else log_file, stream)
            for name, level, message in _PROBES:
                logging.getLogger(name).log(level, message)
            root = logging.getLogger()
            handlers = list(root.handlers)
            for handler in handlers:
                handler.flush()
            exists = log_file.exists()
            file_text = log_file.read_text(encoding="utf-8") if exists else ""
            return _Run(
                console=stream.getvalue(),
                file_text=file_text,
                stderr=captured.stderr,
                root_level=root.level,
                handlers=handlers,
                stream=stream,
                file_exists=exists,
            )


def _expect_routing(run: _Run) -> None:
    debug, info, warning = (message for _, _, message in _PROBES)
    expect(
        run.file_exists,
        "configure_logging() did not create the log file it was given; add a logging.FileHandler(log_file).",
    )
    expect(
        not run.stderr,
        "the console handler must write to the `stream` argument, but something was written to stderr: "
        f"{_show(run.stderr)}. Pass the stream: logging.StreamHandler(stream).",
    )
    for message in (info, warning):
        expect(
            message in run.console,
            f"an INFO/WARNING record should reach the console stream; logged {message!r}, "
            f"the stream received {_show(run.console)}.",
        )
        expect(
            message in run.file_text,
            f"an INFO/WARNING record should reach the file; logged {message!r}, "
            f"the file contains {_show(run.file_text)}.",
        )
    expect(
        debug not in run.console,
        f"the console shows INFO and above, but the DEBUG record {debug!r} reached it: {_show(run.console)}. "
        "Set the console handler's level to INFO.",
    )
    expect(
        debug in run.file_text,
        f"the file keeps DEBUG records, but {debug!r} is not in it (file: {_show(run.file_text)}). "
        f"The root logger is at {logging.getLevelName(run.root_level)}: a record below the root's level is "
        "dropped before any handler sees it. Set the root to the lowest level a handler needs.",
    )


def task_1(configure_logging: Callable[..., object]) -> None:
    """Public checks: INFO and up on the console stream, DEBUG and up in the file."""
    run = _run_configure(configure_logging)
    _expect_routing(run)
    passed("5.1", hidden_checks=3)


def task_1_hidden(configure_logging: Callable[..., object]) -> None:
    """Hidden checks: exact levels and handlers, line formats, a str path."""
    run = _run_configure(configure_logging, as_str=True)
    _expect_routing(run)
    expect(
        run.root_level == logging.DEBUG,
        f"the root logger should be at DEBUG, the lowest level a handler needs; it is at "
        f"{logging.getLevelName(run.root_level)}.",
    )
    files = [h for h in run.handlers if isinstance(h, logging.FileHandler)]
    consoles = [
        h
        for h in run.handlers
        if type(h) is logging.StreamHandler and getattr(h, "stream", None) is run.stream
    ]
    expect(
        len(files) == 1 and files[0].level == logging.DEBUG,
        "expected one FileHandler at DEBUG on the root; found "
        f"{[(type(h).__name__, logging.getLevelName(h.level)) for h in files]}.",
    )
    expect(
        len(consoles) == 1 and consoles[0].level == logging.INFO,
        "expected one StreamHandler(stream) at INFO on the root; found "
        f"{[(type(h).__name__, logging.getLevelName(h.level)) for h in consoles]}.",
    )
    expect(
        "INFO grade_predictor.model: model fitted 5102" in run.console.splitlines(),
        "console lines should read 'LEVEL logger.name: message', e.g. "
        f"'INFO grade_predictor.model: model fitted 5102'; the console received {_show(run.console)}.",
    )
    stamped = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} DEBUG experiment: debug detail 5101$")
    expect(
        any(stamped.match(line) for line in run.file_text.splitlines()),
        "file lines should read '<asctime> LEVEL logger.name: message', e.g. "
        "'2026-01-01 09:30:00,000 DEBUG experiment: debug detail 5101'; "
        f"the file has {_show(run.file_text)}.",
    )
    print("Task 5.1: hidden checks passed.")


# --- Task 5.2 ---------------------------------------------------------------------------------------


def _two_handlers(
    formatter_class: type[logging.Formatter], *, console_first: bool
) -> tuple[logging.Logger, io.StringIO, io.StringIO, ListHandler]:
    """A logger with a coloured console and a plain 'file', plus a spy that sees the record last."""
    console_stream, file_stream = io.StringIO(), io.StringIO()
    console = logging.StreamHandler(console_stream)
    console.setFormatter(formatter_class("%(levelname)s %(message)s"))
    plain = logging.StreamHandler(file_stream)
    plain.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    spy = ListHandler()
    logger = logging.getLogger("experiment.colours")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    for handler in [console, plain] if console_first else [plain, console]:
        logger.addHandler(handler)
    logger.addHandler(spy)
    return logger, console_stream, file_stream, spy


def _expect_colours(
    formatter_class: type[logging.Formatter], levels: tuple[int, ...], *, console_first: bool
) -> None:
    with isolated():
        logger, console, plain, spy = _two_handlers(formatter_class, console_first=console_first)
        for number, level in enumerate(levels):
            logger.log(level, "fold %d done", number)
        console_lines = console.getvalue().splitlines()
        file_lines = plain.getvalue().splitlines()
    expect(
        len(console_lines) == len(levels),
        f"expected {len(levels)} console lines, saw {_show(console.getvalue())}.",
    )
    for number, level in enumerate(levels):
        name = logging.getLevelName(level)
        want_console = f"{LEVEL_COLOURS[name]}{name}{RESET} fold {number} done"
        want_file = f"{name} fold {number} done"
        expect(
            console_lines[number] == want_console,
            f"the console line for a {name} record should be {want_console!r}; "
            f"saw {console_lines[number]!r}.",
        )
        expect(
            number < len(file_lines) and file_lines[number] == want_file,
            f"the file handler formats the same record after the console; its line should be {want_file!r} "
            f"but it was {file_lines[number] if number < len(file_lines) else 'missing'!r}. "
            "ANSI codes in the file mean the colour formatter changed the shared LogRecord.",
        )
        seen = spy.records[number]
        expect(
            seen.levelname == name and not _ANSI.search(seen.getMessage()),
            "after formatting, the LogRecord should be unchanged (levelname "
            f"{name!r}, message without colour codes); a later handler saw levelname {seen.levelname!r} and "
            f"message {seen.getMessage()!r}.",
        )


def task_2(ColourFormatter: type[logging.Formatter]) -> None:
    """Public checks: the console is coloured, the file next to it is not."""
    _expect_colours(ColourFormatter, (logging.INFO, logging.WARNING), console_first=True)
    passed("5.2", hidden_checks=2)


def task_2_hidden(ColourFormatter: type[logging.Formatter]) -> None:
    """Hidden checks: every level, either handler order, the same record formatted twice."""
    levels = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)
    _expect_colours(ColourFormatter, levels, console_first=True)
    _expect_colours(ColourFormatter, levels, console_first=False)
    record = logging.makeLogRecord({"levelno": logging.ERROR, "levelname": "ERROR", "msg": "twice"})
    formatter = ColourFormatter("%(levelname)s %(message)s")
    first, second = formatter.format(record), formatter.format(record)
    expect(
        first == second,
        f"formatting the same record twice should give the same text; got {first!r} then {second!r}.",
    )
    print("Task 5.2: hidden checks passed.")


# --- Task 5.3 ---------------------------------------------------------------------------------------


def _console_calls(
    setup_console: Callable[..., object], calls: list[tuple[io.StringIO, str]], *, harness: bool = True
) -> tuple[list[str], list[str], list[logging.Handler], int]:
    with isolated():
        spy = ListHandler()
        spy.set_name("test-harness")
        root = logging.getLogger()
        if harness:
            root.addHandler(spy)
        for stream, level in calls:
            setup_console(stream, level)
        logging.getLogger("experiment").info("hello once 5301")
        logging.getLogger("experiment").warning("warning once 5302")
        return [s.getvalue() for s, _ in calls], spy.messages, list(root.handlers), root.level


def task_3(setup_console: Callable[..., object]) -> None:
    """Public checks: two calls leave one console handler, and the harness's handler untouched."""
    first, second = io.StringIO(), io.StringIO()
    outputs, harness, handlers, _ = _console_calls(setup_console, [(first, "INFO"), (second, "INFO")])
    last = outputs[-1]
    expect(
        last.count("hello once 5301") == 1,
        "after two calls, one INFO record should appear exactly once on the latest stream; it appeared "
        f"{last.count('hello once 5301')} times: {_show(last)}.",
    )
    expect(
        "hello once 5301" not in outputs[0],
        "the second call should replace the console handler from the first call, but the first stream still "
        f"received the record: {_show(outputs[0])}.",
    )
    expect(
        harness.count("hello once 5301") == 1,
        "setup_console() removed or duplicated a handler it did not install: another part of the program "
        f"had a handler on the root, and it received the record {harness.count('hello once 5301')} times "
        "instead of once. Remove only your own handler (find it by its name).",
    )
    expect(
        len(handlers) == 2,
        f"the root should end with two handlers (the harness's and one console); it has {len(handlers)}: "
        f"{[type(h).__name__ for h in handlers]}.",
    )
    passed("5.3", hidden_checks=2)


def task_3_hidden(setup_console: Callable[..., object]) -> None:
    """Hidden checks: the last call's level wins; the first call works on a bare root."""
    streams = [io.StringIO() for _ in range(3)]
    outputs, harness, handlers, _ = _console_calls(
        setup_console, [(streams[0], "INFO"), (streams[1], "DEBUG"), (streams[2], "WARNING")]
    )
    expect(
        harness == ["warning once 5302"],
        "the harness's own handler on the root should keep receiving records (here the one WARNING); "
        f"it received {harness}.",
    )
    expect(
        "warning once 5302" in outputs[2] and "hello once 5301" not in outputs[2],
        "after setup_console(stream, 'WARNING') the console should show WARNING but not INFO; it received "
        f"{_show(outputs[2])}.",
    )
    expect(
        not outputs[0] and not outputs[1],
        f"streams from earlier calls should receive nothing; they received {_show(outputs[0] + outputs[1])}.",
    )
    expect(len(handlers) == 2, f"expected two handlers on the root after three calls, found {len(handlers)}.")
    alone = io.StringIO()
    outputs, _, handlers, _ = _console_calls(setup_console, [(alone, "INFO")], harness=False)
    expect(
        outputs[0].count("hello once 5301") == 1 and len(handlers) == 1,
        "on a root with no handlers, one call should add one console handler that shows INFO; the stream "
        f"received {_show(outputs[0])} and the root has {len(handlers)} handler(s).",
    )
    print("Task 5.3: hidden checks passed.")


# --- Task 5.4 ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def _timezone(name: str) -> Iterator[None]:
    """Run a block with the process in another local time zone (a no-op where tzset is missing)."""
    if not hasattr(time, "tzset"):
        yield
        return
    saved = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


def _record(
    name: str, level: int, path: str, line: int, func: str, when: datetime, msg: str, args: tuple[object, ...]
) -> logging.LogRecord:
    record = logging.LogRecord(name, level, path, line, msg, args, None, func=func)
    record.created = when.timestamp()
    record.msecs = 0.0
    return record


def _expected_line(record: logging.LogRecord) -> str:
    stamp = datetime.fromtimestamp(record.created, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"{stamp} {record.levelname:<8} {record.name} {record.filename}:{record.lineno} "
        f"{record.funcName}: {record.getMessage()}"
    )


def _expect_format(make_file_formatter: Callable[[], logging.Formatter], record: logging.LogRecord) -> None:
    formatter = make_file_formatter()
    expect(
        isinstance(formatter, logging.Formatter),
        f"make_file_formatter() should return a logging.Formatter; it returned {formatter!r}.",
    )
    with _timezone("Asia/Kolkata"):
        line = formatter.format(record)
    want = _expected_line(record)
    expect(
        line == want,
        f"for this record the formatter should produce\n  {want!r}\nbut produced\n  {line!r}\n"
        "(the clock is set to a non-UTC zone here: a local timestamp means the converter is still "
        "local time).",
    )


def task_4(make_file_formatter: Callable[[], logging.Formatter]) -> None:
    """Public check: one WARNING record from a library module."""
    record = _record(
        "grade_predictor.model",
        logging.WARNING,
        "/srv/app/grade_predictor/model.py",
        42,
        "fit",
        datetime(2026, 1, 1, 9, 30, tzinfo=UTC),
        "fold %d has %d samples",
        (3, 12),
    )
    _expect_format(make_file_formatter, record)
    passed("5.4", hidden_checks=1)


def task_4_hidden(make_file_formatter: Callable[[], logging.Formatter]) -> None:
    """Hidden check: other level, name, file, line, function, time and arguments."""
    record = _record(
        "experiment.cv",
        logging.ERROR,
        "/home/student/project/cross_validation.py",
        7,
        "run_fold",
        datetime(2026, 7, 14, 23, 59, 58, tzinfo=UTC),
        "fold %s failed after %.1f s",
        ("4", 12.25),
    )
    _expect_format(make_file_formatter, record)
    print("Task 5.4: hidden checks passed.")
