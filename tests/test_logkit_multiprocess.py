"""Tests for logkit.multiprocess: spawn-safe logging from worker processes through a queue."""

from __future__ import annotations

import json
import logging
import multiprocessing
import time
from collections import Counter
from logging.handlers import QueueHandler
from pathlib import Path

from logkit.context import ContextFilter, log_context
from logkit.jsonformat import JsonFormatter
from logkit.multiprocess import configure_worker, listening, start_listener

WORKERS = 4
LINES = 500


def _worker(queue: multiprocessing.queues.Queue, worker: int, lines: int) -> None:
    """Target of a spawned process: log ``lines`` records with a padded payload."""
    configure_worker(queue, filters=[ContextFilter(defaults={"fold": "-"})])
    log = logging.getLogger(f"grade_predictor.worker{worker}")
    with log_context(fold=worker):
        for seq in range(lines):
            # A long message makes torn or interleaved writes likely if anything is wrong.
            log.info("worker %d line %d %s", worker, seq, "x" * 200, extra={"worker": worker, "seq": seq})


def _single_record(queue: multiprocessing.queues.Queue) -> None:
    configure_worker(queue)
    logging.getLogger("grade_predictor.child").debug("hello from a spawned child")


class TestQueueLogging:
    """Several spawned processes logging through one listener lose and interleave nothing."""

    def test_no_line_lost_or_interleaved(self, tmp_path: Path) -> None:
        log_file = tmp_path / "workers.jsonl"
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setFormatter(JsonFormatter())
        ctx = multiprocessing.get_context("spawn")
        with listening(file_handler, mp_context=ctx) as queue:
            procs = [ctx.Process(target=_worker, args=(queue, w, LINES)) for w in range(WORKERS)]
            for proc in procs:
                proc.start()
            for proc in procs:
                proc.join(timeout=120)
            assert [proc.exitcode for proc in procs] == [0] * WORKERS
        file_handler.close()

        lines = log_file.read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines]  # every line parses: nothing is torn
        seen = Counter((r["worker"], r["seq"]) for r in records)
        expected = {(w, s) for w in range(WORKERS) for s in range(LINES)}
        assert set(seen) == expected, f"missing: {sorted(expected - set(seen))[:5]}"
        assert max(seen.values()) == 1, "some lines were written twice"
        assert len(records) == WORKERS * LINES
        for r in records:
            assert r["message"] == f"worker {r['worker']} line {r['seq']} " + "x" * 200
            assert r["fold"] == r["worker"], "the context filter on the QueueHandler should set fold"

    def test_listener_respects_handler_levels(self, tmp_path: Path) -> None:
        log_file = tmp_path / "child.log"
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setLevel(logging.INFO)
        ctx = multiprocessing.get_context("spawn")
        queue, listener = start_listener(file_handler, mp_context=ctx)
        try:
            proc = ctx.Process(target=_single_record, args=(queue,))
            proc.start()
            proc.join(timeout=60)
            assert proc.exitcode == 0
        finally:
            listener.stop()
            file_handler.close()
        assert log_file.read_text(encoding="utf-8") == ""

    def test_debug_record_arrives_from_spawned_child(self, tmp_path: Path) -> None:
        log_file = tmp_path / "child.log"
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setFormatter(logging.Formatter("%(processName)s %(name)s %(message)s"))
        ctx = multiprocessing.get_context("spawn")
        with listening(file_handler, mp_context=ctx) as queue:
            proc = ctx.Process(target=_single_record, args=(queue,), name="child-1")
            proc.start()
            proc.join(timeout=60)
        file_handler.close()
        expected = "child-1 grade_predictor.child hello from a spawned child\n"
        assert log_file.read_text(encoding="utf-8") == expected


class SlowListHandler(logging.Handler):
    """Keep records, slowly, so that an undrained queue would still hold some."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        time.sleep(0.01)
        self.messages.append(record.getMessage())


class TestListening:
    """Leaving the listening block drains the queue into the handlers."""

    def test_every_queued_record_is_handled_on_exit(self) -> None:
        slow = SlowListHandler()
        log = logging.getLogger("grade_predictor.queued")
        log.propagate = False
        log.setLevel(logging.INFO)
        with listening(slow) as queue:
            log.addHandler(QueueHandler(queue))
            for i in range(20):
                log.info("record %d", i)
        assert slow.messages == [f"record {i}" for i in range(20)]


class TestConfigureWorker:
    """configure_worker leaves exactly one QueueHandler on the root logger."""

    def test_replaces_existing_handlers(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        root = logging.getLogger()
        root.addHandler(logging.NullHandler())
        configure_worker(queue)
        configure_worker(queue, level="INFO")
        assert len(root.handlers) == 1
        assert isinstance(root.handlers[0], QueueHandler)
        assert root.level == logging.INFO
        queue.close()
        queue.join_thread()

    def test_filters_go_on_the_queue_handler(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        flt = ContextFilter()
        handler = configure_worker(queue, filters=[flt])
        assert handler.filters == [flt]
        queue.close()
        queue.join_thread()
