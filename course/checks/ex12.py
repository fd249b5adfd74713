"""Checks for assignment 12: Rich in notebooks and command lines.

The checker passes each function a ``rich.console.Console`` that writes to a ``StringIO`` and reads that
text (colour codes stripped), the log file, and the captured stdout and stderr. The console is built with
``force_jupyter=False``: inside Jupyter, Rich otherwise renders into the cell output and ignores ``file=``.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.logging import RichHandler

from course.checks.support import expect, isolated, output_note, passed

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

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_FAKE_KEY = "sk-test-not-a-real-key"
_THIS_FILE = Path(__file__).name


def _console(stream: io.StringIO, width: int = 100) -> Console:
    """A console that writes plain text to ``stream``, in a notebook kernel too."""
    return Console(file=stream, width=width, force_jupyter=False, color_system=None)


def _plain(stream: io.StringIO) -> str:
    return _ANSI.sub("", stream.getvalue())


def _flat(text: str) -> str:
    """Join Rich's wrapped columns back into one line of words, so a wrapped message still matches."""
    return " ".join(text.split())


@contextlib.contextmanager
def _ipython_tracebacks_kept() -> Iterator[None]:
    """Undo ``rich.traceback.install()`` if student code calls it.

    In IPython, ``install()`` replaces the shell's traceback display; a failed check would then be drawn
    on the student's console instead of being reported as an error, and graded as a pass.
    """
    saved_hook = sys.excepthook
    shell = _ipython_shell()
    names = ("showtraceback", "_showtraceback", "showsyntaxerror")
    saved = {name: shell.__dict__.get(name) for name in names} if shell is not None else {}
    try:
        yield
    finally:
        sys.excepthook = saved_hook
        if shell is not None:
            for name, value in saved.items():
                if value is None:
                    shell.__dict__.pop(name, None)
                else:
                    shell.__dict__[name] = value


def _ipython_shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _own_logger(name: str, handler: logging.Handler) -> logging.Logger:
    """A logger that sends everything to ``handler`` only."""
    log = logging.getLogger(name)
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG)
    log.propagate = False
    return log


def _expect_rich_handler(handler: object, what: str) -> None:
    expect(
        isinstance(handler, RichHandler),
        f"{what} should return a rich.logging.RichHandler; it returned {type(handler).__name__}",
    )


# --- Task 12.1: a RichHandler on a given console ---------------------------------------------------------


def _check_rich_handler(
    make_rich_handler: Callable[[Console], RichHandler], messages: list[tuple[int, str]]
) -> None:
    stream = io.StringIO()
    with isolated() as captured:
        handler = make_rich_handler(_console(stream))
        _expect_rich_handler(handler, "make_rich_handler()")
        log = _own_logger("notebook.rich_demo", handler)
        for level, text in messages:
            log.log(level, text)
    text = _plain(stream)
    expect(
        text.strip(),
        "nothing reached the console you were given: create the handler with "
        "RichHandler(console=console, ...)." + output_note(captured),
    )
    expect(
        not captured.stdout and not captured.stderr,
        "the handler wrote outside its console." + output_note(captured),
    )
    flat = _flat(text)
    for level, message in messages:
        shown = message in flat
        should_show = level >= logging.INFO
        expect(
            shown == should_show,
            f"the {logging.getLevelName(level)} record {message!r} should "
            f"{'appear' if should_show else 'not appear (the handler is at INFO)'} in the output:\n{text}",
        )
        if should_show:
            expect(
                logging.getLevelName(level) in flat,
                f"the level name {logging.getLevelName(level)} should be shown:\n{text}",
            )
    expect(
        _THIS_FILE not in text,
        f"the output names the file and line of each log call ({_THIS_FILE}:...). Turn that column off with "
        f"show_path=False:\n{text}",
    )


def task_1(make_rich_handler: Callable[[Console], RichHandler]) -> None:
    """Task 12.1: a RichHandler at INFO on a console that writes to the given stream, without paths."""
    _check_rich_handler(
        make_rich_handler,
        [
            (logging.DEBUG, "epoch 1 loss 0.52"),
            (logging.INFO, "training started"),
            (logging.WARNING, "fold 3 small"),
        ],
    )
    passed("12.1", hidden_checks=1)


def task_1_hidden(make_rich_handler: Callable[[Console], RichHandler]) -> None:
    """Hidden: ERROR and CRITICAL shown, DEBUG still hidden."""
    _check_rich_handler(
        make_rich_handler,
        [
            (logging.ERROR, "evaluation failed"),
            (logging.DEBUG, "gradient norm 3.2"),
            (logging.CRITICAL, "disk full"),
        ],
    )


# --- Task 12.2: markup off for messages from users -------------------------------------------------------


def _check_literal(
    make_console_handler: Callable[[Console], RichHandler], calls: list[tuple[str, tuple]]
) -> None:
    stream = io.StringIO()
    with isolated() as captured:
        handler = make_console_handler(_console(stream))
        _expect_rich_handler(handler, "make_console_handler()")
        log = _own_logger("notebook.checkpoints", handler)
        for message, args in calls:
            try:
                log.info(message, *args)
            except Exception as error:
                raise AssertionError(
                    f"log.info({message!r}, {', '.join(map(repr, args))}) raised {error!r}: a log call "
                    "crashed the program. Square brackets in a message must not be read as Rich markup."
                ) from None
    flat = _flat(_plain(stream))
    for message, args in calls:
        wanted = message % args if args else message
        expect(
            wanted in flat,
            f"the message should be printed literally, brackets included.\nexpected to see: {wanted!r}\n"
            f"output:          {flat!r}",
        )
    expect(
        not captured.stdout and not captured.stderr,
        "the handler wrote outside its console." + output_note(captured),
    )


def task_2(make_console_handler: Callable[[Console], RichHandler]) -> None:
    """Task 12.2: square brackets in messages and arguments are printed, never parsed."""
    _check_literal(
        make_console_handler,
        [("loaded [data] ok", ()), ("saved checkpoint to %s", ("[/mnt/ckpt]",))],
    )
    passed("12.2", hidden_checks=1)


def task_2_hidden(make_console_handler: Callable[[Console], RichHandler]) -> None:
    """Hidden: markup-looking text from a user is shown as typed."""
    _check_literal(
        make_console_handler,
        [("user note: %s", ("[bold red]urgent[/bold red]",)), ("[link=https://example.org]docs[/link]", ())],
    )


# --- Task 12.3: add Rich for the notebook, keep the file -----------------------------------------------


def _check_notebook_console(
    use_rich_console: Callable[[Console], None], *, console_first: bool, console_level: int, calls: int
) -> None:
    stream = io.StringIO()
    with tempfile.TemporaryDirectory() as tmp, isolated() as captured:
        log_file = Path(tmp) / "run.log"
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setLevel(logging.DEBUG)
        file_handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        console = logging.StreamHandler()  # the stderr console a script configured
        console.setLevel(console_level)
        console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        root = logging.getLogger()
        root.setLevel(logging.DEBUG)
        for handler in [console, file_handler] if console_first else [file_handler, console]:
            root.addHandler(handler)
        for _ in range(calls):
            use_rich_console(_console(stream))
        handlers = list(root.handlers)
        model = logging.getLogger("grade_predictor.model")
        model.debug("epoch 3 loss 0.41")
        model.info("model fitted on 120 rows")
        model.warning("fold 2 has 9 rows")
        file_handler.flush()
        file_lines = log_file.read_text(encoding="utf-8").splitlines()
    order = "console first, file second" if console_first else "file first, console second"
    expect(
        file_handler in handlers,
        f"the root's FileHandler is gone (handlers were {order}). Only the plain console handler should be "
        f"replaced; the file must keep receiving every record. Root handlers now: {handlers}",
    )
    riches = [h for h in handlers if isinstance(h, RichHandler)]
    expect(
        len(riches) == 1,
        f"after {calls} call(s) the root should have exactly one RichHandler; it has {len(riches)}: "
        f"{handlers}",
    )
    expect(
        not captured.stderr,
        "the old console handler still writes to stderr: remove it (a FileHandler is also a "
        "StreamHandler, so test the type with care)." + output_note(captured),
    )
    expect(
        file_lines
        == [
            "DEBUG grade_predictor.model epoch 3 loss 0.41",
            "INFO grade_predictor.model model fitted on 120 rows",
            "WARNING grade_predictor.model fold 2 has 9 rows",
        ],
        f"the log file should keep its format and receive all three records; it has:\n{file_lines}",
    )
    flat = _flat(_plain(stream))
    levels = {
        "epoch 3 loss 0.41": logging.DEBUG,
        "model fitted on 120 rows": logging.INFO,
        "fold 2 has 9 rows": logging.WARNING,
    }
    for message, level in levels.items():
        should_show = level >= console_level
        expect(
            (message in flat) == should_show,
            f"the Rich console should show what the old console showed (level "
            f"{logging.getLevelName(console_level)}), so {message!r} should "
            f"{'appear' if should_show else 'not appear'}; Rich output:\n{_plain(stream)}",
        )


def task_3(use_rich_console: Callable[[Console], None]) -> None:
    """Task 12.3: the console handler is replaced by Rich; the file handler stays untouched."""
    _check_notebook_console(use_rich_console, console_first=False, console_level=logging.INFO, calls=1)
    passed("12.3", hidden_checks=1)


def task_3_hidden(use_rich_console: Callable[[Console], None]) -> None:
    """Hidden: the other handler order, a WARNING console, and the cell run twice."""
    _check_notebook_console(use_rich_console, console_first=True, console_level=logging.WARNING, calls=2)


# --- Task 12.4: rich tracebacks without secrets ------------------------------------------------------------


def _load_checkpoint(path: str) -> bytes:
    api_key = _FAKE_KEY  # a credential in a local variable, as code that calls an API often has
    raise FileNotFoundError(f"no checkpoint at {path} (key {len(api_key)} chars)")


def _upload_metrics(run_id: str) -> None:
    token = _FAKE_KEY
    _ = {"run_id": run_id, "auth": token}
    raise ConnectionError("metrics server refused the connection")


def _check_tracebacks(
    make_traceback_handler: Callable[[Console], RichHandler], failing: Callable[[], object]
) -> None:
    stream = io.StringIO()
    with _ipython_tracebacks_kept(), isolated() as captured:
        handler = make_traceback_handler(_console(stream))
        _expect_rich_handler(handler, "make_traceback_handler()")
        log = _own_logger("notebook.tracebacks", handler)
        try:
            failing()
        except Exception:
            log.exception("step failed")
    text = _plain(stream)
    expect("step failed" in text, f"the ERROR message should be shown; output:\n{text}")
    expect(
        "╭" in text and "Traceback" in text,
        f"the traceback should be drawn by Rich, in a box (rich_tracebacks=True); output:\n{text}",
    )
    name = getattr(failing, "func", failing).__name__
    expect(name in text, f"the traceback should name the function that failed, {name}; output:\n{text}")
    expect(
        _FAKE_KEY not in text,
        "the traceback shows local variables, and one of them is an API key. Tracebacks that print "
        "locals leak secrets (keep tracebacks_show_locals=False).",
    )
    expect(
        not captured.stdout and not captured.stderr,
        "the handler wrote outside its console." + output_note(captured),
    )


def task_4(make_traceback_handler: Callable[[Console], RichHandler]) -> None:
    """Task 12.4: log.exception() draws a Rich traceback without local variables."""
    _check_tracebacks(make_traceback_handler, functools.partial(_load_checkpoint, "ckpt/epoch-3.pt"))
    passed("12.4", hidden_checks=1)


def task_4_hidden(make_traceback_handler: Callable[[Console], RichHandler]) -> None:
    """Hidden: another failure with a token in a local variable."""
    _check_tracebacks(make_traceback_handler, functools.partial(_upload_metrics, "run-0042"))
