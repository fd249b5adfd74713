"""The instructor side of the ``course`` command: import, pre-check, sandbox, grade, CSV."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from course.check_runner import run_checks
from course.cli import app
from course.grading import GradeOptions, grade_submissions
from course.manifest import load_manifest
from course.sample_class import make_class
from course.sandbox import SandboxPolicy
from course.submissions import Submission, discover, precheck

MANIFEST = load_manifest()
A01 = MANIFEST.assignment(1)


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


class TestDiscover:
    """Submissions are found in LMS names, nbgrader's layout and per-student folders."""

    def test_lms_names_and_a_renamed_notebook(self, tmp_path: Path) -> None:
        (tmp_path / "up").mkdir()
        for name in (
            "01_why_not_print_ada_attempt_2026-11-20-09-30-00_01_why_not_print.ipynb",
            "01_why_not_print_bob_attempt_2026-11-20-09-30-00_homework.ipynb",
            "notes.ipynb",
        ):
            (tmp_path / "up" / name).write_text("{}", encoding="utf-8")
        found, warnings = discover(tmp_path / "up", [A01], scratch=tmp_path / "s")
        assert [(s.student, s.slug) for s in found] == [("ada", A01.slug), ("bob", A01.slug)]
        assert found[0].timestamp == "2026-11-20-09-30-00" and found[0].notes == ()
        assert "submitted as 'homework.ipynb'" in found[1].notes[0]
        assert len(warnings) == 1 and "notes.ipynb" in warnings[0]

    def test_nbgrader_submitted_layout(self, tmp_path: Path) -> None:
        folder = tmp_path / "course" / "submitted" / "ada" / A01.slug
        folder.mkdir(parents=True)
        (folder / A01.notebook_name).write_text("{}", encoding="utf-8")
        (folder / "timestamp.txt").write_text("2026-11-20 09:30:00\n", encoding="utf-8")
        (tmp_path / "course" / "submitted" / "bob" / A01.slug).mkdir(parents=True)
        found, _ = discover(tmp_path / "course", [A01], scratch=tmp_path / "s")
        assert [(s.student, s.timestamp, s.path is None) for s in found] == [
            ("ada", "2026-11-20 09:30:00", False),
            ("bob", None, True),
        ]

    def test_folder_per_student_and_unsafe_ids(self, tmp_path: Path) -> None:
        for student in ("ada", "..evil"):
            (tmp_path / "up" / student).mkdir(parents=True)
            (tmp_path / "up" / student / "mine.ipynb").write_text("{}", encoding="utf-8")
        found, warnings = discover(tmp_path / "up", [A01], scratch=tmp_path / "s")
        assert [s.student for s in found] == ["ada"]
        assert any("not a safe folder name" in w for w in warnings)


class TestPrecheck:
    """The pre-check rejects what cannot be graded and notes what nbgrader repairs."""

    release = A01.release_path()

    def _submit(self, tmp_path: Path, text: str) -> Submission:
        path = tmp_path / A01.notebook_name
        path.write_text(text, encoding="utf-8")
        return Submission("ada", A01.slug, path, A01.notebook_name)

    def _release(self) -> dict[str, Any]:
        return json.loads(self.release.read_text(encoding="utf-8"))

    def test_untouched_release_is_fine(self, tmp_path: Path) -> None:
        verdict = precheck(self._submit(tmp_path, self.release.read_text(encoding="utf-8")), self.release)
        assert verdict.ok and verdict.notes == ()

    def test_invalid_json_and_not_a_notebook(self, tmp_path: Path) -> None:
        assert "invalid JSON" in precheck(self._submit(tmp_path, '{"cells": ['), self.release).reason
        assert (
            "not a valid Jupyter notebook" in precheck(self._submit(tmp_path, "[1, 2]"), self.release).reason
        )

    def test_edited_and_deleted_test_cells_are_found_by_checksum(self, tmp_path: Path) -> None:
        nb = self._release()
        ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in nb["cells"]]
        nb["cells"][ids.index("task_1_1")]["source"] = "print('Task 1.1: public checks passed.')"
        del nb["cells"][ids.index("task_1_2")]
        verdict = precheck(self._submit(tmp_path, json.dumps(nb)), self.release)
        assert verdict.ok
        assert any("task_1_1 was edited" in note for note in verdict.notes)
        assert any("task_1_2 was deleted" in note for note in verdict.notes)

    def test_metadata_without_grade_id_is_rejected(self, tmp_path: Path) -> None:
        nb = self._release()
        ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in nb["cells"]]
        del nb["cells"][ids.index("task_1_3")]["metadata"]["nbgrader"]["grade_id"]
        verdict = precheck(self._submit(tmp_path, json.dumps(nb)), self.release)
        assert "without a grade_id" in verdict.reason


class TestSandboxPolicy:
    """The tripwire refuses reads of denied folders and writes outside the notebook's folder."""

    def test_policy(self, tmp_path: Path) -> None:
        work, secret = tmp_path / "grading" / "autograded" / "ada", tmp_path / "grading"
        work.mkdir(parents=True)
        policy = SandboxPolicy(workdir=work, deny_read=[secret], allow_write=[])
        policy.check(str(work / "out.txt"), True)
        policy.check(str(tmp_path / "elsewhere.txt"), False)
        with pytest.raises(PermissionError, match="reading"):
            policy.check(str(secret / "gradebook.db"), False)
        with pytest.raises(PermissionError, match="writing"):
            policy.check(str(tmp_path / "escape.txt"), True)
        with pytest.raises(PermissionError, match="writing"):
            policy.check(str(work / ".." / "bob.txt"), True)

    def test_audit_hook_and_limits_in_a_child(self, tmp_path: Path) -> None:
        secret = tmp_path / "secret"
        secret.mkdir()
        (secret / "answers.txt").write_text("42", encoding="utf-8")
        code = f"""
import os, resource
from pathlib import Path
from course.sandbox import SandboxPolicy, install_audit_hook, set_limits
set_limits(cpu_seconds=20, memory_mb=1024, file_mb=1)
install_audit_hook(SandboxPolicy(workdir=Path.cwd(), deny_read=[Path({str(secret)!r})], allow_write=[]))
results = []
for attempt in (lambda: open({str(secret / "answers.txt")!r}).read(),
                lambda: open({str(tmp_path / "escape.txt")!r}, "w"),
                lambda: os.remove({str(secret / "answers.txt")!r}),
                lambda: open("big.bin", "wb").write(b"x" * 2_000_000)):
    try:
        attempt()
        results.append("allowed")
    except OSError as exc:
        results.append(type(exc).__name__)
print(results, resource.getrlimit(resource.RLIMIT_CPU)[0])
"""
        work = tmp_path / "work"
        work.mkdir()
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=work, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "['PermissionError', 'PermissionError', 'PermissionError', 'OSError'] 20"
        assert not (tmp_path / "escape.txt").exists() and (secret / "answers.txt").exists()


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """`course grade` on the shipped sample class, once for the module."""
    course_dir = tmp_path_factory.mktemp("grading")
    result = CliRunner().invoke(
        app,
        [
            "grade",
            str(make_class.ZIP_PATH),
            "--course-dir",
            str(course_dir),
            "--timeout",
            "10",
            "--workers",
            "2",
        ],
        env={"COLUMNS": "200"},
    )
    return course_dir, result


@pytest.mark.slow
class TestSampleClass:
    """The sample class grades end to end with the expected score and reason for every student."""

    def test_command_succeeds_and_prints_the_table(self, graded_class: tuple[Path, Any]) -> None:
        _, result = graded_class
        assert result.exit_code == 0, result.output
        assert "Grades" in result.output and "barbara" in result.output and "rejected" in result.output

    def test_csv_has_the_expected_row_for_every_student(self, graded_class: tuple[Path, Any]) -> None:
        course_dir, _ = graded_class
        rows = _rows(course_dir / "grades.csv")
        assert set(rows) == set(make_class.EXPECTED)
        for student, (status, score, word) in make_class.EXPECTED.items():
            row = rows[student]
            assert (row["status"], float(row["score"]), row["max_score"]) == (status, score, "7"), row
            assert word in row["reason"], row

    def test_feedback_and_sandbox_effects(self, graded_class: tuple[Path, Any]) -> None:
        course_dir, _ = graded_class
        assert (course_dir / "feedback" / "ada" / A01.slug / f"{A01.slug}.html").exists()
        assert not (course_dir / "feedback" / "barbara").exists()
        assert not (course_dir / "escaped.txt").exists()

    def test_rerun_is_idempotent(self, graded_class: tuple[Path, Any]) -> None:
        course_dir, _ = graded_class
        before = _rows(course_dir / "grades.csv")
        again = CliRunner().invoke(
            app,
            [
                "grade",
                str(make_class.ZIP_PATH),
                "--course-dir",
                str(course_dir),
                "--timeout",
                "10",
                "--no-feedback",
            ],
            env={"COLUMNS": "200"},
        )
        assert again.exit_code == 0, again.output
        assert _rows(course_dir / "grades.csv") == before

    def test_zip_matches_the_current_exercise(self) -> None:
        """The zip's code cells are what make_class builds from today's exercise (else rebuild the zip)."""
        import zipfile

        def code_cells(text: str) -> list[str]:
            cells = json.loads(text)["cells"]
            return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]

        rebuilt = make_class.build()
        with zipfile.ZipFile(make_class.ZIP_PATH) as zf:
            assert sorted(zf.namelist()) == sorted(name for name, _ in rebuilt.values())
            for student, (name, text) in rebuilt.items():
                if student == "barbara":  # deliberately truncated JSON
                    continue
                assert code_cells(zf.read(name).decode()) == code_cells(text), (
                    f"rebuild class.zip ({student})"
                )


RELEASED = [a for a in MANIFEST.assignments if a.source_path().exists() and a.release_path().exists()]


@pytest.mark.slow
def test_course_check_agrees_with_nbgrader_on_every_assignment(tmp_path: Path) -> None:
    """nbgrader's grade of each solution and blank release, task by task, equals `course check`'s verdict."""
    submitted = tmp_path / "submitted"
    for assignment in RELEASED:
        for kind, source in (("solution", assignment.source_path()), ("blank", assignment.release_path())):
            # one student per notebook, so the two workers get balanced, disjoint sets
            folder = submitted / f"{kind}{assignment.number:02d}" / assignment.slug
            folder.mkdir(parents=True)
            shutil.copyfile(source, folder / assignment.notebook_name)
    options = GradeOptions(course_dir=tmp_path / "grading", workers=2, timeout=30, feedback=False)
    result = grade_submissions(submitted, MANIFEST, options)
    by_key = {(row.student, row.assignment): row for row in result.rows}
    for assignment in RELEASED:
        for kind, source in (("solution", assignment.source_path()), ("blank", assignment.release_path())):
            student = f"{kind}{assignment.number:02d}"
            row = by_key[(student, assignment.slug)]
            assert row.status == "graded", row
            report = run_checks(source, assignment)
            checked = {task.task_id: task.passed for task in report.tasks}
            graded = {task.task_id: row.tasks.get(task.task_id) == task.max_points for task in report.tasks}
            assert set(row.tasks) == set(checked), (student, assignment.slug, row)
            assert checked == graded, (student, assignment.slug, checked, row)
