"""Execute a notebook's code cells in this process, one after another, like a fresh kernel would.

``course check`` starts this module as ``python -m course._cell_runner JOB RESULTS`` in the
notebook's folder. ``JOB`` is a JSON file with the cells to run; for every cell this writes two JSON
lines to ``RESULTS`` (``started``, then the outcome) and flushes, so the parent can tell which cell
was running when the process died (``os._exit``, a segfault, a memory limit).

It imports nothing heavy: no IPython unless a cell uses magics, no nbformat, no nbgrader.
"""

from __future__ import annotations

import ast
import io
import json
import re
import signal
import sys
import traceback
import types
from typing import Any, TextIO

_MAGIC = re.compile(r"^\s*[%!]", re.MULTILINE)


class CellTimeout(BaseException):
    """Raised inside a cell that ran longer than its time limit (a BaseException, so
    ``except Exception`` in student code cannot swallow it)."""


class _CellStream(io.TextIOBase):
    """One process-wide stream whose text goes to the buffer of the cell that is running now.

    A ``StreamHandler`` created in one cell and used in a later one writes into the later cell's
    output, as in a Jupyter kernel. Each cell keeps at most ``limit`` characters.
    """

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0

    def reset(self) -> None:
        self.parts, self.size, self.dropped = [], 0, 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        room = self.limit - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(len(text), room)
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def value(self) -> str:
        text = "".join(self.parts)
        if self.dropped:
            text += f"\n[... {self.dropped} more characters of output dropped ...]\n"
        return text


def _on_alarm(signum: int, frame: Any) -> None:
    raise CellTimeout


def _compile(source: str, index: int) -> tuple[Any, Any]:
    """Compile a cell like IPython: statements, then the last bare expression evaluated for display.

    ``dont_inherit`` keeps this module's ``from __future__ import annotations`` out of student code.
    """
    filename = f"<cell {index}>"
    tree = ast.parse(source, filename=filename)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    body = compile(tree, filename, "exec", dont_inherit=True)
    return body, (compile(last, filename, "eval", dont_inherit=True) if last is not None else None)


def _transform_magics(source: str, namespace: dict[str, Any]) -> str:
    """Turn ``%magic`` and ``!shell`` lines into Python with IPython's own transformer (rarely needed)."""
    from IPython.core.inputtransformer2 import TransformerManager
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance(user_ns=namespace)
    namespace.setdefault("get_ipython", lambda: shell)
    return TransformerManager().transform_cell(source)


def _short_traceback(exc: BaseException) -> list[str]:
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.endswith("_cell_runner.py")
    ]
    lines = traceback.format_list(frames[-8:])
    return [*lines, *traceback.format_exception_only(type(exc), exc)]


def run(job: dict[str, Any], results: TextIO) -> None:
    """Run every cell of ``job`` in one namespace, writing one result line per cell."""
    # Like IPython, the cells' namespace is the __dict__ of the module registered as ``__main__``:
    # dataclasses, typing.get_type_hints and pickle look names up through sys.modules["__main__"].
    main_module = types.ModuleType("__main__")
    main_module.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = main_module
    namespace: dict[str, Any] = main_module.__dict__
    limit = int(job.get("max_output", 200_000))
    out, err = _CellStream("stdout", limit), _CellStream("stderr", limit)
    sys.stdout, sys.stderr = out, err
    signal.signal(signal.SIGALRM, _on_alarm)
    timeout = float(job.get("timeout", 30))

    def emit(record: dict[str, Any]) -> None:
        results.write(json.dumps(record) + "\n")
        results.flush()

    for cell in job["cells"]:
        index = cell["index"]
        emit({"index": index, "status": "started"})
        out.reset()
        err.reset()
        record: dict[str, Any] = {"index": index, "status": "ok", "result": None}
        try:
            source = cell["source"]
            if _MAGIC.search(source):
                source = _transform_magics(source, namespace)
            body, last = _compile(source, index)
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                exec(body, namespace)
                if last is not None:
                    value = eval(last, namespace)
                    if value is not None:
                        record["result"] = repr(value)[:2000]
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except CellTimeout:
            record.update(
                status="timeout", ename="CellTimeoutError", evalue=f"cell ran longer than {timeout:g} s"
            )
        except BaseException as exc:
            record.update(status="error", ename=type(exc).__name__, evalue=str(exc)[:4000])
            record["traceback"] = _short_traceback(exc)
        record["stdout"] = out.value()
        record["stderr"] = err.value()
        emit(record)


def main(argv: list[str] | None = None) -> None:
    """Entry point: ``python -m course._cell_runner JOB RESULTS``."""
    job_path, results_path = (argv if argv is not None else sys.argv[1:])[:2]
    with open(job_path, encoding="utf-8") as handle:
        job = json.load(handle)
    # The results file is opened before any student code runs and kept open: a cell that changes the
    # working directory or closes sys.stdout cannot lose it.
    with open(results_path, "a", encoding="utf-8") as results:
        run(job, results)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
