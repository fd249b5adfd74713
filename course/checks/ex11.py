"""Checks for assignment 11: structlog for production services.

Every check starts from ``structlog.reset_defaults()`` (through :func:`isolated`), captures output in a
``StringIO`` or with :func:`structlog.testing.capture_logs`, and parses JSON instead of comparing text.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, MutableMapping
from datetime import datetime
from typing import Any

import structlog
from structlog.testing import capture_logs

from course.checks.support import expect, isolated, output_note, passed

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

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_FAKE_TOKEN = "sk-test-not-a-real-key"
_FAKE_API_KEY = "ak-test-0000-fake"
_FAKE_STUDENT = "S-TEST-0042"


def _parse_lines(text: str, where: str) -> list[dict[str, Any]]:
    """Parse one JSON object per line, failing with the offending line."""
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(
                f"every line in {where} should be one JSON object; this one is not:\n{line!r}"
            ) from None
        expect(
            event is not None,
            f"a line in {where} is JSON null: a processor returned None instead of the event dict: {line!r}",
        )
        expect(
            isinstance(event, dict),
            f"each line should be a JSON object, not {type(event).__name__}: {line!r}",
        )
        events.append(event)
    return events


def _is_utc_iso(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return False
    return stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0


# --- Task 11.1: a JSON pipeline --------------------------------------------------------------------------


def _check_json_pipeline(configure_json_logging: Callable[[io.StringIO], None], hidden: bool) -> None:
    stream = io.StringIO()
    with isolated() as captured:
        configure_json_logging(stream)
        log = structlog.get_logger("grade_service")
        structlog.contextvars.bind_contextvars(request_id="req-1f2e")
        log.debug("cache_lookup", key="features:42")
        log.info("prediction", model_version="linear-v1", latency_ms=42)
        log.warning("slow_request", latency_ms=812)
        if hidden:
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(request_id="req-9a9a")
            structlog.get_logger().critical("model_unavailable", reason="file missing")
    expect(
        not captured.stdout and not captured.stderr,
        "the log lines should go to the stream you were given, not to stdout or stderr "
        "(PrintLoggerFactory(file=stream) or WriteLoggerFactory(file=stream))." + output_note(captured),
    )
    events = _parse_lines(stream.getvalue(), "the stream")
    wanted = [("prediction", "info", "req-1f2e"), ("slow_request", "warning", "req-1f2e")]
    if hidden:
        wanted.append(("model_unavailable", "critical", "req-9a9a"))
    seen = [(e.get("event"), e.get("level"), e.get("request_id")) for e in events]
    expect(
        seen == wanted,
        "expected one JSON line per event at INFO and above (the DEBUG one dropped), each with its level and "
        f"the request_id bound with bind_contextvars().\nexpected (event, level, request_id): {wanted}\n"
        f"seen:                                 {seen}",
    )
    for event in events:
        expect(
            _is_utc_iso(event.get("timestamp")),
            "every event should carry a 'timestamp' in ISO 8601, UTC (TimeStamper(fmt='iso', utc=True)); "
            f"seen {event.get('timestamp')!r} in {event}",
        )
    expect(
        events[0].get("model_version") == "linear-v1" and events[0].get("latency_ms") == 42,
        f"the key-value pairs passed to log.info() should appear in the JSON as they are; seen {events[0]}",
    )


def task_1(configure_json_logging: Callable[[io.StringIO], None]) -> None:
    """Task 11.1: contextvars, level, ISO timestamp and JSON, one object per line in the given stream."""
    _check_json_pipeline(configure_json_logging, hidden=False)
    passed("11.1", hidden_checks=1)


def task_1_hidden(configure_json_logging: Callable[[io.StringIO], None]) -> None:
    """Hidden: a second request id after clearing the context, and CRITICAL from another logger."""
    _check_json_pipeline(configure_json_logging, hidden=True)


# --- Task 11.2: a scrubbing processor -------------------------------------------------------------------

Processor = Callable[[Any, str, MutableMapping[str, Any]], Any]


def _scrubbed(scrub: Processor, calls: list[tuple[str, dict[str, Any]]]) -> tuple[list[dict[str, Any]], str]:
    stream = io.StringIO()
    with isolated():
        structlog.configure(
            processors=[structlog.processors.add_log_level, scrub, structlog.processors.JSONRenderer()],
            logger_factory=structlog.WriteLoggerFactory(file=stream),
            cache_logger_on_first_use=False,
        )
        log = structlog.get_logger()
        for event, fields in calls:
            try:
                log.info(event, **fields)
            except Exception as error:
                raise AssertionError(
                    f"logging {event!r} with keys {sorted(fields)} raised {error!r} inside your processor. "
                    "A processor must handle events with or without the keys it looks for, and return the "
                    "event dict."
                ) from None
    text = stream.getvalue()
    return _parse_lines(text, "the output"), text


def _check_scrub(scrub: Processor, hidden: bool) -> None:
    calls: list[tuple[str, dict[str, Any]]] = [
        ("grade_requested", {"student_id": _FAKE_STUDENT, "course": "ML101"}),
        ("model_loaded", {"model_version": "linear-v1"}),
        ("upstream_call", {"token": _FAKE_TOKEN, "status": 200}),
    ]
    if hidden:
        calls += [
            ("retry", {"api_key": _FAKE_API_KEY, "token": _FAKE_TOKEN, "student_id": _FAKE_STUDENT}),
            ("empty_token", {"token": None}),
        ]
    events, text = _scrubbed(scrub, calls)
    expect(
        len(events) == len(calls),
        f"expected {len(calls)} events, one per log call, but {len(events)} reached the output:\n{text}",
    )
    for secret in (_FAKE_TOKEN, _FAKE_API_KEY, _FAKE_STUDENT):
        expect(secret not in text, f"{secret!r} reached the log output:\n{text}")
    for (name, fields), event in zip(calls, events, strict=True):
        expect("student_id" not in event, f"'student_id' should be dropped entirely; seen {event}")
        for key in ("token", "api_key"):
            if key in fields:
                expect(
                    event.get(key) == "[REDACTED]",
                    f"'{key}' should stay in the event with the value '[REDACTED]', so a reader knows "
                    f"one was sent; seen {event}",
                )
        kept = {k: v for k, v in fields.items() if k not in ("student_id", "token", "api_key")}
        for key, value in kept.items():
            expect(event.get(key) == value, f"the key {key!r} should pass through unchanged; seen {event}")
        expect(event.get("event") == name, f"the event name should pass through unchanged; seen {event}")


def task_2(scrub: Processor) -> None:
    """Task 11.2: personal data dropped, token redacted, everything else untouched."""
    _check_scrub(scrub, hidden=False)
    passed("11.2", hidden_checks=1)


def task_2_hidden(scrub: Processor) -> None:
    """Hidden: api_key as well as token, all three keys at once, and a token that is None."""
    _check_scrub(scrub, hidden=True)


# --- Task 11.3: request_id across calls -----------------------------------------------------------------


def _load_features() -> list[float]:
    structlog.get_logger("grade_service.features").info("features_loaded", n_features=4)
    return [0.5, 0.25, 0.75, 1.0]


def _compute_score() -> float:
    structlog.get_logger("grade_service.model").info("score_computed", score=78.5)
    return 78.5


def _failing_step() -> float:
    structlog.get_logger("grade_service.model").warning("model_missing")
    raise FileNotFoundError("model.json")


def _events(logs: list[dict[str, Any]]) -> list[tuple[Any, Any, Any]]:
    return [(e.get("event"), e.get("request_id"), e.get("service")) for e in logs]


def _check_request_context(
    handle_request: Callable[[str, list[Callable[[], Any]]], list[Any]], hidden: bool
) -> None:
    with isolated(), capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        structlog.contextvars.bind_contextvars(service="grader")
        results = handle_request("req-a1", [_load_features, _compute_score])
        handle_request("req-b2", [_compute_score])
        raised: BaseException | None = None
        if hidden:
            try:
                handle_request("req-c3", [_failing_step])
            except FileNotFoundError as error:
                raised = error
        structlog.get_logger().info("between_requests")
    expect(
        results == [[0.5, 0.25, 0.75, 1.0], 78.5],
        f"handle_request() should return the results of its steps, in order; it returned {results!r}",
    )
    g = "grader"
    wanted = [
        ("request_started", "req-a1", g),
        ("features_loaded", "req-a1", g),
        ("score_computed", "req-a1", g),
        ("request_finished", "req-a1", g),
        ("request_started", "req-b2", g),
        ("score_computed", "req-b2", g),
        ("request_finished", "req-b2", g),
    ]
    if hidden:
        wanted += [("request_started", "req-c3", g), ("model_missing", "req-c3", g)]
    wanted.append(("between_requests", None, g))
    expect(
        _events(logs) == wanted,
        "every event logged during a request, including those of the steps (which use their own loggers), "
        "should carry that request's request_id; afterwards, no request_id should be left bound, and the "
        "service='grader' bound before the call should still be there.\n"
        f"expected (event, request_id, service): {wanted}\n"
        f"seen:                                  {_events(logs)}",
    )
    if hidden:
        expect(raised is not None, "a step's exception should propagate out of handle_request()")


def task_3(handle_request: Callable[[str, list[Callable[[], Any]]], list[Any]]) -> None:
    """Task 11.3: request_id on every event of the request, gone afterwards, other context kept."""
    _check_request_context(handle_request, hidden=False)
    passed("11.3", hidden_checks=1)


def task_3_hidden(handle_request: Callable[[str, list[Callable[[], Any]]], list[Any]]) -> None:
    """Hidden: a step that raises must not leave its request_id behind."""
    _check_request_context(handle_request, hidden=True)


# --- Task 11.4: one flag, two renderers -----------------------------------------------------------------


def _render(configure_output: Callable[..., None], as_json: bool) -> str:
    stream = io.StringIO()
    with isolated() as captured:
        configure_output(stream, as_json=as_json)
        log = structlog.get_logger()
        log.info("prediction", model_version="linear-v1", latency_ms=42)
        log.error("model_timeout", timeout_s=3)
    expect(
        not captured.stdout and not captured.stderr,
        f"with as_json={as_json}, the output should go to the stream you were given only."
        + output_note(captured),
    )
    return stream.getvalue()


def _check_renderers(configure_output: Callable[..., None]) -> None:
    json_text = _render(configure_output, as_json=True)
    events = _parse_lines(json_text, "the as_json=True output")
    seen = [(e.get("event"), e.get("level")) for e in events]
    expect(
        seen == [("prediction", "info"), ("model_timeout", "error")],
        f"as_json=True should give one JSON object per event with its level; seen {seen}",
    )
    expect(
        all(_is_utc_iso(e.get("timestamp")) for e in events) and events[0].get("latency_ms") == 42,
        f"each JSON event should carry an ISO UTC 'timestamp' and its key-value pairs; seen {events}",
    )
    console_text = _ANSI.sub("", _render(configure_output, as_json=False))
    lines = console_text.splitlines()
    expect(
        len(lines) == 2,
        f"as_json=False should print one line per event, two in all; seen {len(lines)}:\n{console_text}",
    )
    for line in lines:
        try:
            json.loads(line)
        except json.JSONDecodeError:
            continue
        raise AssertionError(
            f"as_json=False should give human-readable lines (ConsoleRenderer), not JSON: {line!r}"
        )
    first, second = lines
    expect(
        "prediction" in first and "latency_ms=42" in first and "info" in first,
        f"the console line should show the event, its level and key=value pairs; seen {first!r}",
    )
    expect(
        "model_timeout" in second
        and "error" in second
        and re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", second),
        "both renderers should get the same pipeline in front of them, so the console line has the level and "
        f"the ISO timestamp too; seen {second!r}",
    )


def task_4(configure_output: Callable[..., None]) -> None:
    """Task 11.4: the same pipeline with JSONRenderer or ConsoleRenderer at the end."""
    _check_renderers(configure_output)
    passed("11.4", hidden_checks=1)


def task_4_hidden(configure_output: Callable[..., None]) -> None:
    """Hidden: configuring again (a re-run cell) sends output to the new stream with the new renderer."""
    _check_renderers(configure_output)
    first, second = io.StringIO(), io.StringIO()
    with isolated():
        configure_output(first, as_json=True)
        configure_output(second, as_json=False)
        structlog.get_logger().info("prediction", latency_ms=42)
    expect(
        first.getvalue() == "",
        f"after configuring again, the first stream should receive nothing; it got {first.getvalue()!r}",
    )
    text = _ANSI.sub("", second.getvalue())
    expect(
        "latency_ms=42" in text and not text.lstrip().startswith("{"),
        f"after configuring again with as_json=False, the new stream should get a console line; got {text!r}",
    )
