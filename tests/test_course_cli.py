"""The student side of the ``course`` command: check, list, hint, progress and the in-notebook check."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from course import check_runner, progress
from course.check_runner import check, hidden_check_count, run_checks, visible_source
from course.cli import app
from course.manifest import Assignment, load_manifest
from course.sample_class.toy import SLUG, make_toy_course, notebook, release_of, student_version

ADD = "def add(a, b):\n    return a + b"
MAKE_LOGGER = (
    "import logging\n\n\ndef make_logger(name):\n    logger = logging.getLogger(name)\n"
    "    logger.setLevel(logging.DEBUG)\n    return logger"
)


@pytest.fixture
def toy(tmp_path: Path) -> tuple[Path, Assignment]:
    """A course root holding only the toy assignment."""
    root = make_toy_course(tmp_path / "course")
    return root, load_manifest(root / "course.toml").assignment(99)


def _write(root: Path, answers: dict[str, str], edit: Any = None) -> Path:
    """Write a student's version of the toy exercise in place of the release; return its path."""
    nb = student_version(release_of(notebook()), answers)
    if edit is not None:
        edit(nb)
    path = root / "exercises" / SLUG / f"{SLUG}.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def _statuses(report: check_runner.CheckReport) -> dict[str, str]:
    return {task.task_id: task.status for task in report.tasks}


class TestRunChecks:
    """run_checks() runs the student's cells and the released test cells in one fresh process."""

    def test_blank_release_fails_every_task_with_a_message(self, toy: tuple[Path, Assignment]) -> None:
        root, assignment = toy
        report = run_checks(assignment.release_path(root), assignment, root=root)
        assert _statuses(report) == {"99.1": "failed", "99.2": "failed"}
        assert all("not written yet" in task.message for task in report.tasks)
        assert report.score == 0 and report.max_score == 5

    def test_solution_passes_and_counts_hidden_checks(self, toy: tuple[Path, Assignment]) -> None:
        root, assignment = toy
        report = run_checks(assignment.source_path(root), assignment, root=root)
        assert report.all_passed and report.score == 5
        assert {t.task_id: t.hidden_checks for t in report.tasks} == {"99.1": 1, "99.2": 0}
        assert report.tasks[0].output == "Task 99.1: public checks passed."
        assert report.warnings == ()

    def test_one_wrong_answer_fails_only_its_task(self, toy: tuple[Path, Assignment]) -> None:
        root, assignment = toy
        path = _write(root, {"answer_99_1": "def add(a, b):\n    return a - b", "answer_99_2": MAKE_LOGGER})
        report = run_checks(path, assignment, root=root)
        assert _statuses(report) == {"99.1": "failed", "99.2": "passed"}
        assert "add(1, 2) returned -1; expected 3" in report.tasks[0].message
        assert report.score == 3

    def test_edited_test_cell_is_checked_as_released(self, toy: tuple[Path, Assignment]) -> None:
        root, assignment = toy

        def cheat(nb: dict[str, Any]) -> None:
            nb["cells"][2]["source"] = "print('Task 99.1: public checks passed.')"

        path = _write(root, {"answer_99_1": "def add(a, b):\n    return 0"}, cheat)
        report = run_checks(path, assignment, root=root)
        assert _statuses(report)["99.1"] == "failed"
        assert any("task_99_1 was edited" in warning for warning in report.warnings)

    def test_deleted_test_cell_is_still_run(self, toy: tuple[Path, Assignment]) -> None:
        root, assignment = toy

        def delete(nb: dict[str, Any]) -> None:
            del nb["cells"][4]

        wrong = "def make_logger(name):\n    return None"
        path = _write(root, {"answer_99_1": ADD, "answer_99_2": wrong}, delete)
        report = run_checks(path, assignment, root=root)
        assert _statuses(report) == {"99.1": "passed", "99.2": "failed"}
        assert any("task_99_2 is missing" in warning for warning in report.warnings)

    def test_writing_to_stderr_fails_the_test_cell_like_nbgrader(self, toy: tuple[Path, Assignment]) -> None:
        root, assignment = toy
        noisy = "import sys\n\n\ndef add(a, b):\n    print('adding', file=sys.stderr)\n    return a + b"
        report = run_checks(_write(root, {"answer_99_1": noisy}), assignment, root=root)
        assert _statuses(report)["99.1"] == "failed"
        assert "wrote to stderr" in report.tasks[0].message

    def test_endless_loop_times_out_and_later_cells_still_run(self, toy: tuple[Path, Assignment]) -> None:
        root, assignment = toy
        path = _write(root, {"answer_99_1": "while True:\n    pass", "answer_99_2": MAKE_LOGGER})
        report = run_checks(path, assignment, root=root, timeout=0.5)
        assert _statuses(report) == {"99.1": "failed", "99.2": "passed"}
        assert [error.ename for error in report.cell_errors] == ["CellTimeoutError"]

    def test_sys_exit_is_a_cell_error_not_the_end(self, toy: tuple[Path, Assignment]) -> None:
        root, assignment = toy
        path = _write(root, {"answer_99_1": "import sys\nsys.exit(3)", "answer_99_2": MAKE_LOGGER})
        report = run_checks(path, assignment, root=root)
        assert _statuses(report)["99.2"] == "passed"
        assert report.cell_errors[0].ename == "SystemExit"

    def test_os_exit_reports_the_cell_and_marks_the_rest_not_run(self, toy: tuple[Path, Assignment]) -> None:
        root, assignment = toy
        path = _write(root, {"answer_99_1": ADD, "answer_99_2": "import os\nos._exit(0)"})
        report = run_checks(path, assignment, root=root)
        assert _statuses(report) == {"99.1": "passed", "99.2": "not run"}
        assert "while running cell 4" in report.crashed

    def test_cells_run_as_in_a_kernel(self, toy: tuple[Path, Assignment]) -> None:
        """Real annotations (no inherited __future__ import) and a real __main__ module, as in IPython."""
        root, assignment = toy
        kernel_like = (
            "import dataclasses, sys\n\n\n@dataclasses.dataclass\nclass P:\n    x: float = 1.0\n\n\n"
            "assert dataclasses.fields(P)[0].type is float\nassert sys.modules['__main__'].P is P\n\n\n" + ADD
        )
        report = run_checks(_write(root, {"answer_99_1": kernel_like}), assignment, root=root)
        assert _statuses(report)["99.1"] == "passed", report

    def test_magics_and_shell_lines_work(self, toy: tuple[Path, Assignment]) -> None:
        root, assignment = toy
        path = _write(root, {"answer_99_1": "%time y = 1\n!true\n" + ADD})
        report = run_checks(path, assignment, root=root)
        assert _statuses(report)["99.1"] == "passed" and report.cell_errors == ()

    def test_huge_output_is_capped(self, toy: tuple[Path, Assignment]) -> None:
        root, assignment = toy
        loud = "def add(a, b):\n    print('x' * 5_000_000)\n    return a + b"
        report = run_checks(_write(root, {"answer_99_1": loud}), assignment, root=root)
        assert len(report.tasks[0].output) < 300_000
        assert "more characters of output dropped" in report.tasks[0].output

    def test_invalid_json_is_a_clear_error(self, toy: tuple[Path, Assignment]) -> None:
        root, assignment = toy
        path = assignment.release_path(root)
        path.write_text('{"cells": [', encoding="utf-8")
        with pytest.raises(ValueError, match="not valid JSON"):
            run_checks(path, assignment, root=root)


def test_partial_credit_follows_nbgrader(tmp_path: Path) -> None:
    """A test cell whose value is a number between 0 and its points scores that number, as in nbgrader."""
    meta = {"grade": True, "solution": False, "locked": True, "grade_id": "task_99_1", "points": 2}
    cell = {"cell_type": "code", "metadata": {"nbgrader": meta}, "source": "0.5 + 1", "outputs": []}
    path = tmp_path / "partial.ipynb"
    path.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    report = run_checks(path)
    assert (report.tasks[0].points, report.tasks[0].status) == (1.5, "failed")
    assert "partial credit: 1.5 of 2" in report.tasks[0].message


class TestHelpers:
    """Hidden blocks are removed from what runs and counted for the message."""

    def test_visible_source_drops_the_hidden_block(self) -> None:
        source = "a()\n### BEGIN HIDDEN TESTS\nb()\nc()\n### END HIDDEN TESTS\n"
        assert visible_source(source) == "a()\n"
        assert hidden_check_count(source) == 2
        assert hidden_check_count("a()\n") == 0


class TestInNotebookCheck:
    """check("99.1") runs the released test cell against the caller's own objects."""

    def test_wrong_then_right(self, toy: tuple[Path, Assignment], capsys: pytest.CaptureFixture[str]) -> None:
        root, _ = toy
        namespace: dict[str, Any] = {}
        exec("def add(a, b):\n    return a * b", namespace)
        assert check("99.1", namespace, root=root) is False
        assert "Task 99.1: not yet. add(1, 2) returned 2; expected 3" in capsys.readouterr().out
        exec(ADD, namespace)
        assert check("99.1", namespace, root=root) is True
        out = capsys.readouterr().out
        assert "Task 99.1: public checks passed." in out and "1 hidden checks run at grading" in out

    def test_unknown_task_and_missing_name(
        self, toy: tuple[Path, Assignment], capsys: pytest.CaptureFixture[str]
    ) -> None:
        root, _ = toy
        assert check("99.7", {}, root=root) is False
        assert check("99.2", {}, root=root) is False
        out = capsys.readouterr().out
        assert "no task '99.7'" in out and "NameError" in out


def _cli(root: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--root", str(root), *args], env={"COLUMNS": "200"})


class TestCommands:
    """The commands' output and exit codes."""

    def test_check_prints_each_task_and_fails_when_unsolved(self, toy: tuple[Path, Assignment]) -> None:
        root, _ = toy
        result = _cli(root, "check", "99")
        assert result.exit_code == 1
        assert "FAIL Task 99.1" in result.output and "0/2 pts" in result.output
        assert "0/2 tasks pass" in result.output

    def test_check_passes_with_hidden_note(self, toy: tuple[Path, Assignment]) -> None:
        root, _ = toy
        _write(root, {"answer_99_1": ADD, "answer_99_2": MAKE_LOGGER})
        result = _cli(root, "check", "99")
        assert result.exit_code == 0, result.output
        assert "public checks passed; 1 hidden check run at grading" in result.output
        assert "5/5 points" in result.output

    def test_check_unknown_exercise(self, toy: tuple[Path, Assignment]) -> None:
        root, _ = toy
        result = _cli(root, "check", "42")
        assert result.exit_code == 2 and "no exercise '42'" in result.output

    def test_hint(self, toy: tuple[Path, Assignment]) -> None:
        root, _ = toy
        result = _cli(root, "hint", "99.2")
        assert result.exit_code == 0
        assert "Task 99.2: A DEBUG logger (3 points)" in result.output
        assert "setLevel(logging.DEBUG)" in result.output
        assert _cli(root, "hint", "99.9").exit_code == 2

    def test_list_and_progress_follow_the_notebook(self, toy: tuple[Path, Assignment]) -> None:
        root, _ = toy
        assert "not started" in _cli(root, "list").output
        _write(root, {"answer_99_1": ADD})
        assert "failing (2/5)" in _cli(root, "list").output
        _write(root, {"answer_99_1": ADD, "answer_99_2": MAKE_LOGGER})
        listed = _cli(root, "list")
        assert "passing (5/5)" in listed.output and "A toy lesson" in listed.output
        report = _cli(root, "progress").output
        assert "2/2" in report and "Total" in report and "5/5" in report


class TestStatusCache:
    """Status runs the checks once per version of the notebook."""

    def test_cached_until_the_notebook_changes(
        self, toy: tuple[Path, Assignment], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        root, assignment = toy
        _write(root, {"answer_99_1": ADD})
        first = progress.exercise_status(assignment, root=root)
        assert first.state == "failing" and first.score == 2

        def boom(*args: object, **kwargs: object) -> None:
            raise AssertionError("checks ran again although the notebook did not change")

        monkeypatch.setattr(progress, "run_checks", boom)
        assert progress.exercise_status(assignment, root=root).score == 2
        _write(root, {"answer_99_1": ADD, "answer_99_2": MAKE_LOGGER})
        with pytest.raises(AssertionError, match="checks ran again"):
            progress.exercise_status(assignment, root=root)

    def test_untouched_notebook_is_not_started_without_running(
        self, toy: tuple[Path, Assignment], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        root, assignment = toy
        monkeypatch.setattr(progress, "run_checks", None)
        assert progress.exercise_status(assignment, root=root).state == "not started"


def test_release_command_calls_the_release_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`course release 5` hands the exercise to course.release.release() (a stand-in here: no nbgrader)."""
    import types

    calls: list[tuple[object, Path]] = []

    def fake_release(assignments: object, *, root: Path) -> list[Path]:
        calls.append((assignments, root))
        return [root / "exercises" / "05_x" / "05_x.ipynb"]

    stand_in = types.ModuleType("course.release")
    stand_in.release = fake_release  # type: ignore[attr-defined]
    stand_in.ReleaseError = RuntimeError  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "course.release", stand_in)
    result = CliRunner().invoke(app, ["--root", str(tmp_path), "release", "5"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert calls == [(["5"], tmp_path.resolve())]
    assert "released" in result.output and "05_x.ipynb" in result.output


def test_python_dash_m_course(tmp_path: Path) -> None:
    """`python -m course` is the same command."""
    root = make_toy_course(tmp_path / "course")
    out = subprocess.run(
        [sys.executable, "-m", "course", "--root", str(root), "hint", "99.1"], capture_output=True, text=True
    )
    assert out.returncode == 0 and "Use the + operator." in out.stdout


def test_check_path_does_not_import_nbgrader(tmp_path: Path) -> None:
    """`course check` must stay fast: nbgrader's apps (seconds to import) are never loaded."""
    root = make_toy_course(tmp_path / "course")
    code = (
        "import sys\nfrom course.cli import app\n"
        f"try:\n    app(['--root', {str(root)!r}, 'check', '99'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith(('nbgrader', 'nbformat', 'nbclient'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


MANIFEST = load_manifest()
RELEASED = [a for a in MANIFEST.assignments if a.source_path().exists() and a.release_path().exists()]


@pytest.mark.parametrize("assignment", RELEASED, ids=[a.slug for a in RELEASED])
def test_every_solution_passes_and_every_release_fails(assignment: Assignment) -> None:
    """On the real course: each solution passes all public checks; the blank release passes none."""
    solved = run_checks(assignment.source_path(), assignment)
    assert [t.status for t in solved.tasks] == ["passed"] * len(assignment.tasks), solved
    blank = run_checks(assignment.release_path(), assignment)
    assert blank.score == 0, blank
    assert {t.task_id for t in blank.tasks} == {t.id for t in assignment.tasks}
