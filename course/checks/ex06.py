"""Checks for assignment 06, dictConfig and rotating files.

Task 6.1 ``build_config(log_dir, run_id)``: a dictConfig dict, INFO console, DEBUG file stamped with run_id.
Task 6.2 ``build_rotating_config(log_dir)``: rotating info.log and error.log in a folder that may not exist.
Task 6.3 ``apply_config(stream)``: find the bug, module loggers silenced by dictConfig.
"""

from __future__ import annotations

import io
import logging
import logging.config
import logging.handlers
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course.checks.support import expect, isolated, passed

__all__ = [
    "task_1",
    "task_1_hidden",
    "task_2",
    "task_2_hidden",
    "task_3",
    "task_3_hidden",
]

MIB = 1024 * 1024


def _show(text: str) -> str:
    return repr(text) if text else "nothing"


def _apply(config: object, what: str) -> None:
    """Run dictConfig on a student's dict and explain a failure in the student's terms."""
    expect(isinstance(config, dict), f"{what} should return a dict for dictConfig; it returned {config!r}.")
    assert isinstance(config, dict)
    try:
        logging.config.dictConfig(config)
    except (ValueError, TypeError, AttributeError, ImportError) as error:
        cause = error.__cause__ or error.__context__
        detail = f"{error}" + (f" (caused by {type(cause).__name__}: {cause})" if cause else "")
        raise AssertionError(f"logging.config.dictConfig() rejected the dict from {what}: {detail}") from None


# --- Task 6.1 ---------------------------------------------------------------------------------------


@dataclass
class _Run61:
    console: str
    stderr: str
    file_text: str
    file_exists: bool
    file_handlers: list[logging.FileHandler]


_PROBES_61 = (
    ("experiment", logging.DEBUG, "batch loaded: size=128"),
    ("grade_predictor.model", logging.DEBUG, "epoch 1/3: loss=0.5000"),
    ("experiment", logging.INFO, "starting training"),
    ("grade_predictor.model", logging.INFO, "model fitted"),
    ("experiment", logging.WARNING, "validation accuracy plateaued"),
)


def _run_61(build_config: Callable[..., Any], run_id: str) -> _Run61:
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(tmp)
        log_file = log_dir / "train.log"
        with isolated() as captured:
            _apply(build_config(log_dir, run_id), f"build_config(log_dir, {run_id!r})")
            for name, level, message in _PROBES_61:
                logging.getLogger(name).log(level, message)
            root = logging.getLogger()
            for handler in root.handlers:
                handler.flush()
            files = [h for h in root.handlers if isinstance(h, logging.FileHandler)]
            exists = log_file.exists()
            return _Run61(
                console=captured.stdout + captured.stderr,
                stderr=captured.stderr,
                file_text=log_file.read_text(encoding="utf-8") if exists else "",
                file_exists=exists,
                file_handlers=files,
            )


def _expect_61(run: _Run61, run_id: str) -> None:
    expect(
        "Logging error" not in run.stderr,
        "a handler failed to format a record (logging printed '--- Logging error ---'); the first lines "
        f"were {run.stderr[:400]!r}. A format that uses %(run_id)s needs run_id on every record that "
        "reaches that handler, including records from child loggers such as grade_predictor.model.",
    )
    expect(run.file_exists, "after dictConfig, the file log_dir / 'train.log' should exist; it does not.")
    lines = [line for line in run.file_text.splitlines() if line.strip()]
    for name, level, message in _PROBES_61:
        in_file = any(message in line for line in lines)
        level_name = logging.getLevelName(level)
        expect(
            in_file,
            f"the file should keep every record from DEBUG up; the {level_name} record {message!r} "
            f"from logger {name!r} is not in it. The file has: {_show(run.file_text)}.",
        )
        on_console = message in run.console
        if level >= logging.INFO:
            expect(
                on_console,
                f"the console should show INFO and above; the {level_name} record {message!r} did not "
                f"appear on stdout or stderr (console output: {_show(run.console)}).",
            )
        else:
            expect(
                not on_console,
                f"DEBUG records belong in the file only, but {message!r} appeared on the console: "
                f"{_show(run.console)}.",
            )
    missing = [line for line in lines if f"run={run_id}" not in line]
    expect(
        not missing,
        f"every file line should carry 'run={run_id}'; these do not: {missing[:3]}.",
    )
    expect(
        f"run={run_id}" not in run.console,
        f"the run id belongs to the file lines; the console showed it: {_show(run.console)}.",
    )


def task_1(build_config: Callable[..., Any]) -> None:
    """Public checks: DEBUG only in the file, INFO in both, run id on every file line."""
    run_id = "run-test-6101"
    _expect_61(_run_61(build_config, run_id), run_id)
    passed("6.1", hidden_checks=2)


def task_1_hidden(build_config: Callable[..., Any]) -> None:
    """Hidden checks: another run id, and a real Filter subclass on the file handler."""
    run_id = "run-test-6199"
    run = _run_61(build_config, run_id)
    _expect_61(run, run_id)
    expect(
        len(run.file_handlers) == 1,
        f"expected one FileHandler on the root; found {len(run.file_handlers)}.",
    )
    filters = run.file_handlers[0].filters
    expect(
        filters and all(isinstance(f, logging.Filter) for f in filters),
        "the file handler should carry a named logging.Filter subclass that adds run_id; its filters are "
        f"{[type(f).__name__ for f in filters]}.",
    )
    print("Task 6.1: hidden checks passed.")


# --- Task 6.2 ---------------------------------------------------------------------------------------


@dataclass
class _Run62:
    info: str
    error: str
    handlers: dict[str, logging.Handler]
    backups: list[str]


def _run_62(build_rotating_config: Callable[..., Any], *, flood: int = 0) -> _Run62:
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(tmp) / "logs" / "run-6201"
        with isolated():
            _apply(build_rotating_config(log_dir), "build_rotating_config(log_dir)")
            expect(
                log_dir.is_dir(),
                f"build_rotating_config() should create the folder {log_dir}; it is missing.",
            )
            log = logging.getLogger("experiment")
            lib = logging.getLogger("grade_predictor.model")
            log.debug("debug detail 6201")
            lib.info("model fitted 6202")
            log.warning("fold 3 is small 6203")
            lib.error("fold 4 failed 6204")
            filler = "x" * 100
            for number in range(flood):
                log.info("filler line %d %s", number, filler)
            root = logging.getLogger()
            for handler in root.handlers:
                handler.flush()
            handlers = {
                Path(h.baseFilename).name: h for h in root.handlers if isinstance(h, logging.FileHandler)
            }
            info = log_dir / "info.log"
            error = log_dir / "error.log"
            return _Run62(
                info=info.read_text(encoding="utf-8") if info.exists() else "",
                error=error.read_text(encoding="utf-8") if error.exists() else "",
                handlers=handlers,
                backups=sorted(p.name for p in log_dir.iterdir() if p.name not in ("info.log", "error.log")),
            )


def _expect_62(run: _Run62) -> None:
    kinds = {name: type(handler).__name__ for name, handler in run.handlers.items()}
    for name in ("info.log", "error.log"):
        handler = run.handlers.get(name)
        expect(
            isinstance(handler, logging.handlers.RotatingFileHandler),
            f"{name} should be written by a logging.handlers.RotatingFileHandler; the root's file handlers "
            f"are {kinds}.",
        )
        assert isinstance(handler, logging.handlers.RotatingFileHandler)
        expect(
            handler.maxBytes == MIB and handler.backupCount == 5,
            f"{name} should rotate at 1 MiB (maxBytes={MIB}) and keep 5 backups; it has "
            f"maxBytes={handler.maxBytes} ({handler.maxBytes / MIB:g} MiB) and "
            f"backupCount={handler.backupCount}.",
        )
    for message in ("model fitted 6202", "fold 3 is small 6203", "fold 4 failed 6204"):
        expect(message in run.info, f"info.log should hold INFO and above; {message!r} is missing from it.")
    expect("debug detail 6201" not in run.info, "info.log should not hold DEBUG records; it does.")
    expect(
        "fold 4 failed 6204" in run.error,
        f"error.log should hold the ERROR record 'fold 4 failed 6204'; it has {_show(run.error)}.",
    )
    extra = [m for m in ("model fitted 6202", "fold 3 is small 6203") if m in run.error]
    expect(not extra, f"error.log should hold ERROR and above only; it also has {extra}.")


def task_2(build_rotating_config: Callable[..., Any]) -> None:
    """Public checks: handler classes and sizes, and which levels land in which file."""
    _expect_62(_run_62(build_rotating_config))
    passed("6.2", hidden_checks=1)


def task_2_hidden(build_rotating_config: Callable[..., Any]) -> None:
    """Hidden check: writing more than 1 MiB really rotates info.log."""
    run = _run_62(build_rotating_config, flood=11_000)
    expect(
        "info.log.1" in run.backups,
        f"after more than 1 MiB of INFO lines, info.log should have rotated to info.log.1; the folder has "
        f"backups {run.backups}.",
    )
    print("Task 6.2: hidden checks passed.")


# --- Task 6.3 ---------------------------------------------------------------------------------------


def _run_63(apply_config: Callable[..., Any], early: list[str], *, calls: int = 1) -> tuple[str, list[str]]:
    with isolated():
        before = [logging.getLogger(name) for name in early]
        stream = io.StringIO()
        for _ in range(calls):
            apply_config(stream)
        after = logging.getLogger("experiment.created_after_config")
        for logger in before:
            logger.info("hello from %s", logger.name)
        after.info("hello from %s", after.name)
        disabled = [logger.name for logger in before if logger.disabled]
        return stream.getvalue(), disabled


def _expect_63(output: str, disabled: list[str], early: list[str]) -> None:
    expect(
        not disabled,
        f"these loggers existed before apply_config() ran and are now disabled: {disabled}. "
        "dictConfig disables every existing logger it does not name unless told otherwise.",
    )
    lines = output.splitlines()
    for name in [*early, "experiment.created_after_config"]:
        count = sum(line.endswith(f"hello from {name}") for line in lines)
        expect(
            count == 1,
            f"an INFO record from logger {name!r} should appear once on the stream; it appeared "
            f"{count} times. Stream: {_show(output)}.",
        )


def task_3(apply_config: Callable[..., Any]) -> None:
    """Public checks: a module logger created before dictConfig still logs."""
    early = ["experiment.loader"]
    output, disabled = _run_63(apply_config, early)
    _expect_63(output, disabled, early)
    passed("6.3", hidden_checks=1)


def task_3_hidden(apply_config: Callable[..., Any]) -> None:
    """Hidden checks: library and nested loggers survive, and a second call adds nothing."""
    early = ["experiment.loader", "experiment.loader.csv", "grade_predictor.data", "grade_predictor.model"]
    output, disabled = _run_63(apply_config, early, calls=2)
    _expect_63(output, disabled, early)
    print("Task 6.3: hidden checks passed.")
