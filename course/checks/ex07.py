"""Checks for assignment 07, context on every record.

Task 7.1 ``predict(features, request_id)``: the request id on every record of one inference call.
Task 7.2 ``train_fold(fold, epochs, model_name)``: find the bug, fold context that misses library records.
Task 7.3 ``ContextAdapter``: a LoggerAdapter that keeps per-call ``extra`` fields (before Python 3.13).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from course.checks.support import ListHandler, expect, isolated, passed

__all__ = [
    "task_1",
    "task_1_hidden",
    "task_2",
    "task_2_hidden",
    "task_3",
    "task_3_hidden",
]


@contextlib.contextmanager
def _record_factory_kept() -> Iterator[None]:
    """Undo a student's ``logging.setLogRecordFactory`` after the check (it is process-wide)."""
    factory = logging.getLogRecordFactory()
    try:
        yield
    finally:
        logging.setLogRecordFactory(factory)


def _spy_on_root() -> ListHandler:
    spy = ListHandler()
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    root.addHandler(spy)
    return spy


def _describe(record: logging.LogRecord, fields: tuple[str, ...]) -> str:
    values = ", ".join(f"{name}={getattr(record, name, '<missing>')!r}" for name in fields)
    return f"[{record.name}] {record.getMessage()!r} ({values})"


# --- Task 7.1 ---------------------------------------------------------------------------------------


def _inference_records(spy: ListHandler, start: int) -> list[logging.LogRecord]:
    return [r for r in spy.records[start:] if r.name == "inference" or r.name.startswith("inference.")]


def _expect_calls(
    predict: Callable[..., Any], spy: ListHandler, calls: list[tuple[list[float], str]]
) -> None:
    for features, request_id in calls:
        start = len(spy.records)
        result = predict(features, request_id)
        want = math.fsum(features) / len(features)
        expect(
            isinstance(result, int | float) and math.isclose(result, want),
            f"predict({features}, {request_id!r}) should return the mean of the features, {want}; "
            f"it returned {result!r}.",
        )
        records = _inference_records(spy, start)
        expect(
            len(records) >= 2,
            f"predict() should log at least two records on the 'inference' logger; the call with "
            f"{request_id!r} logged {len(records)}.",
        )
        wrong = [r for r in records if getattr(r, "request_id", None) != request_id]
        expect(
            not wrong,
            f"every record of the call with request_id={request_id!r} should carry that id; these do not: "
            f"{[_describe(r, ('request_id',)) for r in wrong[:3]]}.",
        )


class _MeetingHandler(logging.Handler):
    """Keep records; make the requests' threads meet at their first and at their second 'inference' record.

    A thread waiting at its second record has not returned yet, so whatever its call attached is still
    attached while the other thread logs. ``handle`` is overridden so that no handler lock is held
    while a thread waits.
    """

    def __init__(self, parties: int) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self._barriers = [threading.Barrier(parties, timeout=3) for _ in range(2)]
        self._counts: dict[int, int] = {}
        self._mutex = threading.Lock()

    def handle(self, record: logging.LogRecord) -> bool:  # type: ignore[override]
        if self.filter(record):
            self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        number = 0
        with self._mutex:
            self.records.append(record)
            if record.name.startswith("inference") and record.thread is not None:
                number = self._counts[record.thread] = self._counts.get(record.thread, 0) + 1
        if 1 <= number <= len(self._barriers):
            with contextlib.suppress(threading.BrokenBarrierError):
                self._barriers[number - 1].wait()


def _expect_concurrent(predict: Callable[..., Any]) -> None:
    """Two requests in two threads at the same time: each record keeps its own request's id."""
    calls = {"req-test-0301": [1.0, 2.0, 3.0], "req-test-0302": [4.0, 8.0]}
    with isolated():
        meeting = _MeetingHandler(parties=len(calls))
        root = logging.getLogger()
        root.setLevel(logging.DEBUG)
        root.addHandler(meeting)
        threads: dict[int, str] = {}

        def request(request_id: str) -> None:
            threads[threading.get_ident()] = request_id
            predict(calls[request_id], request_id)

        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            for future in [pool.submit(request, request_id) for request_id in calls]:
                future.result()
        records = [r for r in meeting.records if r.name == "inference" or r.name.startswith("inference.")]
    wrong = [r for r in records if getattr(r, "request_id", None) != threads.get(r.thread or 0)]
    expect(
        not wrong,
        "two requests handled at the same time (in two threads) should each keep their own id on every "
        "record; these records carry the other request's id, or none: "
        f"{[_describe(r, ('request_id',)) + ' from ' + threads.get(r.thread or 0, '?') for r in wrong[:3]]}. "
        "A filter added to the shared logger is seen by both requests; a LoggerAdapter made per call, or "
        "a contextvars.ContextVar, keeps them apart.",
    )


def task_1(predict: Callable[..., Any]) -> None:
    """Public checks: two calls, two request ids, each on every record of its call; two calls at once."""
    with isolated():
        spy = _spy_on_root()
        _expect_calls(predict, spy, [([3.0, 4.0, 5.0], "req-test-0001"), ([10.0, 20.0], "req-test-0002")])
    _expect_concurrent(predict)
    passed("7.1", hidden_checks=2)


def task_1_hidden(predict: Callable[..., Any]) -> None:
    """Hidden checks: three calls, and no id left behind on records logged after a call."""
    with isolated():
        spy = _spy_on_root()
        _expect_calls(
            predict,
            spy,
            [([1.0], "req-test-0101"), ([2.0, 4.0], "req-test-0102"), ([0.5, 0.5, 2.0], "req-test-0103")],
        )
        start = len(spy.records)
        logging.getLogger("inference").info("health check")
        after = _inference_records(spy, start)
        leaked = [r for r in after if getattr(r, "request_id", None) is not None]
        expect(
            not leaked,
            "after predict() returns, a record logged on 'inference' outside any request should not carry a "
            f"request id; it carried {[_describe(r, ('request_id',)) for r in leaked]}. Remove what you "
            "attached to the logger when the call ends.",
        )
    print("Task 7.1: hidden checks passed.")


# --- Task 7.2 ---------------------------------------------------------------------------------------

_FOLD_FIELDS = ("fold", "model", "epochs")
_FOLD_FORMAT = "fold=%(fold)s model=%(model)s epochs=%(epochs)s %(name)s: %(message)s"


def _run_folds(
    train_fold: Callable[..., Any], folds: list[tuple[int, int, str]]
) -> tuple[list[tuple[tuple[int, int, str], list[logging.LogRecord]]], list[logging.LogRecord], str]:
    with _record_factory_kept(), isolated() as captured:
        spy = _spy_on_root()
        console = logging.StreamHandler(io.StringIO())
        console.setFormatter(logging.Formatter(_FOLD_FORMAT))
        logging.getLogger().addHandler(console)
        per_fold = []
        for fold, epochs, model in folds:
            start = len(spy.records)
            train_fold(fold, epochs, model)
            per_fold.append(((fold, epochs, model), spy.records[start:]))
        stderr = captured.stderr
        logging.getLogger().removeHandler(console)
        start = len(spy.records)
        logging.getLogger("experiment").info("all folds done")
        logging.getLogger("grade_predictor.model").info("library call outside any fold")
        after = spy.records[start:]
        return per_fold, after, stderr


def _expect_folds(per_fold: list[tuple[tuple[int, int, str], list[logging.LogRecord]]], stderr: str) -> None:
    for (fold, epochs, model), records in per_fold:
        where = f"train_fold({fold}, {epochs}, {model!r})"
        library = [r for r in records if r.name.startswith("grade_predictor.")]
        own = [r for r in records if not r.name.startswith("grade_predictor")]
        expect(
            library,
            f"{where} should train with grade_predictor (its records come from child loggers such as "
            "'grade_predictor.model'); no grade_predictor record was logged during the call.",
        )
        expect(
            len(own) >= epochs,
            f"{where} should log at least one line per epoch ({epochs}) on its own logger; "
            f"it logged {len(own)}.",
        )
        want = {"fold": fold, "model": model, "epochs": epochs}
        wrong = [r for r in records if any(getattr(r, k, None) != v for k, v in want.items())]
        expect(
            not wrong,
            f"every record logged during {where} should carry fold={fold}, model={model!r}, epochs={epochs}, "
            f"including the library's; {len(wrong)} of {len(records)} do not, e.g. "
            f"{[_describe(r, _FOLD_FIELDS) for r in wrong[:3]]}.",
        )
    expect(
        "Logging error" not in stderr,
        "a handler whose format uses %(fold)s failed on a record without the field ('--- Logging error ---' "
        f"was printed): {stderr[:300]!r}.",
    )


def task_2(train_fold: Callable[..., Any]) -> None:
    """Public checks: two folds; every record, the library's included, carries its fold's context."""
    per_fold, _, stderr = _run_folds(train_fold, [(1, 3, "LSTM"), (2, 3, "LSTM")])
    _expect_folds(per_fold, stderr)
    passed("7.2", hidden_checks=2)


def task_2_hidden(train_fold: Callable[..., Any]) -> None:
    """Hidden checks: different settings per fold, and no context left on records after the folds."""
    per_fold, after, stderr = _run_folds(train_fold, [(3, 2, "MLP"), (4, 5, "linear")])
    _expect_folds(per_fold, stderr)
    leaked = [r for r in after if any(hasattr(r, k) for k in _FOLD_FIELDS)]
    expect(
        not leaked,
        "records logged after the last fold should not carry fold context; these do: "
        f"{[_describe(r, _FOLD_FIELDS) for r in leaked]}. Undo the context when the fold ends.",
    )
    print("Task 7.2: hidden checks passed.")


# --- Task 7.3 ---------------------------------------------------------------------------------------


def _adapter_run(
    adapter_class: type[logging.LoggerAdapter], calls: list[tuple[str, dict[str, Any] | None]]
) -> tuple[list[logging.LogRecord], dict[str, Any], logging.LoggerAdapter]:
    with isolated():
        spy = ListHandler()
        base = logging.getLogger("inference.api")
        base.setLevel(logging.DEBUG)
        base.addHandler(spy)
        fields = {"request_id": "req-test-7301", "model_version": "v5"}
        adapter = adapter_class(base, dict(fields))
        for message, extra in calls:
            if extra is None:
                adapter.info(message)
            else:
                adapter.info(message, extra=extra)
        return spy.records, fields, adapter


def _expect_fields(record: logging.LogRecord, want: dict[str, Any], absent: tuple[str, ...] = ()) -> None:
    got = {k: getattr(record, k, "<missing>") for k in want}
    expect(
        got == want,
        f"the record {record.getMessage()!r} should carry {want}; it carries {got}.",
    )
    for name in absent:
        expect(
            not hasattr(record, name),
            f"the record {record.getMessage()!r} should not carry {name!r} (it was only given to an earlier "
            f"call); it has {name}={getattr(record, name, None)!r}. "
            "Do not store per-call fields on the adapter.",
        )


def task_3(ContextAdapter: type[logging.LoggerAdapter]) -> None:
    """Public checks: adapter fields and per-call fields both reach the record."""
    records, fields, _ = _adapter_run(ContextAdapter, [("scored 12 rows", {"latency_ms": 12})])
    expect(len(records) == 1, f"one adapter.info() call should log one record; it logged {len(records)}.")
    _expect_fields(records[0], {**fields, "latency_ms": 12})
    passed("7.3", hidden_checks=3)


def task_3_hidden(ContextAdapter: type[logging.LoggerAdapter]) -> None:
    """Hidden checks: per-call fields win, do not stick, and change neither dict they came from."""
    per_call = {"latency_ms": 40, "model_version": "v6"}
    records, fields, adapter = _adapter_run(
        ContextAdapter, [("first", {"latency_ms": 7}), ("second", None), ("third", per_call)]
    )
    expect(len(records) == 3, f"three calls should log three records; they logged {len(records)}.")
    _expect_fields(records[0], {**fields, "latency_ms": 7})
    _expect_fields(records[1], fields, absent=("latency_ms",))
    _expect_fields(records[2], {"request_id": fields["request_id"], "model_version": "v6", "latency_ms": 40})
    expect(
        dict(adapter.extra or {}) == fields,
        f"the adapter's own fields should stay {fields} after the calls; they became {adapter.extra}.",
    )
    expect(
        per_call == {"latency_ms": 40, "model_version": "v6"},
        f"the caller's extra dict should not be changed by the adapter; it became {per_call}.",
    )
    print("Task 7.3: hidden checks passed.")
