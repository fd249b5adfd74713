"""Build ``course/sample_class/class.zip``: ten synthetic students' submissions of assignment 01.

The zip looks like an LMS export with nbgrader's ``zip_collect`` naming
(``<assignment>_<student>_attempt_<timestamp>_<notebook>.ipynb``). Every submission starts from the
released notebook (``exercises/01_why_not_print``) with the solution's answers filled in, then breaks
something on purpose. ``EXPECTED`` records what grading must give each student (tests check it).

Run ``uv run python -m course.sample_class.make_class`` after the assignment changes, and commit the zip.
"""

from __future__ import annotations

import copy
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from course.manifest import REPO_ROOT, load_manifest

__all__ = ["EXPECTED", "SLUG", "ZIP_PATH", "build", "main"]

SLUG = "01_why_not_print"
ZIP_PATH = Path(__file__).with_name("class.zip")
STAMP = "2026-11-20-09-30-00"

#: student -> (status, score out of 7, a word the reason must contain ("" for none)).
EXPECTED: dict[str, tuple[str, float, str]] = {
    "ada": ("graded", 7, ""),
    "grace": ("graded", 5, "1.2"),
    "alan": ("graded", 0, "NotImplementedError"),
    "barbara": ("rejected", 0, "invalid JSON"),
    "edsger": ("graded", 7, "submitted as"),
    "donald": ("graded", 4, "longer than"),
    "margaret": ("graded", 5, "os._exit"),
    "linus": ("graded", 4, "edited"),
    "ken": ("graded", 7, "too long"),
    "mallory": ("graded", 7, "blocked"),
}

_SOLUTION = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)

_PRINTING_REPORT = '''log = logging.getLogger("cv_report")


def report_folds(scores):
    """Still printing: the graders' checks see no records."""
    usable = []
    for fold, value in scores.items():
        score = float(value)
        print("fold", fold, "accuracy", score)
        usable.append(score)
    return sum(usable) / len(usable) if usable else None
'''

_NO_FILTER_STREAMS = '''def configure_streams(logger):
    """Forgets the filter: warnings reach stdout as well as stderr."""
    formatter = logging.Formatter("%(levelname)s: %(message)s")
    results = logging.StreamHandler(sys.stdout)
    results.setLevel(logging.INFO)
    results.setFormatter(formatter)
    diagnostics = logging.StreamHandler(sys.stderr)
    diagnostics.setLevel(logging.WARNING)
    diagnostics.setFormatter(formatter)
    logger.setLevel(logging.INFO)
    logger.addHandler(results)
    logger.addHandler(diagnostics)
'''

_SNOOPING = """
# Tries to read the hidden tests and the gradebook, and to leave a file outside its folder.
import glob
for pattern in ("../../../source/*/*.ipynb", "../../../gradebook.db", "../../../../solutions/*/*.ipynb"):
    for found in glob.glob(pattern):
        try:
            print(open(found).read()[:80])
        except PermissionError as refused:
            print(refused)
try:
    open("../../../escaped.txt", "w").write("I was here")
except PermissionError as refused:
    print(refused)
"""


def _grade_id(cell: dict[str, Any]) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def _source(cell: dict[str, Any]) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def _answers(solution: dict[str, Any]) -> dict[str, str]:
    """The solution's answer cells without the BEGIN/END SOLUTION lines."""
    return {
        _grade_id(cell): _SOLUTION.sub("", _source(cell)).rstrip("\n")
        for cell in solution["cells"]
        if _grade_id(cell).startswith("answer_")
    }


def _fill(release: dict[str, Any], answers: dict[str, str]) -> dict[str, Any]:
    notebook = copy.deepcopy(release)
    for cell in notebook["cells"]:
        if _grade_id(cell) in answers:
            cell["source"] = answers[_grade_id(cell)]
    return notebook


def _dump(notebook: dict[str, Any]) -> str:
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def build(root: Path = REPO_ROOT) -> dict[str, tuple[str, str]]:
    """Every student's (file name in the zip, file text)."""
    assignment = load_manifest(root / "course.toml").assignment(SLUG)
    release = json.loads(assignment.release_path(root).read_text(encoding="utf-8"))
    good = _answers(json.loads(assignment.source_path(root).read_text(encoding="utf-8")))
    name = assignment.notebook_name
    files: dict[str, tuple[str, str]] = {}

    def add(student: str, text: str, notebook_name: str = name) -> None:
        files[student] = (f"{SLUG}_{student}_attempt_{STAMP}_{notebook_name}", text)

    add("ada", _dump(_fill(release, good)))
    add("grace", _dump(_fill(release, {**good, "answer_1_2": _NO_FILTER_STREAMS})))
    add("alan", _dump(release))
    add("barbara", _dump(_fill(release, good))[:1500])
    add("edsger", _dump(_fill(release, good)), "homework_01.ipynb")
    add(
        "donald",
        _dump(_fill(release, {**good, "answer_1_1": "while True:\n    pass\n\n" + good["answer_1_1"]})),
    )
    add(
        "margaret",
        _dump(_fill(release, {**good, "answer_1_3": "import os\n\nos._exit(0)\n\n" + good["answer_1_3"]})),
    )
    edited = _fill(release, {**good, "answer_1_1": _PRINTING_REPORT})
    for cell in edited["cells"]:
        if _grade_id(cell) == "task_1_1":
            cell["source"] = 'print("Task 1.1: public checks passed.")'
    add("linus", _dump(edited))
    add(
        "ken",
        _dump(_fill(release, {**good, "answer_1_3": good["answer_1_3"] + "\n\nprint('spam ' * 2_000_000)"})),
    )
    add("mallory", _dump(_fill(release, {**good, "answer_1_2": good["answer_1_2"] + "\n" + _SNOOPING})))
    return files


def write_zip(files: dict[str, tuple[str, str]], path: Path = ZIP_PATH) -> Path:
    """Write the zip reproducibly (fixed dates and order), so rebuilding it gives the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for _student, (name, text) in sorted(files.items()):
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 20, 9, 30, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, text)
    path.write_bytes(buffer.getvalue())
    return path


def main() -> None:
    """Rebuild ``class.zip`` from the current release and solution of assignment 01."""
    path = write_zip(build())
    print(f"wrote {path} ({path.stat().st_size} bytes, {len(EXPECTED)} students)")


if __name__ == "__main__":
    main()
