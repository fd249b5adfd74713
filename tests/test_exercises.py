"""The graded exercises are consistent: manifest, notebooks, release, fixtures and nbgrader validation.

Every test parametrises over the assignments in ``course.toml``, so a new assignment is checked as
soon as it is listed there.
"""

from __future__ import annotations

import filecmp
import re
from pathlib import Path

import exercise_support as es
import nbformat
import pytest

from course.manifest import REPO_ROOT, Assignment
from course.release import ReleaseError, normalise_notebook, select_assignments, write_notebook

ASSIGNMENTS = es.selected_assignments()
IDS = [a.slug for a in ASSIGNMENTS]


def markdown_text(nb: nbformat.NotebookNode) -> str:
    return "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
class TestManifestAndNotebooks:
    """Each assignment's notebooks agree with course.toml."""

    def test_source_and_release_exist(self, assignment: Assignment) -> None:
        """The solution notebook and its released exercise are both in the tree."""
        assert assignment.source_path().exists(), f"missing {assignment.source_path().relative_to(REPO_ROOT)}"
        assert assignment.release_path().exists(), (
            f"missing {assignment.release_path().name}: run `uv run python -m course.release`"
        )

    def test_has_three_tasks_with_hints(self, assignment: Assignment) -> None:
        """An assignment has at least three tasks, each with a title, points and a real hint."""
        assert len(assignment.tasks) >= 3, f"{assignment.slug} has {len(assignment.tasks)} tasks"
        for task in assignment.tasks:
            assert task.title.strip(), f"task {task.id} has no title"
            assert task.points > 0, f"task {task.id} is worth {task.points} points"
            assert len(task.hint.split()) >= 8, f"task {task.id} has no useful hint: {task.hint!r}"

    def test_cells_match_tasks(self, assignment: Assignment) -> None:
        """Graded cells are exactly the manifest's tasks, with its points; answer cells likewise."""
        nb = es.read_notebook(assignment.source_path())
        cells = es.cells_by_grade_id(nb)
        graded = {gid: es.nbgrader_meta(c).get("points") for gid, c in cells.items() if es.is_graded_cell(c)}
        answers = {gid for gid, c in cells.items() if es.is_answer_cell(c)}
        assert graded == {t.grade_id: t.points for t in assignment.tasks}
        assert answers == {t.answer_id for t in assignment.tasks}
        for gid in graded:
            meta = es.nbgrader_meta(cells[gid])
            assert meta.get("locked") and not meta.get("solution"), f"{gid} must be locked and not a solution"

    def test_cell_order_and_headings(self, assignment: Assignment) -> None:
        """Each task reads heading, statement, answer cell, test cell, in task order."""
        nb = es.read_notebook(assignment.source_path())
        order = [es.nbgrader_meta(c).get("grade_id", "") for c in nb.cells]
        previous = 0
        for task in assignment.tasks:
            answer, graded = order.index(task.answer_id), order.index(task.grade_id)
            assert answer < graded, f"{task.answer_id} must come before {task.grade_id}"
            heading = f"## Task {task.id}: {task.title}"
            statement = [c.source for c in nb.cells[previous:answer] if c.cell_type == "markdown"]
            assert any(heading in text.splitlines() for text in statement), (
                f"no markdown cell between the previous task and {task.answer_id} has the heading {heading!r}"
            )
            previous = graded + 1
        positions = [order.index(t.grade_id) for t in assignment.tasks]
        assert positions == sorted(positions), "tasks appear out of order"

    def test_intro_links_to_lesson(self, assignment: Assignment) -> None:
        """The first cell links to the assignment's lesson."""
        nb = es.read_notebook(assignment.source_path())
        link = f"../../lessons/{assignment.lesson}.ipynb"
        assert nb.cells[0].cell_type == "markdown" and link in nb.cells[0].source, f"no link to {link}"

    def test_cells_are_protected(self, assignment: Assignment) -> None:
        """Every cell but the answer cells is locked, so students cannot edit statements or tests."""
        nb = es.read_notebook(assignment.source_path())
        for cell in nb.cells:
            meta = es.nbgrader_meta(cell)
            assert meta.get("grade_id"), f"cell {cell.get('id')} has no nbgrader grade_id"
            if not meta.get("solution"):
                assert meta.get("locked"), f"cell {meta['grade_id']} is not locked"

    def test_test_cells_call_the_check_module(self, assignment: Assignment) -> None:
        """A test cell calls course.checks.exNN, public part first, hidden part between markers."""
        nb = es.read_notebook(assignment.source_path())
        module = f"ex{assignment.number:02d}"
        for cell in nb.cells:
            if not es.is_graded_cell(cell):
                continue
            gid = es.nbgrader_meta(cell)["grade_id"]
            assert f"from course.checks import {module}" in cell.source, f"{gid} does not use {module}"
            hidden = es.blocks(cell.source, es.BEGIN_HIDDEN, es.END_HIDDEN)
            assert hidden and any(f"{module}." in block for block in hidden), f"{gid} has no hidden tests"
            public = cell.source.split(es.BEGIN_HIDDEN)[0]
            assert re.search(rf"\b{module}\.task_\d+\(", public), f"{gid} has no public check call"

    def test_answer_cells_leave_a_stub(self, assignment: Assignment) -> None:
        """Each answer cell has a solution block and code outside it (a full-signature stub)."""
        nb = es.read_notebook(assignment.source_path())
        for gid, cell in es.cells_by_grade_id(nb).items():
            if not es.is_answer_cell(cell):
                continue
            assert es.blocks(cell.source, es.BEGIN_SOLUTION, es.END_SOLUTION), f"{gid} has no solution block"
            outside = cell.source.split(es.BEGIN_SOLUTION)[0]
            assert es.significant_lines(outside), f"{gid} leaves students no signature or docstring"

    def test_release_hides_solutions_and_hidden_tests(self, assignment: Assignment) -> None:
        """No line of a solution block or hidden test, and no marker, appears in the released notebook."""
        source = es.read_notebook(assignment.source_path())
        released_text = assignment.release_path().read_text(encoding="utf-8")
        released = es.read_notebook(assignment.release_path())
        released_lines = {line.strip() for cell in released.cells for line in cell.source.splitlines()}
        for marker in (es.BEGIN_SOLUTION, es.END_SOLUTION, es.BEGIN_HIDDEN, es.END_HIDDEN):
            assert marker not in released_text, f"{marker!r} is in the released notebook"
        outside = {
            line.strip()
            for cell in source.cells
            for line in re.sub(
                r"### BEGIN (SOLUTION|HIDDEN TESTS).*?### END (SOLUTION|HIDDEN TESTS)",
                "",
                cell.source,
                flags=re.S,
            ).splitlines()
        }
        for cell in source.cells:
            for begin, end in ((es.BEGIN_SOLUTION, es.END_SOLUTION), (es.BEGIN_HIDDEN, es.END_HIDDEN)):
                for block in es.blocks(cell.source, begin, end):
                    leaked = [
                        line for line in es.significant_lines(block) if line in released_lines - outside
                    ]
                    assert not leaked, f"released notebook contains {leaked[:3]}"

    def test_release_is_clean(self, assignment: Assignment) -> None:
        """The release keeps the source's cell ids and carries no outputs or execution counts."""
        source = es.read_notebook(assignment.source_path())
        released = es.read_notebook(assignment.release_path())
        assert [c.id for c in released.cells] == [c.id for c in source.cells]
        for cell in released.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"cell {cell.id} carries run output"

    def test_fixture_covers_every_task(self, assignment: Assignment) -> None:
        """Each task has at least two wrong variants; the assignment has a correct one; keys are real."""
        variants = es.load_variants(assignment)
        task_ids = {t.id for t in assignment.tasks}
        answer_ids = {t.answer_id for t in assignment.tasks}
        for variant in variants:
            assert set(variant.tasks) <= task_ids, f"{variant.name} names unknown tasks {variant.tasks}"
            assert variant.tasks, f"{variant.name} names no task"
            assert set(variant.answers) <= answer_ids, (
                f"{variant.name} replaces unknown cells {set(variant.answers)}"
            )
            assert variant.note.strip(), f"{variant.name} does not say why it is wrong or right"
        for task in assignment.tasks:
            wrong = [v.name for v in variants if not v.correct and task.id in v.tasks]
            assert len(wrong) >= 2, (
                f"task {task.id} has {len(wrong)} wrong variants in {es.fixture_path(assignment).name}"
            )
        assert any(v.correct for v in variants), f"{assignment.slug} has no correct variant"


def test_every_notebook_is_listed() -> None:
    """Every notebook and folder under solutions/ and exercises/ belongs to an assignment in course.toml."""
    everything = es.MANIFEST.assignments
    listed = {a.slug for a in everything}
    expected = {a.source_path() for a in everything} | {a.release_path() for a in everything}
    for folder in ("solutions", "exercises"):
        base = REPO_ROOT / folder
        if not base.exists():
            continue
        for child in base.iterdir():
            if child.name.startswith("."):
                continue
            assert child.is_dir() and child.name in listed, (
                f"{folder}/{child.name} is not an assignment in course.toml"
            )
        for path in base.rglob("*.ipynb"):
            if ".ipynb_checkpoints" in path.parts:
                continue
            assert path in expected, f"{path.relative_to(REPO_ROOT)} is not listed in course.toml"


def test_exercises_hold_only_released_files() -> None:
    """exercises/<slug>/ holds exactly what nbgrader copies from solutions/<slug>/, nothing stale."""
    for assignment in ASSIGNMENTS:
        source_dir, release_dir = (
            REPO_ROOT / "solutions" / assignment.slug,
            REPO_ROOT / "exercises" / assignment.slug,
        )
        if not (source_dir.exists() and release_dir.exists()):
            continue

        def files(base: Path) -> set[Path]:
            return {
                p.relative_to(base)
                for p in base.rglob("*")
                if p.is_file() and not ({".ipynb_checkpoints", "__pycache__"} & set(p.parts))
            }

        assert files(release_dir) == files(source_dir), f"exercises/{assignment.slug} differs from its source"


# ----------------------------------------------------------------------------------------------
# nbgrader: release reproducibility and validation (slow: they run nbgrader and kernels)
# ----------------------------------------------------------------------------------------------


def _release_into(dest: str, slugs: list[str]) -> dict[str, str]:
    """Release ``slugs`` into ``dest`` (runs in a worker process); map each failed slug to its error."""
    from course.release import ReleaseError, release

    try:
        release(slugs, dest=Path(dest))
    except ReleaseError as error:
        return error.failures or {"*": str(error)}
    return {}


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """Every selected assignment released again into a temporary folder, once for the module."""
    dest = tmp_path_factory.mktemp("rerelease")
    (failures,) = es.run_in_workers(_release_into, [(str(dest), [a.slug for a in ASSIGNMENTS])], workers=1)
    return dest, failures


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_regenerating_gives_no_diff(
    assignment: Assignment, fresh_release: tuple[Path, dict[str, str]]
) -> None:
    """Releasing into a temporary folder reproduces exercises/<slug>/ byte for byte."""
    dest, failures = fresh_release
    assert assignment.slug not in failures and "*" not in failures, f"release failed: {failures}"
    fresh_dir = dest / assignment.slug
    committed_dir = REPO_ROOT / "exercises" / assignment.slug
    comparison = filecmp.dircmp(fresh_dir, committed_dir, ignore=[".ipynb_checkpoints", "__pycache__"])
    assert not comparison.left_only and not comparison.right_only, (
        f"{assignment.slug}: files differ: {comparison.left_only} / {comparison.right_only}"
    )
    for name in comparison.common_files:
        fresh, committed = fresh_dir / name, committed_dir / name
        assert fresh.read_bytes() == committed.read_bytes(), (
            f"exercises/{assignment.slug}/{name} is stale: "
            f"run `uv run python -m course.release {assignment.number}`"
        )


@pytest.fixture(scope="module")
def validations() -> dict[tuple[str, bool], dict]:
    """nbgrader's Validator on every solution (normal) and every release (inverted), in parallel."""
    calls = []
    for assignment in ASSIGNMENTS:
        calls.append((str(assignment.source_path()), False))
        calls.append((str(assignment.release_path()), True))
    results = es.run_in_workers(es.validate_notebook, calls)
    return {(path, invert): result for (path, invert), result in zip(calls, results, strict=True)}


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_solution_passes_validation(assignment: Assignment, validations: dict) -> None:
    """Every test cell of the solution notebook passes."""
    result = validations[(str(assignment.source_path()), False)]
    assert result == {}, f"{assignment.slug} solution fails validation: {result}"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_release_fails_validation(assignment: Assignment, validations: dict) -> None:
    """No test cell of the untouched release passes (the stubs raise NotImplementedError)."""
    result = validations[(str(assignment.release_path()), True)]
    assert result == {}, f"{assignment.slug} release has passing test cells: {result}"


# ----------------------------------------------------------------------------------------------
# The harness itself
# ----------------------------------------------------------------------------------------------


class TestHarness:
    """The helpers the exercise tests rely on notice what they are meant to notice."""

    def test_blocks_and_marker_removal(self) -> None:
        """Blocks are found between markers, and removing markers keeps everything else."""
        source = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n"
        assert es.blocks(source, es.BEGIN_SOLUTION, es.END_SOLUTION) == ["    return 1"]
        assert es.without_marker_lines(source) == "def f():\n    return 1"
        with pytest.raises(ValueError):
            es.blocks("### BEGIN SOLUTION\nx = 1\n", es.BEGIN_SOLUTION, es.END_SOLUTION)

    def test_grouping_keeps_overlaps_apart(self) -> None:
        """Variants sharing an answer cell or a task never land in the same submission."""
        v = [
            es.Variant("a", False, ("1.1",), "", {"answer_1_1": ""}),
            es.Variant("b", False, ("1.1",), "", {"answer_1_1": ""}),
            es.Variant("c", False, ("1.2",), "", {"answer_1_2": ""}),
            es.Variant("d", True, ("1.3",), "", {"answer_1_2": ""}),
        ]
        groups = [[x.name for x in g] for g in es.group_variants(v)]
        assert groups == [["a", "c"], ["b", "d"]]

    def test_student_expectations_catch_bad_grades(self) -> None:
        """A wrong answer at full marks, a right one below full, and a non-zero blank are all reported."""
        assignment = es.MANIFEST.assignments[0]
        full = {t.grade_id: (t.points, t.points) for t in assignment.tasks}
        first = assignment.tasks[0]
        wrong = es.Student("w", nbformat.v4.new_notebook(), below=frozenset({first.id}))
        assert wrong.problems(assignment, full)
        lowered = {**full, first.grade_id: (0.0, first.points)}
        assert not wrong.problems(assignment, lowered)
        assert es.Student("ok", nbformat.v4.new_notebook()).problems(assignment, lowered)
        assert es.Student("blank", nbformat.v4.new_notebook(), zero=True).problems(assignment, lowered)
        assert es.Student("ok", nbformat.v4.new_notebook()).problems(assignment, {})

    def test_submission_uses_solution_then_replacements(self) -> None:
        """A built submission carries the solution's answers except where a variant replaces them."""
        assignment = es.MANIFEST.assignments[0]
        answers = es.solution_answers(assignment)
        first = assignment.tasks[0].answer_id
        nb = es.build_submission(assignment, {first: "x = 1"})
        cells = es.cells_by_grade_id(nb)
        assert cells[first].source == "x = 1"
        for gid, text in answers.items():
            if gid != first:
                assert cells[gid].source == text and es.BEGIN_SOLUTION not in text
        with pytest.raises(KeyError):
            es.build_submission(assignment, {assignment.tasks[0].grade_id: "x = 1"})


class TestRelease:
    """course.release normalises nbgrader's output so that a release is reproducible."""

    @staticmethod
    def pair() -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
        source = nbformat.v4.new_notebook()
        source.cells = [nbformat.v4.new_markdown_cell("# A"), nbformat.v4.new_code_cell("x = 1")]
        source.cells[0].id, source.cells[1].id = "intro", "answer-1-1"
        generated = nbformat.from_dict(nbformat.v4.new_notebook())
        generated.cells = [nbformat.v4.new_markdown_cell("# A"), nbformat.v4.new_code_cell("x = 1")]
        generated.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
        generated.cells[1].execution_count = 4
        generated.cells[1].metadata["execution"] = {"iopub.status.idle": "2026-01-01T00:00:00Z"}
        return generated, source

    def test_normalise_strips_run_output_and_keeps_source_ids(self) -> None:
        """Outputs, execution counts and timings go; the source's cell ids come back."""
        generated, source = self.pair()
        nb = normalise_notebook(generated, source)
        assert [c.id for c in nb.cells] == ["intro", "answer-1-1"]
        assert nb.cells[1].outputs == [] and nb.cells[1].execution_count is None
        assert "execution" not in nb.cells[1].metadata

    def test_normalise_rejects_a_changed_cell_count(self) -> None:
        """nbgrader keeps one cell per source cell; anything else is an error, not a silent mismatch."""
        generated, source = self.pair()
        generated.cells.pop()
        with pytest.raises(ReleaseError):
            normalise_notebook(generated, source)

    def test_writing_is_byte_stable(self, tmp_path: Path) -> None:
        """Writing the same notebook twice gives identical bytes with a final newline."""
        generated, source = self.pair()
        nb = normalise_notebook(generated, source)
        first, second = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
        write_notebook(nb, first)
        write_notebook(nbformat.read(first, as_version=4), second)
        assert first.read_bytes() == second.read_bytes()
        assert first.read_bytes().endswith(b"}\n")

    def test_select_assignments_by_number_or_slug(self) -> None:
        """Assignments are chosen by number, zero-padded number or slug; unknown ones raise."""
        first = es.MANIFEST.assignments[0]
        assert select_assignments([first.number, first.slug[:2], first.slug]) == [first] * 3
        assert select_assignments(None) == list(es.MANIFEST.assignments)
        with pytest.raises(KeyError):
            select_assignments(["99_missing"])


@pytest.fixture(scope="module")
def in_process_problems() -> dict[str, list[str]]:
    """Every assignment's variants graded alone in process, one fresh worker process per assignment."""
    slugs = [a.slug for a in ASSIGNMENTS]
    results = es.run_in_workers(es.variant_problems_in_process, [(slug,) for slug in slugs], fresh=True)
    return dict(zip(slugs, results, strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_every_variant_alone_in_process(
    assignment: Assignment, in_process_problems: dict[str, list[str]]
) -> None:
    """Each fixture variant, graded alone without nbgrader, scores as its fixture says.

    The quick counterpart of tests/test_autograde.py: no kernel, every variant in its own submission
    (the autograde test merges them), hidden tests included, seconds for the whole course.
    """
    found = in_process_problems[assignment.slug]
    assert not found, "\n".join(found)
