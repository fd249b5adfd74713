"""Attach context (fold, run_id, request_id, ...) to every record without touching log calls.

The context lives in a :class:`contextvars.ContextVar`, so each thread and each asyncio
task has its own, and :class:`ContextFilter` copies it onto records. Put the filter on a
**handler** (or on the ``QueueHandler`` in a worker process), not on a logger: a logger's
filters only see records created by that very logger, never those propagated up from
its children (erratum 2 of the source notes).

Typical use::

    handler.addFilter(ContextFilter(defaults={"fold": "-"}))
    handler.setFormatter(logging.Formatter("%(levelname)s fold=%(fold)s %(message)s"))
    with log_context(fold=2, model="ridge"):
        fit(...)  # every record from any logger carries fold=2 and model="ridge"
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from types import MappingProxyType
from typing import ParamSpec, TypeVar

from logkit._records import RESERVED_ATTRS

__all__ = [
    "ContextFilter",
    "current_context",
    "log_context",
    "log_section",
    "run_with_context",
]

P = ParamSpec("P")
R = TypeVar("R")

_EMPTY: Mapping[str, object] = MappingProxyType({})
_CONTEXT: contextvars.ContextVar[Mapping[str, object]] = contextvars.ContextVar(
    "logkit_context", default=_EMPTY
)


def current_context() -> Mapping[str, object]:
    """Return the fields bound in the current thread or task (a read-only mapping)."""
    return _CONTEXT.get()


@contextmanager
def log_context(**fields: object) -> Iterator[Mapping[str, object]]:
    """Bind ``fields`` for the duration of a ``with`` block.

    Nested blocks merge (the inner value wins for the same key); leaving a block
    restores exactly what was bound before it. Yields the merged mapping.

    Raises:
        ValueError: If a field name is a standard LogRecord attribute (``name``,
            ``msg``, ``levelname``, ...), which would corrupt every record.
    """
    _check_names(fields)
    merged = MappingProxyType({**_CONTEXT.get(), **fields})
    token = _CONTEXT.set(merged)
    try:
        yield merged
    finally:
        _CONTEXT.reset(token)


class ContextFilter(logging.Filter):
    """Copy the current :func:`log_context` fields onto every record that passes.

    Meant for handlers (or a ``QueueHandler``), so it sees records from every logger.
    A field already on the record (from ``extra=``) is kept: the more specific value
    wins. ``defaults`` fill fields that are bound nowhere, so a format string using
    ``%(fold)s`` also works outside any block.

    Args:
        defaults: Values for fields that are neither bound nor passed in ``extra=``,
            e.g. ``{"fold": "-", "run_id": "-"}``.
    """

    def __init__(self, defaults: Mapping[str, object] | None = None) -> None:
        super().__init__()
        self.defaults: dict[str, object] = dict(defaults or {})
        _check_names(self.defaults)

    def filter(self, record: logging.LogRecord) -> bool:
        """Add context and default fields to ``record``; never drops a record."""
        attrs = record.__dict__
        for key, value in _CONTEXT.get().items():
            attrs.setdefault(key, value)
        for key, value in self.defaults.items():
            attrs.setdefault(key, value)
        return True


def run_with_context(
    executor: Executor, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs
) -> Future[R]:
    """Submit ``fn(*args, **kwargs)`` to ``executor`` inside a copy of the caller's context.

    ``ThreadPoolExecutor.submit`` runs work in the pool thread's own context, so fields
    bound with :func:`log_context` vanish there (erratum 18). This copies the context at
    submission time and runs ``fn`` in it. (For process pools the copy cannot cross the
    process boundary: pass the fields as arguments instead.)
    """
    ctx = contextvars.copy_context()
    return executor.submit(ctx.run, fn, *args, **kwargs)  # type: ignore[arg-type]


@contextmanager
def log_section(logger: logging.Logger, name: str, *, level: int = logging.INFO) -> Iterator[None]:
    """Log the start and the end of a named stage, with its duration in milliseconds.

    On an exception the failure is logged with its traceback (``logger.exception``)
    and the exception is re-raised, never swallowed. Records carry the extra fields
    ``section`` and, at the end, ``duration_ms``.
    """
    # stacklevel=3 attributes the records to the caller's line, not to this generator.
    logger.log(level, "%s started", name, extra={"section": name}, stacklevel=3)
    start = time.perf_counter()
    try:
        yield
    except Exception:
        duration_ms = round((time.perf_counter() - start) * 1000, 3)
        logger.exception(
            "%s failed after %.1f ms",
            name,
            duration_ms,
            extra={"section": name, "duration_ms": duration_ms},
            stacklevel=3,
        )
        raise
    except BaseException as exc:  # KeyboardInterrupt, SystemExit: not a failure of the stage
        duration_ms = round((time.perf_counter() - start) * 1000, 3)
        logger.warning(
            "%s interrupted by %s after %.1f ms",
            name,
            type(exc).__name__,
            duration_ms,
            extra={"section": name, "duration_ms": duration_ms},
            stacklevel=3,
        )
        raise
    duration_ms = round((time.perf_counter() - start) * 1000, 3)
    logger.log(
        level,
        "%s finished in %.1f ms",
        name,
        duration_ms,
        extra={"section": name, "duration_ms": duration_ms},
        stacklevel=3,
    )


def _check_names(fields: Mapping[str, object]) -> None:
    clashes = sorted(set(fields) & RESERVED_ATTRS)
    if clashes:
        raise ValueError(
            f"context field(s) {clashes} would overwrite standard LogRecord attributes; "
            "choose other names (e.g. 'model_name' instead of 'name')"
        )
