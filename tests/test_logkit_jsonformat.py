"""Tests for logkit.jsonformat.JsonFormatter."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from logkit.jsonformat import JsonFormatter


@pytest.fixture
def stream() -> io.StringIO:
    """A root handler writing JsonFormatter lines into a StringIO."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter(static_fields={"service": "grade-predictor"}))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    return out


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


class TestJsonFormatter:
    """Each record becomes one valid JSON object with the core keys and every extra field."""

    def test_one_valid_object_per_line(self, stream: io.StringIO) -> None:
        log = logging.getLogger("grade_predictor.model")
        log.info("first")
        log.warning("second\nwith a newline")
        lines = _lines(stream)
        assert [line["message"] for line in lines] == ["first", "second\nwith a newline"]
        assert [line["level"] for line in lines] == ["INFO", "WARNING"]
        assert {line["logger"] for line in lines} == {"grade_predictor.model"}

    def test_message_merges_percent_arguments(self, stream: io.StringIO) -> None:
        logging.getLogger("x").info("fold %d: accuracy %.2f", 3, 0.8712)
        assert _lines(stream)[0]["message"] == "fold 3: accuracy 0.87"

    def test_timestamp_is_iso_8601_utc(self, stream: io.StringIO) -> None:
        logging.getLogger("x").info("tick")
        ts = datetime.fromisoformat(str(_lines(stream)[0]["ts"]))
        assert ts.utcoffset() == timedelta(0)

    def test_extra_fields_and_static_fields_are_kept(self, stream: io.StringIO) -> None:
        extra = {"run_id": "r-7", "fold": 2, "metrics": {"mae": 0.5}, "model_version": "1.2.0"}
        logging.getLogger("x").info("done", extra=extra)
        line = _lines(stream)[0]
        assert {k: line[k] for k in extra} == extra
        assert line["service"] == "grade-predictor"

    def test_path_in_extra_does_not_drop_the_record(self, stream: io.StringIO) -> None:
        logging.getLogger("x").info("saved", extra={"checkpoint": Path("models") / "ridge.pkl"})
        line = _lines(stream)[0]
        assert line["checkpoint"] == str(Path("models") / "ridge.pkl")

    def test_unencodable_keys_and_cycles_fall_back_to_repr(self, stream: io.StringIO) -> None:
        cyclic: list[object] = []
        cyclic.append(cyclic)
        logging.getLogger("x").info("odd", extra={"by_pair": {(1, 2): 0.5}, "loop": cyclic, "ok": 1})
        line = _lines(stream)[0]
        assert line["by_pair"] == repr({(1, 2): 0.5})
        assert line["loop"] == "[[...]]"
        assert line["ok"] == 1

    def test_exception_text(self, stream: io.StringIO) -> None:
        try:
            raise ValueError("shape mismatch (32, 10) vs (32, 8)")
        except ValueError:
            logging.getLogger("x").exception("fold failed")
        line = _lines(stream)[0]
        assert line["message"] == "fold failed"
        assert "Traceback (most recent call last)" in str(line["exc_info"])
        assert "ValueError: shape mismatch" in str(line["exc_info"])

    def test_no_exc_info_key_without_exception(self, stream: io.StringIO) -> None:
        logging.getLogger("x").error("plain")
        assert "exc_info" not in _lines(stream)[0]

    def test_extra_cannot_overwrite_core_keys(self, stream: io.StringIO) -> None:
        logging.getLogger("x").info("msg", extra={"level": "fake", "ts": "never"})
        line = _lines(stream)[0]
        assert line["level"] == "INFO"
        assert line["extra_level"] == "fake"
        assert line["extra_ts"] == "never"

    def test_standard_attributes_are_not_dumped(self, stream: io.StringIO) -> None:
        logging.getLogger("x").info("lean")
        assert set(_lines(stream)[0]) == {"ts", "level", "logger", "message", "service"}
