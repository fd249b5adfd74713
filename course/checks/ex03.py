"""Checks for assignment 03, "The logger hierarchy and propagation"."""

from __future__ import annotations

import logging
from collections.abc import Callable

from course.checks.support import ListHandler, expect, isolated, passed

__all__ = [
    "task_1",
    "task_1_hidden",
    "task_2",
    "task_2_hidden",
    "task_3",
    "task_3_hidden",
    "task_4",
    "task_4_hidden",
]

# ---- Task 3.1 -----------------------------------------------------------------------------------


def _quiet_and_log(quiet_noisy_lib: Callable[[], object], calls: list[tuple[str, int]]):
    """An application at DEBUG with one root handler; silence noisy_lib, then log ``calls``."""
    with isolated() as out:
        root = logging.getLogger()
        handler = ListHandler()
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        quiet_noisy_lib()
        state = {
            "root_level": root.level,
            "root_handlers": list(root.handlers),
            "disable": logging.root.manager.disable,
        }
        for name, level in calls:
            logging.getLogger(name).log(level, "%s from %s", logging.getLevelName(level), name)
    seen = [(r.name, r.levelno) for r in handler.records]
    return seen, state, out


def _check_quiet(
    quiet_noisy_lib: Callable[[], object], keep: list[tuple[str, int]], drop: list[tuple[str, int]]
):
    seen, state, _ = _quiet_and_log(quiet_noisy_lib, keep + drop)
    expect(
        state["disable"] == logging.NOTSET,
        "logging.disable() switches levels off for every logger in the process, not just noisy_lib.",
    )
    expect(
        state["root_level"] == logging.DEBUG,
        f"The root logger's level changed to {logging.getLevelName(state['root_level'])}; the application "
        "wants its own DEBUG lines. Change noisy_lib's logger, not the root.",
    )
    for name, level in drop:
        expect(
            (name, level) not in seen,
            f"A {logging.getLevelName(level)} record from {name!r} still got through; noisy_lib and its "
            "children should only show WARNING and above.",
        )
    for name, level in keep:
        expect(
            (name, level) in seen,
            f"A {logging.getLevelName(level)} record from {name!r} was lost; only noisy_lib's records below "
            "WARNING should go.",
        )


def task_1(quiet_noisy_lib: Callable[[], object]) -> None:
    """Task 3.1, public checks: noisy_lib's INFO goes, its WARNING and the application's DEBUG stay."""
    _check_quiet(
        quiet_noisy_lib,
        keep=[("noisy_lib", logging.WARNING), ("app", logging.DEBUG), ("grade_predictor.core", logging.INFO)],
        drop=[("noisy_lib", logging.INFO), ("noisy_lib", logging.DEBUG)],
    )
    passed("3.1")


def task_1_hidden(quiet_noisy_lib: Callable[[], object]) -> None:
    """Task 3.1, grading checks: children follow their parent; a look-alike name does not."""
    _check_quiet(
        quiet_noisy_lib,
        keep=[
            ("noisy_lib.http", logging.WARNING),
            ("noisy_lib.http.retry", logging.ERROR),
            ("noisy_library_extras", logging.INFO),
            ("app.train", logging.DEBUG),
        ],
        drop=[("noisy_lib.http", logging.INFO), ("noisy_lib.http.retry", logging.DEBUG)],
    )
    print("Task 3.1: grading checks passed.")


# ---- Task 3.2 -----------------------------------------------------------------------------------


def _real_loggers() -> set[str]:
    """Names of the loggers that exist (the manager also holds placeholders for missing parents)."""
    return {
        name for name, obj in logging.Logger.manager.loggerDict.items() if isinstance(obj, logging.Logger)
    }


def _check_sources(
    level_source: Callable[[logging.Logger], object], levels: dict[str, int], probes: list[str]
):
    """Set ``levels`` on named loggers (``""`` is the root), then ask level_source about ``probes``."""
    for probe in probes:
        with isolated():
            for name, level in levels.items():
                logging.getLogger(name or None).setLevel(level)
            logger = logging.getLogger(probe or None)
            truth_level = logger.getEffectiveLevel()
            source: logging.Logger | None = logger
            while source is not None and not source.level:
                source = source.parent
            truth = (truth_level, source.name if source is not None else "root")
            before = _real_loggers()
            answer = level_source(logger)
            created = sorted(_real_loggers() - before)
        expect(
            not created,
            f"level_source(getLogger({probe!r})) created the loggers {created}: getLogger() makes any logger "
            "that does not exist yet. Walk up with .parent instead, which only looks.",
        )
        expect(
            answer == truth,
            f'With levels {levels} ("" is the root), level_source(getLogger({probe!r})) should be {truth}; '
            f"it returned {answer!r}.",
        )


def task_2(level_source: Callable[[logging.Logger], object]) -> None:
    """Task 3.2, public checks: a level set on the logger itself, on a parent, and only on the root."""
    levels = {"": logging.WARNING, "grade_predictor": logging.INFO, "grade_predictor.core": logging.DEBUG}
    _check_sources(level_source, levels, ["grade_predictor.core", "grade_predictor.data", "app"])
    passed("3.2")


def task_2_hidden(level_source: Callable[[logging.Logger], object]) -> None:
    """Task 3.2, grading checks: the root itself, a NOTSET root, and parents that were never created."""
    _check_sources(level_source, {"x": logging.ERROR, "x.y.z": logging.NOTSET}, ["x.y.z.w", "x", ""])
    _check_sources(level_source, {"": logging.NOTSET, "a.b": 25}, ["a.b.c.d", "a", "a.bc"])
    _check_sources(level_source, {"": logging.CRITICAL}, ["deep.down.the.tree"])
    print("Task 3.2: grading checks passed.")


# ---- Task 3.3 -----------------------------------------------------------------------------------

LINE_CALLS = [
    ("grade_predictor.core", logging.DEBUG, "gradient norm 0.002"),
    ("grade_predictor", logging.INFO, "model fitted"),
    ("app", logging.DEBUG, "cache warm"),
    ("app", logging.INFO, "run started"),
    ("grade_predictor.data", logging.WARNING, "12 rows dropped"),
    ("noisy_lib", logging.INFO, "connected"),
]


def _expected_lines(calls: list[tuple[str, int, str]]) -> str:
    shown = [
        (name, level, msg)
        for name, level, msg in calls
        if level >= (logging.DEBUG if name.split(".")[0] == "grade_predictor" else logging.INFO)
    ]
    return "".join(f"{logging.getLevelName(level)} {name}: {msg}\n" for name, level, msg in shown)


def _setup_and_print(setup_logging: Callable[[], object], times: int) -> str:
    with isolated() as out:
        for _ in range(times):
            setup_logging()
        for name, level, message in LINE_CALLS:
            logging.getLogger(name).log(level, message)
    return out.stdout


def task_3(setup_logging: Callable[[], object]) -> None:
    """Task 3.3, public checks: every line once, grade_predictor at DEBUG, everyone else at INFO."""
    stdout = _setup_and_print(setup_logging, times=1)
    expected = _expected_lines(LINE_CALLS)
    lines = stdout.splitlines()
    doubled = sorted({line for line in lines if lines.count(line) > 1})
    expect(not doubled, f"These lines came out more than once: {doubled}.")
    expect(stdout == expected, f"Expected stdout to be\n{expected}but it was\n{stdout}")
    passed("3.3")


def task_3_hidden(setup_logging: Callable[[], object]) -> None:
    """Task 3.3, grading checks: running the setup twice (a re-run notebook cell) changes nothing."""
    stdout = _setup_and_print(setup_logging, times=2)
    expected = _expected_lines(LINE_CALLS)
    expect(
        stdout == expected,
        "After calling setup_logging() twice, as a re-run notebook cell does, stdout should still be\n"
        f"{expected}but it was\n{stdout}",
    )
    print("Task 3.3: grading checks passed.")


# ---- Task 3.4 -----------------------------------------------------------------------------------


def _named(name: str) -> logging.Handler:
    handler = logging.NullHandler()
    handler.name = name
    return handler


def _describe_chain(chain: object) -> str:
    if not isinstance(chain, list):
        return repr(chain)
    parts = []
    for item in chain:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], logging.Handler):
            parts.append(f"({item[0]!r}, {item[1].name or type(item[1]).__name__})")
        else:
            parts.append(repr(item))
    return "[" + ", ".join(parts) + "]"


def _check_chain(
    handler_chain: Callable[[logging.Logger], object],
    handlers: dict[str, list[str]],
    stop: list[str],
    probe: str,
    expected: list[tuple[str, str]],
) -> None:
    with isolated():
        made: dict[str, logging.Handler] = {}
        for logger_name, handler_names in handlers.items():
            logger = logging.getLogger(logger_name or None)
            for handler_name in handler_names:
                made[handler_name] = _named(handler_name)
                logger.addHandler(made[handler_name])
        for logger_name in stop:
            logging.getLogger(logger_name or None).propagate = False
        chain = handler_chain(logging.getLogger(probe or None))
        truth = [(logger_name, made[handler_name]) for logger_name, handler_name in expected]
        ok = (
            isinstance(chain, list)
            and len(chain) == len(truth)
            and all(
                isinstance(item, tuple) and item[0] == want[0] and item[1] is want[1]
                for item, want in zip(chain, truth, strict=False)
            )
        )
    expect(
        ok,
        f'Handlers {handlers} ("" is the root), propagate=False on {stop}: a record from {probe!r} '
        f"visits {_describe_chain(truth)}, but handler_chain() returned {_describe_chain(chain)}.",
    )


HANDLERS = {"": ["console"], "svc": ["svc_file", "svc_alerts"], "svc.api.v1": ["v1_audit"]}


def task_4(handler_chain: Callable[[logging.Logger], object]) -> None:
    """Task 3.4, public checks: a record climbs to the root, visiting each logger's handlers in order."""
    _check_chain(
        handler_chain,
        HANDLERS,
        [],
        "svc.api.v1",
        [("svc.api.v1", "v1_audit"), ("svc", "svc_file"), ("svc", "svc_alerts"), ("root", "console")],
    )
    _check_chain(handler_chain, HANDLERS, [], "other", [("root", "console")])
    passed("3.4")


def task_4_hidden(handler_chain: Callable[[logging.Logger], object]) -> None:
    """Task 3.4, grading checks: propagate=False ends the climb after that logger's own handlers."""
    _check_chain(
        handler_chain,
        HANDLERS,
        ["svc"],
        "svc.api.v1",
        [("svc.api.v1", "v1_audit"), ("svc", "svc_file"), ("svc", "svc_alerts")],
    )
    _check_chain(handler_chain, HANDLERS, ["svc.api.v1"], "svc.api.v1", [("svc.api.v1", "v1_audit")])
    _check_chain(handler_chain, HANDLERS, ["svc.api"], "svc.api.v1.users", [("svc.api.v1", "v1_audit")])
    _check_chain(handler_chain, {"": []}, [], "quiet", [])
    _check_chain(handler_chain, HANDLERS, [""], "", [("root", "console")])
    print("Task 3.4: grading checks passed.")
