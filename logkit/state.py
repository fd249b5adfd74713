"""Save, restore and reset the process-wide logging state.

Logging is global: a handler added in one test, cell or grader check is still
there for the next one. These helpers put stdlib logging, structlog and loguru
back to a known state so that nothing leaks between them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LoggingState", "isolated_logging", "reset_logging", "restore", "snapshot"]


@dataclass
class _LoggerState:
    level: int
    propagate: bool
    disabled: bool
    handlers: list[logging.Handler]
    filters: list[Any]


@dataclass
class LoggingState:
    """Everything :func:`restore` needs to undo changes made after :func:`snapshot`."""

    loggers: dict[str, _LoggerState]
    logger_names: set[str]
    disable_level: int
    last_resort: logging.Handler | None
    structlog_config: dict[str, Any] | None = None
    structlog_context: dict[str, Any] = field(default_factory=dict)


def _logger_state(logger: logging.Logger) -> _LoggerState:
    return _LoggerState(
        level=logger.level,
        propagate=logger.propagate,
        disabled=logger.disabled,
        handlers=list(logger.handlers),
        filters=list(logger.filters),
    )


def _all_loggers() -> dict[str, logging.Logger]:
    manager = logging.Logger.manager
    loggers = {name: obj for name, obj in manager.loggerDict.items() if isinstance(obj, logging.Logger)}
    loggers[""] = logging.getLogger()
    return loggers


def snapshot() -> LoggingState:
    """Record the current state of every stdlib logger and of structlog."""
    state = LoggingState(
        loggers={name: _logger_state(lg) for name, lg in _all_loggers().items()},
        logger_names=set(logging.Logger.manager.loggerDict),
        disable_level=logging.root.manager.disable,
        last_resort=logging.lastResort,
    )
    with contextlib.suppress(ImportError):
        import structlog

        state.structlog_config = dict(structlog.get_config()) if structlog.is_configured() else None
        state.structlog_context = structlog.contextvars.get_contextvars()
    return state


def restore(state: LoggingState) -> None:
    """Put stdlib logging and structlog back as :func:`snapshot` found them.

    Handlers added since the snapshot are closed; loggers created since then are
    reset to a pristine NOTSET, propagating, handler-less state.
    """
    for name, lg in _all_loggers().items():
        saved = state.loggers.get(name)
        if saved is None:
            for handler in lg.handlers:
                _close_quietly(handler)
            lg.handlers.clear()
            lg.filters.clear()
            lg.setLevel(logging.NOTSET)
            lg.propagate = True
            lg.disabled = False
            continue
        for handler in lg.handlers:
            if handler not in saved.handlers:
                _close_quietly(handler)
        lg.handlers[:] = saved.handlers
        lg.filters[:] = saved.filters
        lg.setLevel(saved.level)
        lg.propagate = saved.propagate
        lg.disabled = saved.disabled
    logging.disable(state.disable_level)
    logging.lastResort = state.last_resort
    _restore_structlog(state)
    _reset_loguru()


def reset_logging() -> None:
    """Start from a clean slate: no handlers, no filters, default levels everywhere.

    The root logger goes back to WARNING with no handlers. Every other logger goes
    to NOTSET and propagates, except that ``grade_predictor`` keeps the one
    ``NullHandler`` its package installs. structlog returns to its defaults and
    loguru has no sinks at all (not even its default stderr sink).
    """
    for name, lg in _all_loggers().items():
        keep = [h for h in lg.handlers if name == "grade_predictor" and type(h) is logging.NullHandler]
        for handler in lg.handlers:
            if handler not in keep:
                _close_quietly(handler)
        lg.handlers[:] = keep
        lg.filters.clear()
        lg.setLevel(logging.WARNING if name == "" else logging.NOTSET)
        lg.propagate = True
        lg.disabled = False
    logging.disable(logging.NOTSET)
    logging.lastResort = logging._StderrHandler(logging.WARNING)  # type: ignore[attr-defined]
    with contextlib.suppress(ImportError):
        import structlog

        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()
    _reset_loguru()


@contextlib.contextmanager
def isolated_logging() -> Iterator[None]:
    """Run a block from a clean logging state and restore the previous state afterwards."""
    state = snapshot()
    reset_logging()
    try:
        yield
    finally:
        restore(state)


def _restore_structlog(state: LoggingState) -> None:
    with contextlib.suppress(ImportError):
        import structlog

        structlog.reset_defaults()
        if state.structlog_config is not None:
            structlog.configure(**state.structlog_config)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**state.structlog_context)


def _reset_loguru() -> None:
    """Remove every loguru sink and bound default, if loguru was imported at all."""
    import sys

    if "loguru" not in sys.modules:
        return
    from loguru import logger

    logger.remove()
    logger.configure(extra={}, patcher=None, activation=[])


def _close_quietly(handler: logging.Handler) -> None:
    with contextlib.suppress(Exception):
        handler.close()
