"""Tests for logkit.context: log_context, ContextFilter, run_with_context and log_section."""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from logkit.context import ContextFilter, current_context, log_context, log_section, run_with_context


class ListHandler(logging.Handler):
    """Keep every record that reaches the handler."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def handler() -> ListHandler:
    """A ListHandler with a ContextFilter, on the root logger at DEBUG."""
    h = ListHandler()
    h.addFilter(ContextFilter(defaults={"fold": "-"}))
    root = logging.getLogger()
    root.addHandler(h)
    root.setLevel(logging.DEBUG)
    return h


class TestLogContext:
    """log_context binds fields for a block, merges nested blocks and restores on exit."""

    def test_fields_visible_inside_only(self) -> None:
        assert dict(current_context()) == {}
        with log_context(fold=1, model="ridge"):
            assert dict(current_context()) == {"fold": 1, "model": "ridge"}
        assert dict(current_context()) == {}

    def test_nested_blocks_merge_and_restore(self) -> None:
        with log_context(run_id="r-1", fold=1):
            with log_context(fold=2, epoch=5) as merged:
                assert dict(merged) == {"run_id": "r-1", "fold": 2, "epoch": 5}
            assert dict(current_context()) == {"run_id": "r-1", "fold": 1}

    def test_restored_after_exception(self) -> None:
        with pytest.raises(RuntimeError), log_context(fold=3):
            raise RuntimeError("boom")
        assert dict(current_context()) == {}

    def test_context_is_read_only(self) -> None:
        with log_context(fold=1), pytest.raises(TypeError):
            current_context()["fold"] = 2  # type: ignore[index]

    def test_reserved_record_attribute_names_are_rejected(self) -> None:
        with pytest.raises(ValueError, match="name"), log_context(name="ridge"):
            pass


class TestContextFilter:
    """The handler filter stamps context on records from every logger, with defaults."""

    def test_records_from_child_loggers_get_the_fields(self, handler: ListHandler) -> None:
        with log_context(fold=2, model="mlp"):
            logging.getLogger("grade_predictor.model").info("fitting")
            logging.getLogger("grade_predictor.data.loader").debug("loading")
        assert [(r.name, r.fold, r.model) for r in handler.records] == [
            ("grade_predictor.model", 2, "mlp"),
            ("grade_predictor.data.loader", 2, "mlp"),
        ]

    def test_format_with_fold_works_outside_a_block(self) -> None:
        stream = io.StringIO()
        h = logging.StreamHandler(stream)
        h.addFilter(ContextFilter(defaults={"fold": "-"}))
        h.setFormatter(logging.Formatter("fold=%(fold)s %(message)s"))
        logging.getLogger().addHandler(h)
        log = logging.getLogger("grade_predictor.cv")
        log.warning("before")
        with log_context(fold=4):
            log.warning("inside")
        log.warning("after")
        assert stream.getvalue().splitlines() == ["fold=- before", "fold=4 inside", "fold=- after"]

    def test_extra_on_the_call_wins_over_context(self, handler: ListHandler) -> None:
        with log_context(fold=1):
            logging.getLogger("x").info("explicit", extra={"fold": 9})
        assert handler.records[0].fold == 9

    def test_context_wins_over_defaults(self, handler: ListHandler) -> None:
        logging.getLogger("x").info("outside")
        with log_context(fold=7):
            logging.getLogger("x").info("inside")
        assert [r.fold for r in handler.records] == ["-", 7]

    def test_reserved_default_names_are_rejected(self) -> None:
        with pytest.raises(ValueError, match="msg"):
            ContextFilter(defaults={"msg": "x"})


class TestIsolation:
    """Threads and asyncio tasks never see each other's fields, even while overlapping."""

    def test_threads(self, handler: ListHandler) -> None:
        n = 4
        barrier = threading.Barrier(n, timeout=10)
        errors: list[BaseException] = []

        def work(i: int) -> None:
            try:
                with log_context(worker=i):
                    barrier.wait()  # every thread is inside its block now
                    logging.getLogger(f"worker.{i}").info("step one")
                    barrier.wait()
                    logging.getLogger(f"worker.{i}").info("step two")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        assert not errors
        assert len(handler.records) == 2 * n
        for record in handler.records:
            assert record.name == f"worker.{record.worker}"

    def test_asyncio_tasks(self, handler: ListHandler) -> None:
        async def main() -> None:
            both_bound = asyncio.Barrier(2)
            both_logged = asyncio.Barrier(2)

            async def request(request_id: str) -> None:
                with log_context(request_id=request_id):
                    await both_bound.wait()  # the other task has bound its own id by now
                    logging.getLogger(f"service.{request_id}").info("handled")
                    await both_logged.wait()  # neither leaves its block before both logged

            await asyncio.wait_for(asyncio.gather(request("req-a"), request("req-b")), timeout=10)

        asyncio.run(main())
        records = [r for r in handler.records if r.name.startswith("service.")]
        assert sorted((r.name, r.request_id) for r in records) == [
            ("service.req-a", "req-a"),
            ("service.req-b", "req-b"),
        ]


class TestRunWithContext:
    """run_with_context carries the caller's context into a thread pool; plain submit does not."""

    def test_plain_submit_loses_the_context(self) -> None:
        with ThreadPoolExecutor(max_workers=1) as pool, log_context(fold=5):
            seen = pool.submit(lambda: dict(current_context())).result()
        assert seen == {}

    def test_run_with_context_carries_it(self) -> None:
        with ThreadPoolExecutor(max_workers=1) as pool, log_context(fold=5):
            seen = run_with_context(pool, lambda: dict(current_context())).result()
        assert seen == {"fold": 5}

    def test_arguments_are_passed(self, handler: ListHandler) -> None:
        def fit(fold: int, *, model: str) -> str:
            logging.getLogger("grade_predictor.model").info("fit %s on fold %d", model, fold)
            return model

        with ThreadPoolExecutor(max_workers=2) as pool, log_context(run_id="r-42"):
            futures = [run_with_context(pool, fit, i, model="ridge") for i in range(3)]
            assert [f.result() for f in futures] == ["ridge"] * 3
        assert sorted(r.getMessage() for r in handler.records) == [f"fit ridge on fold {i}" for i in range(3)]
        assert {r.run_id for r in handler.records} == {"r-42"}


class TestLogSection:
    """log_section logs start and end with a duration, and failures with a traceback."""

    def test_start_and_end(self, handler: ListHandler) -> None:
        log = logging.getLogger("grade_predictor.cv")
        with log_section(log, "fold-1"):
            log.info("working")
        start, work, end = handler.records
        assert start.getMessage() == "fold-1 started"
        assert end.getMessage().startswith("fold-1 finished in ")
        assert end.section == "fold-1"
        assert isinstance(end.duration_ms, float)
        assert end.duration_ms >= 0
        assert work.getMessage() == "working"

    def test_records_point_at_the_caller(self, handler: ListHandler) -> None:
        def train() -> None:
            with log_section(logging.getLogger("x"), "train"):
                pass

        train()
        assert [r.funcName for r in handler.records] == ["train", "train"]
        assert {r.filename for r in handler.records} == {"test_logkit_context.py"}

    def test_failure_is_logged_with_traceback_and_reraised(self, handler: ListHandler) -> None:
        log = logging.getLogger("grade_predictor.cv")
        with pytest.raises(ValueError, match="shape"), log_section(log, "fold-3"):
            raise ValueError("shape mismatch")
        _start, failure = handler.records
        assert failure.levelno == logging.ERROR
        assert failure.getMessage().startswith("fold-3 failed after ")
        assert failure.exc_info is not None
        assert failure.exc_info[0] is ValueError

    def test_level_option(self, handler: ListHandler) -> None:
        with log_section(logging.getLogger("x"), "quiet", level=logging.DEBUG):
            pass
        assert [r.levelno for r in handler.records] == [logging.DEBUG, logging.DEBUG]
