"""Harness for the graded-exercise tests: notebooks, answer fixtures, nbgrader validation and autograding.

Everything here works for any assignment listed in ``course.toml``; the tests parametrise over the
manifest, so a new assignment is picked up without touching this file.

nbgrader runs in worker processes (``spawn``): each worker gets its own scratch course directory and
gradebook, so assignments are graded in parallel and nothing nbgrader does (kernels, logging, warnings)
reaches the pytest process.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import re
import shutil
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from course.manifest import REPO_ROOT, Assignment, load_manifest

MANIFEST = load_manifest()


def selected_assignments() -> list[Assignment]:
    """The manifest's assignments, or only those in ``COURSE_ASSIGNMENTS`` ("1,02,05_handlers...").

    The variable lets an author grade just the assignment being written:
    ``COURSE_ASSIGNMENTS=5 uv run pytest tests/test_autograde.py``.
    """
    wanted = os.environ.get("COURSE_ASSIGNMENTS", "").strip()
    if not wanted:
        return list(MANIFEST.assignments)
    keys = [key.strip() for key in wanted.split(",") if key.strip()]
    return [MANIFEST.assignment(int(key) if key.isdigit() else key) for key in keys]


FIXTURES = Path(__file__).resolve().parent / "fixtures" / "answers"

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"

# Never more workers than cores; two by default (the CI runners and the course machine have two).
WORKERS = max(1, min(int(os.environ.get("COURSE_GRADING_WORKERS", "2")), os.cpu_count() or 1))


# ----------------------------------------------------------------------------------------------
# Notebooks and their nbgrader cells
# ----------------------------------------------------------------------------------------------


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a notebook as nbformat 4."""
    return nbformat.read(path, as_version=4)


def nbgrader_meta(cell: Mapping[str, Any]) -> dict[str, Any]:
    """The cell's nbgrader metadata (empty for an ordinary cell)."""
    return dict(cell.get("metadata", {}).get("nbgrader", {}))


def is_answer_cell(cell: Mapping[str, Any]) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_graded_cell(cell: Mapping[str, Any]) -> bool:
    return bool(nbgrader_meta(cell).get("grade"))


def cells_by_grade_id(nb: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    """Every nbgrader cell of a notebook, keyed by grade_id."""
    return {meta["grade_id"]: cell for cell in nb.cells if (meta := nbgrader_meta(cell)).get("grade_id")}


def blocks(source: str, begin: str, end: str) -> list[str]:
    """The text between each ``begin`` and ``end`` marker line (markers excluded)."""
    found: list[str] = []
    current: list[str] | None = None
    for line in source.splitlines():
        if line.strip() == begin:
            current = []
        elif line.strip() == end and current is not None:
            found.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    if current is not None:
        raise ValueError(f"{begin!r} without {end!r}")
    return found


def without_marker_lines(source: str) -> str:
    """A solution cell's source as a student who solved it would have written it."""
    markers = {BEGIN_SOLUTION, END_SOLUTION}
    return "\n".join(line for line in source.splitlines() if line.strip() not in markers)


def solution_answers(assignment: Assignment, root: Path = REPO_ROOT) -> dict[str, str]:
    """The solution notebook's answer cells, markers removed, keyed by grade_id."""
    nb = read_notebook(assignment.source_path(root))
    return {
        grade_id: without_marker_lines(cell.source)
        for grade_id, cell in cells_by_grade_id(nb).items()
        if is_answer_cell(cell)
    }


def significant_lines(text: str) -> list[str]:
    """Lines of a code block that would give the answer away (not blank, not a bare comment or pass)."""
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#") and line.strip() not in {"pass", "...", "return"}
    ]


# ----------------------------------------------------------------------------------------------
# Answer fixtures
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One answer variant from ``tests/fixtures/answers/<slug>.toml``."""

    name: str
    correct: bool
    tasks: tuple[str, ...]
    note: str
    answers: Mapping[str, str]


def fixture_path(assignment: Assignment) -> Path:
    return FIXTURES / f"{assignment.slug}.toml"


def load_variants(assignment: Assignment) -> list[Variant]:
    """Read an assignment's answer variants (an empty list when it has no fixture file).

    Raises:
        ValueError: a variant lacks a key, repeats a name or has no answers.
    """
    path = fixture_path(assignment)
    if not path.exists():
        return []
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    variants: list[Variant] = []
    for item in data.get("variant", []):
        missing = {"name", "correct", "tasks", "answers"} - set(item)
        if missing:
            raise ValueError(f"{path.name}: variant {item.get('name', '?')!r} lacks {sorted(missing)}")
        if not item["answers"]:
            raise ValueError(f"{path.name}: variant {item['name']!r} replaces no answer cell")
        variants.append(
            Variant(
                name=item["name"],
                correct=bool(item["correct"]),
                tasks=tuple(str(task) for task in item["tasks"]),
                note=item.get("note", ""),
                answers=dict(item["answers"]),
            )
        )
    names = [v.name for v in variants]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{path.name}: repeated variant names {duplicates}")
    return variants


# ----------------------------------------------------------------------------------------------
# Students: submissions and what their grades must be
# ----------------------------------------------------------------------------------------------


def build_submission(
    assignment: Assignment, replacements: Mapping[str, str] | None = None, root: Path = REPO_ROOT
) -> nbformat.NotebookNode:
    """A submission built from the released notebook.

    Every answer cell gets the solution's answer (its marker lines removed), then ``replacements``
    (answer grade_id -> whole cell source) are applied.

    Raises:
        KeyError: a replacement names a cell that is not an answer cell of the release.
    """
    nb = read_notebook(assignment.release_path(root))
    answers = solution_answers(assignment, root)
    cells = cells_by_grade_id(nb)
    for grade_id in replacements or {}:
        if grade_id not in cells or not is_answer_cell(cells[grade_id]):
            raise KeyError(f"{assignment.slug}: {grade_id!r} is not an answer cell of the release")
    for grade_id, cell in cells.items():
        if is_answer_cell(cell):
            cell.source = (replacements or {}).get(grade_id, answers[grade_id])
    return nb


@dataclass
class Student:
    """One submission and the grade each task must get: ``below`` tasks under full marks, the rest full.

    ``zero=True`` means every task must score exactly zero (the untouched release).
    """

    name: str
    notebook: nbformat.NotebookNode
    below: frozenset[str] = frozenset()
    zero: bool = False
    variants: tuple[str, ...] = ()

    def problems(self, assignment: Assignment, grades: Mapping[str, tuple[float, float]]) -> list[str]:
        """How the gradebook's ``grades`` (grade_id -> (score, max)) break this student's expectations."""
        found: list[str] = []
        label = f"{self.name} ({', '.join(self.variants)})" if self.variants else self.name
        for task in assignment.tasks:
            if task.grade_id not in grades:
                found.append(f"{label}: no grade for {task.grade_id}")
                continue
            score, max_score = grades[task.grade_id]
            if max_score != task.points:
                found.append(
                    f"{label}: {task.grade_id} is worth {max_score} in the gradebook, "
                    f"{task.points} in course.toml"
                )
            if self.zero:
                if score != 0:
                    found.append(f"{label}: task {task.id} scored {score}/{max_score}, expected 0")
            elif task.id in self.below:
                if score >= max_score:
                    found.append(f"{label}: task {task.id} scored full marks ({score}); this answer is wrong")
            elif score != max_score:
                found.append(f"{label}: task {task.id} scored {score}/{max_score}, expected full marks")
        return found


def _student_name(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "student"


def group_variants(variants: Iterable[Variant]) -> list[list[Variant]]:
    """Pack variants into groups whose answer cells and tasks are pairwise disjoint (first fit).

    One submission per group then grades several variants at once: each wrong variant's tasks
    must score below full and every other task full, exactly as if they were graded alone.
    """
    groups: list[tuple[list[Variant], set[str], set[str]]] = []
    for variant in variants:
        cells, tasks = set(variant.answers), set(variant.tasks)
        for members, used_cells, used_tasks in groups:
            if not (cells & used_cells) and not (tasks & used_tasks):
                members.append(variant)
                used_cells |= cells
                used_tasks |= tasks
                break
        else:
            groups.append(([variant], cells, tasks))
    return [members for members, _, _ in groups]


def plan_students(
    assignment: Assignment,
    *,
    merge: bool = True,
    extra: Iterable[Variant] = (),
    root: Path = REPO_ROOT,
) -> list[Student]:
    """The solution, the untouched release and every fixture variant (merged when ``merge``)."""
    students = [
        Student("solution", build_submission(assignment, root=root)),
        Student("blank-release", read_notebook(assignment.release_path(root)), zero=True),
    ]
    variants = [*load_variants(assignment), *extra]
    groups = group_variants(variants) if merge else [[v] for v in variants]
    for index, group in enumerate(groups, start=1):
        replacements: dict[str, str] = {}
        below: set[str] = set()
        for variant in group:
            replacements.update(variant.answers)
            if not variant.correct:
                below.update(variant.tasks)
        name = _student_name(group[0].name) if len(group) == 1 else f"merged-{index}"
        students.append(
            Student(
                name,
                build_submission(assignment, replacements, root=root),
                below=frozenset(below),
                variants=tuple(v.name for v in group),
            )
        )
    return students


# ----------------------------------------------------------------------------------------------
# nbgrader in worker processes
# ----------------------------------------------------------------------------------------------


@dataclass
class GradeReport:
    """What one worker's autograde run produced for one assignment."""

    slug: str
    grades: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    graded_notebooks: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


_EMPTY_GRADEBOOK: dict[Path, Path] = {}


def _empty_gradebook(workdir: Path, course_id: str) -> Path:
    """An empty gradebook file, made once per worker process and copied for each course.

    A new gradebook asks ``alembic`` (a subprocess, seconds) for its schema version; copying a made
    one skips that for every assignment after the first.
    """
    if workdir not in _EMPTY_GRADEBOOK:
        from nbgrader.api import Gradebook

        path = workdir / f"empty-gradebook-{os.getpid()}.db"
        path.unlink(missing_ok=True)
        Gradebook(f"sqlite:///{path}", course_id=course_id).close()
        _EMPTY_GRADEBOOK[workdir] = path
    return _EMPTY_GRADEBOOK[workdir]


def autograde_assignment(
    slug: str, students: Mapping[str, str], workdir: str, root: str = str(REPO_ROOT)
) -> GradeReport:
    """Grade ``students`` (name -> notebook JSON) for one assignment with nbgrader, in a scratch course.

    The scratch course gets the assignment's solution folder, a gradebook filled by
    ``generate_assignment`` (so hidden tests are restored at grading) and one submission per student;
    ``autograde`` then runs each in a fresh kernel. Run this in a worker process.
    """
    report = GradeReport(slug)
    try:
        return _autograde(slug, students, Path(workdir), Path(root), report)
    except Exception:
        import traceback

        report.failures["<harness>"] = traceback.format_exc()
        return report


def _autograde(
    slug: str, students: Mapping[str, str], workdir: Path, root: Path, report: GradeReport
) -> GradeReport:
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from course.release import load_nbgrader_config

    started = time.perf_counter()
    course_root = Path(workdir) / slug
    if course_root.exists():
        shutil.rmtree(course_root)
    shutil.copytree(
        Path(root) / "solutions" / slug,
        course_root / "solutions" / slug,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
    )
    config = load_nbgrader_config(course_root, config_root=Path(root))
    shutil.copy2(
        _empty_gradebook(Path(workdir), config.CourseDirectory.course_id), course_root / "gradebook.db"
    )
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    generated = api.generate_assignment(slug, force=True, create=True)
    if not generated.get("success"):
        report.failures["<generate_assignment>"] = generated.get("error") or generated.get("log", "")
        return report
    notebook_name = f"{slug}.ipynb"
    for name, text in students.items():
        target = course_root / "submitted" / name / slug / notebook_name
        target.parent.mkdir(parents=True)
        target.write_text(text, encoding="utf-8")
    for name in students:
        result = api.autograde(slug, name, force=True, create=True)
        if not result.get("success"):
            report.failures[name] = result.get("error") or result.get("log", "")
    with Gradebook(config.CourseDirectory.db_url) as gradebook:
        for name in students:
            if name in report.failures:
                continue
            submitted = gradebook.find_submission_notebook(slug, slug, name)
            report.grades[name] = {
                grade.name: (float(grade.score), float(grade.max_score)) for grade in submitted.grades
            }
            report.graded_notebooks[name] = str(course_root / "autograded" / name / slug / notebook_name)
    report.seconds = time.perf_counter() - started
    return report


def validate_notebook(path: str, invert: bool = False, root: str = str(REPO_ROOT)) -> dict[str, Any]:
    """Run nbgrader's Validator on a copy of ``path`` and return its result dictionary.

    The result is empty when validation passes; otherwise it holds ``failed`` (or, with ``invert``,
    ``passed``), ``changed`` or ``type_changed`` entries. Run this in a worker process.
    """
    import tempfile
    import traceback

    from nbgrader.validator import Validator

    from course.release import load_nbgrader_config

    try:
        with tempfile.TemporaryDirectory(prefix="course-validate-") as scratch:
            copy = Path(scratch) / Path(path).name
            shutil.copy2(path, copy)
            config = load_nbgrader_config(Path(scratch), config_root=Path(root))
            validator = Validator(config=config)
            validator.invert = invert
            return validator.validate(str(copy))
    except Exception:
        return {"harness_error": traceback.format_exc()}


def run_in_workers(
    function: Callable[..., Any], calls: list[tuple], workers: int = WORKERS, *, fresh: bool = False
) -> list[Any]:
    """Run ``function(*args)`` for each ``args`` in ``calls`` in spawned worker processes, in order.

    With ``fresh``, every call gets a new process, so nothing one call leaves behind reaches the next.
    """
    if not calls:
        return []
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=min(workers, len(calls)), mp_context=context, max_tasks_per_child=1 if fresh else None
    ) as pool:
        futures = [pool.submit(function, *args) for args in calls]
        return [future.result() for future in futures]


# ----------------------------------------------------------------------------------------------
# In-process grading (fast, no nbgrader): every variant alone, hidden tests included
# ----------------------------------------------------------------------------------------------


def grade_in_process(
    assignment: Assignment, nb: nbformat.NotebookNode
) -> dict[str, tuple[float, float, str]]:
    """Run a submission's code cells in one fresh namespace, the way a kernel would, and score the tests.

    Test cells are taken from the solution notebook (hidden tests included), as nbgrader restores them.
    A test cell scores full marks when it raises nothing and writes nothing to stderr, as in nbgrader.
    Returns grade_id -> (score, max score, what went wrong).
    """
    import contextlib
    import contextvars
    import io
    import sys
    import types

    from logkit.state import isolated_logging

    source_cells = cells_by_grade_id(read_notebook(assignment.source_path()))
    # Like a kernel: the notebook's names live in a module that is __main__ while its cells run (so
    # dataclasses and typing.get_type_hints find them), and each cell runs in a copy of the context
    # (so a contextvar set in one cell does not leak into the next).
    user_module = types.ModuleType("__main__")
    namespace = user_module.__dict__
    scores: dict[str, tuple[float, float, str]] = {}
    modules_before = set(sys.modules)
    with isolated_logging():
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            meta = nbgrader_meta(cell)
            grade_id = meta.get("grade_id", "")
            code = source_cells[grade_id].source if is_graded_cell(cell) else cell.source
            stdout, stderr = io.StringIO(), io.StringIO()
            problem = ""
            real_main = sys.modules["__main__"]
            sys.modules["__main__"] = user_module
            try:
                with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                    compiled = compile(
                        code, f"<cell {grade_id or cell.get('id')}>", "exec", dont_inherit=True
                    )
                    contextvars.copy_context().run(exec, compiled, namespace)
            except BaseException as error:  # a student's cell may raise anything, SystemExit included
                problem = f"{type(error).__name__}: {error}"
            finally:
                sys.modules["__main__"] = real_main
            if not problem and stderr.getvalue():
                problem = f"wrote to stderr: {stderr.getvalue()[:200]!r}"
            if is_graded_cell(cell):
                points = float(meta.get("points", 0))
                scores[grade_id] = (0.0 if problem else points, points, problem)
    for name in set(sys.modules) - modules_before:  # modules a submission imported from temp folders
        module_file = getattr(sys.modules.get(name), "__file__", None) or ""
        if "course-" in module_file:
            sys.modules.pop(name, None)
    return scores


def variant_problems_in_process(slug: str) -> list[str]:
    """Grade the solution, the release and every fixture variant alone, in process; list the mismatches.

    Run it in a fresh worker process per assignment: one assignment's checks and answers cannot then
    affect another's, as with one kernel per notebook.
    """
    assignment = MANIFEST.assignment(slug)
    found: list[str] = []
    for student in plan_students(assignment, merge=False):
        scores = grade_in_process(assignment, student.notebook)
        grades = {gid: (score, points) for gid, (score, points, _) in scores.items()}
        for line in student.problems(assignment, grades):
            why = next(
                (p for gid, (_, _, p) in scores.items() if p and gid.replace("_", ".")[5:] in line), ""
            )
            found.append(f"{line}{'; ' + why[:300] if why else ''}")
    return found
