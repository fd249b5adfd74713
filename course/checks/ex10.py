"""Checks for assignment 10: loguru for experiment scripts.

Every check captures loguru output with its own sinks (a list, or the stream the student is given),
never with loguru's default stderr sink, and runs under :func:`isolated`, which removes every sink
afterwards.
"""

from __future__ import annotations

import logging
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loguru import logger

from course.checks.support import expect, isolated, passed

__all__ = [
    "task_1",
    "task_1_hidden",
    "task_2",
    "task_2_hidden",
    "task_3",
    "task_3_hidden",
    "task_4",
    "task_4_hidden",
]

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} ")


def _record_sink(records: list[dict[str, Any]]) -> Callable[[Any], None]:
    """A loguru sink that keeps the record dict of every message it receives."""

    def sink(message: Any) -> None:
        records.append(message.record)

    return sink


def _lines(collected: list[str]) -> list[str]:
    return [str(line).rstrip("\n") for line in collected]


def _stderr_note(stderr: str) -> str:
    return f"\nstderr received:\n{stderr.strip()[:600]}" if stderr.strip() else ""


# --- Task 10.1: sinks -------------------------------------------------------------------------------


def _run_sinks(setup_logging: Callable[[Path, Callable[[str], None]], None], emit: Callable[[], None]):
    console: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, isolated() as captured:
        log_file = Path(tmp) / "experiment.log"
        logger.add(sys.stderr)  # what a fresh `from loguru import logger` starts with
        setup_logging(log_file, console.append)
        emit()
        logger.remove()  # close the file sink before reading it
        file_lines = log_file.read_text(encoding="utf-8").splitlines() if log_file.exists() else None
    return _lines(console), file_lines, captured


def _check_sinks(
    setup_logging: Callable[[Path, Callable[[str], None]], None],
    messages: list[tuple[str, str]],
) -> None:
    def emit() -> None:
        for level, text in messages:
            logger.log(level, text)

    console, file_lines, captured = _run_sinks(setup_logging, emit)
    expect(
        not captured.stderr,
        "loguru still wrote to stderr: remove its default sink with logger.remove() before adding yours."
        + _stderr_note(captured.stderr),
    )
    wanted_console = [
        f"{level:<8} | {text}"
        for level, text in messages
        if logger.level(level).no >= logger.level("INFO").no
    ]
    expect(
        console == wanted_console,
        "the console sink should receive INFO and above, formatted '{level: <8} | {message}'.\n"
        f"expected: {wanted_console}\nseen:     {console}",
    )
    expect(file_lines is not None, "setup_logging() did not create the log file it was given.")
    assert file_lines is not None
    wanted_file = [
        (level, text) for level, text in messages if logger.level(level).no >= logger.level("DEBUG").no
    ]
    expect(
        len(file_lines) == len(wanted_file),
        f"the file sink should keep DEBUG and above: {len(wanted_file)} lines expected, "
        f"{len(file_lines)} seen:\n" + "\n".join(file_lines),
    )
    for line, (level, text) in zip(file_lines, wanted_file, strict=True):
        expect(
            _TIMESTAMP.match(line) and f"| {level:<8} | {text}" in line,
            "each file line should read 'YYYY-MM-DD HH:mm:ss | LEVEL    | message'.\n"
            f"expected a line for {level} {text!r}, seen: {line!r}",
        )


def task_1(setup_logging: Callable[[Path, Callable[[str], None]], None]) -> None:
    """Task 10.1: a console function sink at INFO and a file sink at DEBUG, no default stderr sink."""
    _check_sinks(
        setup_logging,
        [("DEBUG", "loaded 120 rows"), ("INFO", "training started"), ("WARNING", "fold 3 has 12 rows")],
    )
    passed("10.1", hidden_checks=1)


def task_1_hidden(setup_logging: Callable[[Path, Callable[[str], None]], None]) -> None:
    """Hidden: TRACE is below both sinks, ERROR reaches both, braces in messages are kept."""
    _check_sinks(
        setup_logging,
        [
            ("TRACE", "gradient norms computed"),
            ("ERROR", "fold {2} failed"),
            ("SUCCESS", "run finished"),
            ("DEBUG", "epoch 4 loss=0.25"),
        ],
    )


# --- Task 10.2: bound context with defaults -----------------------------------------------------------


def _check_context(run_experiment: Callable[..., None], run_id: str, folds: list[int]) -> None:
    lines: list[str] = []
    with isolated() as captured:
        run_experiment(lines.append, run_id, folds)
        logger.info("written after run_experiment returned")
    seen = _lines(lines)
    expected = [
        f"run={run_id} fold=- | experiment started",
        *[f"run={run_id} fold={fold} | training fold" for fold in folds],
        f"run={run_id} fold=- | experiment finished",
        f"run={run_id} fold=- | written after run_experiment returned",
    ]
    note = _stderr_note(captured.stderr)
    if "Logging error in Loguru Handler" in captured.stderr:
        note += (
            "\nloguru could not format a record: a format that uses {extra[fold]} needs a default for "
            "records logged without a bound fold (logger.configure(extra=...))."
        )
    expect(
        seen == expected,
        "the sink should receive exactly these lines (the last one is logged by the checker after your "
        f"function returned, with no context bound):\nexpected: {expected}\nseen:     {seen}{note}",
    )


def task_2(run_experiment: Callable[..., None]) -> None:
    """Task 10.2: run_id on every line, fold while a fold runs, '-' otherwise, and no format errors."""
    _check_context(run_experiment, "run-0042", [1, 2])
    passed("10.2", hidden_checks=1)


def task_2_hidden(run_experiment: Callable[..., None]) -> None:
    """Hidden: another run id and three folds; the fold must not leak past the loop."""
    _check_context(run_experiment, "exp-7f3a", [3, 4, 5])


# --- Task 10.3: @logger.catch that reraises --------------------------------------------------------------


def _check_catch(train_fold: Callable[[int], float], failing: int, working: int) -> None:
    records: list[dict[str, Any]] = []
    with isolated() as captured:
        logger.add(_record_sink(records), level="DEBUG")
        try:
            score = train_fold(working)
        except Exception as error:  # reported to the student below
            raise AssertionError(f"train_fold({working}) should succeed, but raised {error!r}") from None
        expect(
            score == 0.9,
            f"train_fold({working}) should return 0.9 as before; it returned {score!r}",
        )
        raised: BaseException | None = None
        try:
            train_fold(failing)
        except ValueError as error:
            raised = error
    expect(
        raised is not None,
        f"train_fold({failing}) returned normally: the ValueError was swallowed, so the script would exit "
        "with status 0 after a crash. Let the exception propagate (logger.catch(reraise=True)).",
    )
    errors = [r for r in records if r["level"].name == "ERROR"]
    expect(
        len(errors) == 1,
        f"the failure should be logged exactly once at ERROR; {len(errors)} ERROR records seen: "
        f"{[r['message'] for r in errors]}",
    )
    expect(
        errors[0]["exception"] is not None and errors[0]["exception"].type is ValueError,
        "the ERROR record should carry the ValueError's traceback (what @logger.catch records); "
        f"its exception was {errors[0]['exception']!r}",
    )
    expect(not captured.stderr, "nothing should be written to stderr here." + _stderr_note(captured.stderr))


def task_3(train_fold: Callable[[int], float]) -> None:
    """Task 10.3: the failure is logged with its traceback and still propagates."""
    _check_catch(train_fold, failing=2, working=1)
    passed("10.3", hidden_checks=1)


def task_3_hidden(train_fold: Callable[[int], float]) -> None:
    """Hidden: the same with other folds, in the opposite order."""
    _check_catch(train_fold, failing=2, working=5)


# --- Task 10.4: intercept stdlib records ----------------------------------------------------------------


def _check_intercept(install_intercept: Callable[[], None], hidden: bool) -> None:
    records: list[dict[str, Any]] = []
    with isolated() as captured:
        logging.getLogger("urllib3").addHandler(logging.NullHandler())  # keeps lastResort quiet
        install_intercept()
        logger.add(_record_sink(records), level="TRACE")
        model = logging.getLogger("grade_predictor.model")
        model.debug("epoch %d loss=%.3f", 1, 0.5)
        model.info("fitted %s on %d rows", "linear-v1", 120)
        model.warning("fold %d has only %d rows", 3, 12)
        if hidden:
            logging.getLogger("grade_predictor").error("validation failed for %s", "fold-2")
            logging.getLogger("urllib3.connectionpool").warning("retrying connection")
            try:
                raise ZeroDivisionError("no rows in fold 4")
            except ZeroDivisionError:
                model.exception("fold %d crashed", 4)
    seen = [(r["level"].name, r["message"]) for r in records]
    expected = [("INFO", "fitted linear-v1 on 120 rows"), ("WARNING", "fold 3 has only 12 rows")]
    if hidden:
        expected += [("ERROR", "validation failed for fold-2"), ("ERROR", "fold 4 crashed")]
    expect(
        seen == expected,
        "loguru should receive grade_predictor's INFO-and-above records, each at its own level and with its "
        f"%-arguments merged in (and nothing from other libraries).\nexpected: {expected}\nseen:     {seen}",
    )
    if hidden:
        expect(
            records[-1]["exception"] is not None and records[-1]["exception"].type is ZeroDivisionError,
            "a record logged with logger.exception() should reach loguru with its traceback "
            "(pass exception=record.exc_info to logger.opt()).",
        )
    expect(not captured.stderr, "nothing should be written to stderr here." + _stderr_note(captured.stderr))


def task_4(install_intercept: Callable[[], None]) -> None:
    """Task 10.4: grade_predictor's stdlib records arrive in loguru at their own level."""
    _check_intercept(install_intercept, hidden=False)
    passed("10.4", hidden_checks=1)


def task_4_hidden(install_intercept: Callable[[], None]) -> None:
    """Hidden: ERROR from the package logger, a traceback, and another library's record kept out."""
    _check_intercept(install_intercept, hidden=True)
