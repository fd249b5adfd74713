"""Checks for assignment 09, structured JSON logs and secrets.

Task 9.1 ``JsonFormatter``: find the bug, one JSON object per line with merged messages and every extra field.
Task 9.2 ``RedactingFilter``: scrub API keys, passwords and e-mail addresses from messages, arguments, extras.
Task 9.3 ``error_counts(path)``: query a JSON log file, errors per request id.
Task 9.4 ``slowest_request(path)``: query a JSON log file, the request with the largest latency.
"""

from __future__ import annotations

import io
import json
import logging
import random
import re
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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

REDACTED = "[REDACTED]"


def _logger_with(handler: logging.Handler, *more: logging.Handler) -> logging.Logger:
    logger = logging.getLogger("inference.json")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    for each in (handler, *more):
        logger.addHandler(each)
    return logger


# --- Task 9.1 ---------------------------------------------------------------------------------------

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _json_lines(
    formatter_class: type[logging.Formatter], emit: Callable[[logging.Logger], None]
) -> tuple[list[str], str]:
    with isolated() as captured:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter_class())
        emit(_logger_with(handler))
        return stream.getvalue().splitlines(), captured.stderr


def _logging_error(stderr: str) -> str:
    """The exception line of the first '--- Logging error ---' report in ``stderr``."""
    found = re.search(r"^(\w[\w.]*(?:Error|Exception): .*)$", stderr, re.MULTILINE)
    return found.group(1) if found else stderr[-300:]


def _parse(lines: list[str], count: int, stderr: str) -> list[dict[str, Any]]:
    expect(
        "Logging error" not in stderr,
        "formatting a record failed, so the record was dropped (logging printed '--- Logging error ---' "
        f"with {_logging_error(stderr)!r}). json.dumps raises TypeError on values it cannot encode, such as "
        "a Path: pass default=str.",
    )
    expect(
        len(lines) == count,
        f"expected {count} line(s) of output, one JSON object per record; got {len(lines)}: {lines[:3]}.",
    )
    parsed = []
    for line in lines:
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as error:
            raise AssertionError(f"each line should be one JSON object; {line!r} is not ({error}).") from None
        expect(isinstance(obj, dict), f"each line should be a JSON object; got {obj!r}.")
        parsed.append(obj)
    return parsed


def _expect_core(obj: dict[str, Any], level: str, message: str, before: float, after: float) -> None:
    for key in ("ts", "level", "logger", "message"):
        expect(key in obj, f"every line needs the key {key!r}; this one has {sorted(obj)}.")
    expect(obj["level"] == level, f"'level' should be {level!r}; it is {obj['level']!r}.")
    expect(
        obj["logger"] == "inference.json", f"'logger' should be 'inference.json'; it is {obj['logger']!r}."
    )
    expect(
        obj["message"] == message,
        f"'message' should be the message with its arguments merged in, {message!r}; it is "
        f"{obj['message']!r}. record.msg is the template; record.getMessage() merges the arguments.",
    )
    try:
        stamp = datetime.fromisoformat(obj["ts"])
    except (TypeError, ValueError):
        raise AssertionError(f"'ts' should be an ISO 8601 timestamp; it is {obj['ts']!r}.") from None
    expect(
        stamp.tzinfo is not None and stamp.utcoffset() is not None and not stamp.utcoffset().total_seconds(),
        f"'ts' should carry the UTC offset (+00:00); it is {obj['ts']!r}.",
    )
    expect(
        before - 1 <= stamp.timestamp() <= after + 1,
        f"'ts' should be the time the record was created; {obj['ts']!r} is not.",
    )


def task_1(JsonFormatter: type[logging.Formatter]) -> None:
    """Public checks: merged message, request fields, and a Path in extra."""
    args = (128, 3.25)

    def emit(logger: logging.Logger) -> None:
        logger.info(
            "scored %d rows in %.1f ms",
            *args,
            extra={
                "request_id": "req-test-9101",
                "model_version": "linear-v1",
                "checkpoint": Path("models") / "linear-v1.json",
            },
        )

    before = datetime.now(UTC).timestamp()
    lines, stderr = _json_lines(JsonFormatter, emit)
    after = datetime.now(UTC).timestamp()
    (obj,) = _parse(lines, 1, stderr)
    _expect_core(obj, "INFO", "scored {} rows in {:.1f} ms".format(*args), before, after)
    for key, value in {
        "request_id": "req-test-9101",
        "model_version": "linear-v1",
        "checkpoint": str(Path("models") / "linear-v1.json"),
    }.items():
        expect(
            obj.get(key) == value,
            f"the extra field {key!r} should appear as {value!r}; "
            f"the line has {key}={obj.get(key, '<missing>')!r}.",
        )
    passed("9.1", hidden_checks=3)


def task_1_hidden(JsonFormatter: type[logging.Formatter]) -> None:
    """Hidden checks: other extras, a multi-line message, an exception, no internal attributes."""

    def emit(logger: logging.Logger) -> None:
        logger.warning("line one\nline two", extra={"fold": 3, "tags": {"cv", "smoke"}})
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            logger.exception("fold %s failed", 4, extra={"request_id": "req-test-9102"})
        logger.debug("plain %s", "record")

    before = datetime.now(UTC).timestamp()
    lines, stderr = _json_lines(JsonFormatter, emit)
    after = datetime.now(UTC).timestamp()
    first, second, third = _parse(lines, 3, stderr)
    _expect_core(first, "WARNING", "line one\nline two", before, after)
    expect(first.get("fold") == 3, f"the extra field fold=3 should stay a number; got {first.get('fold')!r}.")
    expect(
        isinstance(first.get("tags"), str) and "smoke" in first["tags"],
        f"a value JSON cannot encode (a set) should be written with str(); got {first.get('tags')!r}.",
    )
    _expect_core(second, "ERROR", "fold 4 failed", before, after)
    expect(
        "ZeroDivisionError" in str(second.get("exc_info", "")),
        "a record logged with logger.exception() should carry the traceback text under 'exc_info'; the line "
        f"has {sorted(second)}.",
    )
    _expect_core(third, "DEBUG", "plain record", before, after)
    internal = sorted((set(first) | set(third)) & (_STANDARD - {"message"}))
    expect(
        not internal,
        f"only ts, level, logger, message, exc_info and the extra fields belong in a line; these LogRecord "
        f"internals leaked in: {internal}.",
    )
    print("Task 9.1: hidden checks passed.")


# --- Task 9.2 ---------------------------------------------------------------------------------------


def _redacted_run(
    filter_class: type[logging.Filter], emit: Callable[[logging.Logger], None]
) -> tuple[list[str], list[logging.LogRecord], str]:
    with isolated() as captured:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        handler.addFilter(filter_class())
        spy = ListHandler()
        try:
            emit(_logger_with(handler, spy))
        except (TypeError, ValueError, KeyError) as error:
            raise AssertionError(
                f"after the filter ran, formatting a record raised {type(error).__name__}: {error}. "
                "The message and its arguments must still fit together (a '%s' removed from the template, "
                "or a number turned into a string for '%d', breaks them): merge first with "
                "record.getMessage()."
            ) from None
        return stream.getvalue().splitlines(), spy.records, captured.stderr


def _expect_no_secret(secrets: list[str], lines: list[str], records: list[logging.LogRecord]) -> None:
    for secret in secrets:
        for line in lines:
            expect(secret not in line, f"the handler wrote a secret: {line!r} still contains {secret!r}.")
        for record in records:
            for key, value in vars(record).items():
                if key in ("msg", "args") or key not in _STANDARD:
                    expect(
                        secret not in repr(value),
                        f"after the filter, the record's {key!r} still holds the secret {secret!r}: "
                        f"{value!r}. "
                        "Other handlers (a JSON file, an error tracker) would write it.",
                    )


def task_2(RedactingFilter: type[logging.Filter]) -> None:
    """Public checks: a secret in the template, in the arguments and in extras; numbers untouched."""
    secrets = ["sk-test-not-a-real-key-9201", "ada@example.com", "hunter2-not-real", "grace@example.org"]

    def emit(logger: logging.Logger) -> None:
        logger.warning("calling the scoring API with key sk-test-not-a-real-key-9201")
        logger.info("user %s logged in with password=%s", "ada@example.com", "hunter2-not-real")
        logger.info("request from %s", "client-7", extra={"contact": "grace@example.org", "attempt": 3})
        logger.info("scored %d rows in %.1f ms", 128, 3.25)

    lines, records, stderr = _redacted_run(RedactingFilter, emit)
    expect(
        "Logging error" not in stderr,
        f"a record failed to format after the filter ({_logging_error(stderr)!r}): a %d or %.1f argument "
        "must stay a number.",
    )
    expect(
        len(lines) == 4,
        "the filter should let every record through (redacted); 4 were logged, "
        f"{len(lines)} written: {lines}.",
    )
    want = [
        f"WARNING calling the scoring API with key {REDACTED}",
        f"INFO user {REDACTED} logged in with password={REDACTED}",
        "INFO request from client-7",
        "INFO scored 128 rows in 3.2 ms",
    ]
    for got, expected in zip(lines, want, strict=True):
        expect(got == expected, f"expected the line {expected!r}; the handler wrote {got!r}.")
    _expect_no_secret(secrets, lines, records)
    contact, attempt = getattr(records[2], "contact", None), getattr(records[2], "attempt", None)
    expect(
        contact == REDACTED and attempt == 3,
        f"a string extra field holding a secret should become {REDACTED!r} and other extras stay as they "
        f"were; got contact={contact!r}, attempt={attempt!r}.",
    )
    passed("9.2", hidden_checks=2)


def task_2_hidden(RedactingFilter: type[logging.Filter]) -> None:
    """Hidden checks: nested extras, other spellings, secrets mid-sentence, several per message."""
    key = "sk-test-not-a-real-key-9299"
    secrets = [key, "bob.smith+ml@uni.example.edu", "s3cr3t-not-real", "x@y.io"]

    def emit(logger: logging.Logger) -> None:
        logger.error(
            "upload failed for %s (Password: s3cr3t-not-real), retrying",
            "bob.smith+ml@uni.example.edu",
            extra={"headers": {"Authorization": f"Bearer {key}", "Accept": "application/json"}},
        )
        logger.info("keys %s and %s rotated for %s", key, key + "-b", "x@y.io", extra={"batch": [key, 7]})

    lines, records, stderr = _redacted_run(RedactingFilter, emit)
    expect(
        "Logging error" not in stderr,
        f"a record failed to format after the filter ({_logging_error(stderr)!r}): a %d or %.1f argument "
        "must stay a number.",
    )
    expect(len(lines) == 2, f"both records should be written; {len(lines)} were: {lines}.")
    _expect_no_secret(secrets, lines, records)
    expect(
        lines[0] == f"ERROR upload failed for {REDACTED} (Password: {REDACTED}), retrying",
        f"expected 'ERROR upload failed for {REDACTED} (Password: {REDACTED}), retrying'; got {lines[0]!r}.",
    )
    headers = getattr(records[0], "headers", {})
    expect(
        isinstance(headers, dict) and headers.get("Accept") == "application/json",
        f"non-secret values inside an extra dict should be kept; headers became {headers!r}.",
    )
    expect(
        records[1].getMessage() == lines[1].removeprefix("INFO "),
        "after the filter, record.getMessage() should still work and give the redacted message; it gave "
        f"{records[1].getMessage()!r}.",
    )
    print("Task 9.2: hidden checks passed.")


# --- Task 9.3 ---------------------------------------------------------------------------------------

_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _write_log(path: Path, seed: int, records: int) -> Counter[str]:
    """Write a JSON log with noise; return the true number of ERROR/CRITICAL records per request id."""
    rng = random.Random(seed)
    ids = [f"req-test-{seed}-{n:03d}" for n in range(1, 9)]
    truth: Counter[str] = Counter()
    lines = []
    for n in range(records):
        level = rng.choices(_LEVELS, weights=(2, 6, 3, 3, 1))[0]
        obj: dict[str, Any] = {
            "ts": f"2026-01-01T09:{n // 60 % 60:02d}:{n % 60:02d}.000+00:00",
            "level": level,
            "logger": rng.choice(["service.api", "grade_predictor.model"]),
            "message": f"event {n}",
        }
        if rng.random() < 0.8:
            request_id = rng.choice(ids)
            obj["request_id"] = request_id
            if level in ("ERROR", "CRITICAL"):
                truth[request_id] += 1
        if rng.random() < 0.3:
            obj["latency_ms"] = round(rng.uniform(1, 500), 1)
        lines.append(json.dumps(obj))
        if rng.random() < 0.05:
            lines.append("")
    lines.insert(len(lines) // 2, "Traceback (most recent call last):")
    lines.append('{"ts": "2026-01-01T10:00:00.000+00:00", "level": "ERROR", "request_id": "req-te')
    path.write_text("\n".join(lines), encoding="utf-8")
    return truth


def _expect_counts(
    error_counts: Callable[[Path], Any], seed: int, records: int, *, as_str: bool = False
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "service.jsonl"
        truth = _write_log(path, seed, records)
        try:
            with isolated():
                got = error_counts(str(path) if as_str else path)
        except json.JSONDecodeError as error:
            raise AssertionError(
                f"error_counts() crashed on a line that is not JSON ({error}). Real log files have them: a "
                "traceback printed by another tool, a last line cut off by a crash. Skip such lines."
            ) from None
    expect(isinstance(got, dict), f"error_counts() should return a dict; it returned {got!r}.")
    want = dict(truth)
    if got != want:
        wrong = {
            k: (got.get(k), want.get(k))
            for k in sorted(set(got) | set(want), key=str)
            if got.get(k) != want.get(k)
        }
        raise AssertionError(
            "error_counts() should count ERROR and CRITICAL records per request_id (records without a "
            "request_id are not counted); these entries differ, as (yours, expected): "
            f"{dict(list(wrong.items())[:5])}."
        )


def task_3(error_counts: Callable[[Path], Any]) -> None:
    """Public check: a small log with a blank line, a traceback line and a cut-off last line."""
    _expect_counts(error_counts, seed=9301, records=40)
    passed("9.3", hidden_checks=2)


def task_3_hidden(error_counts: Callable[[Path], Any]) -> None:
    """Hidden checks: larger logs, and a path given as a string."""
    _expect_counts(error_counts, seed=9302, records=400)
    _expect_counts(error_counts, seed=9303, records=150, as_str=True)
    print("Task 9.3: hidden checks passed.")


# --- Task 9.4 ---------------------------------------------------------------------------------------


def _slowest(path: Path) -> tuple[str, float] | None:
    """The check's own answer, computed from the file the check wrote."""
    best: tuple[str, float] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(obj, dict) or not obj.get("request_id"):
            continue
        latency = obj.get("latency_ms")
        numeric = isinstance(latency, int | float) and not isinstance(latency, bool)
        if numeric and (best is None or latency > best[1]):
            best = (obj["request_id"], float(latency))
    return best


def _expect_slowest(
    slowest_request: Callable[[Path], Any], seed: int, records: int, *, unattributed: float | None = None
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "service.jsonl"
        _write_log(path, seed, records)
        if unattributed is not None:
            with path.open("a", encoding="utf-8") as handle:
                handle.write(
                    "\n" + json.dumps({"level": "INFO", "message": "warm-up", "latency_ms": unattributed})
                )
                handle.write(
                    "\n" + json.dumps({"level": "INFO", "request_id": "req-test-odd", "latency_ms": "n/a"})
                )
        want = _slowest(path)
        try:
            with isolated():
                got = slowest_request(str(path))
        except json.JSONDecodeError as error:
            raise AssertionError(
                f"slowest_request() crashed on a line that is not JSON ({error}); skip such lines."
            ) from None
        except (TypeError, ValueError) as error:
            raise AssertionError(
                f"slowest_request() crashed ({type(error).__name__}: {error}); a record whose latency_ms is "
                "missing or not a number must be skipped."
            ) from None
    shown = tuple(got) if isinstance(got, list | tuple) else got
    expect(
        isinstance(shown, tuple) and len(shown) == 2 and shown[0] == want[0] and shown[1] == want[1],
        f"slowest_request() should return {want} (the request_id and latency_ms of the record with the "
        f"largest latency_ms among records that have a request_id); it returned {got!r}.",
    )


def task_4(slowest_request: Callable[[Path], Any]) -> None:
    """Public check: a small log with noise lines."""
    _expect_slowest(slowest_request, seed=9401, records=60)
    passed("9.4", hidden_checks=2)


def task_4_hidden(slowest_request: Callable[[Path], Any]) -> None:
    """Hidden checks: a larger log, a slower record without a request id, a latency that is not a number."""
    _expect_slowest(slowest_request, seed=9402, records=500)
    _expect_slowest(slowest_request, seed=9403, records=80, unattributed=10_000.0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "quiet.jsonl"
        path.write_text(json.dumps({"level": "INFO", "message": "started"}) + "\n", encoding="utf-8")
        with isolated():
            got = slowest_request(path)
    expect(
        got is None,
        f"with no request latencies in the file, slowest_request() should return None; got {got!r}.",
    )
    print("Task 9.4: hidden checks passed.")
