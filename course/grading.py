"""``course grade``: import submissions, autograde them in parallel with nbgrader, export grades.

The grading folder (``./grading`` by default, never the repository) is an ordinary nbgrader course:
``source/`` (a copy of the solutions), ``release/``, ``submitted/``, ``autograded/``, ``feedback/`` and
``gradebook.db``. Students are split into disjoint sets, one per worker process
(:mod:`course._grade_worker`); each worker imports nbgrader once and autogrades its students with the
``course-sandbox`` kernel (:mod:`course.sandbox`). Scores come from nbgrader's gradebook; reasons come
from the pre-check and from the autograded notebooks (timeouts, a dead kernel, blocked file access).

Running it again re-imports and re-grades with ``--force``: the same submissions give the same grades.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from course.check_runner import task_id_of
from course.manifest import REPO_ROOT, Assignment, Manifest
from course.sandbox import VIOLATION_PREFIX, kernel_spec
from course.submissions import discover

logger = logging.getLogger(__name__)

__all__ = ["COURSE_ID", "GradeOptions", "GradeResult", "GradeRow", "grade_submissions", "prepare_course_dir"]

COURSE_ID = "logging-for-ml"
KERNEL_NAME = "course-sandbox"


@dataclass(frozen=True)
class GradeOptions:
    """How to grade: where, with which solutions, how many workers and what limits."""

    course_dir: Path
    solutions: Path = REPO_ROOT / "solutions"
    assignments: tuple[str, ...] = ()
    workers: int = 2
    timeout: int = 30
    csv_path: Path | None = None
    feedback: bool = True
    named_regexp: str | None = None
    cpu_seconds: int = 300
    memory_mb: int = 2048
    file_mb: int = 64
    max_output: int = 1_000_000


@dataclass(frozen=True)
class GradeRow:
    """One student's result for one assignment (``status``: graded, rejected or error)."""

    student: str
    assignment: str
    score: float | None
    max_score: float
    status: str
    reason: str = ""
    tasks: dict[str, float] = field(default_factory=dict)
    timestamp: str = ""


@dataclass(frozen=True)
class GradeResult:
    """All rows, and where the CSV went."""

    rows: tuple[GradeRow, ...]
    csv_path: Path
    warnings: tuple[str, ...] = ()


def _child_env(course_dir: Path, feedback: bool = True) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["JUPYTER_PATH"] = os.pathsep.join(
        filter(None, [str(course_dir / "jupyter"), env.get("JUPYTER_PATH", "")])
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    env["COURSE_FEEDBACK"] = "1" if feedback else "0"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.setdefault("MPLBACKEND", "Agg")
    return env


def _config_text(course_dir: Path, options: GradeOptions) -> str:
    return f'''"""nbgrader configuration of a grading folder, written by `course grade` on each run."""

c = get_config()  # noqa: F821
c.CourseDirectory.root = {str(course_dir)!r}
c.CourseDirectory.course_id = {COURSE_ID!r}
c.CourseDirectory.db_url = {f"sqlite:///{course_dir / 'gradebook.db'}"!r}
c.Execute.kernel_name = {KERNEL_NAME!r}
c.Execute.timeout = {int(options.timeout)}
c.Execute.interrupt_on_timeout = True
c.ExecutePreprocessor.shutdown_kernel = "immediate"
c.OverwriteCells.add_missing_cells = True
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
'''


def _tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def prepare_course_dir(
    course_dir: Path,
    assignments: Sequence[Assignment],
    options: GradeOptions,
    *,
    worker: subprocess.Popen[str] | None = None,
) -> None:
    """Write the grading folder's config and sandbox kernel, and generate each assignment's release.

    ``nbgrader generate_assignment`` (which records the test cells and their checksums in the
    gradebook) runs only for assignments whose source changed since the last run, all in one process:
    ``worker`` when given (a started grading worker, which has imported nbgrader already), else a new one.
    """
    course_dir.mkdir(parents=True, exist_ok=True)
    (course_dir / "nbgrader_config.py").write_text(_config_text(course_dir, options), encoding="utf-8")
    spec_dir = course_dir / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = kernel_spec(
        cpu_seconds=options.cpu_seconds,
        memory_mb=options.memory_mb,
        file_mb=options.file_mb,
        max_output=options.max_output,
        deny=[course_dir, options.solutions],
    )
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    stale: dict[str, str] = {}
    for assignment in assignments:
        source = options.solutions / assignment.slug
        if not (source / assignment.notebook_name).exists():
            raise ValueError(f"no nbgrader source for {assignment.slug} in {options.solutions}")
        stamp = course_dir / "source" / f".{assignment.slug}.hash"
        digest = _tree_hash(source)
        release = course_dir / "release" / assignment.slug / assignment.notebook_name
        if stamp.exists() and stamp.read_text() == digest and release.exists():
            continue
        target = course_dir / "source" / assignment.slug
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        stale[assignment.slug] = digest
    if not stale:
        return
    own = worker is None
    if worker is None:
        worker = _start_workers(course_dir, 1, options)[0]
    assert worker.stdin is not None and worker.stdout is not None
    worker.stdin.write(json.dumps({"course_dir": str(course_dir), "generate": list(stale)}) + "\n")
    worker.stdin.flush()
    failures = []
    for line in worker.stdout:
        record = json.loads(line)
        if record.get("done") == "generate":
            break
        if record["success"] and (course_dir / "release" / record["generated"]).exists():
            (course_dir / "source" / f".{record['generated']}.hash").write_text(stale[record["generated"]])
        else:
            failures.append(f"nbgrader could not generate {record['generated']}:\n{record['error']}")
    else:
        failures.append("the nbgrader worker stopped while generating the releases")
    if own:
        worker.stdin.close()
        worker.wait()
    if failures:
        raise ValueError("\n".join(failures))


def _split(pairs: list[tuple[str, str]], workers: int) -> list[list[tuple[str, str]]]:
    """Disjoint sets by student: all of a student's assignments go to the same worker."""
    students = sorted({student for _, student in pairs})
    owner = {student: index % workers for index, student in enumerate(students)}
    chunks: list[list[tuple[str, str]]] = [[] for _ in range(workers)]
    for slug, student in pairs:
        chunks[owner[student]].append((slug, student))
    return [chunk for chunk in chunks if chunk]


def _start_workers(course_dir: Path, count: int, options: GradeOptions) -> list[subprocess.Popen[str]]:
    """Start the worker processes now: they import nbgrader while the parent finds the submissions."""
    return [
        subprocess.Popen(
            [sys.executable, "-m", "course._grade_worker"],
            cwd=course_dir,
            env=_child_env(course_dir, options.feedback),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]


def _run_workers(
    procs: list[subprocess.Popen[str]],
    course_dir: Path,
    jobs: list[dict[str, Any]],
    options: GradeOptions,
    console: Console | None,
) -> dict[tuple[str, str], dict[str, Any]]:
    """Hand each worker a disjoint set of students, show a progress bar, return each job's record."""
    records: dict[tuple[str, str], dict[str, Any]] = {}
    chunks = _split([(job["slug"], job["student"]) for job in jobs], len(procs))
    by_key = {(job["slug"], job["student"]): job for job in jobs}
    lock = threading.Lock()
    progress = Progress(
        TextColumn("Grading"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=console is None,
    )

    def read(proc: subprocess.Popen[str], bar: Any) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            with lock:
                records[(record["slug"], record["student"])] = record
                progress.update(bar, advance=1, description=f"{record['student']} ({record['slug'][:2]})")

    with progress:
        bar = progress.add_task("", total=len(jobs))
        threads = []
        for index, proc in enumerate(procs):
            chunk = chunks[index] if index < len(chunks) else []
            request = {
                "course_dir": str(course_dir),
                "feedback": options.feedback,
                "jobs": [by_key[key] for key in chunk],
            }
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(request) + "\n")
            proc.stdin.close()
            thread = threading.Thread(target=read, args=(proc, bar), daemon=True)
            thread.start()
            threads.append(thread)
        for proc, thread in zip(procs, threads, strict=True):
            proc.wait()
            thread.join()
    return records


def _autograded_reasons(path: Path, timeout: int) -> list[str]:
    """What went wrong while the notebook ran, read from nbgrader's autograded copy."""
    if not path.exists():
        return []
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ["the autograded notebook could not be read"]
    reasons: list[str] = []
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) or []:
            text = output.get("text", "")
            text = "".join(text) if isinstance(text, list) else str(text)
            if output.get("output_type") == "error":
                ename, evalue = output.get("ename", ""), str(output.get("evalue", ""))
                text += evalue
                if ename == "CellTimeoutError":
                    reasons.append(f"a cell ran longer than {timeout} s and was stopped (endless loop?)")
                elif ename in ("DeadKernelError", "RuntimeError") and "kernel" in (ename + evalue).lower():
                    reasons.append(
                        "the kernel died (os._exit(), a crash or a resource limit); later cells did not run"
                    )
                elif ename == "SystemExit" and VIOLATION_PREFIX not in evalue:
                    reasons.append("a cell called sys.exit(); the kernel kept going")
            if ("output limit" in text and VIOLATION_PREFIX in text) or "Output truncated" in text:
                reasons.append("the output was too long and was cut")
            if VIOLATION_PREFIX in text and "output limit" not in text:
                line = next(ln for ln in text.splitlines() if VIOLATION_PREFIX in ln)
                reasons.append("blocked: " + line.split(VIOLATION_PREFIX, 1)[1].strip()[:160])
    return list(dict.fromkeys(reasons))


def _failed_tasks(path: Path) -> list[str]:
    """One line per failing test cell: the task and the first line of its error."""
    if not path.exists():
        return []
    nb = json.loads(path.read_text(encoding="utf-8"))
    lines = []
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not (meta.get("grade") and not meta.get("solution")):
            continue
        for output in cell.get("outputs", []) or []:
            if output.get("output_type") == "error":
                lines.append(f"{task_id_of(meta.get('grade_id', '?'))}: {output.get('ename')}")
                break
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                lines.append(f"{task_id_of(meta.get('grade_id', '?'))}: wrote to stderr")
                break
    return lines


def _last_exception(text: str) -> str:
    """The most specific exception line in nbgrader's log (not its generic NbGraderException)."""
    found = [
        line.strip()
        for line in text.splitlines()
        if re.match(r"^\s*[\w.]+(Error|Exception|Interrupt): ", line) and "NbGraderException" not in line
    ]
    return found[-1][:300] if found else "unknown error (see nbgrader's log)"


def write_csv(rows: Sequence[GradeRow], path: Path, manifest: Manifest) -> None:
    """Grades CSV: one row per student and assignment, per-task scores, status and reason."""
    task_ids = [
        task.id for a in manifest.assignments if any(r.assignment == a.slug for r in rows) for task in a.tasks
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["student_id", "assignment", "score", "max_score", "status", "reason", "timestamp", *task_ids]
        )
        for row in rows:
            writer.writerow(
                [
                    row.student,
                    row.assignment,
                    "" if row.score is None else f"{row.score:g}",
                    f"{row.max_score:g}",
                    row.status,
                    row.reason,
                    row.timestamp,
                    *[f"{row.tasks[t]:g}" if t in row.tasks else "" for t in task_ids],
                ]
            )


def grade_submissions(
    source: Path, manifest: Manifest, options: GradeOptions, *, console: Console | None = None
) -> GradeResult:
    """Grade everything under ``source`` (folder, LMS zip or nbgrader ``submitted/``) for credit.

    Raises:
        ValueError: nothing to grade, an unknown assignment, or nbgrader could not generate a release.
    """
    course_dir = options.course_dir.resolve()
    assignments = [manifest.assignment(key) for key in options.assignments] or list(manifest.assignments)
    if course_dir == REPO_ROOT or course_dir in REPO_ROOT.parents:
        raise ValueError("the grading folder must be a folder of its own, not the repository")
    course_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="course-grade-") as scratch:
        submissions, warnings = discover(
            source, assignments, scratch=Path(scratch), named_regexp=options.named_regexp
        )
        if not submissions:
            raise ValueError(f"no submissions found in {source}" + "".join(f"\n  {w}" for w in warnings))
        students = {s.student for s in submissions}
        procs = _start_workers(course_dir, max(1, min(options.workers, len(students))), options)
        try:
            used = [a for a in assignments if any(s.slug == a.slug for s in submissions)]
            by_slug = {a.slug: a for a in used}
            prepare_course_dir(course_dir, used, options, worker=procs[0])
            jobs = [
                {
                    "slug": s.slug,
                    "student": s.student,
                    "path": str(s.path) if s.path else "",
                    "submitted_name": s.submitted_name,
                    "timestamp": s.timestamp,
                    "notes": list(s.notes),
                    "notebook_name": by_slug[s.slug].notebook_name,
                }
                for s in submissions
            ]
            records = _run_workers(procs, course_dir, jobs, options, console)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()

    rows = []
    for sub in submissions:
        assignment = by_slug[sub.slug]
        record = records.get((sub.slug, sub.student), {})
        stamp = sub.timestamp or ""
        notes = list(record.get("notes", sub.notes))
        if record.get("reason"):
            reason = "; ".join([record["reason"], *notes])
            rows.append(
                GradeRow(sub.student, sub.slug, 0.0, assignment.max_points, "rejected", reason, {}, stamp)
            )
            continue
        graded = course_dir / "autograded" / sub.student / sub.slug / assignment.notebook_name
        notes += _autograded_reasons(graded, options.timeout)
        if not record.get("success") or "score" not in record:
            text = (record.get("log") or "") + (record.get("error") or "")
            if "DeadKernelError" in text or "Kernel died" in text:
                failure = (
                    "the kernel died while running the notebook (a crash, or the CPU or memory limit), "
                    "so nbgrader could not grade it: 0 points"
                )
            elif not record:
                failure = "the grader process stopped before reaching this submission"
            else:
                failure = "nbgrader failed: " + _last_exception(text)
            reason = "; ".join([*notes, failure])
            rows.append(
                GradeRow(sub.student, sub.slug, 0.0, assignment.max_points, "error", reason, {}, stamp)
            )
            continue
        failing = _failed_tasks(graded)
        if failing:
            notes.append("failed " + ", ".join(failing))
        rows.append(
            GradeRow(
                sub.student,
                sub.slug,
                float(record["score"]),
                assignment.max_points,
                "graded",
                "; ".join(notes),
                dict(record.get("tasks", {})),
                stamp,
            )
        )
    rows.sort(key=lambda row: (row.assignment, row.student))
    csv_path = options.csv_path or course_dir / "grades.csv"
    write_csv(rows, csv_path, manifest)
    return GradeResult(tuple(rows), csv_path, tuple(warnings))
