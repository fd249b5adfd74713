"""Checks for assignment 02, "Levels and basicConfig": thresholds, a script's setup, levels from text."""

from __future__ import annotations

import logging
from collections.abc import Callable

from course.checks.support import ListHandler, expect, isolated, passed

__all__ = ["task_1", "task_1_hidden", "task_2", "task_2_hidden", "task_3", "task_3_hidden"]

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _observed(logger_level: int, handler_level: int) -> list[str]:
    """What logging itself emits: the root at ``logger_level``, one handler at ``handler_level``."""
    with isolated():
        root = logging.getLogger()
        root.setLevel(logger_level)
        handler = ListHandler(handler_level)
        root.addHandler(handler)
        for name in LEVELS:
            logging.getLogger("script").log(logging.getLevelName(name), "a %s call", name)
        return [record.levelname for record in handler.records]


def _check_emitted(emitted: Callable[[int, int], object], pairs: list[tuple[int, int]]) -> None:
    for logger_level, handler_level in pairs:
        with isolated():
            answer = emitted(logger_level, handler_level)
        truth = _observed(logger_level, handler_level)
        expect(
            isinstance(answer, list),
            f"emitted({logger_level}, {handler_level}) should return a list, not {type(answer).__name__}.",
        )
        expect(
            answer == truth,
            f"With the root logger at {logger_level} ({logging.getLevelName(logger_level)}) and its handler "
            f"at "
            f"{handler_level} ({logging.getLevelName(handler_level)}), logging emits {truth}; "
            f"emitted() said {answer}.",
        )


def task_1(emitted: Callable[[int, int], object]) -> None:
    """Task 2.1, public checks: the usual named levels on logger and handler."""
    _check_emitted(
        emitted,
        [
            (logging.INFO, logging.NOTSET),
            (logging.DEBUG, logging.WARNING),
            (logging.WARNING, logging.DEBUG),
            (logging.ERROR, logging.ERROR),
        ],
    )
    passed("2.1")


def task_1_hidden(emitted: Callable[[int, int], object]) -> None:
    """Task 2.1, grading checks: NOTSET on the root, levels between the named ones, a level above all."""
    _check_emitted(
        emitted,
        [(0, 0), (25, 0), (0, 45), (50, 10), (60, 0), (30, 30), (15, 20), (10, 41)],
    )
    print("Task 2.1: grading checks passed.")


class _ClosingWatcher(ListHandler):
    """A handler that remembers whether it was closed (a stand-in for an open log file)."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.was_closed = False

    def close(self) -> None:
        self.was_closed = True
        super().close()


def _setup_and_log(setup: Callable[..., object], levels: list[object]):
    """Pre-install a handler on the root, call setup() once per level, then log one record per level."""
    with isolated() as out:
        stale = _ClosingWatcher()
        logging.getLogger().addHandler(stale)
        for level in levels:
            setup(level)
        handlers = list(logging.getLogger().handlers)
        root_level = logging.getLogger().level
        log = logging.getLogger("train")
        for name in LEVELS:
            log.log(logging.getLevelName(name), "%s line", name.lower())
    return out.stdout, stale, handlers, root_level


def task_2(setup_script_logging: Callable[..., object]) -> None:
    """Task 2.2, public checks: the setup takes effect even though the root already has a handler."""
    stdout, stale, handlers, root_level = _setup_and_log(setup_script_logging, ["INFO"])
    expect(
        stale not in handlers,
        "The handler that was already on the root logger is still attached, so its lines still come out. "
        "basicConfig() does nothing when the root has a handler, unless you pass force=True; adding a "
        "handler yourself leaves the old one in place.",
    )
    expect(
        len(handlers) == 1, f"The root logger should end with exactly one handler, it has {len(handlers)}."
    )
    expect(
        root_level == logging.INFO,
        f"The root logger's level is {logging.getLevelName(root_level)}, not INFO.",
    )
    expected = "".join(f"{name} train: {name.lower()} line\n" for name in LEVELS[1:])
    expect(
        stdout == expected,
        f"stdout should show the INFO-and-above lines in the format '%(levelname)s %(name)s: %(message)s': "
        f"expected {expected!r}, got {stdout!r}.",
    )
    passed("2.2")


def task_2_hidden(setup_script_logging: Callable[..., object]) -> None:
    """Task 2.2, grading checks: replaced handlers are closed; calling twice leaves one handler."""
    stdout, stale, handlers, root_level = _setup_and_log(setup_script_logging, ["DEBUG", logging.ERROR])
    expect(
        stale.was_closed,
        "The handler that was on the root before was removed but never closed (a FileHandler would keep "
        "its file open). basicConfig(force=True) closes the handlers it removes.",
    )
    expect(
        len(handlers) == 1,
        f"After two calls the root logger has {len(handlers)} handlers; it should have one.",
    )
    expect(root_level == logging.ERROR, f"The second call's level should win; the root is at {root_level}.")
    expect(
        stdout == "ERROR train: error line\nCRITICAL train: critical line\n",
        "After setup_script_logging(logging.ERROR), stdout should show the ERROR and CRITICAL lines once "
        f"each; it showed {stdout!r}.",
    )
    print("Task 2.2: grading checks passed.")


def _expect_level(parse_level: Callable[[object], object], value: object, expected: int) -> None:
    with isolated():
        result = parse_level(value)
    expect(
        type(result) is int and result == expected,
        f"parse_level({value!r}) should return {expected}, it returned {result!r}.",
    )


def _expect_rejected(parse_level: Callable[[object], object], value: object) -> None:
    try:
        with isolated():
            result = parse_level(value)
    except ValueError as error:
        expect(
            repr(value) in str(error) or str(value) in str(error),
            f"parse_level({value!r}) raised ValueError, but its message {str(error)!r} does not quote the "
            "bad value; say what was wrong so the user can fix the setting.",
        )
        return
    except Exception as error:  # any other exception is the wrong kind of failure
        raise AssertionError(
            f"parse_level({value!r}) raised {type(error).__name__}: {error}; it should raise ValueError."
        ) from None
    raise AssertionError(f"parse_level({value!r}) returned {result!r}; it should raise ValueError.")


def task_3(parse_level: Callable[[object], object]) -> None:
    """Task 2.3, public checks: names in any case, numbers as text, junk rejected."""
    for value, expected in [("debug", 10), ("WARNING", 30), ("15", 15), (" info ", 20), (40, 40)]:
        _expect_level(parse_level, value, expected)
    _expect_rejected(parse_level, "verbose")
    passed("2.3")


def task_3_hidden(parse_level: Callable[[object], object]) -> None:
    """Task 2.3, grading checks: aliases, custom levels registered with logging, more kinds of junk."""
    for value, expected in [("Warn", 30), ("critical", 50), ("0", 0), (35, 35), ("error\n", 40)]:
        _expect_level(parse_level, value, expected)
    logging.addLevelName(25, "NOTICE")
    try:
        _expect_level(parse_level, "notice", 25)
    finally:
        logging._levelToName.pop(25, None)  # type: ignore[attr-defined]
        logging._nameToLevel.pop("NOTICE", None)  # type: ignore[attr-defined]
    for junk in ["", "-5", "1.5", "Level 15", "informational", -10]:
        _expect_rejected(parse_level, junk)
    print("Task 2.3: grading checks passed.")
