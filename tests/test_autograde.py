"""Real ``nbgrader autograde`` runs: the scores in the gradebook are the ones the course promises.

For every assignment in ``course.toml`` the students are: the solution (full marks), the untouched
release (zero), and the answer variants of ``tests/fixtures/answers/<slug>.toml`` (variants with
disjoint answer cells and tasks share one submission). Each assignment is graded in its own scratch
course and gradebook; assignments are graded in parallel worker processes.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time

import exercise_support as es
import nbformat
import pytest

from course.manifest import Assignment

pytestmark = pytest.mark.slow

ASSIGNMENTS = es.selected_assignments()
IDS = [a.slug for a in ASSIGNMENTS]

# A correct answer to task 1.1 whose function, when the test cell calls it, adds a StreamHandler on
# stderr and logs a WARNING through it. nbgrader scores a test cell that writes to stderr as 0, so this
# student gets full marks only because the checks capture stderr.
STDERR_STUDENT = "warns-to-stderr"
STDERR_ASSIGNMENT = "01_why_not_print"
STDERR_ANSWER = """
log = logging.getLogger("cv_report")


def report_folds(scores):
    log.addHandler(logging.StreamHandler())  # no stream given: sys.stderr
    usable = []
    for fold, value in scores.items():
        try:
            score = float(value)
        except (TypeError, ValueError):
            log.exception("fold %d: unreadable score %r", fold, value)
            continue
        if not 0.0 <= score <= 1.0:
            log.warning("fold %d: score %.3f is outside [0, 1]", fold, score)
            continue
        log.info("fold %d: accuracy %.3f", fold, score)
        usable.append(score)
    return sum(usable) / len(usable) if usable else None
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[list[es.Student], es.GradeReport]]:
    """Grade every assignment's students once; map slug -> (students, report)."""
    plans: dict[str, list[es.Student]] = {}
    planning_errors: dict[str, str] = {}
    for assignment in ASSIGNMENTS:
        try:
            plans[assignment.slug] = es.plan_students(assignment)
        except (OSError, KeyError, ValueError) as error:  # one broken assignment must not hide the others
            planning_errors[assignment.slug] = f"{type(error).__name__}: {error}"
    if STDERR_ASSIGNMENT in plans:
        assignment = es.MANIFEST.assignment(STDERR_ASSIGNMENT)
        plans[STDERR_ASSIGNMENT].append(
            es.Student(STDERR_STUDENT, es.build_submission(assignment, {"answer_1_1": STDERR_ANSWER}))
        )
    workdir = tmp_path_factory.mktemp("autograde")
    # Largest assignments first, so the two workers finish at about the same time.
    order = sorted(plans, key=lambda slug: -len(plans[slug]))
    calls = [
        (slug, {s.name: nbformat.writes(s.notebook) for s in plans[slug]}, str(workdir)) for slug in order
    ]
    started = time.perf_counter()
    reports = es.run_in_workers(es.autograde_assignment, calls)
    elapsed = time.perf_counter() - started
    students = sum(len(p) for p in plans.values())
    print(
        f"\nautograde: {len(calls)} assignments, {students} submissions, "
        f"{elapsed:.1f} s on {es.WORKERS} workers"
    )
    for report in reports:
        print(f"  {report.slug}: {len(report.grades)} students in {report.seconds:.1f} s")
    graded = {report.slug: (plans[report.slug], report) for report in reports}
    for slug, message in planning_errors.items():
        graded[slug] = ([], es.GradeReport(slug, failures={"<building submissions>": message}))
    return graded


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_gradebook_scores(assignment: Assignment, graded: dict) -> None:
    """Solution full, release zero, wrong variants below full on their tasks only, correct variants full."""
    students, report = graded[assignment.slug]
    assert not report.failures, f"nbgrader failed: {report.failures}"
    problems = [
        line for student in students for line in student.problems(assignment, report.grades[student.name])
    ]
    assert not problems, "\n".join(problems)


def test_every_variant_was_graded(graded: dict) -> None:
    """Each fixture variant is in exactly one graded submission."""
    for assignment in ASSIGNMENTS:
        students, report = graded[assignment.slug]
        if report.failures:
            continue  # reported by test_gradebook_scores
        graded_names = [name for student in students for name in student.variants]
        assert sorted(graded_names) == sorted(v.name for v in es.load_variants(assignment))


def test_stderr_from_student_code_does_not_cost_points(graded: dict) -> None:
    """A function that logs to stderr when called still gets full marks, and its cell shows no stderr."""
    if STDERR_ASSIGNMENT not in graded:
        pytest.skip(f"{STDERR_ASSIGNMENT} is not among the selected assignments")
    # Outside the checks, this answer really does write to stderr ...
    namespace: dict = {"logging": logging}
    exec(STDERR_ANSWER, namespace)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        namespace["report_folds"]({1: 0.5, 2: 1.5})
    logging.getLogger("cv_report").handlers.clear()
    assert "score 1.500 is outside" in stderr.getvalue()
    # ... and yet, graded, it scores full marks with nothing on the test cell's stderr.
    _, report = graded[STDERR_ASSIGNMENT]
    assert report.grades[STDERR_STUDENT]["task_1_1"] == (3.0, 3.0)
    nb = nbformat.read(report.graded_notebooks[STDERR_STUDENT], as_version=4)
    cell = es.cells_by_grade_id(nb)["task_1_1"]
    streams = [output.get("name") for output in cell.outputs if output.output_type == "stream"]
    assert "stderr" not in streams and "stdout" in streams
