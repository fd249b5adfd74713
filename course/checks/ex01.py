"""Checks for assignment 01, "Why not print()": levels, two streams and a timestamped formatter."""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable

from course.checks.support import ListHandler, expect, isolated, passed

__all__ = ["task_1", "task_1_hidden", "task_2", "task_2_hidden", "task_3", "task_3_hidden"]

REPORT_LOGGER = "cv_report"


def _run_report(report_folds: Callable[[dict], object], scores: dict) -> tuple[object, ListHandler, str]:
    """Call the student's report function with every record captured; return (result, records, stdout)."""
    with isolated() as out:
        handler = ListHandler()
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        result = report_folds(dict(scores))
    return result, handler, out.stdout


def _describe(records: list[logging.LogRecord]) -> str:
    return "; ".join(f"{r.levelname} {r.name!r}: {r.getMessage()!r}" for r in records) or "no records at all"


def _records_for_fold(handler: ListHandler, fold: int) -> list[logging.LogRecord]:
    prefix = f"fold {fold}"
    return [
        r
        for r in handler.records
        if r.getMessage().startswith(prefix) and not r.getMessage()[len(prefix) :][:1].isdigit()
    ]


def _check_report(report_folds: Callable[[dict], object], scores: dict, expected_mean: float | None) -> None:
    result, handler, stdout = _run_report(report_folds, scores)
    expect(
        not stdout,
        f"report_folds() printed {stdout!r} to stdout. Every line should be a log call on `log`, "
        "so that levels, routing and timestamps are up to the application.",
    )
    foreign = [r for r in handler.records if r.name != REPORT_LOGGER]
    expect(
        not foreign,
        f"Some records did not come from the {REPORT_LOGGER!r} logger: {_describe(foreign)}. "
        "Log through `log = logging.getLogger('cv_report')`, not through logging.info() (the root logger).",
    )
    for fold, value in scores.items():
        records = _records_for_fold(handler, fold)
        expect(
            len(records) == 1,
            f"Expected exactly one record starting with 'fold {fold}' for the score {value!r}; "
            f"saw {_describe(records)}.",
        )
        record = records[0]
        try:
            number = float(value)
        except (TypeError, ValueError):
            expect(
                record.levelno == logging.ERROR,
                f"fold {fold} has the unreadable score {value!r}: that is an ERROR, "
                f"but it was logged at {record.levelname}.",
            )
            expect(
                record.exc_info is not None and record.exc_info[0] is not None,
                f"The ERROR record for fold {fold} carries no traceback. Log it from inside the "
                "`except` block with log.exception(...), which attaches the exception.",
            )
            continue
        level = logging.INFO if 0.0 <= number <= 1.0 else logging.WARNING
        expect(
            record.levelno == level,
            f"fold {fold} with score {number!r} should be logged at {logging.getLevelName(level)}, "
            f"not {record.levelname} ({record.getMessage()!r}).",
        )
    if expected_mean is None:
        expect(
            result is None,
            f"No fold had a usable score, so report_folds() should return None, not {result!r}.",
        )
    else:
        expect(
            isinstance(result, float) and math.isclose(result, expected_mean, rel_tol=1e-9),
            f"report_folds() returned {result!r}; the mean of the usable scores is {expected_mean!r} "
            "(scores outside [0, 1] and unreadable ones are left out).",
        )


def task_1(report_folds: Callable[[dict], object]) -> None:
    """Task 1.1, public checks: INFO for normal folds, WARNING for an out-of-range score, no print()."""
    _check_report(report_folds, {1: 0.91, 2: 0.87, 3: 1.4}, expected_mean=0.89)
    passed("1.1")


def task_1_hidden(report_folds: Callable[[dict], object]) -> None:
    """Task 1.1, grading checks: an unreadable score is an ERROR with its traceback; no usable fold."""
    _check_report(report_folds, {1: 0.5, 2: "n/a", 3: -0.1, 4: 0.7, 10: 0.6}, expected_mean=0.6)
    _check_report(report_folds, {7: None, 8: 2.5}, expected_mean=None)
    print("Task 1.1: grading checks passed.")


def _run_streams(
    configure_streams: Callable[[logging.Logger], object], name: str, calls: list[tuple[int, str]]
):
    with isolated() as out:
        logger = logging.getLogger(name)
        configure_streams(logger)
        root_handlers = list(logging.getLogger().handlers)
        level = logger.level
        for levelno, message in calls:
            logger.log(levelno, message)
    return out.stdout, out.stderr, root_handlers, level


def task_2(configure_streams: Callable[[logging.Logger], object]) -> None:
    """Task 1.2, public checks: INFO lines on stdout, WARNING lines on stderr, each exactly once."""
    stdout, stderr, _, _ = _run_streams(
        configure_streams,
        "fold_runner",
        [(logging.INFO, "fold 1: accuracy 0.910"), (logging.WARNING, "fold 3 has only 12 rows")],
    )
    expect(
        stdout == "INFO: fold 1: accuracy 0.910\n",
        "stdout should hold exactly the INFO line 'INFO: fold 1: accuracy 0.910' (format "
        f"'%(levelname)s: %(message)s'); it held {stdout!r}.",
    )
    expect(
        stderr == "WARNING: fold 3 has only 12 rows\n",
        f"stderr should hold exactly the line 'WARNING: fold 3 has only 12 rows'; it held {stderr!r}.",
    )
    passed("1.2")


def task_2_hidden(configure_streams: Callable[[logging.Logger], object]) -> None:
    """Task 1.2, grading checks: DEBUG goes nowhere, ERROR/CRITICAL only to stderr, root untouched."""
    stdout, stderr, root_handlers, level = _run_streams(
        configure_streams,
        "pipeline.cv",
        [
            (logging.DEBUG, "gradient norm 0.002"),
            (logging.INFO, "epoch 2 done"),
            (logging.ERROR, "fold 4 failed"),
            (logging.CRITICAL, "out of memory"),
        ],
    )
    expect(
        level == logging.INFO,
        f"The logger should be set to INFO, but its level is {logging.getLevelName(level)}.",
    )
    expect(
        not root_handlers,
        "configure_streams() added handlers to the root logger; attach them to the logger it was given.",
    )
    expect(
        stdout == "INFO: epoch 2 done\n", f"stdout should hold only 'INFO: epoch 2 done', it held {stdout!r}."
    )
    expect(
        stderr == "ERROR: fold 4 failed\nCRITICAL: out of memory\n",
        f"stderr should hold the ERROR and CRITICAL lines once each, it held {stderr!r}.",
    )
    print("Task 1.2: grading checks passed.")


def _record(name: str, level: int, msg: str, args: tuple, created: float, exc_info=None) -> logging.LogRecord:
    record = logging.LogRecord(name, level, __file__, 1, msg, args, exc_info)
    record.created = created
    record.msecs = (created - int(created)) * 1000
    return record


def _expected_stamp(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(created))


def task_3(make_formatter: Callable[[], logging.Formatter]) -> None:
    """Task 1.3, public checks: timestamp, level, logger name and merged message on one line."""
    formatter = make_formatter()
    expect(
        isinstance(formatter, logging.Formatter),
        f"make_formatter() should return a logging.Formatter, not {type(formatter).__name__}.",
    )
    created = 1_767_225_600.25
    line = formatter.format(
        _record(REPORT_LOGGER, logging.INFO, "fold %d: accuracy %.3f", (1, 0.91), created)
    )
    expected = f"{_expected_stamp(created)} INFO cv_report: fold 1: accuracy 0.910"
    expect(line == expected, f"Expected the line {expected!r}, got {line!r}.")
    passed("1.3")


def task_3_hidden(make_formatter: Callable[[], logging.Formatter]) -> None:
    """Task 1.3, grading checks: the record's own time is used, and tracebacks still follow the line."""
    formatter = make_formatter()
    created = 1_700_000_000.999
    line = formatter.format(_record("grade_predictor.core", logging.WARNING, "%s rows", (12,), created))
    expected = f"{_expected_stamp(created)} WARNING grade_predictor.core: 12 rows"
    expect(line == expected, f"Expected {expected!r} (the time the record was created), got {line!r}.")
    try:
        raise ValueError("shape mismatch (32, 10) vs (32, 8)")
    except ValueError:
        exc_info = sys.exc_info()
    text = formatter.format(_record(REPORT_LOGGER, logging.ERROR, "fold 3 failed", (), created, exc_info))
    first, _, rest = text.partition("\n")
    expect(
        first == f"{_expected_stamp(created)} ERROR cv_report: fold 3 failed",
        f"The first line of an ERROR record with a traceback was {first!r}.",
    )
    expect(
        "Traceback (most recent call last)" in rest and "ValueError: shape mismatch" in rest,
        "A record logged with log.exception() should be followed by its traceback; the formatter dropped it.",
    )
    print("Task 1.3: grading checks passed.")
