"""logkit: the application-side logging toolkit of the course (stdlib ``logging``).

Applications (scripts, notebooks, services) use it to configure output; the library
``grade_predictor`` never imports it. Modules by concern:

- :mod:`logkit.console`: ``configure()``, ``ColourFormatter``, the format strings;
- :mod:`logkit.dictconfig`: rotating files through ``dictConfig``;
- :mod:`logkit.jsonformat`: ``JsonFormatter``, one JSON object per line;
- :mod:`logkit.context`: ``log_context()``, ``ContextFilter``, ``log_section()``;
- :mod:`logkit.redaction`: ``scrub()``, ``redact()`` and filters for stdlib/structlog/loguru;
- :mod:`logkit.multiprocess`: logging from worker processes through a queue;
- :mod:`logkit.state`: snapshot, restore and reset the global logging state.
"""

from __future__ import annotations

from logkit.console import (
    CONSOLE_FORMAT,
    FILE_FORMAT,
    ColourFormatter,
    IsoFormatter,
    configure,
    parse_level,
)
from logkit.context import ContextFilter, current_context, log_context, log_section, run_with_context
from logkit.dictconfig import (
    DETAILED_FORMAT,
    RunIdFilter,
    apply_rotating_config,
    rotating_config,
    timed_rotating_config,
)
from logkit.jsonformat import JsonFormatter
from logkit.multiprocess import configure_worker, listening, start_listener
from logkit.redaction import RedactingFilter, loguru_patcher, redact, redact_processor, scrub
from logkit.state import isolated_logging, reset_logging, restore, snapshot

__all__ = [
    "CONSOLE_FORMAT",
    "DETAILED_FORMAT",
    "FILE_FORMAT",
    "ColourFormatter",
    "ContextFilter",
    "IsoFormatter",
    "JsonFormatter",
    "RedactingFilter",
    "RunIdFilter",
    "apply_rotating_config",
    "configure",
    "configure_worker",
    "current_context",
    "isolated_logging",
    "listening",
    "log_context",
    "log_section",
    "loguru_patcher",
    "parse_level",
    "redact",
    "redact_processor",
    "reset_logging",
    "restore",
    "rotating_config",
    "run_with_context",
    "scrub",
    "snapshot",
    "start_listener",
    "timed_rotating_config",
]
