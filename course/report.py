"""Rich rendering for the ``course`` command: check results, exercise lists, progress and grades."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from course.check_runner import CheckReport
from course.manifest import Manifest

if TYPE_CHECKING:
    from course.grading import GradeRow
    from course.progress import ExerciseStatus

__all__ = ["render_check", "render_grades", "render_list", "render_progress"]

_STATE_STYLE = {
    "passing": "bold green",
    "failing": "bold red",
    "not started": "dim",
    "missing": "yellow",
    "broken": "bold yellow",
    "not checked": "dim",
}


def _points(value: float) -> str:
    return f"{value:g}"


def render_check(report: CheckReport, console: Console) -> None:
    """Print each task as pass/fail with its student-facing message and points."""
    console.print(f"[bold]Exercise {report.slug}[/bold]  [dim]{report.notebook}[/dim]")
    for warning in report.warnings:
        console.print(f"  [yellow]![/yellow] {warning}", markup=True, highlight=False)
    for task in report.tasks:
        mark = Text("  PASS ", style="bold green") if task.passed else Text("  FAIL ", style="bold red")
        line = Text.assemble(
            mark,
            (f"Task {task.task_id}", "bold"),
            f"  {task.title}  " if task.title else "  ",
            (f"{_points(task.points)}/{_points(task.max_points)} pts", "cyan"),
        )
        console.print(line)
        if task.passed:
            note = "public checks passed"
            if task.hidden_checks:
                plural = "s" if task.hidden_checks != 1 else ""
                note += f"; {task.hidden_checks} hidden check{plural} run at grading"
            console.print(Text(f"        {note}", style="green"))
        else:
            console.print(Text(f"        {task.message}", style="red"))
    for error in report.cell_errors:
        console.print(
            Text(f"  cell {error.index} raised {error.ename}: {error.evalue}"[:300], style="yellow"),
            highlight=False,
        )
    if report.crashed:
        console.print(Text(f"  {report.crashed}", style="bold red"))
    passed = sum(task.passed for task in report.tasks)
    style = "bold green" if report.all_passed else "bold"
    console.print(
        Text(
            f"{passed}/{len(report.tasks)} tasks pass their public checks, "
            f"{_points(report.score)}/{_points(report.max_score)} points ({report.seconds:.1f} s)",
            style=style,
        )
    )


def _state_text(status: ExerciseStatus) -> Text:
    label = status.state
    if status.state in ("passing", "failing"):
        label += f" ({_points(status.score)}/{_points(status.max_score)})"
    return Text(label, style=_STATE_STYLE.get(status.state, ""))


def render_list(manifest: Manifest, statuses: dict[str, ExerciseStatus], console: Console) -> None:
    """Lessons in order, each with its exercise's status."""
    table = Table(title="Logging for ML Projects", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("Lesson")
    table.add_column("Exercise")
    table.add_column("Status")
    for lesson in manifest.lessons:
        status = statuses.get(lesson.slug)
        if status is None:
            table.add_row(f"{lesson.number:02d}", lesson.title, Text("-", style="dim"), "")
        else:
            table.add_row(
                f"{lesson.number:02d}", lesson.title, f"exercises/{lesson.slug}/", _state_text(status)
            )
    console.print(table)


def render_progress(manifest: Manifest, statuses: dict[str, ExerciseStatus], console: Console) -> None:
    """A summary table: tasks and points per exercise, and the totals."""
    table = Table(title="Progress", title_justify="left")
    for name, justify in (
        ("Exercise", "left"),
        ("Tasks passed", "right"),
        ("Points", "right"),
        ("Status", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    total_tasks = done_tasks = 0
    total_points = earned = 0.0
    for assignment in manifest.assignments:
        status = statuses[assignment.slug]
        report = status.report
        passed = sum(task.passed for task in report.tasks) if report else 0
        total_tasks += len(assignment.tasks)
        done_tasks += passed
        total_points += assignment.max_points
        earned += status.score
        table.add_row(
            f"{assignment.slug}",
            f"{passed}/{len(assignment.tasks)}",
            f"{_points(status.score)}/{_points(assignment.max_points)}",
            _state_text(status),
        )
    table.add_section()
    table.add_row("Total", f"{done_tasks}/{total_tasks}", f"{_points(earned)}/{_points(total_points)}", "")
    console.print(table)


def render_grades(rows: Sequence[GradeRow], console: Console) -> None:
    """The grading summary: one row per student and assignment, with the reason for anything unusual."""
    table = Table(title="Grades", title_justify="left")
    for name, justify in (
        ("Student", "left"),
        ("Assignment", "left"),
        ("Score", "right"),
        ("Status", "left"),
        ("Reason", "left"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for row in rows:
        style = {"graded": "green", "rejected": "bold red", "error": "bold red"}.get(row.status, "")
        score = f"{_points(row.score)}/{_points(row.max_score)}" if row.score is not None else "-"
        table.add_row(row.student, row.assignment, score, Text(row.status, style=style), row.reason)
    console.print(table)
