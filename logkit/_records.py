"""Helpers shared by the logkit modules: which LogRecord attributes are standard."""

from __future__ import annotations

import logging

__all__ = ["RESERVED_ATTRS", "extra_fields"]

#: Attributes every LogRecord has (plus those formatters add). Anything else on a
#: record came from ``extra=``, a filter or an adapter.
RESERVED_ATTRS: frozenset[str] = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))
) | {"message", "asctime", "taskName"}


def extra_fields(record: logging.LogRecord) -> dict[str, object]:
    """Return the non-standard attributes of ``record`` (its "extra" fields)."""
    return {
        key: value
        for key, value in vars(record).items()
        if key not in RESERVED_ATTRS and not key.startswith("_")
    }
