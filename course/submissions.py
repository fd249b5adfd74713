"""Find the submissions in what an LMS or nbgrader hands an instructor, and pre-check each one.

Three layouts are understood:

- a zip (or a folder) of files named the way nbgrader's ``zip_collect`` expects, by default
  ``<anything>_<student>_attempt_<timestamp>_<notebook>.ipynb`` (the ``named_regexp`` of nbgrader's docs);
- nbgrader's own ``submitted/<student>/<assignment>/<notebook>.ipynb`` (what the exchange's ``collect``
  produces), given as the ``submitted`` folder or the course folder above it;
- a folder with one sub-folder of notebooks per student (``<student>/<anything>.ipynb``).

A pre-check rejects what cannot be graded (invalid JSON, not a notebook, too large) with a reason, and
notes what nbgrader will repair (a renamed notebook, an edited or deleted test cell, found with nbgrader's
own checksums), so one bad file never stops the others.
"""

from __future__ import annotations

import json
import logging
import re
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course.manifest import Assignment

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_NAMED_REGEXP",
    "MAX_NOTEBOOK_BYTES",
    "PreCheck",
    "Submission",
    "discover",
    "import_submission",
    "precheck",
]

#: nbgrader's documented example for LMS (Blackboard-style) file names, applied to the file name.
DEFAULT_NAMED_REGEXP = r".*_(?P<student_id>\w+)_attempt_(?P<timestamp>[0-9\-]+)_(?P<file_id>\w+)"
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


@dataclass(frozen=True)
class Submission:
    """One student's file for one assignment (``path`` is None when nothing usable was found)."""

    student: str
    slug: str
    path: Path | None
    submitted_name: str = ""
    timestamp: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PreCheck:
    """The pre-check's verdict: ``reason`` is set when the submission is rejected."""

    reason: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.reason


def _extract(archive: Path, into: Path) -> Path:
    """Unpack a zip safely (no absolute paths, no ``..``) and return the folder."""
    into.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = (into / info.filename).resolve()
            if into.resolve() not in target.parents or info.is_dir():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as source, open(target, "wb") as sink:
                sink.write(source.read(MAX_NOTEBOOK_BYTES + 1))
    return into


def _nbgrader_layout(folder: Path, slugs: set[str]) -> Path | None:
    """The ``submitted`` folder when ``folder`` is (or holds) nbgrader's layout."""
    for candidate in (folder / "submitted", folder):
        if candidate.is_dir() and any(
            child.is_dir() and child.name in slugs
            for student in candidate.iterdir()
            if student.is_dir()
            for child in student.iterdir()
        ):
            return candidate
    return None


def _choose(
    student: str, slug: str, files: list[tuple[Path, str, str | None]], notebook_name: str
) -> Submission:
    """Pick one file among a student's candidates: the right name first, then the latest attempt."""
    files = sorted(
        files, key=lambda item: (item[1] == notebook_name, item[2] or "", item[0].name), reverse=True
    )
    path, name, stamp = files[0]
    notes = []
    if name != notebook_name:
        notes.append(f"submitted as {name!r}; graded as {notebook_name!r}")
    if len(files) > 1:
        notes.append(f"{len(files) - 1} other notebook(s) ignored")
    return Submission(student, slug, path, name, stamp, tuple(notes))


def discover(
    source: Path,
    assignments: list[Assignment],
    *,
    scratch: Path,
    named_regexp: str | None = None,
) -> tuple[list[Submission], list[str]]:
    """Find every (student, assignment) submission under ``source``.

    Args:
        source: a zip file or a folder in one of the supported layouts.
        assignments: the assignments being graded (a renamed notebook is matched to the only one, or to
            the one most other files belong to).
        scratch: an empty folder to unpack a zip into.
        named_regexp: the file-name pattern for LMS names (nbgrader ``FileNameCollectorPlugin`` style).

    Returns:
        The submissions sorted by student, and warnings about files that could not be attributed.
    """
    by_slug = {a.slug: a for a in assignments}
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise ValueError(f"{source} is neither a folder nor a zip file")
        source = _extract(source, scratch / "unzipped")
    warnings: list[str] = []
    grouped: dict[tuple[str, str], list[tuple[Path, str, str | None]]] = defaultdict(list)
    submitted = _nbgrader_layout(source, set(by_slug))
    if submitted is not None:
        for student_dir in sorted(p for p in submitted.iterdir() if p.is_dir()):
            for slug_dir in sorted(p for p in student_dir.iterdir() if p.is_dir() and p.name in by_slug):
                stamp_file = slug_dir / "timestamp.txt"
                stamp = stamp_file.read_text(encoding="utf-8").strip() if stamp_file.exists() else None
                notebooks = sorted(slug_dir.glob("*.ipynb"))
                key = (student_dir.name, slug_dir.name)
                grouped[key].extend((nb, nb.name, stamp) for nb in notebooks)
                if not notebooks:
                    grouped[key] = []
    else:
        pattern = re.compile(named_regexp or DEFAULT_NAMED_REGEXP)
        loose: list[tuple[str, Path, str, str | None]] = []
        for path in sorted(p for p in source.rglob("*") if p.is_file() and p.suffix == ".ipynb"):
            if ".ipynb_checkpoints" in path.parts or "__MACOSX" in path.parts:
                continue
            match = pattern.match(path.stem)
            if match:
                groups = match.groupdict()
                file_id = groups.get("file_id") or path.stem
                loose.append((groups["student_id"], path, f"{file_id}.ipynb", groups.get("timestamp")))
            elif path.parent != source:
                loose.append((path.parent.name, path, path.name, None))
            else:
                warnings.append(f"{path.name}: the file name names no student (pattern {pattern.pattern!r})")
        named = Counter(
            name[: -len(".ipynb")] for _, _, name, _ in loose if name[: -len(".ipynb")] in by_slug
        )
        fallback = (
            assignments[0].slug if len(assignments) == 1 else (named.most_common(1)[0][0] if named else None)
        )
        for student, path, name, stamp in loose:
            slug = name[: -len(".ipynb")] if name[: -len(".ipynb")] in by_slug else fallback
            if slug is None:
                warnings.append(f"{path.name}: no assignment is called {name[:-6]!r}; use --assignment")
                continue
            grouped[(student, slug)].append((path, name, stamp))

    found = []
    for (student, slug), files in sorted(grouped.items()):
        if not _SAFE_ID.match(student):
            warnings.append(f"student id {student!r} is not a safe folder name; skipped")
            continue
        if not files:
            found.append(Submission(student, slug, None, notes=("no notebook in the submission",)))
            continue
        found.append(_choose(student, slug, files, by_slug[slug].notebook_name))
    return found, warnings


def _cells_by_grade_id(nb: Any) -> dict[str, Any]:
    cells = {}
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id:
            cells[grade_id] = cell
    return cells


def precheck(submission: Submission, release: Path) -> PreCheck:
    """Decide whether a submission can be graded, and note what grading will repair.

    Uses nbformat to validate the notebook and nbgrader's own checksum function on every test cell of
    the release (``release`` is the notebook generated in the grading folder, with checksums).
    """
    import nbformat
    from nbgrader.utils import compute_checksum

    if submission.path is None:
        return PreCheck("no notebook submitted", submission.notes)
    notes = list(submission.notes)
    size = submission.path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        return PreCheck(
            f"the notebook is {size / 2**20:.0f} MiB; the limit is {MAX_NOTEBOOK_BYTES // 2**20} MiB"
        )
    raw = submission.path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return PreCheck("the file is not UTF-8 text, so not a notebook", tuple(notes))
    except json.JSONDecodeError as exc:
        return PreCheck(f"invalid JSON ({exc.msg} at line {exc.lineno}); the file is damaged", tuple(notes))
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return PreCheck(f"not a valid Jupyter notebook ({first[:160]})", tuple(notes))
    for index, cell in enumerate(nb.cells, start=1):
        meta = cell.get("metadata", {}).get("nbgrader") or {}
        if any(meta.get(flag) for flag in ("grade", "solution", "locked", "task")) and not meta.get(
            "grade_id"
        ):
            return PreCheck(
                f"cell {index} has nbgrader metadata without a grade_id (the metadata was edited), "
                "which nbgrader cannot grade; copy the answers into a fresh copy of the exercise",
                tuple(notes),
            )
    released = nbformat.read(release, as_version=4)
    submitted_cells = _cells_by_grade_id(nb)
    for grade_id, cell in _cells_by_grade_id(released).items():
        meta = cell.metadata.nbgrader
        if not meta.get("grade") or meta.get("solution") or cell.cell_type != "code":
            continue  # only test cells matter; nbgrader restores other locked cells silently
        mine = submitted_cells.get(grade_id)
        if mine is None:
            notes.append(f"test cell {grade_id} was deleted; nbgrader put the original back")
        elif meta.get("checksum") and compute_checksum(mine) != meta["checksum"]:
            notes.append(f"test cell {grade_id} was edited (checksum differs); graded with the original")
    return PreCheck("", tuple(notes))


def import_submission(
    course_dir: Path, submission: Submission, notebook_name: str, *, remove_only: bool = False
) -> None:
    """Put a submission into ``submitted/<student>/<assignment>/`` under the assignment's notebook name.

    Whatever was there before is removed first, so a re-run grades exactly this upload.
    """
    import shutil

    folder = course_dir / "submitted" / submission.student / submission.slug
    if folder.exists():
        shutil.rmtree(folder)
    if remove_only or submission.path is None:
        return
    folder.mkdir(parents=True)
    shutil.copyfile(submission.path, folder / notebook_name)
    if submission.timestamp:
        parts = submission.timestamp.split("-")
        stamp = f"{'-'.join(parts[:3])} {':'.join(parts[3:])}" if len(parts) == 6 else submission.timestamp
        (folder / "timestamp.txt").write_text(stamp + "\n", encoding="utf-8")
