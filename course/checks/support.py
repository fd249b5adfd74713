"""Shared tools for the check modules: isolation, capture and student-facing results."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from logkit.state import isolated_logging

__all__ = ["Captured", "ListHandler", "expect", "isolated", "output_note", "passed"]


class ListHandler(logging.Handler):
    """Keep every record it handles, and the text its formatter made of it."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))

    @property
    def messages(self) -> list[str]:
        """The records' messages with their arguments merged in."""
        return [record.getMessage() for record in self.records]


@dataclass
class Captured:
    """What a block wrote to stdout and stderr while it ran under :func:`isolated`."""

    stdout_buffer: io.StringIO = field(default_factory=io.StringIO)
    stderr_buffer: io.StringIO = field(default_factory=io.StringIO)

    @property
    def stdout(self) -> str:
        return self.stdout_buffer.getvalue()

    @property
    def stderr(self) -> str:
        return self.stderr_buffer.getvalue()


@contextlib.contextmanager
def isolated() -> Iterator[Captured]:
    """Run student code from a clean logging state, with stdout and stderr captured.

    Logging state (stdlib, structlog, loguru) is reset on entry and restored on exit, so nothing a
    student's function configures survives the check. Streams are redirected *before* the student's
    code runs, so a ``StreamHandler()`` it creates writes into the capture, not to the real stderr
    (nbgrader scores a test cell that writes to stderr as 0).
    """
    captured = Captured()
    with (
        isolated_logging(),
        contextlib.redirect_stdout(captured.stdout_buffer),
        contextlib.redirect_stderr(captured.stderr_buffer),
    ):
        yield captured


def expect(condition: object, message: str) -> None:
    """Fail the check with a message written for the student when ``condition`` is false."""
    if not condition:
        raise AssertionError(message)


def output_note(captured: object) -> str:
    """What a block printed (its ``stdout`` and ``stderr``, 500 characters each), for a failure message."""
    note = ""
    stdout, stderr = getattr(captured, "stdout", ""), getattr(captured, "stderr", "")
    if stdout:
        note += f"\nstdout received:\n{stdout.strip()[:500]}"
    if stderr:
        note += f"\nstderr received:\n{stderr.strip()[:500]}"
    return note


def passed(task_id: str, *, hidden_checks: int = 0) -> None:
    """Print the one-line success message of a task's public checks."""
    suffix = f" ({hidden_checks} more checks run at grading)" if hidden_checks else ""
    print(f"Task {task_id}: public checks passed.{suffix}")
