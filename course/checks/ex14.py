"""Checks for assignment 14: testing and operating logs.

Tasks 14.1 and 14.2 grade capture helpers by using them on loggers that pytest's ``caplog`` cannot see.
Task 14.3 grades a student's test by running it against a correct function and against broken ones
(mutants): a good test passes on the first and fails on every mutant. Task 14.4 counts calls of an
expensive function instead of timing anything. Task 14.5 runs a worker's logging setup in this process
and sends its records through pickle, as a process boundary would.
"""

from __future__ import annotations

import logging
import pickle
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import structlog
from loguru import logger as loguru_logger

from course.checks.support import ListHandler, expect, isolated, output_note, passed

__all__ = [
    "task_1",
    "task_1_hidden",
    "task_2",
    "task_2_hidden",
    "task_3",
    "task_3_hidden",
    "task_4",
    "task_4_hidden",
    "task_5",
    "task_5_hidden",
]

RecordCapture = Callable[..., AbstractContextManager[list[logging.LogRecord]]]
LoguruCapture = Callable[..., AbstractContextManager[list[dict[str, Any]]]]


class _Planned(Exception):
    """Raised inside a capture block on purpose, to see that the helper cleans up anyway."""


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
        not captured.stdout and not captured.stderr, "capturing printed something." + output_note(captured)
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
        not captured.stdout and not captured.stderr, "capturing printed something." + output_note(captured)
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
    expect(not captured.stdout and not captured.stderr, "logging printed something." + output_note(captured))


def task_4(log_batch_summary: Callable[..., None]) -> None:
    """Task 14.4: the expensive summary is computed only when DEBUG is enabled."""
    _check_cheap_logging(log_batch_summary, hidden=False)
    passed("14.4", hidden_checks=1)


def task_4_hidden(log_batch_summary: Callable[..., None]) -> None:
    """Hidden: logging.disable() must skip the work as well."""
    _check_cheap_logging(log_batch_summary, hidden=True)


# --- Task 14.5: worker processes log through a queue --------------------------------------------------------


def _drain(source: queue.Queue[Any]) -> list[Any]:
    items = []
    while True:
        try:
            items.append(source.get_nowait())
        except queue.Empty:
            return items


def _worker_side(configure_worker: Callable[[Any, str], None], hidden: bool) -> tuple[list[Any], Any]:
    """Run the worker's setup and logging in this process, as a worker process would after fork."""
    worker_queue: queue.Queue[Any] = queue.Queue()
    with isolated() as captured:
        logging.getLogger().addHandler(logging.StreamHandler())  # the parent's console, inherited by fork
        configure_worker(worker_queue, "run-0042")
        model = logging.getLogger("grade_predictor.model")
        model.info("fold %d: accuracy %.3f", 1, 0.91)
        model.debug("epoch %d loss %.2f", 3, 0.25)
        model.warning("fold %d has only %d rows", 2, 9)
        if hidden:
            model.error("could not save checkpoint, lock %s busy", threading.Lock())
            try:
                raise ZeroDivisionError("fold 4 is empty")
            except ZeroDivisionError:
                model.exception("fold %d crashed", 4)
    return _drain(worker_queue), captured


def _check_queue_logging(
    configure_worker: Callable[[Any, str], None], start_listener: Callable[..., Any], hidden: bool
) -> None:
    items, worker_output = _worker_side(configure_worker, hidden)
    expect(
        not worker_output.stdout and not worker_output.stderr,
        "the worker still printed through the console handler it inherited: in the worker, the QueueHandler "
        "should replace the root's handlers." + output_note(worker_output),
    )
    wanted = [
        ("INFO", "fold 1: accuracy 0.910"),
        ("DEBUG", "epoch 3 loss 0.25"),
        ("WARNING", "fold 2 has only 9 rows"),
    ]
    if hidden:
        wanted += [("ERROR", "could not save checkpoint, lock"), ("ERROR", "fold 4 crashed")]
    expect(
        len(items) == len(wanted) and all(isinstance(item, logging.LogRecord) for item in items),
        "the worker should put one LogRecord per log call on the queue, DEBUG included: "
        f"{len(wanted)} expected, {len(items)} found: {items}",
    )
    transferred = []
    for item in items:
        try:
            transferred.append(pickle.loads(pickle.dumps(item)))
        except Exception as error:
            raise AssertionError(
                "a record on the queue cannot be pickled, so it could never reach the main process: "
                f"{error!r}. logging.handlers.QueueHandler prepares each record (message merged, args and "
                "traceback cleared) before putting it on the queue."
            ) from None
    missing = [r.getMessage() for r in transferred if getattr(r, "run_id", None) != "run-0042"]
    expect(
        not missing,
        "every record should carry run_id='run-0042' when it leaves the worker; a filter on the root "
        "logger does not see records of child loggers, a filter on the QueueHandler does. "
        f"Records without it: {missing}",
    )
    main_queue: queue.Queue[Any] = queue.Queue()
    for record in transferred:
        main_queue.put(record)
    everything, alerts = ListHandler(logging.DEBUG), ListHandler(logging.WARNING)
    with isolated() as main_output:
        try:
            listener = start_listener(main_queue, everything, alerts)
            listener.stop()
        except Exception as error:
            raise AssertionError(
                f"start_listener() should return a started QueueListener that stop() can flush; got {error!r}"
            ) from None
    seen = [(r.levelname, r.getMessage()) for r in everything.records]
    expect(
        not any(text.startswith(f"{level}:") for level, text in seen),
        "the messages arrive already formatted with the level and logger name, so the main process would "
        "format them a second time. Leave the worker's QueueHandler without a formatter (basicConfig() "
        f"gives its handlers one); seen {seen}",
    )
    expect(
        [level for level, _ in seen] == [level for level, _ in wanted]
        and all(text.startswith(prefix) for (_, text), (_, prefix) in zip(seen, wanted, strict=True)),
        "the DEBUG handler in the main process should receive every record from the worker, in order.\n"
        f"expected: {wanted}\nseen:     {seen}",
    )
    expect(
        [r.levelname for r in alerts.records]
        == [level for level, _ in wanted if level in ("WARNING", "ERROR")],
        "the WARNING handler should receive only WARNING and above: the listener must respect each "
        "handler's level (respect_handler_level=True); it received "
        f"{[(r.levelname, r.getMessage()) for r in alerts.records]}",
    )
    if hidden:
        expect(
            "ZeroDivisionError" in seen[-1][1],
            "the traceback of logger.exception() should travel with the record's message; "
            f"seen {seen[-1][1]!r}",
        )
    expect(not main_output.stderr, "the listener wrote to stderr." + output_note(main_output))


def task_5(configure_worker: Callable[[Any, str], None], start_listener: Callable[..., Any]) -> None:
    """Task 14.5: picklable records with run_id leave the worker; the listener respects handler levels."""
    _check_queue_logging(configure_worker, start_listener, hidden=False)
    passed("14.5", hidden_checks=1)


def task_5_hidden(configure_worker: Callable[[Any, str], None], start_listener: Callable[..., Any]) -> None:
    """Hidden: an unpicklable argument and a traceback still cross the process boundary."""
    _check_queue_logging(configure_worker, start_listener, hidden=True)
