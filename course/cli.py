"""The ``course`` command: instant feedback for students, one-command grading for instructors.

Students: ``course list``, ``course check 5``, ``course hint 5.2``, ``course progress``.
Instructors: ``course grade SUBMISSIONS`` (a folder, an LMS zip, or nbgrader's ``submitted/`` layout)
and ``course release``. The student commands never import nbgrader, so they answer in about a second.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from course.manifest import REPO_ROOT, Manifest, load_manifest

__all__ = ["app"]

app = typer.Typer(
    name="course",
    help="Logging for ML Projects: check your exercises, read hints, track progress, grade a class.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state: dict[str, Path] = {"root": REPO_ROOT}


def _console() -> Console:
    return Console(highlight=False, soft_wrap=False, width=int(os.environ.get("COLUMNS", "0")) or None)


def _root() -> Path:
    return _state["root"]


def _manifest() -> Manifest:
    return load_manifest(_root() / "course.toml")


def _fail(message: str, code: int = 2) -> typer.Exit:
    _console().print(f"[bold red]error:[/bold red] {message}", highlight=False)
    return typer.Exit(code)


@app.callback()
def main(
    root: Annotated[
        Path | None,
        typer.Option(
            help="The course folder (with course.toml); default: this repository.", envvar="COURSE_ROOT"
        ),
    ] = None,
) -> None:
    """Logging for ML Projects."""
    _state["root"] = (root or REPO_ROOT).resolve()


def _assignment(manifest: Manifest, number: str):
    try:
        return manifest.assignment(number)
    except KeyError:
        known = ", ".join(a.slug[:2] for a in manifest.assignments) or "none yet"
        raise _fail(f"no exercise {number!r}; exercises: {known}") from None


@app.command("list")
def list_command(
    run: Annotated[
        bool, typer.Option(help="Run the checks of started exercises (cached per notebook version).")
    ] = True,
) -> None:
    """List lessons and exercises in order, with each exercise's status."""
    from course.progress import exercise_status
    from course.report import render_list

    manifest = _manifest()
    statuses = {a.lesson: exercise_status(a, root=_root(), run=run) for a in manifest.assignments}
    render_list(manifest, statuses, _console())


@app.command()
def check(
    exercise: Annotated[str, typer.Argument(help="Exercise number (5 or 05) or slug.")],
    notebook: Annotated[
        Path | None, typer.Option(help="Notebook to check; default exercises/NN_slug/NN_slug.ipynb.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds each cell may run.")] = 30.0,
) -> None:
    """Run the visible tests of an exercise on your notebook: each task, pass or fail, with points."""
    from course.check_runner import run_checks
    from course.report import render_check

    assignment = _assignment(_manifest(), exercise)
    path = notebook or assignment.release_path(_root())
    if not path.exists():
        raise _fail(f"{path} does not exist")
    try:
        report = run_checks(path, assignment, root=_root(), timeout=timeout)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    render_check(report, _console())
    raise typer.Exit(0 if report.all_passed else 1)


@app.command()
def hint(task: Annotated[str, typer.Argument(help="Task id, e.g. 5.2.")]) -> None:
    """Print the hint for a task."""
    manifest = _manifest()
    try:
        found = manifest.task(task)
    except (KeyError, ValueError):
        raise _fail(f"no task {task!r}; task ids look like 5.2 (exercise 5, task 2)") from None
    console = _console()
    console.print(f"[bold]Task {found.id}[/bold]: {found.title} ({found.points:g} points)", highlight=False)
    console.print(found.hint, markup=False, highlight=False)


@app.command()
def progress(
    run: Annotated[
        bool, typer.Option(help="Run the checks of started exercises (cached per notebook version).")
    ] = True,
) -> None:
    """Print a summary table of tasks passed and points, per exercise and in total."""
    from course.progress import exercise_status
    from course.report import render_progress

    manifest = _manifest()
    statuses = {a.slug: exercise_status(a, root=_root(), run=run) for a in manifest.assignments}
    render_progress(manifest, statuses, _console())


@app.command()
def grade(
    submissions: Annotated[
        Path,
        typer.Argument(
            help="A folder of notebooks, an LMS zip (zip_collect naming) or nbgrader's submitted/ folder."
        ),
    ],
    assignment: Annotated[
        list[str] | None, typer.Option("--assignment", "-a", help="Grade only this exercise (repeatable).")
    ] = None,
    course_dir: Annotated[Path, typer.Option(help="Where nbgrader's folders and gradebook live.")] = Path(
        "grading"
    ),
    solutions: Annotated[
        Path | None,
        typer.Option(help="The nbgrader source folder; keep a private copy for grading for credit."),
    ] = None,
    workers: Annotated[int, typer.Option(help="Grader processes (default: one per core).")] = 0,
    timeout: Annotated[int, typer.Option(help="Seconds each cell may run.")] = 30,
    csv: Annotated[Path | None, typer.Option(help="Grades CSV (default COURSE_DIR/grades.csv).")] = None,
    feedback: Annotated[bool, typer.Option(help="Generate feedback HTML for each student.")] = True,
    named_regexp: Annotated[
        str | None, typer.Option(help="Regular expression for LMS file names (as nbgrader's zip_collect).")
    ] = None,
) -> None:
    """Import, autograde (in parallel), write feedback and a grades CSV, and print a summary table."""
    from course.grading import GradeOptions, grade_submissions
    from course.report import render_grades

    if not submissions.exists():
        raise _fail(f"{submissions} does not exist")
    options = GradeOptions(
        course_dir=course_dir.resolve(),
        solutions=(solutions or _root() / "solutions").resolve(),
        assignments=tuple(assignment or ()),
        workers=workers or max(1, os.cpu_count() or 1),
        timeout=timeout,
        csv_path=csv.resolve() if csv else None,
        feedback=feedback,
        named_regexp=named_regexp,
    )
    console = _console()
    try:
        result = grade_submissions(submissions.resolve(), _manifest(), options, console=console)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    render_grades(result.rows, console)
    console.print(f"Grades: {result.csv_path}", highlight=False)
    if options.feedback:
        console.print(f"Feedback: {options.course_dir / 'feedback'}", highlight=False)


@app.command()
def release(
    assignments: Annotated[
        list[str] | None, typer.Argument(help="Exercise numbers or slugs (default: all).")
    ] = None,
) -> None:
    """Regenerate exercises/ from solutions/ with nbgrader."""
    from course.release import ReleaseError
    from course.release import release as release_assignments

    try:
        written = release_assignments(assignments or None, root=_root())
    except (ReleaseError, KeyError) as exc:
        raise _fail(str(exc)) from None
    for path in written:
        _console().print(f"released {path}", highlight=False)


# `course site`: the self-study site's build command lives in course/site.py.
from course.site import site_command  # noqa: E402

app.command("site")(site_command)

# `course start`: JupyterLab on the lessons (course/start.py).
from course.start import start_command  # noqa: E402

app.command("start", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(
    start_command
)
