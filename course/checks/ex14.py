"""Checks for assignment 14: testing and operating logs.

Tasks 14.1 and 14.2 grade capture helpers by using them on loggers that pytest's ``caplog`` cannot see.
Task 14.3 grades a student's test by running it against a correct function and against broken ones
(mutants): a good test passes on the first and fails on every mutant. Task 14.4 counts calls of an
expensive function instead of timing anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import structlog
from loguru import logger as loguru_logger

from course.checks.support import ListHandler, expect, isolated, passed

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

RecordCapture = Callable[..., AbstractContextManager[list[logging.LogRecord]]]
LoguruCapture = Callable[..., AbstractContextManager[list[dict[str, Any]]]]


class _Planned(Exception):
    """Raised inside a capture block on purpose, to see that the helper cleans up anyway."""


def _output_note(captured: Any) -> str:
    note = ""
    if captured.stdout:
        note += f"\nstdout received:\n{captured.stdout.strip()[:500]}"
    if captured.stderr:
        note += f"\nstderr received:\n{captured.stderr.strip()[:500]}"
    return note


# --- Task 14.1: capture a logger that does not propagate ------------------------------------------------


def _audit_logger(name: str, *, propagate: bool) -> tuple[logging.Logger, ListHandler]:
    """A logger configured the way an application might: its own handler, WARNING, maybe not propagating."""
    audit = logging.getLogger(name)
    own = ListHandler()
    audit.addHandler(own)
    audit.setLevel(logging.WARNING)
    audit.propagate = propagate
    return audit, own


def _check_capture_records(capture_records: RecordCapture, *, propagate: bool, hidden: bool) -> None:
    name = "grade_service.audit"
    with isolated() as captured:
        audit, own = _audit_logger(name, propagate=propagate)
        logging.getLogger().addHandler(logging.NullHandler())  # keeps logging's last resort quiet
        with capture_records(name) as records:
            audit.debug("cache miss for %s", "features:42")
            audit.info("request %s accepted", "req-1")
            logging.getLogger(f"{name}.db").warning("slow query: %d ms", 812)
        inside = [(r.levelname, r.getMessage()) for r in records]
        audit.error("after the block")
        after = len(records)
        handlers_after = list(audit.handlers)
        level_after = audit.level
        leftover: list[Any] = []
        escaped = False
        if hidden:
            try:
                with capture_records(name) as failing:
                    audit.info("about to fail")
                    raise _Planned
            except _Planned:
                escaped = True
            leftover = [h for h in audit.handlers if h is not own]
            audit.error("after the failing block")
            hidden_seen = [r.getMessage() for r in failing]
    wanted = [
        ("DEBUG", "cache miss for features:42"),
        ("INFO", "request req-1 accepted"),
        ("WARNING", "slow query: 812 ms"),
    ]
    expect(
        inside == wanted,
        f"inside the block, every record of {name!r} and its children should be captured, DEBUG included, "
        f"even though the logger has propagate={propagate} and level WARNING (caplog sees nothing here).\n"
        f"expected: {wanted}\nseen:     {inside}",
    )
    expect(after == len(wanted), "records logged after the block ended should not be captured any more.")
    expect(
        handlers_after == [own],
        f"after the block the logger should have exactly its own handlers again; it has {handlers_after}",
    )
    expect(
        level_after == logging.WARNING,
        "after the block the logger's level should be back to WARNING; it is "
        f"{logging.getLevelName(level_after)}",
    )
    expect(
        not captured.stdout and not captured.stderr, "capturing printed something." + _output_note(captured)
    )
    if hidden:
        expect(escaped, "an exception raised inside the block should propagate out of it.")
        expect(
            not leftover,
            "after a block that raised, the capture handler should be gone too (use try/finally); "
            f"left: {leftover}",
        )
        expect(
            hidden_seen == ["about to fail"],
            f"after a block that raised, nothing more should be captured; the list holds {hidden_seen}",
        )


def task_1(capture_records: RecordCapture) -> None:
    """Task 14.1: records of a non-propagating logger captured, state restored afterwards."""
    _check_capture_records(capture_records, propagate=False, hidden=False)
    passed("14.1", hidden_checks=1)


def task_1_hidden(capture_records: RecordCapture) -> None:
    """Hidden: a propagating logger too, and cleanup when the block raises."""
    _check_capture_records(capture_records, propagate=True, hidden=True)


# --- Task 14.2: capture loguru ---------------------------------------------------------------------------


def _check_capture_loguru(capture_loguru: LoguruCapture, *, hidden: bool) -> None:
    production: list[str] = []
    with isolated() as captured:
        loguru_logger.add(production.append, level="TRACE", format="{level} {message}")
        with capture_loguru() as records:
            loguru_logger.bind(run_id="run-0042").info("fold {} done", 2)
            loguru_logger.debug("loss={loss:.2f}", loss=0.25)
            loguru_logger.trace("gradient details")
        kinds = sorted({type(r).__name__ for r in records if not isinstance(r, dict)})
        inside = [
            (r["level"].name, r["message"], r["extra"].get("run_id")) for r in records if isinstance(r, dict)
        ]
        loguru_logger.info("after the block")
        after = len(records)
        at_warning: list[tuple[str, str]] = []
        escaped = False
        failing: list[dict[str, Any]] = []
        if hidden:
            with capture_loguru(level="WARNING") as warnings_only:
                loguru_logger.info("ignored at WARNING")
                loguru_logger.error("fold {} failed", 3)
            at_warning = [(r["level"].name, r["message"]) for r in warnings_only]
            try:
                with capture_loguru() as failing:
                    loguru_logger.info("about to fail")
                    raise _Planned
            except _Planned:
                escaped = True
            loguru_logger.info("after the failing block")
    wanted = [("INFO", "fold 2 done", "run-0042"), ("DEBUG", "loss=0.25", None)]
    expect(
        not kinds,
        f"the list should hold loguru's record dicts (message.record), not {', '.join(kinds)} objects: a "
        "record keeps the level, the extras and the exception that formatted text loses.",
    )
    expect(
        inside == wanted,
        "the list should receive loguru's record dicts (message.record) from DEBUG up, with their bound "
        f"extras.\nexpected (level, message, run_id): {wanted}\nseen:                              {inside}",
    )
    expect(after == len(wanted), "records logged after the block ended should not be captured any more.")
    expect(
        bool(production)
        and production[-1].rstrip("\n").endswith(("after the block", "after the failing block")),
        "the application's own sink stopped receiving records after your block: remove only the sink you "
        "added (logger.remove(sink_id)), not every sink.\n"
        f"the application's sink received: {production}",
    )
    expect(
        not captured.stdout and not captured.stderr, "capturing printed something." + _output_note(captured)
    )
    if hidden:
        expect(
            at_warning == [("ERROR", "fold 3 failed")],
            f"capture_loguru(level='WARNING') should keep only WARNING and above; it kept {at_warning}",
        )
        expect(escaped, "an exception raised inside the block should propagate out of it.")
        expect(
            [r["message"] for r in failing] == ["about to fail"],
            "after a block that raised, the capture sink should be removed too (use try/finally); the list "
            f"holds {[r['message'] for r in failing]}",
        )


def task_2(capture_loguru: LoguruCapture) -> None:
    """Task 14.2: loguru records captured in a list, the application's sinks left alone."""
    _check_capture_loguru(capture_loguru, hidden=False)
    passed("14.2", hidden_checks=1)


def task_2_hidden(capture_loguru: LoguruCapture) -> None:
    """Hidden: the level argument, and cleanup when the block raises."""
    _check_capture_loguru(capture_loguru, hidden=True)


# --- Task 14.3: a test that catches broken logging --------------------------------------------------------


def _predict_ok(scores: list[float]) -> float:
    """The correct behaviour the student's test must accept."""
    log = structlog.get_logger("grade_service.model")
    log.debug("features_loaded", n_features=len(scores))
    grade = sum(scores) / len(scores)
    log.info("prediction_made", grade=grade, n_scores=len(scores))
    return grade


def _predict_renamed_event(scores: list[float]) -> float:
    """Mutant: the event was renamed, so dashboards filtering on prediction_made go blank."""
    grade = sum(scores) / len(scores)
    structlog.get_logger().info("predicted", grade=grade, n_scores=len(scores))
    return grade


def _predict_at_debug(scores: list[float]) -> float:
    """Mutant: the prediction is logged at DEBUG, which production drops."""
    grade = sum(scores) / len(scores)
    structlog.get_logger().debug("prediction_made", grade=grade, n_scores=len(scores))
    return grade


def _predict_grade_as_text(scores: list[float]) -> float:
    """Mutant: the grade is logged as a formatted string, so numeric queries on it fail."""
    grade = sum(scores) / len(scores)
    structlog.get_logger().info("prediction_made", grade=f"{grade:.1f}", n_scores=len(scores))
    return grade


def _predict_leaks_student_id(scores: list[float]) -> float:
    """Mutant: a debugging line logs the student's id (personal data)."""
    log = structlog.get_logger()
    log.debug("features_loaded", n_features=len(scores), student_id="S-TEST-0042")
    grade = sum(scores) / len(scores)
    log.info("prediction_made", grade=grade, n_scores=len(scores))
    return grade


def _predict_logged_twice(scores: list[float]) -> float:
    """Mutant: the prediction event is emitted twice, doubling every count on the dashboard."""
    log = structlog.get_logger()
    grade = sum(scores) / len(scores)
    log.info("prediction_made", grade=grade, n_scores=len(scores))
    log.info("prediction_made", grade=grade, n_scores=len(scores))
    return grade


def _predict_wrong_count(scores: list[float]) -> float:
    """Mutant: n_scores is off by one."""
    grade = sum(scores) / len(scores)
    structlog.get_logger().info("prediction_made", grade=grade, n_scores=len(scores) - 1)
    return grade


def _run_student_test(
    test: Callable[[Callable[[list[float]], float]], None], predict: Callable
) -> Exception | None:
    """Run the student's test on ``predict``; return what it raised, or None if it passed."""
    with isolated():
        try:
            test(predict)
        except Exception as error:  # any exception is a failing test, as in pytest
            return error
    return None


def _check_mutants(test: Callable[[Callable[[list[float]], float]], None], mutants: list[Callable]) -> None:
    error = _run_student_test(test, _predict_ok)
    expect(
        error is None,
        "your test should pass for a correct predict() (one that also logs a DEBUG 'features_loaded' "
        f"event), but it raised {error!r}",
    )
    for mutant in mutants:
        error = _run_student_test(test, mutant)
        expect(
            error is not None,
            f"your test passed for a broken predict(): {mutant.__doc__.removeprefix('Mutant: ')} "
            "A test that cannot fail there does not protect that behaviour.",
        )


def task_3(test_prediction_logging: Callable[[Callable[[list[float]], float]], None]) -> None:
    """Task 14.3: the student's test accepts the correct function and rejects the broken ones."""
    _check_mutants(
        test_prediction_logging, [_predict_renamed_event, _predict_at_debug, _predict_grade_as_text]
    )
    passed("14.3", hidden_checks=1)


def task_3_hidden(test_prediction_logging: Callable[[Callable[[list[float]], float]], None]) -> None:
    """Hidden: personal data in another event, a duplicated event, a wrong count."""
    _check_mutants(
        test_prediction_logging, [_predict_leaks_student_id, _predict_logged_twice, _predict_wrong_count]
    )


# --- Task 14.4: a debug line that costs nothing when it is off -------------------------------------------


class _Summarizer:
    """An expensive summary function that counts how often it is called."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, batch: list[float]) -> str:
        self.calls += 1
        return f"n={len(batch)} mean={sum(batch) / len(batch):.2f}"


def _check_cheap_logging(log_batch_summary: Callable[..., None], *, hidden: bool) -> None:
    batch = [0.25, 0.5, 0.75]
    with isolated() as captured:
        parent = logging.getLogger("trainer")
        parent.setLevel(logging.INFO)
        spy = ListHandler()
        parent.addHandler(spy)
        loop = logging.getLogger("trainer.loop")  # NOTSET: its effective level comes from "trainer"

        off = _Summarizer()
        for _ in range(50):
            log_batch_summary(loop, batch, off)
        records_when_off = len(spy.records)

        parent.setLevel(logging.DEBUG)
        on = _Summarizer()
        log_batch_summary(loop, batch, on)
        messages_when_on = spy.lines[records_when_off:]  # formatted once, by the handler
        levels_when_on = [r.levelname for r in spy.records[records_when_off:]]

        disabled = _Summarizer()
        if hidden:
            logging.disable(logging.DEBUG)
            for _ in range(10):
                log_batch_summary(loop, batch, disabled)
            logging.disable(logging.NOTSET)
    expect(
        off.calls == 0 and records_when_off == 0,
        f"with the logger's effective level at INFO, the summary should never be computed: 50 calls of "
        f"log_batch_summary() called summarize() {off.calls} times. Arguments are evaluated before "
        "logger.debug() runs, %-style or not; only a check like logger.isEnabledFor(logging.DEBUG) "
        "skips them.",
    )
    expect(
        on.calls >= 1
        and messages_when_on == ["batch summary: n=3 mean=0.50"]
        and levels_when_on == ["DEBUG"],
        "with DEBUG enabled, one call should compute the summary and log one DEBUG record "
        f"'batch summary: n=3 mean=0.50'; summarize() ran {on.calls} times and the records were "
        f"{list(zip(levels_when_on, messages_when_on, strict=True))}",
    )
    if hidden:
        expect(
            disabled.calls == 0,
            "with logging.disable(logging.DEBUG) in force, the summary should not be computed either; it was "
            f"computed {disabled.calls} times. logger.isEnabledFor() accounts for logging.disable(), "
            "getEffectiveLevel() does not.",
        )
    expect(not captured.stdout and not captured.stderr, "logging printed something." + _output_note(captured))


def task_4(log_batch_summary: Callable[..., None]) -> None:
    """Task 14.4: the expensive summary is computed only when DEBUG is enabled."""
    _check_cheap_logging(log_batch_summary, hidden=False)
    passed("14.4", hidden_checks=1)


def task_4_hidden(log_batch_summary: Callable[..., None]) -> None:
    """Hidden: logging.disable() must skip the work as well."""
    _check_cheap_logging(log_batch_summary, hidden=True)
