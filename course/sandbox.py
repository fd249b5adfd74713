"""A bounded IPython kernel for grading: resource limits, an output cap and a file-access tripwire.

``course grade`` writes a kernel spec (``course-sandbox``) into the grading folder whose ``argv`` starts
this module instead of ``ipykernel_launcher``. Before the kernel runs any student code it:

- sets ``RLIMIT_CPU`` (CPU seconds for the whole notebook), ``RLIMIT_AS`` (address space) and
  ``RLIMIT_FSIZE`` (largest file it may write; ``SIGXFSZ`` is ignored so a big write fails with an
  ``OSError`` instead of killing the kernel);
- caps what the kernel sends as output (a notebook printing gigabytes cannot fill the grader's memory);
- installs an audit hook (PEP 578) that refuses to open files under the denied folders (the grading
  folder's sources, gradebook and other students' work; the solutions) for reading, and refuses any
  write outside the notebook's own working folder, its temporary folder and ``/dev``.

The working folder is nbgrader's per-student copy (``autograded/<student>/<assignment>/``), so that is the
scratch folder student code may write to.

This is a tripwire, not a security boundary: code can bypass audit hooks (``ctypes``, child processes)
and still runs with the grader's user rights. See the README's security model for what containers,
nsjail or JupyterHub add.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["SandboxPolicy", "install_audit_hook", "kernel_spec", "main", "set_limits"]

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
VIOLATION_PREFIX = "course sandbox:"


def set_limits(*, cpu_seconds: int, memory_mb: int, file_mb: int) -> None:
    """Apply the kernel's resource limits (0 leaves a limit unchanged); never raise a hard limit."""

    def lower(which: int, value: int) -> None:
        _soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, hard))

    if cpu_seconds:
        lower(resource.RLIMIT_CPU, cpu_seconds)
    if memory_mb:
        lower(resource.RLIMIT_AS, memory_mb * 1024 * 1024)
    if file_mb:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        lower(resource.RLIMIT_FSIZE, file_mb * 1024 * 1024)


class SandboxPolicy:
    """Which paths student code may read and write."""

    def __init__(self, *, workdir: Path, deny_read: Sequence[Path], allow_write: Sequence[Path]) -> None:
        self.workdir = workdir.resolve()
        self.deny_read = [p.resolve() for p in deny_read]
        self.allow_write = [self.workdir, Path("/dev").resolve(), *(p.resolve() for p in allow_write)]

    @staticmethod
    def _within(path: Path, folders: Sequence[Path]) -> bool:
        return any(path == folder or folder in path.parents for folder in folders)

    def check(self, raw: Any, writing: bool) -> None:
        """Raise ``PermissionError`` when the access is not allowed."""
        if isinstance(raw, int):
            return  # a file descriptor that is already open
        try:
            path = Path(os.fsdecode(raw))
        except TypeError:
            return
        path = Path(os.path.abspath(path))
        try:
            real = path.resolve()
        except (OSError, RuntimeError):
            real = path
        if writing and not any(self._within(p, self.allow_write) for p in (path, real)):
            raise PermissionError(
                f"{VIOLATION_PREFIX} writing {path} (outside the notebook's folder) is not allowed"
            )
        if self._within(real, [self.workdir]):
            return
        if any(self._within(p, self.deny_read) for p in (path, real)):
            raise PermissionError(f"{VIOLATION_PREFIX} reading {path} is not allowed during grading")


def install_audit_hook(policy: SandboxPolicy) -> None:
    """Enforce ``policy`` on ``open``, ``os.open`` and the file-system calls that change things."""
    changing = {
        "os.remove",
        "os.rename",
        "os.rmdir",
        "os.mkdir",
        "os.truncate",
        "os.symlink",
        "os.link",
        "shutil.rmtree",
        "shutil.copyfile",
        "shutil.move",
        "os.chmod",
        "os.utime",
    }

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = [*list(args), None, None, None][:3]
            if isinstance(mode, str):
                writing = any(ch in mode for ch in "wax+")
            else:
                writing = bool((flags or 0) & _WRITE_FLAGS)
            policy.check(path, writing)
        elif event == "os.kill" and len(args) >= 1 and args[0] in (os.getpid(), os.getppid(), 0, -1):
            raise PermissionError(
                f"{VIOLATION_PREFIX} sending signals to the kernel or the grader is not allowed"
            )
        elif event == "sqlite3.connect" and args:
            policy.check(args[0], False)
        elif event in changing:
            for arg in args[:2]:
                if isinstance(arg, str | bytes | os.PathLike):
                    policy.check(arg, True)

    sys.addaudithook(hook)


def _disable_exit() -> None:
    """Make ``os._exit()`` raise instead of killing the kernel (the rest of the notebook still runs)."""

    def refuse_exit(status: int = 0) -> None:
        raise SystemExit(f"{VIOLATION_PREFIX} os._exit({status}) is disabled during grading")

    os._exit = refuse_exit  # type: ignore[assignment]


def _limit_output(max_bytes: int) -> None:
    """Stop forwarding output after ``max_bytes`` characters per stream (with one notice)."""
    from ipykernel.iostream import OutStream

    original = OutStream.write
    sent: dict[int, int] = {}

    def write(self: Any, string: str) -> int | None:
        used = sent.get(id(self), 0)
        if used >= max_bytes:
            return len(string)
        sent[id(self)] = used + len(string)
        if used + len(string) > max_bytes:
            original(self, string[: max_bytes - used])
            return original(self, f"\n[{VIOLATION_PREFIX} output limit of {max_bytes} characters reached]\n")
        return original(self, string)

    OutStream.write = write  # type: ignore[method-assign]


def _report_errors_on_stderr(shell: Any) -> None:
    """Also report every cell error on stderr, which nbgrader scores as a failed test cell.

    nbgrader finds a failed test cell by its error output. Code that replaces IPython's traceback
    display (``rich.traceback.install()`` does, as lesson 12 shows) turns that error into ordinary
    display data, and a failing test cell would score full marks. A line on stderr still fails it.
    """

    def after_cell(result: Any) -> None:
        error = result.error_in_exec
        if error is not None:
            sys.stderr.write(f"{VIOLATION_PREFIX} the cell raised {type(error).__name__}: {error}\n")
            sys.stderr.flush()

    shell.events.register("post_run_cell", after_cell)


def kernel_spec(
    *,
    cpu_seconds: int,
    memory_mb: int,
    file_mb: int,
    max_output: int,
    deny: Sequence[Path],
) -> dict[str, Any]:
    """The ``kernel.json`` of the ``course-sandbox`` kernel."""
    argv = [sys.executable, "-m", "course.sandbox", "--cpu", str(cpu_seconds), "--memory-mb", str(memory_mb)]
    argv += ["--file-mb", str(file_mb), "--max-output", str(max_output)]
    for path in deny:
        argv += ["--deny", str(path)]
    argv += ["-f", "{connection_file}"]
    return {
        "argv": argv,
        "display_name": "Python 3 (course sandbox)",
        "language": "python",
        "metadata": {"debugger": False},
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Start a bounded ipykernel: ``python -m course.sandbox [limits] -f CONNECTION_FILE``."""
    parser = argparse.ArgumentParser(prog="course.sandbox")
    parser.add_argument("--cpu", type=int, default=60)
    parser.add_argument("--memory-mb", type=int, default=2048)
    parser.add_argument("--file-mb", type=int, default=64)
    parser.add_argument("--max-output", type=int, default=1_000_000)
    parser.add_argument("--deny", type=Path, action="append", default=[])
    parser.add_argument("-f", dest="connection_file", required=True)
    args = parser.parse_args(argv)

    workdir = Path.cwd()
    scratch_tmp = workdir / ".tmp"
    scratch_tmp.mkdir(exist_ok=True)
    os.environ["TMPDIR"] = str(scratch_tmp)
    import tempfile

    tempfile.tempdir = str(scratch_tmp)
    set_limits(cpu_seconds=args.cpu, memory_mb=args.memory_mb, file_mb=args.file_mb)

    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(["-f", args.connection_file, "--HistoryManager.hist_file=:memory:"])
    _limit_output(args.max_output)
    _report_errors_on_stderr(app.shell)
    _disable_exit()
    install_audit_hook(SandboxPolicy(workdir=workdir, deny_read=args.deny, allow_write=[scratch_tmp]))
    app.start()


if __name__ == "__main__":
    main()
