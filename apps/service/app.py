"""The prediction service: FastAPI app, request-id middleware and one completion line per request.

Why FastAPI and uvicorn: the request body is declared once as a pydantic model and
FastAPI validates it, documents it (``/docs``) and turns every violation into a
422; uvicorn is the ASGI server FastAPI is usually deployed with, and it logs
through stdlib loggers, which :mod:`apps.service.logging_setup` renders as JSON.

Why a pure ASGI middleware rather than Starlette's ``BaseHTTPMiddleware``:

* ``BaseHTTPMiddleware`` runs the rest of the app in a separate task and streams the
  response through an in-memory channel; context variables set downstream do not
  come back, exceptions are re-raised in a different place, and every response pays
  for the extra task.
* A pure ASGI middleware is one ``await`` in the same task: the ``request_id`` bound
  with :func:`structlog.contextvars.bound_contextvars` is visible to every log call
  made while the request runs (``grade_predictor``'s stdlib records included) and is
  unbound when it ends. It sees the status in the ``http.response.start`` message
  whoever produced the response (the route, the 422 handler, a 404), and it sees an
  unhandled exception as an exception, so it can answer 500 itself and still write
  exactly one completion line.

What is logged for a request is the completion line ``request_completed`` with the
method, path, status, latency, model version and request id. Request bodies are
never logged: they hold a student's data (``student_id`` especially). A 422's line
names the invalid fields, never their values.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grade_predictor.data import make_students
from grade_predictor.model import LinearGradeModel, train_model
from grade_predictor.service import MAX_STUDY_HOURS, PredictionInput, predict_one

__all__ = [
    "REQUEST_ID_HEADER",
    "HealthResponse",
    "PredictRequest",
    "PredictResponse",
    "RequestLoggingMiddleware",
    "create_app",
    "new_request_id",
    "train_default_model",
    "valid_request_id",
]

log = structlog.stdlib.get_logger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
"""Header a client (or a proxy) may send to name its request; echoed on every response."""

# Short, and only characters that cannot break a log line or a header: a client
# controls this value, and it ends up in every log line of its request.
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_MAX_LOGGED_PATH = 200
_UNEXPECTED_FIELD = "<unexpected field>"

DEFAULT_SEED = 42
DEFAULT_STUDENTS = 200
DEFAULT_EPOCHS = 50
DEFAULT_LEARNING_RATE = 0.05


def valid_request_id(value: str | None) -> str | None:
    """Return ``value`` if it is an acceptable request id (1-64 safe characters), else ``None``."""
    if value is not None and _REQUEST_ID_RE.fullmatch(value):
        return value
    return None


def new_request_id() -> str:
    """Generate a request id (32 hex digits)."""
    return uuid.uuid4().hex


class PredictRequest(BaseModel):
    """Body of ``POST /predict``: one student's features."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    attendance: float = Field(ge=0.0, le=1.0, description="Fraction of classes attended, 0 to 1.")
    study_hours: float = Field(ge=0.0, le=MAX_STUDY_HOURS, description="Weekly study hours.")
    prior_grade: float = Field(ge=0.0, le=100.0, description="Previous grade, 0 to 100.")
    student_id: str | None = Field(
        default=None, max_length=64, description="Caller's reference; never logged, not used by the model."
    )


class PredictResponse(BaseModel):
    """Body of a successful ``POST /predict``."""

    prediction: float
    model_version: str
    request_id: str


class HealthResponse(BaseModel):
    """Body of ``GET /health``."""

    status: str
    model_version: str | None


class RequestLoggingMiddleware:
    """Pure ASGI middleware: request id in, request id out, one ``request_completed`` line.

    Args:
        app: the wrapped ASGI application.
        model_version: returns the version of the model being served (``None`` before
            it is loaded); read at the end of each request.
    """

    def __init__(self, app: ASGIApp, *, model_version: Callable[[], str | None]) -> None:
        self.app = app
        self.model_version = model_version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope; only ``http`` scopes are logged."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        request_id = valid_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER)) or new_request_id()
        # Starlette keeps request.state in scope["state"]: routes and exception
        # handlers read the id from it and leave notes (invalid_fields) for the log line.
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        status: int | None = None

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            exc_info: BaseException | None = None
            try:
                await self.app(scope, receive, send_with_request_id)
            except Exception as exc:
                # Answer 500 here (with the request id) and log the traceback once, on
                # the completion line, instead of letting the server log it again.
                exc_info = exc
                if status is None:
                    await _send_json(
                        send_with_request_id,
                        500,
                        {"detail": "Internal server error.", "request_id": request_id},
                    )
            finally:
                self._log_completion(scope, state, request_id, status, started, exc_info)

    def _log_completion(
        self,
        scope: Scope,
        state: dict[str, Any],
        request_id: str,
        status: int | None,
        started: float,
        exc_info: BaseException | None,
    ) -> None:
        if status is None:  # cancelled before any response was sent
            status = 500
        fields: dict[str, Any] = {
            "method": scope["method"],
            "path": scope["path"][:_MAX_LOGGED_PATH],
            "status": status,
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            "model_version": self.model_version(),
            "request_id": request_id,
        }
        if "invalid_fields" in state:
            fields["invalid_fields"] = state["invalid_fields"]
        if status >= 500:
            log.error("request_completed", exc_info=exc_info or False, **fields)
        else:
            log.info("request_completed", **fields)


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    response = JSONResponse(status_code=status, content=body)
    await send({"type": "http.response.start", "status": status, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


def _field_name(loc: tuple[int | str, ...]) -> str:
    """Name the body field an error is about, without echoing anything a client invented."""
    if len(loc) < 2 or loc[0] != "body" or not isinstance(loc[1], str):
        return "body"
    name = loc[1]
    return name if name in PredictRequest.model_fields else _UNEXPECTED_FIELD


def train_default_model(*, seed: int = DEFAULT_SEED) -> LinearGradeModel:
    """Train the small, seeded model the service uses when none is given."""
    dataset = make_students(DEFAULT_STUDENTS, seed=seed)
    return train_model(dataset, epochs=DEFAULT_EPOCHS, learning_rate=DEFAULT_LEARNING_RATE)


def create_app(*, model: LinearGradeModel | None = None) -> FastAPI:
    """Build the prediction service.

    Args:
        model: a fitted model to serve. ``None`` trains :func:`train_default_model` at
            startup (in the lifespan, so its log lines go through the configured pipeline).

    Returns:
        The FastAPI application, with :class:`RequestLoggingMiddleware` installed.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.model is None:
            log.info("model_training_started", seed=DEFAULT_SEED, n_students=DEFAULT_STUDENTS)
            app.state.model = train_default_model()
        log.info("service_ready", model_version=app.state.model.model_version)
        yield
        log.info("service_stopped")

    app = FastAPI(title="grade_predictor service", version="1.0", lifespan=lifespan)
    app.state.model = model

    def current_model_version() -> str | None:
        served = app.state.model
        return None if served is None else served.model_version

    app.add_middleware(RequestLoggingMiddleware, model_version=current_model_version)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field_name(tuple(err["loc"])), "message": err["msg"]} for err in exc.errors()]
        fields = sorted({error["field"] for error in errors})
        request.state.invalid_fields = fields
        summary = "; ".join(f"{error['field']}: {error['message']}" for error in errors)
        return JSONResponse(
            status_code=422,
            content={
                "detail": f"Invalid request: {summary}",
                "errors": errors,
                "request_id": request.state.request_id,
            },
        )

    @app.get("/health")
    async def health(response: Response) -> HealthResponse:
        """Liveness and readiness: ``ok`` once a model is loaded, 503 before."""
        version = current_model_version()
        if version is None:
            response.status_code = 503
            return HealthResponse(status="starting", model_version=None)
        return HealthResponse(status="ok", model_version=version)

    @app.post("/predict")
    async def predict(body: PredictRequest, request: Request) -> PredictResponse:
        """Predict one student's final grade."""
        served: LinearGradeModel | None = app.state.model
        if served is None:
            raise HTTPException(status_code=503, detail="Model not loaded yet.")
        item = PredictionInput(
            attendance=body.attendance, study_hours=body.study_hours, prior_grade=body.prior_grade
        )
        return PredictResponse(
            prediction=predict_one(served, item),
            model_version=served.model_version,
            request_id=request.state.request_id,
        )

    return app
