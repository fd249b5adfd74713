"""Tests of the structlog prediction service: in-process with httpx's ASGI transport, and the real server."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from structlog.testing import capture_logs

from apps.service.app import REQUEST_ID_HEADER, create_app, train_default_model, valid_request_id
from apps.service.logging_setup import HANDLER_NAME, UVICORN_LOGGERS, configure_logging
from apps.service.main import build_parser
from grade_predictor.model import LinearGradeModel

REPO_ROOT = Path(__file__).resolve().parent.parent
FAKE_KEY = "sk-test-not-a-real-key-0123456789"
VALID = {"attendance": 0.9, "study_hours": 12.0, "prior_grade": 71.0}
FIELDS = ("attendance", "study_hours", "prior_grade")


@pytest.fixture(scope="module")
def model() -> LinearGradeModel:
    """One small trained model shared by the in-process tests."""
    return train_default_model()


def send(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """Send one request to ``app`` in-process (no lifespan, no network)."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def completion_lines(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry["event"] == "request_completed"]


class TestRequestLogging:
    """The middleware: request ids and exactly one completion line per request."""

    def test_completion_line_fields(self, model: LinearGradeModel) -> None:
        """A prediction logs one line with method, path, status, latency, model and request id."""
        app = create_app(model=model)
        with capture_logs() as logs:
            headers = {REQUEST_ID_HEADER: "client-7.a:b_c"}
            response = send(app, "POST", "/predict", json=VALID, headers=headers)
        assert response.status_code == 200
        body = response.json()
        assert body["request_id"] == response.headers[REQUEST_ID_HEADER] == "client-7.a:b_c"
        assert body["model_version"] == "linear-v1"
        assert 0.0 <= body["prediction"] <= 100.0
        (line,) = completion_lines(logs)
        assert {k: line[k] for k in ("method", "path", "status", "model_version", "request_id")} == {
            "method": "POST",
            "path": "/predict",
            "status": 200,
            "model_version": "linear-v1",
            "request_id": "client-7.a:b_c",
        }
        assert line["log_level"] == "info"
        assert isinstance(line["latency_ms"], float) and line["latency_ms"] >= 0

    def test_request_id_is_generated_when_absent(self, model: LinearGradeModel) -> None:
        """No header: a fresh id is generated, returned in header and body, and logged."""
        app = create_app(model=model)
        with capture_logs() as logs:
            first = send(app, "POST", "/predict", json=VALID)
            second = send(app, "POST", "/predict", json=VALID)
        ids = [first.headers[REQUEST_ID_HEADER], second.headers[REQUEST_ID_HEADER]]
        assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
        assert ids[0] != ids[1]
        assert [line["request_id"] for line in completion_lines(logs)] == ids
        assert first.json()["request_id"] == ids[0]

    @pytest.mark.parametrize(
        "bad_id", ["x" * 65, "has space", "semi;colon", 'quote"d', "-leading-dash", "", "ünïcode"]
    )
    def test_unsafe_request_id_is_replaced(self, model: LinearGradeModel, bad_id: str) -> None:
        """A client id that is too long or has unsafe characters is not trusted, echoed or logged."""
        app = create_app(model=model)
        with capture_logs() as logs:
            response = send(app, "GET", "/health", headers={REQUEST_ID_HEADER: bad_id.encode()})
        echoed = response.headers[REQUEST_ID_HEADER]
        assert echoed != bad_id
        assert re.fullmatch(r"[0-9a-f]{32}", echoed)
        (line,) = completion_lines(logs)
        assert line["request_id"] == echoed

    def test_valid_request_id_rule(self) -> None:
        """Short ids of letters, digits and . _ : - are accepted, as they are."""
        assert valid_request_id("req-123_abc.def:9") == "req-123_abc.def:9"
        assert valid_request_id("a" * 64) == "a" * 64
        assert valid_request_id("a" * 65) is None
        assert valid_request_id(None) is None
        assert valid_request_id("a\nb") is None

    def test_invalid_input_is_422_naming_fields_without_values(self, model: LinearGradeModel) -> None:
        """The 422 says what is wrong; its log line names the fields and carries no value."""
        app = create_app(model=model)
        payload = {"attendance": 7.123456, "study_hours": -3.5, "prior_grade": 50}
        payload["student_id"] = "S-fake-4711"
        with capture_logs() as logs:
            response = send(app, "POST", "/predict", json=payload)
        assert response.status_code == 422
        body = response.json()
        assert "attendance" in body["detail"] and "study_hours" in body["detail"]
        assert {e["field"] for e in body["errors"]} == {"attendance", "study_hours"}
        assert body["request_id"] == response.headers[REQUEST_ID_HEADER]
        (line,) = completion_lines(logs)
        assert line["status"] == 422
        assert line["invalid_fields"] == ["attendance", "study_hours"]
        logged = repr(logs)
        for value in ("7.123456", "-3.5", "S-fake-4711"):
            assert value not in logged
            assert value not in response.text  # the body explains, it does not echo

    def test_unexpected_field_name_is_not_echoed(self, model: LinearGradeModel) -> None:
        """An unknown key is rejected; its name (client-controlled text) stays out of the log."""
        app = create_app(model=model)
        with capture_logs() as logs:
            response = send(app, "POST", "/predict", json={**VALID, FAKE_KEY: 1})
        assert response.status_code == 422
        (line,) = completion_lines(logs)
        assert line["invalid_fields"] == ["<unexpected field>"]
        assert FAKE_KEY not in repr(logs)

    def test_malformed_json_is_422(self, model: LinearGradeModel) -> None:
        """A body that is not JSON is a client error about the body."""
        app = create_app(model=model)
        with capture_logs() as logs:
            response = send(
                app, "POST", "/predict", content=b"{not json", headers={"content-type": "application/json"}
            )
        assert response.status_code == 422
        (line,) = completion_lines(logs)
        assert line["invalid_fields"] == ["body"]

    def test_student_id_is_never_logged(self, model: LinearGradeModel) -> None:
        """The optional student_id is accepted and appears in no log entry."""
        app = create_app(model=model)
        with capture_logs() as logs:
            response = send(app, "POST", "/predict", json={**VALID, "student_id": "S-fake-0042"})
        assert response.status_code == 200
        assert "S-fake-0042" not in repr(logs)

    def test_unhandled_error_is_500_with_one_line_and_traceback(self) -> None:
        """A crash in the route still gets the request id, a 500 body and one ERROR completion line."""

        class BrokenModel(LinearGradeModel):
            def predict(self, features: Any) -> list[float]:
                raise RuntimeError("weights file is corrupt")

        app = create_app(model=BrokenModel())
        with capture_logs() as logs:
            response = send(app, "POST", "/predict", json=VALID, headers={REQUEST_ID_HEADER: "boom-1"})
        assert response.status_code == 500
        assert response.json() == {"detail": "Internal server error.", "request_id": "boom-1"}
        assert response.headers[REQUEST_ID_HEADER] == "boom-1"
        (line,) = completion_lines(logs)
        assert (line["status"], line["log_level"], line["request_id"]) == (500, "error", "boom-1")
        assert isinstance(line["exc_info"], RuntimeError)
        assert len(logs) == 1  # logged once, not again by an outer layer

    def test_not_found_is_logged_too(self, model: LinearGradeModel) -> None:
        """Responses the routes never see (404) also get a completion line."""
        app = create_app(model=model)
        with capture_logs() as logs:
            response = send(app, "GET", "/nope")
        assert response.status_code == 404
        (line,) = completion_lines(logs)
        assert (line["path"], line["status"]) == ("/nope", 404)

    def test_health(self, model: LinearGradeModel) -> None:
        """/health is ok with a model, 503 'starting' before one is loaded."""
        assert send(create_app(model=model), "GET", "/health").json() == {
            "status": "ok",
            "model_version": "linear-v1",
        }
        waiting = send(create_app(), "GET", "/health")  # ASGITransport runs no lifespan: no model
        assert waiting.status_code == 503
        assert waiting.json()["status"] == "starting"


class TestLoggingSetup:
    """configure_logging: one pipeline, one JSON object per line, for structlog and stdlib records."""

    def read_json_lines(self, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
        out = capsys.readouterr().out
        return [json.loads(line) for line in out.splitlines()]

    def test_structlog_and_stdlib_records_render_alike(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Our events, uvicorn's and the library's records all come out as JSON with the same keys."""
        configure_logging(json=True)
        structlog.get_logger("apps.service.test").info("model_loaded", model_version="linear-v1")
        logging.getLogger("uvicorn.error").info("Uvicorn running on %s", "http://127.0.0.1:1")
        logging.getLogger("grade_predictor.model").warning("%d rows clipped", 2)
        ours, uvicorn, library = self.read_json_lines(capsys)
        assert ours["event"] == "model_loaded" and ours["model_version"] == "linear-v1"
        assert uvicorn["event"] == "Uvicorn running on http://127.0.0.1:1"
        assert library["event"] == "2 rows clipped"
        for line, logger_name, level in [
            (ours, "apps.service.test", "info"),
            (uvicorn, "uvicorn.error", "info"),
            (library, "grade_predictor.model", "warning"),
        ]:
            assert (line["logger"], line["level"]) == (logger_name, level)
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", line["timestamp"])
            assert list(line)[:4] == ["timestamp", "level", "logger", "event"]

    def test_bound_context_reaches_foreign_records(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A request id bound with structlog.contextvars appears on the library's stdlib lines."""
        configure_logging(json=True)
        with structlog.contextvars.bound_contextvars(request_id="ctx-1"):
            logging.getLogger("grade_predictor.service").warning("clipped")
        logging.getLogger("grade_predictor.service").warning("after")
        inside, after = self.read_json_lines(capsys)
        assert inside["request_id"] == "ctx-1"
        assert "request_id" not in after

    def test_secrets_are_redacted(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A secret in a field or in a stdlib message is masked before rendering."""
        configure_logging(json=True)
        structlog.get_logger("t").info("tracking_configured", api_key=FAKE_KEY)
        logging.getLogger("t").warning("calling tracker with Authorization: Bearer %s", FAKE_KEY)
        out = capsys.readouterr().out
        assert out.count("\n") == 2
        assert FAKE_KEY not in out

    def test_exception_is_a_string_field_without_locals(self, capsys: pytest.CaptureFixture[str]) -> None:
        """format_exc_info renders the traceback as text; local variables are not shown."""
        configure_logging(json=True)
        local_secret = "hunter2-not-a-real-password"
        try:
            raise ValueError(f"bad value of length {len(local_secret)}")
        except ValueError:
            structlog.get_logger("t").exception("failed")
        (line,) = self.read_json_lines(capsys)
        assert line["level"] == "error"
        assert "Traceback (most recent call last)" in line["exception"]
        assert "ValueError: bad value of length" in line["exception"]
        assert local_secret not in json.dumps(line)

    def test_level_filters_both_kinds(self, capsys: pytest.CaptureFixture[str]) -> None:
        """level='WARNING' drops INFO lines from structlog and from stdlib loggers."""
        configure_logging(json=True, level="warning")
        structlog.get_logger("t").info("dropped")
        logging.getLogger("uvicorn.error").info("dropped too")
        structlog.get_logger("t").warning("kept")
        assert [line["event"] for line in self.read_json_lines(capsys)] == ["kept"]

    def test_json_is_the_default_when_stdout_is_not_a_terminal(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """json=None picks JSON for a pipe or file (capsys's stdout is not a TTY)."""
        configure_logging()
        structlog.get_logger("t").info("hello")
        assert self.read_json_lines(capsys)[0]["event"] == "hello"

    def test_console_format_is_not_json(self, capsys: pytest.CaptureFixture[str]) -> None:
        """json=False renders for people; no ANSI colours when stdout is not a terminal."""
        configure_logging(json=False)
        structlog.get_logger("t").info("hello", answer=42)
        out = capsys.readouterr().out
        assert "hello" in out and "answer=42" in out
        assert not out.lstrip().startswith("{")
        assert "\x1b[" not in out

    def test_console_tracebacks_hide_local_variables(self, capsys: pytest.CaptureFixture[str]) -> None:
        """rich's traceback shows locals by default; the console renderer is told not to."""
        configure_logging(json=False)
        # Built at run time: rich prints the source lines around each frame, and a literal
        # here would show up as source code rather than as a local variable.
        local_secret = "-".join(["hunter2", "not", "a", "real", "password"])

        def fail(password: str) -> None:
            raise PermissionError("login refused")

        try:
            fail(local_secret)
        except PermissionError:
            structlog.get_logger("t").exception("login_failed")
        out = capsys.readouterr().out
        assert "PermissionError" in out and "login refused" in out
        assert local_secret not in out

    def test_handlers_and_uvicorn_loggers(self) -> None:
        """One root handler (also after a second call); uvicorn's loggers only propagate."""
        logging.getLogger("uvicorn.error").addHandler(logging.StreamHandler(sys.stdout))
        configure_logging(json=True)
        configure_logging(json=True)
        root = logging.getLogger()
        assert [h.get_name() for h in root.handlers] == [HANDLER_NAME]
        for name in UVICORN_LOGGERS:
            assert logging.getLogger(name).handlers == []
            assert logging.getLogger(name).propagate
        assert not logging.getLogger("uvicorn.access").isEnabledFor(logging.INFO)

    def test_unknown_level_is_rejected(self) -> None:
        """A typo in the level is an error, not a silent default."""
        with pytest.raises(ValueError, match="unknown log level 'LOUD'"):
            configure_logging(level="LOUD")


def test_command_line_options() -> None:
    """Levels are case-insensitive; the log format maps to configure_logging's json argument."""
    args = build_parser().parse_args(["--port", "9001", "--log-level", "debug", "--log-format", "json"])
    assert (args.host, args.port, args.log_level, args.log_format) == ("127.0.0.1", 9001, "DEBUG", "json")
    assert build_parser().parse_args([]).log_format == "auto"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--log-level", "loud"])


# --- the real server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    stdout: Path
    stderr: Path

    def stop(self) -> None:
        """Stop like a process manager would (SIGTERM), then wait; kill only if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """Start ``python -m apps.service.main`` on a free port; wait until /health answers."""
    port = free_port()
    stdout, stderr = tmp_path / "stdout.log", tmp_path / "stderr.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "apps.service.main", "--port", str(port), "--log-format", "auto"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=err,
        )
    running = Server(process, f"http://127.0.0.1:{port}", stdout, stderr)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited with {process.returncode}: {stderr.read_text()}")
            try:
                if httpx.get(f"{running.base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server did not answer /health within 20 s")
            time.sleep(0.1)
        yield running
    finally:
        running.stop()


@dataclass
class Sent:
    index: int
    header_id: str | None
    invalid_field: str | None
    payload: dict[str, Any]
    status: int = 0
    echoed_id: str = ""
    body: Any = None


def make_requests(n: int) -> list[Sent]:
    """Half with an X-Request-ID header, one in five invalid (a different field each time)."""
    rng = random.Random(7)
    requests = []
    for i in range(n):
        payload: dict[str, Any] = {
            "attendance": round(rng.uniform(0, 1), 3),
            "study_hours": round(rng.uniform(0, 30), 2),
            "prior_grade": round(rng.uniform(0, 100), 2),
            "student_id": f"S-fake-{i:04d}-{uuid.uuid4().hex[:6]}",
        }
        invalid_field = FIELDS[(i // 5) % 3] if i % 5 == 0 else None
        if invalid_field is not None:
            payload[invalid_field] = 4242.4242 + i  # out of range for every field; distinctive text
        header_id = f"t-{i:04d}-{uuid.uuid4().hex[:8]}" if i % 2 == 0 else None
        requests.append(Sent(i, header_id, invalid_field, payload))
    return requests


async def fire(base_url: str, requests: list[Sent], *, concurrency: int = 20) -> None:
    """Send every request, at most ``concurrency`` at a time, recording what came back."""
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:

        async def one(sent: Sent) -> None:
            headers = {REQUEST_ID_HEADER: sent.header_id} if sent.header_id else {}
            async with limit:
                response = await client.post("/predict", json=sent.payload, headers=headers)
            sent.status = response.status_code
            sent.echoed_id = response.headers[REQUEST_ID_HEADER]
            sent.body = response.json()

        await asyncio.gather(*(one(sent) for sent in requests))


@pytest.mark.timeout(90)
def test_server_logs_one_json_line_per_request(server: Server) -> None:
    """300 concurrent requests through the real uvicorn server: every line JSON, ids mapped 1:1."""
    requests = make_requests(300)
    asyncio.run(fire(server.base_url, requests))
    server.stop()

    # uvicorn shuts down gracefully, then re-raises the signal it caught (exit status -SIGTERM).
    assert server.process.returncode in (0, -signal.SIGTERM)
    assert server.stderr.read_text(encoding="utf-8") == ""
    text = server.stdout.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines()]
    assert all(isinstance(line, dict) for line in lines)

    # uvicorn's own startup and shutdown lines went through the same JSON pipeline.
    uvicorn_events = [line["event"] for line in lines if line.get("logger") == "uvicorn.error"]
    assert any(event.startswith("Uvicorn running on http://127.0.0.1:") for event in uvicorn_events)
    assert "Application startup complete." in uvicorn_events
    assert "Shutting down" in uvicorn_events
    assert any(event.startswith("Finished server process") for event in uvicorn_events)
    # The service's own startup line records where it listens and which code it runs.
    (starting,) = [line for line in lines if line["event"] == "service_starting"]
    assert starting["port"] == int(server.base_url.rsplit(":", 1)[1])
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", starting["code_version"])
    # ... and the library's training lines went through it too.
    assert any(line.get("logger", "").startswith("grade_predictor.") for line in lines)

    # Responses: ids echoed, body and header agree, all distinct.
    for sent in requests:
        assert sent.status == (422 if sent.invalid_field else 200), sent
        assert sent.body["request_id"] == sent.echoed_id
        if sent.header_id is not None:
            assert sent.echoed_id == sent.header_id
        else:
            assert re.fullmatch(r"[0-9a-f]{32}", sent.echoed_id)
    by_id = {sent.echoed_id: sent for sent in requests}
    assert len(by_id) == len(requests)

    # Log: exactly one completion line per request, carrying that request's own outcome.
    completed = [
        line for line in lines if line["event"] == "request_completed" and line["path"] == "/predict"
    ]
    counts = Counter(line["request_id"] for line in completed)
    assert set(counts) == set(by_id), "missing or unknown request ids in the log"
    assert max(counts.values()) == 1, [i for i, c in counts.items() if c > 1]
    for line in completed:
        sent = by_id[line["request_id"]]
        assert line["status"] == sent.status
        assert line["method"] == "POST"
        assert line["model_version"] == "linear-v1"
        assert line.get("invalid_fields") == ([sent.invalid_field] if sent.invalid_field else None)

    # No payload value reached the log: neither the student ids nor the rejected values.
    for sent in requests:
        assert sent.payload["student_id"] not in text
        if sent.invalid_field:
            assert str(sent.payload[sent.invalid_field]) not in text
