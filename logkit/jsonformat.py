"""One JSON object per log record, for files and log collectors.

Two classic mistakes of hand-written JSON formatters are avoided here (erratum 20):
the message is ``record.getMessage()`` (``record.msg`` alone loses the %-arguments),
and values that JSON cannot represent (a ``Path``, a ``datetime``) are written as
strings instead of making ``json.dumps`` raise and the record vanish.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from logkit._records import extra_fields

__all__ = ["JsonFormatter"]

_CORE_KEYS = ("ts", "level", "logger", "message")


class JsonFormatter(logging.Formatter):
    """Format each record as a single line of JSON.

    Keys: ``ts`` (ISO 8601, UTC), ``level``, ``logger``, ``message``, then
    ``exc_info`` / ``stack_info`` text when present, the ``static_fields``, and every
    non-standard attribute of the record (``run_id``, ``fold``, ... from ``extra=``,
    filters or adapters). A field whose name clashes with a core key is written with an
    ``extra_`` prefix instead of overwriting it.

    Args:
        static_fields: Fields added to every line, e.g. ``{"service": "grade-predictor"}``.
            Per-record fields with the same name win.
    """

    def __init__(self, *, static_fields: Mapping[str, object] | None = None) -> None:
        super().__init__()
        self.static_fields: dict[str, object] = dict(static_fields or {})

    def format(self, record: logging.LogRecord) -> str:
        """Return ``record`` as one line of JSON (no embedded newlines)."""
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exc_info"] = record.exc_text
        if record.stack_info:
            payload["stack_info"] = self.formatStack(record.stack_info)
        fields = {**self.static_fields, **extra_fields(record)}
        for key, value in fields.items():
            name = key if key not in payload else f"extra_{key}"
            payload[name] = value
        return _dumps(payload)


def _dumps(payload: dict[str, object]) -> str:
    try:
        return json.dumps(payload, default=_fallback, ensure_ascii=False)
    except (TypeError, ValueError):
        # Non-string dict keys or a circular structure: encode field by field and fall
        # back to repr() for the fields that still fail, rather than lose the record.
        safe: dict[str, object] = {}
        for key, value in payload.items():
            try:
                json.dumps(value, default=_fallback)
                safe[key] = value
            except (TypeError, ValueError):
                safe[key] = _safe_repr(value)
        return json.dumps(safe, default=_fallback, ensure_ascii=False)


def _fallback(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return _safe_repr(value)


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"
