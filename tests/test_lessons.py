"""The lessons: the manifest, the files and the numbering agree, and every lesson runs top to bottom.

The execution tests start a fresh ``python3`` kernel per lesson in an empty temporary folder, the way a
reader's JupyterLab would run it, except that the folder is not ``lessons/``: a lesson that writes a
file with a relative path is caught (lessons write into ``tempfile`` folders, never into the repo).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from course.manifest import REPO_ROOT, load_manifest

LESSONS_DIR = REPO_ROOT / "lessons"
MANIFEST = load_manifest()
LESSON_FILES = sorted(LESSONS_DIR.glob("*.ipynb"))
#: Seconds one lesson may take to run (lessons aim for well under 30 s), and its kernel to start: on a
#: busy 2-core machine a kernel can take far longer to answer than the lesson takes to run.
LESSON_BUDGET = 120
KERNEL_STARTUP = 120
SLUG = re.compile(r"^(\d\d)_[a-z0-9]+(?:_[a-z0-9]+)*$")
MERMAID = re.compile(r"^```mermaid\s*\n(.*?)^```", re.MULTILINE | re.DOTALL)
MERMAID_KINDS = ("flowchart", "graph", "sequenceDiagram", "stateDiagram", "classDiagram", "timeline")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
GOAL_PHRASES = ("you will be able to", "you will learn", "by the end of this lesson")
BASIS_PHRASES = ("builds on", "first lesson", "assumes lesson", "after lesson")


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def markdown(nb: nbformat.NotebookNode) -> list[str]:
    return [cell.source for cell in nb.cells if cell.cell_type == "markdown"]


def lesson_id(path: Path) -> str:
    return path.stem


# --- the lesson list, the manifest and the files ----------------------------------------------------


class TestManifestAgreement:
    """course.toml's [[lesson]] list, the files in lessons/ and the numbering tell one story."""

    def test_every_listed_lesson_has_its_file(self) -> None:
        """Each [[lesson]] in course.toml exists as lessons/<slug>.ipynb (no skips: a gap is a failure)."""
        missing = [lesson.slug for lesson in MANIFEST.lessons if not lesson.path().exists()]
        assert not missing, f"course.toml lists lessons with no notebook in lessons/: {missing}"

    def test_no_unlisted_notebook(self) -> None:
        """Every notebook in lessons/ is listed in course.toml, so the site and the course command see it."""
        listed = {lesson.slug for lesson in MANIFEST.lessons}
        unlisted = [path.name for path in LESSON_FILES if path.stem not in listed]
        assert not unlisted, f"lessons/ holds notebooks course.toml does not list: {unlisted}"

    def test_numbers_run_from_01_in_order(self) -> None:
        """Slugs are NN_words, numbered 01, 02, ... in the order course.toml lists them."""
        slugs = [lesson.slug for lesson in MANIFEST.lessons]
        assert slugs, "course.toml lists no lessons"
        bad = [slug for slug in slugs if not SLUG.match(slug)]
        assert not bad, f"lesson slugs must look like '05_handlers_and_formatters': {bad}"
        numbers = [int(slug[:2]) for slug in slugs]
        assert numbers == list(range(1, len(slugs) + 1)), f"lesson numbers are not 01..NN in order: {numbers}"

    def test_titles_are_unique(self) -> None:
        """Two lessons with one title would be indistinguishable in the site's navigation."""
        titles = [lesson.title for lesson in MANIFEST.lessons]
        assert len(set(titles)) == len(titles), f"repeated lesson titles: {titles}"


# --- the shape of each lesson ----------------------------------------------------------------------


@pytest.mark.parametrize("path", LESSON_FILES, ids=lesson_id)
class TestLessonShape:
    """Each lesson opens with a title and its goals, has a Summary, and points to its exercises."""

    def test_opens_with_a_title(self, path: Path) -> None:
        """The first cell is a markdown cell whose first line is a level-1 heading."""
        first = read(path).cells[0]
        assert first.cell_type == "markdown" and first.source.startswith("# "), (
            f"{path.name}: the first cell should be markdown starting with '# <title>'"
        )

    def test_says_what_the_reader_will_be_able_to_do(self, path: Path) -> None:
        """The opening cells say what the reader will be able to do, and what the lesson builds on."""
        opening = "\n".join(markdown(read(path))[:2]).lower()
        assert any(phrase in opening for phrase in GOAL_PHRASES), (
            f"{path.name}: the opening should say what the reader will be able to do (one of {GOAL_PHRASES})"
        )
        assert any(phrase in opening for phrase in BASIS_PHRASES), (
            f"{path.name}: the opening should say which earlier lesson it builds on (one of {BASIS_PHRASES})"
        )

    def test_has_a_summary_heading(self, path: Path) -> None:
        """A '## Summary' heading closes the lesson."""
        headings = [
            line.strip()
            for text in markdown(read(path))
            for line in text.splitlines()
            if line.startswith("#")
        ]
        assert "## Summary" in headings, f"{path.name}: no '## Summary' heading (headings: {headings})"

    def test_links_to_its_exercises(self, path: Path) -> None:
        """The lesson links to ../exercises/<slug>/<slug>.ipynb; the file exists once the assignment does."""
        slug = path.stem
        target = f"../exercises/{slug}/{slug}.ipynb"
        text = "\n".join(markdown(read(path)))
        assert f"]({target})" in text, f"{path.name}: no markdown link to {target}"
        has_assignment = any(assignment.slug == slug for assignment in MANIFEST.assignments)
        if has_assignment:
            assert (LESSONS_DIR / target).resolve().exists(), (
                f"{path.name}: course.toml has an assignment {slug} but {target} does not exist "
                "(run `uv run course release`)"
            )

    def test_relative_links_resolve(self, path: Path) -> None:
        """Links to other lessons name listed lessons; links to repository files point at real files."""
        listed = {lesson.slug for lesson in MANIFEST.lessons}
        broken: list[str] = []
        for text in markdown(read(path)):
            for target in MARKDOWN_LINK.findall(text):
                if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                    continue  # external or in-page link
                file_part = target.split("#", 1)[0]
                name = Path(file_part)
                if name.suffix == ".ipynb" and name.stem in listed:
                    continue  # a lesson or an exercise of a listed lesson; existence is checked elsewhere
                if not (LESSONS_DIR / file_part).resolve().exists():
                    broken.append(target)
        assert not broken, f"{path.name}: links that lead nowhere: {broken}"

    def test_has_a_diagram_or_says_why_not(self, path: Path) -> None:
        """At least one mermaid diagram, or notebook metadata course.no_diagram giving the reason."""
        nb = read(path)
        blocks = [block for text in markdown(nb) for block in MERMAID.findall(text)]
        reason = nb.metadata.get("course", {}).get("no_diagram", "")
        assert blocks or reason.strip(), (
            f"{path.name}: no ```mermaid block in any markdown cell; add a diagram, or set notebook "
            'metadata {"course": {"no_diagram": "<why a diagram would not help>"}}'
        )
        for block in blocks:
            assert block.lstrip().startswith(MERMAID_KINDS), (
                f"{path.name}: a mermaid block starts with {block.split()[0]!r}, not a diagram type"
            )

    def test_starts_from_a_clean_logging_state(self, path: Path) -> None:
        """The first code cell resets logging, so a lesson run in a used kernel sees what the prose says."""
        first_code = next(cell.source for cell in read(path).cells if cell.cell_type == "code")
        assert "reset_logging()" in first_code or "isolated_logging(" in first_code, (
            f"{path.name}: the first code cell should call logkit.state.reset_logging()"
        )

    def test_deliberate_errors_are_tagged_as_such(self, path: Path) -> None:
        """Only cells tagged raises-exception may raise; the tag sits on code cells only."""
        for cell in read(path).cells:
            if "raises-exception" in cell.get("metadata", {}).get("tags", []):
                assert cell.cell_type == "code", (
                    f"{path.name}: a {cell.cell_type} cell is tagged raises-exception"
                )


# --- execution -------------------------------------------------------------------------------------

#: Appended to the lesson in memory: reports what logging configuration the lesson left behind.
STATE_PROBE = """
import json as _json, logging as _logging, sys as _sys
_left = {
    "root_handlers": [type(h).__name__ for h in _logging.getLogger().handlers],
    "root_level": _logging.getLevelName(_logging.getLogger().level),
    "loggers_with_handlers": sorted(
        name for name, lg in _logging.Logger.manager.loggerDict.items()
        if isinstance(lg, _logging.Logger)
        and any(not (name == "grade_predictor" and type(h) is _logging.NullHandler) for h in lg.handlers)
    ),
    "disabled_below": _logging.root.manager.disable,
}
if "loguru" in _sys.modules:
    from loguru import logger as _loguru_logger
    _left["loguru_sinks"] = len(getattr(getattr(_loguru_logger, "_core", None), "handlers", {}))
if "structlog" in _sys.modules:
    import structlog as _structlog
    _left["structlog_configured"] = _structlog.is_configured()
print(_json.dumps(_left))
"""
CLEAN_STATE = {"root_handlers": [], "root_level": "WARNING", "loggers_with_handlers": [], "disabled_below": 0}


def run_lesson(path: Path, workdir: Path) -> nbformat.NotebookNode:
    """Execute a lesson in a fresh python3 kernel with ``workdir`` as its working folder."""
    nb = read(path)
    nb.cells.append(nbformat.v4.new_code_cell(STATE_PROBE))
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=LESSON_BUDGET,  # per cell; the whole lesson is bounded by the test's timeout below
        startup_timeout=KERNEL_STARTUP,
        resources={"metadata": {"path": str(workdir)}},
        allow_error_names=[],
        record_timing=False,
    )
    client.execute()
    return nb


@pytest.mark.slow
@pytest.mark.timeout(KERNEL_STARTUP + LESSON_BUDGET + 30)
@pytest.mark.parametrize("path", LESSON_FILES, ids=lesson_id)
def test_lesson_runs_top_to_bottom(path: Path, tmp_path: Path) -> None:
    """The lesson executes in a fresh kernel; tagged cells raise, untagged cells do not; no stray files."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    started = time.perf_counter()
    try:
        nb = run_lesson(path, workdir)
    except CellExecutionError as error:
        pytest.fail(f"{path.name} failed in an untagged cell:\n{error}")
    elapsed = time.perf_counter() - started
    print(f"{path.name}: {elapsed:.1f} s")  # a figure to read, never asserted

    probe = nb.cells.pop()
    left = json.loads("".join(out.get("text", "") for out in probe.outputs if out.output_type == "stream"))
    expected = CLEAN_STATE | {"loguru_sinks": 0, "structlog_configured": False}
    leftover_config = {key: value for key, value in left.items() if value != expected[key]}
    assert not leftover_config, (
        f"{path.name} leaves logging configured at the end (call reset_logging()): {leftover_config}"
    )

    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tagged = "raises-exception" in cell.metadata.get("tags", [])
        raised = any(output.output_type == "error" for output in cell.outputs)
        assert raised == tagged, f"{path.name} cell {index} ({cell.get('id')}): " + (
            "tagged raises-exception but did not raise" if tagged else "raised without the tag"
        )
    leftovers = sorted(p.name for p in workdir.iterdir())
    assert not leftovers, (
        f"{path.name} wrote {leftovers} into its working folder; lessons write into a tempfile folder"
    )
