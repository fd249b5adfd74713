"""``course check``: run the visible tests of an exercise on a student's notebook, in about a second.

The notebook is read as JSON (no nbformat, no nbgrader apps: importing those costs seconds). Its code
cells run in order in one fresh Python process (:mod:`course._cell_runner`) whose working folder is the
notebook's folder, as in a kernel. A graded test cell passes when it raises nothing and writes nothing to
stderr, the rule nbgrader grades by, so passing here means passing the same public checks at grading.

Test cells are taken from the released notebook, not the student's copy, exactly as nbgrader's
``OverwriteCells`` does at grading: editing a test cell changes nothing but earns a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from course.manifest import REPO_ROOT, Assignment, Manifest

logger = logging.getLogger(__name__)

__all__ = [
    "CellError",
    "CheckReport",
    "TaskResult",
    "check",
    "hidden_check_count",
    "is_untouched",
    "read_notebook",
    "run_checks",
    "task_id_of",
    "test_cells",
    "visible_source",
]

_HIDDEN = re.compile(
    r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*\n(.*?)^[ \t]*### END HIDDEN TESTS[ \t]*\n?", re.M | re.S
)
_TASK_ID = re.compile(r"^task_(\d+)_(\d+)$")


@dataclass(frozen=True)
class TaskResult:
    """The outcome of one graded test cell's visible checks."""

    task_id: str
    grade_id: str
    title: str
    points: float
    max_points: float
    status: str  # "passed", "failed", "not run"
    message: str = ""
    output: str = ""
    hidden_checks: int = 0

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass(frozen=True)
class CellError:
    """A non-test cell that raised (the student's own code, usually the reason a test fails)."""

    index: int
    ename: str
    evalue: str


@dataclass(frozen=True)
class CheckReport:
    """Everything ``course check`` found for one notebook."""

    slug: str
    notebook: str
    tasks: tuple[TaskResult, ...]
    cell_errors: tuple[CellError, ...] = ()
    warnings: tuple[str, ...] = ()
    crashed: str = ""
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(task.points for task in self.tasks)

    @property
    def max_score(self) -> float:
        return sum(task.max_points for task in self.tasks)

    @property
    def all_passed(self) -> bool:
        return bool(self.tasks) and all(task.passed for task in self.tasks)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckReport:
        return cls(
            slug=data["slug"],
            notebook=data["notebook"],
            tasks=tuple(TaskResult(**item) for item in data["tasks"]),
            cell_errors=tuple(CellError(**item) for item in data["cell_errors"]),
            warnings=tuple(data["warnings"]),
            crashed=data["crashed"],
            seconds=data["seconds"],
        )


@dataclass
class _Cell:
    index: int
    kind: str  # "code" or "test"
    source: str
    grade_id: str = ""
    points: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)


def read_notebook(path: Path) -> dict[str, Any]:
    """Load a notebook as plain JSON (fast), checking only what running it needs."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise ValueError(f"{path} is not a Jupyter notebook (no list of cells)")
    return data


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _nbgrader(cell: dict[str, Any]) -> dict[str, Any]:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def task_id_of(grade_id: str) -> str:
    """``"task_5_2"`` -> ``"5.2"``; other grade ids are returned unchanged."""
    match = _TASK_ID.match(grade_id)
    return f"{int(match[1])}.{int(match[2])}" if match else grade_id


def test_cells(notebook: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The autograded test cells of a notebook by grade_id, in order."""
    found = {}
    for cell in notebook["cells"]:
        meta = _nbgrader(cell)
        if cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution"):
            found[meta.get("grade_id", "")] = cell
    return found


def visible_source(source: str) -> str:
    """A test cell's source without its ``### BEGIN/END HIDDEN TESTS`` block."""
    return _HIDDEN.sub("", source)


def hidden_check_count(source: str) -> int:
    """How many statements a test cell's hidden block holds (0 when it has none)."""
    count = 0
    for block in _HIDDEN.findall(source):
        count += sum(1 for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#"))
    return count


def is_untouched(notebook: dict[str, Any]) -> bool:
    """True when every answer cell still holds nbgrader's stub (``raise NotImplementedError()``)."""
    answers = [
        _source(c) for c in notebook["cells"] if c.get("cell_type") == "code" and _nbgrader(c).get("solution")
    ]
    return bool(answers) and all(
        "raise NotImplementedError()" in a and "YOUR CODE HERE" in a for a in answers
    )


def _plan(
    notebook: dict[str, Any], release: dict[str, Any] | None
) -> tuple[list[_Cell], list[str], dict[str, dict[str, Any]]]:
    """The cells to run: the student's code cells, with test cells replaced by the official ones.

    ``release`` is the notebook whose test cells are authoritative (the nbgrader source, whose visible
    part is what the release holds); ``None`` runs the notebook's own test cells.
    """
    released = test_cells(release) if release is not None else {}
    warnings: list[str] = []
    cells: list[_Cell] = []
    seen: set[str] = set()
    for index, cell in enumerate(notebook["cells"]):
        if cell.get("cell_type") != "code":
            continue
        meta = _nbgrader(cell)
        grade_id = meta.get("grade_id", "")
        if grade_id in released:
            seen.add(grade_id)
            official = released[grade_id]
            if visible_source(_source(cell)).strip() != visible_source(_source(official)).strip():
                warnings.append(
                    f"test cell {grade_id} was edited; it is checked (and graded) as released, "
                    "so your edit has no effect"
                )
            points = float(_nbgrader(official).get("points", 0))
            cells.append(_Cell(index, "test", visible_source(_source(official)), grade_id, points))
        elif meta.get("grade") and not meta.get("solution") and release is None:
            cells.append(
                _Cell(index, "test", visible_source(_source(cell)), grade_id, float(meta.get("points", 0)))
            )
        elif meta.get("grade") and not meta.get("solution"):
            continue  # a test cell the release does not have: grading ignores it too
        else:
            cells.append(_Cell(index, "code", _source(cell)))
    for grade_id, official in released.items():
        if grade_id not in seen:
            warnings.append(
                f"test cell {grade_id} is missing from your notebook; it is run at the end, as at grading"
            )
            points = float(_nbgrader(official).get("points", 0))
            cells.append(
                _Cell(
                    len(notebook["cells"]) + len(cells),
                    "test",
                    visible_source(_source(official)),
                    grade_id,
                    points,
                )
            )
    return cells, warnings, released


def _hidden_counts(source_nb: Path | None) -> dict[str, int]:
    if source_nb is None or not source_nb.exists():
        return {}
    return {
        grade_id: hidden_check_count(_source(cell))
        for grade_id, cell in test_cells(read_notebook(source_nb)).items()
    }


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env.setdefault("MPLBACKEND", "Agg")
    return env


def _run_cells(cells: list[_Cell], cwd: Path, timeout: float) -> tuple[dict[int, dict[str, Any]], str]:
    """Run cells in a fresh interpreter; return results by cell index and a crash description."""
    with tempfile.TemporaryDirectory(prefix="course-check-") as tmp:
        job_path, results_path, stderr_path = (
            Path(tmp, "job.json"),
            Path(tmp, "results.jsonl"),
            Path(tmp, "stderr"),
        )
        job = {"timeout": timeout, "cells": [{"index": c.index, "source": c.source} for c in cells]}
        job_path.write_text(json.dumps(job), encoding="utf-8")
        results_path.touch()
        crashed = ""
        with open(stderr_path, "wb") as stderr:
            try:
                proc = subprocess.run(
                    [sys.executable, "-m", "course._cell_runner", str(job_path), str(results_path)],
                    cwd=cwd,
                    env=_child_env(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    timeout=timeout * (len(cells) + 1) + 10,
                    check=False,
                )
                if proc.returncode != 0:
                    crashed = f"the notebook's process ended with exit status {proc.returncode}"
            except subprocess.TimeoutExpired:
                crashed = "the notebook ran past its overall time limit and was stopped"
        results: dict[int, dict[str, Any]] = {}
        started: int | None = None
        for line in results_path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record["status"] == "started":
                started = record["index"]
            else:
                results[record["index"]] = record
                started = None
        if crashed and started is not None:
            crashed += f" while running cell {started + 1} (os._exit(), a crash or a resource limit)"
        elif started is not None:
            crashed = f"the notebook's process stopped while running cell {started + 1}"
        if crashed:
            tail = stderr_path.read_bytes()[-800:].decode("utf-8", "replace").strip()
            logger.debug("check process crashed: %s; stderr tail: %s", crashed, tail)
        return results, crashed


def _message(record: dict[str, Any]) -> str:
    if record["status"] == "timeout":
        return f"the test cell ran longer than the time limit ({record['evalue']})"
    if record["status"] == "error" and record["ename"] == "NotImplementedError" and not record["evalue"]:
        return "NotImplementedError: the answer to this task is not written yet"
    if record["status"] == "error":
        return f"{record['ename']}: {record['evalue']}" if record["evalue"] else record["ename"]
    if record.get("stderr"):
        first = record["stderr"].strip().splitlines()[0] if record["stderr"].strip() else ""
        return f"the test cell wrote to stderr, which nbgrader scores as a failure: {first[:200]}"
    return ""


def _partial(record: dict[str, Any], max_points: float) -> float:
    """nbgrader's rule: a test cell whose value is a number between 0 and the maximum scores that number."""
    try:
        value = float(record["result"])
    except (TypeError, ValueError):
        return max_points
    return value if 0 <= value <= max_points else max_points


def run_checks(
    notebook_path: Path,
    assignment: Assignment | None = None,
    *,
    manifest: Manifest | None = None,
    root: Path = REPO_ROOT,
    timeout: float = 30.0,
) -> CheckReport:
    """Run the visible tests of ``assignment`` on the notebook at ``notebook_path``.

    Args:
        notebook_path: the student's notebook (usually ``exercises/NN_slug/NN_slug.ipynb``).
        assignment: the manifest entry; gives the released test cells, titles and hidden-check counts.
        manifest: used for task titles when ``assignment`` is given without one.
        root: the course root holding ``exercises/`` and ``solutions/``.
        timeout: seconds each cell may run.

    Raises:
        ValueError: the file is not valid JSON or not a notebook.
    """
    started = time.perf_counter()
    notebook_path = Path(notebook_path).resolve()
    try:
        notebook = read_notebook(notebook_path)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{notebook_path.name} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    release = source_nb = None
    titles: dict[str, str] = {}
    if assignment is not None:
        release_path = assignment.release_path(root)
        source_nb = assignment.source_path(root)
        # Test cells come from the nbgrader source (as at grading: nbgrader restores them from its
        # gradebook); a private course without solutions/ falls back to a separate release copy.
        if source_nb.exists() and source_nb.resolve() != notebook_path:
            release = read_notebook(source_nb)
        elif release_path.exists() and release_path.resolve() != notebook_path:
            release = read_notebook(release_path)
        titles = {task.grade_id: task.title for task in assignment.tasks}
    hidden = _hidden_counts(source_nb)
    cells, warnings, _ = _plan(notebook, release)
    results, crashed = _run_cells(cells, notebook_path.parent, timeout)

    tasks = []
    errors = []
    for cell in cells:
        record = results.get(cell.index)
        if cell.kind == "code":
            if record is not None and record["status"] != "ok":
                errors.append(CellError(cell.index + 1, record.get("ename", ""), record.get("evalue", "")))
            continue
        title = titles.get(cell.grade_id, "")
        common = dict(
            task_id=task_id_of(cell.grade_id),
            grade_id=cell.grade_id,
            title=title,
            max_points=cell.points,
            hidden_checks=hidden.get(cell.grade_id, 0),
        )
        if record is None:
            tasks.append(TaskResult(points=0.0, status="not run", message=crashed or "not run", **common))
            continue
        message = _message(record)
        output = (record.get("stdout", "") + record.get("stderr", "")).strip()
        if message:
            tasks.append(TaskResult(points=0.0, status="failed", message=message, output=output, **common))
        else:
            points = _partial(record, cell.points)
            status = "passed" if points == cell.points else "failed"
            note = "" if status == "passed" else f"partial credit: {points:g} of {cell.points:g}"
            tasks.append(TaskResult(points=points, status=status, message=note, output=output, **common))
    return CheckReport(
        slug=assignment.slug if assignment else notebook_path.stem,
        notebook=str(notebook_path),
        tasks=tuple(tasks),
        cell_errors=tuple(errors),
        warnings=tuple(warnings),
        crashed=crashed,
        seconds=time.perf_counter() - started,
    )


def fingerprint(*paths: Path) -> str:
    """A hash of files' contents (missing files count as empty), for caching check results."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path).encode())
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


def check(task_id: str, namespace: dict[str, Any] | None = None, *, root: Path = REPO_ROOT) -> bool:
    """Run task ``task_id``'s public checks on the calling notebook's own objects, learntools-style.

    ``from course import check; check("5.1")`` executes the task's released test cell (its visible
    part, the same call into ``course.checks`` that nbgrader runs) in the notebook's namespace and
    prints one line: the check's own success message, or what to fix. Returns whether it passed.
    """
    import traceback

    from course.manifest import load_manifest

    if namespace is None:
        namespace = sys._getframe(1).f_globals
    manifest = load_manifest(root / "course.toml")
    try:
        task = manifest.task(task_id)
    except (KeyError, ValueError):
        print(f"There is no task {task_id!r} in this course; task ids look like '5.1'.")
        return False
    assignment = manifest.assignment(int(task_id.split(".")[0]))
    cell = test_cells(read_notebook(assignment.release_path(root))).get(task.grade_id)
    if cell is None:
        print(f"Task {task_id} has no test cell in {assignment.release_path(root).name}.")
        return False
    try:
        exec(
            compile(visible_source(_source(cell)), f"<checks for task {task_id}>", "exec", dont_inherit=True),
            namespace,
        )
    except AssertionError as exc:
        print(f"Task {task_id}: not yet. {exc}")
        return False
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        print(
            f"Task {task_id}: your code raised {type(exc).__name__}: {exc} "
            f"(line {where.lineno} of {where.name})."
        )
        return False
    hidden = _hidden_counts(assignment.source_path(root)).get(task.grade_id, 0)
    if hidden:
        print(f"Task {task_id}: {hidden} hidden checks run at grading.")
    return True
