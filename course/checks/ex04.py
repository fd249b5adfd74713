"""Checks for assignment 04, "The library/application boundary"."""

from __future__ import annotations

import importlib
import logging
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from course.checks.support import ListHandler, expect, isolated, passed

__all__ = ["task_1", "task_1_hidden", "task_2", "task_2_hidden", "task_3", "task_3_hidden"]


def _root_state() -> dict[str, object]:
    root = logging.getLogger()
    return {
        "root handlers": list(root.handlers),
        "root level": root.level,
        "logging.disable": logging.root.manager.disable,
        "logging.lastResort": logging.lastResort,
    }


def _expect_root_untouched(before: dict[str, object], after: dict[str, object], who: str) -> None:
    changed = [key for key in before if before[key] != after[key]]
    expect(
        not changed,
        f"{who} changed {', '.join(changed)}. A library must leave every process-wide setting to the "
        "application: no basicConfig(), no handlers or level on the root, no logging.disable(), and "
        "logging.lastResort left alone.",
    )


# ---- Task 4.1 -----------------------------------------------------------------------------------


def task_1(install_library_logging: Callable[[str], object]) -> None:
    """Task 4.1, public checks: silent with no configuration at all, audible once the app configures."""
    with isolated() as out:
        before = _root_state()
        returned = install_library_logging("tinylib")
        after = _root_state()
        logging.getLogger("tinylib.core").warning("3 rows had no label")
    _expect_root_untouched(before, after, "install_library_logging('tinylib')")
    expect(
        returned is logging.getLogger("tinylib"),
        f"install_library_logging('tinylib') should return the package logger getLogger('tinylib'), "
        f"not {returned!r}.",
    )
    expect(
        not out.stderr and not out.stdout,
        "With no handlers configured anywhere, a WARNING from tinylib.core still printed "
        f"{(out.stderr or out.stdout)!r}: Python's last-resort handler writes it to stderr. A NullHandler "
        "on the package logger makes the library silent until the application decides.",
    )
    with isolated():
        install_library_logging("tinylib")
        app = ListHandler()
        logging.getLogger().addHandler(app)
        logging.getLogger("tinylib.core").warning("3 rows had no label")
    expect(
        [r.getMessage() for r in app.records] == ["3 rows had no label"],
        "Once the application puts a handler on the root logger, tinylib's warnings must reach it "
        f"(exactly once); it received {app.messages}.",
    )
    passed("4.1")


def task_1_hidden(install_library_logging: Callable[[str], object]) -> None:
    """Task 4.1, grading checks: idempotent, no level, propagation intact, children untouched."""
    with isolated():
        install_library_logging("tinylib")
        install_library_logging("tinylib")
        package = logging.getLogger("tinylib")
        handlers = list(package.handlers)
        level, propagate = package.level, package.propagate
        child_handlers = list(logging.getLogger("tinylib.core").handlers)
        app = ListHandler()
        root = logging.getLogger()
        root.addHandler(app)
        root.setLevel(logging.DEBUG)
        logging.getLogger("tinylib.core").debug("batch %d", 7)
    expect(
        len(handlers) == 1 and type(handlers[0]) is logging.NullHandler,
        f"After two calls (a module imported twice, a reload), tinylib should have exactly one NullHandler; "
        f"it has {handlers}.",
    )
    expect(
        not child_handlers,
        f"Only the package logger gets the NullHandler; tinylib.core has {child_handlers}.",
    )
    expect(
        level == logging.NOTSET,
        f"The library set its logger to {logging.getLevelName(level)}; levels are the application's choice.",
    )
    expect(
        propagate, "propagate=False on the library logger hides its records from the application's handlers."
    )
    expect(
        app.messages == ["batch 7"],
        f"An application at DEBUG should receive tinylib's DEBUG record; it received {app.messages}.",
    )
    print("Task 4.1: grading checks passed.")


# ---- Task 4.2 -----------------------------------------------------------------------------------


def _import_source(source: str, name: str = "featlib") -> ModuleType:
    """Write ``source`` as ``<name>.py`` in a temporary folder and import it afresh as ``name``.

    The folder is deleted once the module is loaded; the module object keeps working without it.
    """
    with tempfile.TemporaryDirectory(prefix="course-featlib-") as folder:
        Path(folder, f"{name}.py").write_text(source, encoding="utf-8")
        sys.modules.pop(name, None)
        sys.path.insert(0, folder)
        try:
            importlib.invalidate_caches()
            return importlib.import_module(name)
        finally:
            sys.path.remove(folder)
            sys.modules.pop(name, None)


@dataclass
class _Run:
    """One fresh import of the student's featlib and one call of scale(), all in a clean logging state."""

    before: dict[str, object]
    after: dict[str, object]
    import_output: str
    result: object
    records: list[logging.LogRecord]
    call_output: str


def _run_featlib(
    source: object, values: list[float], *, app_level: int | None, featlib_level: int | None = None
) -> _Run:
    """Import featlib afresh, let an application configure (or not), then call scale(values)."""
    expect(
        isinstance(source, str),
        f"FEATLIB_SOURCE should be a string of Python code, not {type(source).__name__}.",
    )
    with isolated() as out:
        before = _root_state()
        try:
            module = _import_source(source)  # type: ignore[arg-type]
        except Exception as error:
            raise AssertionError(f"Importing featlib raised {type(error).__name__}: {error}") from None
        after = _root_state()
        import_output = out.stdout + out.stderr
        expect(
            callable(getattr(module, "scale", None)), "featlib no longer defines scale(); keep the function."
        )
        app = ListHandler()
        if app_level is not None:
            root = logging.getLogger()
            root.addHandler(app)
            root.setLevel(app_level)
        if featlib_level is not None:
            logging.getLogger("featlib").setLevel(featlib_level)
        result = module.scale(values)
        call_output = (out.stdout + out.stderr)[len(import_output) :]
    return _Run(before, after, import_output, result, app.records, call_output)


def _featlib_lines(records: list[logging.LogRecord]) -> list[tuple[str, str, str]]:
    return [(r.name, r.levelname, r.getMessage()) for r in records]


def task_2(featlib_source: object) -> None:
    """Task 4.2, public checks: importing configures nothing; scale() is silent until the app configures."""
    run = _run_featlib(featlib_source, [4.0, 4.0, 4.0], app_level=None)
    _expect_root_untouched(run.before, run.after, "Importing featlib")
    expect(
        not run.import_output,
        f"Importing featlib printed {run.import_output!r}; a library import prints nothing.",
    )
    expect(
        run.result == [0.0, 0.0, 0.0],
        f"scale([4.0, 4.0, 4.0]) should return three zeros, got {run.result!r}.",
    )
    expect(
        not run.call_output,
        f"With no logging configured, scale() printed {run.call_output!r}. Its warning went to the "
        "last-resort handler; give featlib's logger a NullHandler so it stays silent until an "
        "application configures.",
    )
    run = _run_featlib(featlib_source, [4.0, 4.0], app_level=logging.INFO)
    warnings = [r for r in run.records if r.levelno == logging.WARNING]
    expect(
        len(warnings) == 1 and warnings[0].name.split(".")[0] == "featlib",
        "An application that configures logging should receive scale()'s warning once, from a logger "
        f"named after the module ('featlib'); it received {_featlib_lines(run.records)}.",
    )
    passed("4.2")


def task_2_hidden(featlib_source: object) -> None:
    """Task 4.2, grading checks: the application decides featlib's level; the arithmetic is unchanged."""
    run = _run_featlib(featlib_source, [1.0, 2.0, 3.0], app_level=logging.INFO)
    expect(
        run.result == [0.0, 0.5, 1.0],
        f"scale([1.0, 2.0, 3.0]) should be [0.0, 0.5, 1.0], got {run.result!r}.",
    )
    expect(
        not [r for r in run.records if r.levelno < logging.INFO],
        "With the application at INFO, featlib's DEBUG lines should not appear; featlib must not set its "
        f"own level. The application received {_featlib_lines(run.records)}.",
    )
    run = _run_featlib(
        featlib_source, [1.0, 2.0, 3.0], app_level=logging.WARNING, featlib_level=logging.DEBUG
    )
    debug = [r for r in run.records if r.levelno == logging.DEBUG and r.name.split(".")[0] == "featlib"]
    expect(
        len(debug) == 1,
        "An application that sets getLogger('featlib') to DEBUG should get scale()'s DEBUG record once; "
        f"it got {_featlib_lines(run.records)}.",
    )
    print("Task 4.2: grading checks passed.")


# ---- Task 4.3 -----------------------------------------------------------------------------------

APP_CALLS = [
    ("featlib", logging.DEBUG, "scaling 3 values"),
    ("featlib.io", logging.INFO, "read 120 rows"),
    ("grade_predictor.core", logging.INFO, "fitting"),
    ("grade_predictor.core", logging.DEBUG, "gradient norm 0.002"),
    ("grade_predictor.data", logging.WARNING, "12 rows dropped"),
    ("featlib_extra", logging.DEBUG, "not featlib"),
    ("app", logging.WARNING, "disk 91% full"),
    ("app", logging.INFO, "run started"),
]


def _configure_and_log(configure_app: Callable[..., object], debug_for: Sequence[str], times: int = 1) -> str:
    with isolated() as out:
        for name, _, _ in APP_CALLS:  # libraries are imported (their loggers exist) before configuration
            logging.getLogger(name)
        for _ in range(times):
            configure_app(list(debug_for))
        for name, level, message in APP_CALLS:
            logging.getLogger(name).log(level, message)
    return out.stdout


def _app_expected(debug_for: Sequence[str]) -> str:
    def threshold(name: str) -> int:
        opted = any(name == lib or name.startswith(lib + ".") for lib in debug_for)
        return logging.DEBUG if opted else logging.WARNING

    return "".join(
        f"{logging.getLevelName(level)} {name}: {message}\n"
        for name, level, message in APP_CALLS
        if level >= threshold(name)
    )


def _check_app(configure_app: Callable[..., object], debug_for: Sequence[str], times: int = 1) -> None:
    stdout = _configure_and_log(configure_app, debug_for, times)
    expected = _app_expected(debug_for)
    call = f"configure_app({list(debug_for)!r})" + (f" called {times} times" if times > 1 else "")
    nothing = "(nothing)\n"
    expect(stdout == expected, f"{call} should print\n{expected or nothing}but printed\n{stdout or nothing}")


def task_3(configure_app: Callable[..., object]) -> None:
    """Task 4.3, public checks: featlib's DEBUG lines appear, everybody else stays at WARNING."""
    _check_app(configure_app, ["featlib"])
    passed("4.3")


def task_3_hidden(configure_app: Callable[..., object]) -> None:
    """Task 4.3, grading checks: no opt-in, two libraries, and a second call."""
    _check_app(configure_app, [])
    _check_app(configure_app, ["featlib", "grade_predictor"])
    _check_app(configure_app, ["grade_predictor"], times=2)
    print("Task 4.3: grading checks passed.")
