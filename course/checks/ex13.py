"""Checks for assignment 13: the four layers in one project.

Task 13.1 runs the student's library source for real: in a fresh interpreter (is it silent?) and in this
process (which records does it make, on which logger?). Tasks 13.2 to 13.4 use the checker's own
reference library, so each layer is graded on its own, whatever the answer to 13.1.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import subprocess
import sys
import tempfile
import textwrap
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import structlog
from rich.console import Console
from rich.logging import RichHandler

from course.checks.support import ListHandler, expect, isolated, output_note, passed

__all__ = [
    "REFERENCE_LIBRARY",
    "task_1",
    "task_1_hidden",
    "task_2",
    "task_2_hidden",
    "task_3",
    "task_3_hidden",
    "task_4",
    "task_4_hidden",
]

REFERENCE_LIBRARY = textwrap.dedent(
    '''
    """A mock grade predictor: stdlib logging only, silent unless the application configures logging."""

    import logging

    logger = logging.getLogger(__name__)
    logger.addHandler(logging.NullHandler())


    def predict_grade(scores):
        """Predict a final grade as the mean of the scores so far."""
        logger.debug("predicting from %d scores", len(scores))
        if not scores:
            logger.warning("no scores given; predicting %.1f", 0.0)
            return 0.0
        grade = sum(scores) / len(scores)
        logger.info("predicted %.1f", grade)
        return grade
    '''
)

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@contextlib.contextmanager
def _library(source: str, name: str) -> Iterator[types.ModuleType]:
    """Import ``source`` as a module called ``name`` (so its ``__name__`` is ``name``), then forget it."""
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    sys.modules[name] = module
    try:
        exec(compile(source, f"<{name}>", "exec"), module.__dict__)
        yield module
    finally:
        sys.modules.pop(name, None)


def _console(stream: io.StringIO) -> Console:
    return Console(file=stream, width=100, force_jupyter=False, color_system=None)


# --- Task 13.1: the library layer --------------------------------------------------------------------


def _fresh_interpreter(source: str, name: str) -> subprocess.CompletedProcess[str]:
    """Import the library in a new Python process with no logging configured and call it."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, f"{name}.py").write_text(source, encoding="utf-8")
        program = (
            f"import sys; sys.path.insert(0, {tmp!r}); import {name}; "
            f"{name}.predict_grade([]); {name}.predict_grade([60.0, 80.0])"
        )
        return subprocess.run(
            [sys.executable, "-I", "-c", program], capture_output=True, text=True, timeout=60, check=False
        )


def _check_library(source: object, name: str) -> None:
    expect(
        isinstance(source, str),
        f"LIBRARY_SOURCE should be a string of Python code, not {type(source).__name__}",
    )
    assert isinstance(source, str)
    run = _fresh_interpreter(source, name)
    expect(
        run.returncode == 0,
        f"importing and calling the library in a fresh interpreter failed:\n{run.stderr.strip()[-800:]}",
    )
    expect(
        run.stdout == "" and run.stderr == "",
        "imported and called with no logging configured, the library must print nothing at all "
        "(no print(), no basicConfig(), and a NullHandler so logging's last-resort handler stays quiet).\n"
        f"stdout: {run.stdout!r}\nstderr: {run.stderr!r}",
    )
    with isolated() as captured, _library(source, name) as library:
        root_handlers = list(logging.getLogger().handlers)
        own = logging.getLogger(name)
        null_handlers = [h for h in own.handlers if isinstance(h, logging.NullHandler)]
        spy = ListHandler()
        logging.getLogger().addHandler(spy)
        logging.getLogger().setLevel(logging.DEBUG)
        full = library.predict_grade([70.0, 90.0])
        empty = library.predict_grade([])
    expect(not root_handlers, f"importing the library added handlers to the root logger: {root_handlers}")
    expect(
        full == 80.0 and empty == 0.0,
        f"predict_grade should return 80.0 and 0.0 here; it returned {full}, {empty}",
    )
    seen = [(r.name, r.levelname, r.getMessage()) for r in spy.records]
    wanted = [
        (name, "DEBUG", "predicting from 2 scores"),
        (name, "INFO", "predicted 80.0"),
        (name, "DEBUG", "predicting from 0 scores"),
        (name, "WARNING", "no scores given; predicting 0.0"),
    ]
    expect(
        seen == wanted,
        "with the root at DEBUG, the library should make exactly these records, on the logger named "
        f"after its module (getLogger(__name__)).\nexpected (logger, level, message): {wanted}\nseen: {seen}",
    )
    expect(
        null_handlers,
        f"the library's logger, logging.getLogger({name!r}), should have a NullHandler; "
        f"its handlers: {own.handlers}",
    )
    lazy = [r.getMessage() for r in spy.records if not r.args]
    expect(
        not lazy,
        "pass the values as arguments (logger.info('predicted %.1f', grade)) instead of formatting the "
        f"message yourself; these records had no arguments: {lazy}",
    )
    expect(
        not captured.stdout and not captured.stderr, "the library printed something." + output_note(captured)
    )


def task_1(source: object) -> None:
    """Task 13.1: a library that logs on getLogger(__name__), has a NullHandler and prints nothing."""
    _check_library(source, "mock_grades")
    passed("13.1", hidden_checks=1)


def task_1_hidden(source: object) -> None:
    """Hidden: imported under another module name, the logger name follows."""
    _check_library(source, "school_models_v2")


# --- Task 13.2: the notebook layer -------------------------------------------------------------------


def _check_notebook(setup_notebook: Callable[[Console], None], runs: int) -> None:
    stream = io.StringIO()
    with isolated() as captured, _library(REFERENCE_LIBRARY, "mock_grades") as library:
        console = _console(stream)
        for _ in range(runs):
            setup_notebook(console)
        root_handlers = list(logging.getLogger().handlers)
        library_handlers = list(logging.getLogger("mock_grades").handlers)
        library.predict_grade([70.0, 90.0])
        library.predict_grade([])
    text = " ".join(_ANSI.sub("", stream.getvalue()).split())
    riches = [h for h in root_handlers if isinstance(h, RichHandler)]
    expect(
        len(riches) == 1 and len(root_handlers) == 1,
        f"after {runs} run(s) of the cell, the root logger should have exactly one handler, a RichHandler; "
        f"it has {root_handlers}",
    )
    expect(
        all(isinstance(h, logging.NullHandler) for h in library_handlers),
        "the notebook configures the root; the library's own logger keeps only its NullHandler. "
        f"It has: {library_handlers}",
    )
    for message in ("predicted 80.0", "no scores given; predicting 0.0"):
        expect(
            text.count(message) == 1,
            f"the library's record {message!r} should appear once in the notebook output; "
            f"it appears {text.count(message)} times in:\n{stream.getvalue()}",
        )
    expect(
        "predicting from" not in text,
        f"DEBUG records should not be shown in the notebook (INFO and above); output:\n{stream.getvalue()}",
    )
    expect(not captured.stdout and not captured.stderr, "output escaped the console." + output_note(captured))


def task_2(setup_notebook: Callable[[Console], None]) -> None:
    """Task 13.2: a RichHandler on the root shows the library's INFO and WARNING records."""
    _check_notebook(setup_notebook, runs=1)
    passed("13.2", hidden_checks=1)


def task_2_hidden(setup_notebook: Callable[[Console], None]) -> None:
    """Hidden: the setup cell run twice still shows every record once."""
    _check_notebook(setup_notebook, runs=2)


# --- Task 13.3: the loguru layer ---------------------------------------------------------------------


def _check_experiment(run_experiment: Callable[..., float], run_id: str, hidden: bool) -> None:
    lines: list[str] = []
    records: list[dict[str, Any]] = []

    def sink(message: Any) -> None:
        lines.append(str(message).rstrip("\n"))
        records.append(message.record)

    with isolated() as captured, _library(REFERENCE_LIBRARY, "mock_grades") as library:
        result = run_experiment(library, sink, run_id)
        if hidden:
            library.predict_grade([])
    expect(
        result == 80.0,
        f"run_experiment() should return the library's prediction, 80.0; it returned {result!r}",
    )
    wanted = [
        f"{run_id} | INFO | experiment started",
        f"{run_id} | DEBUG | predicting from 2 scores",
        f"{run_id} | INFO | predicted 80.0",
        f"{run_id} | INFO | experiment finished",
    ]
    if hidden:
        wanted += [
            f"{run_id} | DEBUG | predicting from 0 scores",
            f"{run_id} | WARNING | no scores given; predicting 0.0",
        ]
    note = output_note(captured)
    if "Logging error in Loguru Handler" in captured.stderr:
        note += "\nloguru could not format a record: does every record, the library's too, have a run_id?"
    expect(
        lines == wanted,
        "the sink should receive the script's lines and the library's records, each at its own level and "
        "with the run id"
        + (", also for library calls after your function returned" if hidden else "")
        + ".\n"
        f"expected: {wanted}\nseen:     {lines}{note}",
    )
    expect(
        all(r["extra"].get("run_id") == run_id for r in records),
        "every record should carry run_id in its extra dict.",
    )


def task_3(run_experiment: Callable[..., float]) -> None:
    """Task 13.3: the library's records in loguru's sink, at their level, with the bound run_id."""
    _check_experiment(run_experiment, "run-0042", hidden=False)
    passed("13.3", hidden_checks=1)


def task_3_hidden(run_experiment: Callable[..., float]) -> None:
    """Hidden: another run id, and library calls after the function returned still routed."""
    _check_experiment(run_experiment, "exp-b7", hidden=True)


# --- Task 13.4: the structlog layer ------------------------------------------------------------------


def _parse(text: str) -> list[dict[str, Any]]:
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(
                f"every line in the stream should be one JSON object, the library's records too; this one is "
                f"not:\n{line!r}"
            ) from None
        expect(isinstance(event, dict), f"each line should be a JSON object: {line!r}")
        events.append(event)
    return events


def _check_service(configure_service: Callable[[io.StringIO], None], hidden: bool) -> None:
    stream = io.StringIO()
    with isolated() as captured, _library(REFERENCE_LIBRARY, "mock_grades") as library:
        configure_service(stream)
        structlog.contextvars.bind_contextvars(request_id="req-7c1d")
        structlog.get_logger("grade_service").info("request_received", path="/predict")
        library.predict_grade([70.0, 90.0])
        library.predict_grade([])
        structlog.contextvars.clear_contextvars()
        if hidden:
            structlog.contextvars.bind_contextvars(request_id="req-8e2f")
            library.predict_grade([50.0])
            structlog.contextvars.clear_contextvars()
            structlog.get_logger("grade_service").warning("shutting_down")
    expect(
        not captured.stdout and not captured.stderr,
        "every record should go to the stream you were given, nothing to stdout or stderr."
        + output_note(captured),
    )
    events = _parse(stream.getvalue())
    seen = [(e.get("event"), e.get("level"), e.get("request_id")) for e in events]
    wanted: list[tuple[str, str, str | None]] = [
        ("request_received", "info", "req-7c1d"),
        ("predicted 80.0", "info", "req-7c1d"),
        ("no scores given; predicting 0.0", "warning", "req-7c1d"),
    ]
    if hidden:
        wanted += [("predicted 50.0", "info", "req-8e2f"), ("shutting_down", "warning", None)]
    expect(
        seen == wanted,
        "the stream should hold the service's events and the library's records (INFO and above) as JSON, "
        "each with its level and the request_id bound with bind_contextvars() (foreign_pre_chain needs "
        f"merge_contextvars too).\nexpected (event, level, request_id): {wanted}\nseen: {seen}",
    )
    library_events = [e for e in events if e.get("event", "").startswith(("predicted", "no scores"))]
    expect(
        all(e.get("logger") == "mock_grades" for e in library_events),
        f"the library's records should name their logger ('logger': 'mock_grades'); seen {library_events}",
    )
    expect(
        events[0].get("path") == "/predict" and events[0].get("logger") == "grade_service",
        f"the service's own event should keep its key-value pairs and logger name; seen {events[0]}",
    )
    expect(
        all(isinstance(e.get("timestamp"), str) and "T" in e["timestamp"] for e in events),
        f"every event should carry an ISO 8601 'timestamp'; seen {[e.get('timestamp') for e in events]}",
    )


def task_4(configure_service: Callable[[io.StringIO], None]) -> None:
    """Task 13.4: stdlib records from the library rendered as JSON with the request_id."""
    _check_service(configure_service, hidden=False)
    passed("13.4", hidden_checks=1)


def task_4_hidden(configure_service: Callable[[io.StringIO], None]) -> None:
    """Hidden: a second request, and an event after the context was cleared has no request_id."""
    _check_service(configure_service, hidden=True)
