"""Regenerate ``exercises/`` from ``solutions/`` with nbgrader, reproducibly.

``nbgrader generate_assignment`` strips the solution and hidden-test blocks. Its output is then
normalised so that regenerating an unchanged source gives byte-identical files: no outputs, no
execution counts, no timing metadata, the source notebook's cell ids and nbformat's stable JSON layout.

nbgrader runs in a scratch course directory (its gradebook included), so releasing never touches
the repository's own gradebook, and the same code can release into a temporary copy for the
"regenerating gives no diff" test.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from course.manifest import REPO_ROOT, Assignment, load_manifest

if TYPE_CHECKING:
    from traitlets.config import Config

__all__ = [
    "ReleaseError",
    "load_nbgrader_config",
    "normalise_notebook",
    "release",
    "release_all",
    "select_assignments",
    "write_notebook",
]

IGNORED_NAMES = (".ipynb_checkpoints", "__pycache__", ".DS_Store")


class ReleaseError(RuntimeError):
    """nbgrader could not generate an assignment, or its output does not match the source."""

    failures: dict[str, str]
    written: list[Path]

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.failures = {}
        self.written = []


def load_nbgrader_config(root: Path, *, config_root: Path = REPO_ROOT) -> Config:
    """Load the course's ``nbgrader_config.py`` with the course directory pinned to ``root``.

    Args:
        root: the course directory nbgrader should work in (``solutions/``, ``exercises/``,
            ``submitted/`` ... live under it); its gradebook is ``root/gradebook.db``.
        config_root: where ``nbgrader_config.py`` lives (the repository by default).

    Returns:
        A traitlets ``Config`` for ``NbGraderAPI``, ``Validator`` and the nbgrader apps.
    """
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(config_root)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = f"sqlite:///{Path(root) / 'gradebook.db'}"
    return config


def select_assignments(
    assignments: Iterable[str | int] | None = None, *, root: Path = REPO_ROOT
) -> list[Assignment]:
    """The manifest's assignments named by number or slug (all of them when ``None``)."""
    manifest = load_manifest(root / "course.toml")
    if assignments is None:
        return list(manifest.assignments)
    return [manifest.assignment(key) for key in assignments]


def normalise_notebook(
    generated: nbformat.NotebookNode, source: nbformat.NotebookNode
) -> nbformat.NotebookNode:
    """Strip run-time noise from a generated notebook and give its cells the source's ids.

    nbgrader keeps one released cell per source cell, in order; anything else is an error.
    """
    if len(generated.cells) != len(source.cells):
        raise ReleaseError(
            f"nbgrader produced {len(generated.cells)} cells from a source with {len(source.cells)}"
        )
    nb = nbformat.v4.new_notebook()
    nb.metadata = source.metadata
    nb.nbformat, nb.nbformat_minor = 4, max(5, source.nbformat_minor)
    for cell, original in zip(generated.cells, source.cells, strict=True):
        cell.id = original.get("id") or cell.get("id")
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)
        cell.metadata.pop("collapsed", None)
        cell.metadata.pop("scrolled", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if "attachments" in cell and not cell.attachments:
            del cell["attachments"]
        nb.cells.append(cell)
    return nb


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write a notebook with nbformat's stable layout (sorted keys, one-space indent, final newline)."""
    nbformat.validate(nb)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(nb, version=4)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def _copy_source(source_dir: Path, target_dir: Path) -> None:
    shutil.copytree(source_dir, target_dir, ignore=shutil.ignore_patterns(*IGNORED_NAMES))


def _release_one(api, assignment: Assignment, course_root: Path, root: Path, dest: Path) -> list[Path]:
    """Generate one assignment in the scratch course, normalise it, then swap it into ``dest``."""
    source_dir = root / "solutions" / assignment.slug
    if not assignment.source_path(root).exists():
        raise ReleaseError(f"{assignment.source_path(root)} does not exist")
    _copy_source(source_dir, course_root / "solutions" / assignment.slug)
    result = api.generate_assignment(assignment.slug, force=True, create=True)
    if not result.get("success"):
        raise ReleaseError(
            f"nbgrader could not generate {assignment.slug}:\n{result.get('error') or result.get('log')}"
        )
    generated_dir = course_root / "exercises" / assignment.slug
    staged_dir = course_root / "staged" / assignment.slug
    notebooks: list[Path] = []
    for path in sorted(generated_dir.rglob("*")):
        if any(part in IGNORED_NAMES for part in path.parts) or path.is_dir():
            continue
        relative = path.relative_to(generated_dir)
        staged = staged_dir / relative
        staged.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".ipynb":
            source_nb = nbformat.read(source_dir / relative, as_version=4)
            generated_nb = nbformat.read(path, as_version=4)
            write_notebook(normalise_notebook(generated_nb, source_nb), staged)
            notebooks.append(dest / assignment.slug / relative)
        else:
            shutil.copy2(path, staged)
    target_dir = dest / assignment.slug
    if target_dir.exists():
        shutil.rmtree(target_dir)
    shutil.copytree(staged_dir, target_dir)
    return notebooks


def release(
    assignments: Iterable[str | int] | None = None,
    *,
    root: Path = REPO_ROOT,
    dest: Path | None = None,
) -> list[Path]:
    """Regenerate the released notebooks of ``assignments`` (every assignment when ``None``).

    An assignment that fails does not stop the others; the failures are reported together at the end,
    and a failed assignment's previous release is left as it was.

    Args:
        assignments: numbers or slugs from ``course.toml``; ``None`` releases all of them.
        root: the repository whose ``solutions/`` are read.
        dest: the folder that receives ``<slug>/...`` (``root/exercises`` by default). Each
            assignment's folder there is replaced as a whole.

    Returns:
        The released notebooks' paths.

    Raises:
        ReleaseError: a source notebook is missing or nbgrader failed; its ``failures`` maps each failed
            slug to the reason, and ``written`` lists what was released anyway.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    dest = dest or root / "exercises"
    chosen = select_assignments(assignments, root=root)
    written: list[Path] = []
    failures: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="course-release-") as scratch:
        course_root = Path(scratch)
        config = load_nbgrader_config(course_root, config_root=root)
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        for assignment in chosen:
            try:
                written.extend(_release_one(api, assignment, course_root, root, dest))
            except (ReleaseError, OSError, ValueError) as error:
                failures[assignment.slug] = str(error)
    if failures:
        error = ReleaseError("could not release " + "; ".join(f"{k}: {v}" for k, v in failures.items()))
        error.failures = failures
        error.written = written
        raise error
    return written


def release_all() -> list[Path]:
    """Regenerate every assignment's exercise and print one line per notebook (``course release``)."""
    written = release()
    for path in written:
        print(f"released {path.relative_to(REPO_ROOT)}")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m course.release [ASSIGNMENT ...]``: regenerate exercises/."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="numbers or slugs (default: every assignment)")
    args = parser.parse_args(argv)
    for path in release(args.assignments or None):
        print(f"released {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
