"""A tiny self-contained assignment (99_toy) for the ``course`` command's tests and demos.

It needs no check module: its test cells assert inline, so the grading machinery can be exercised
before, and independently of, the real assignments.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

__all__ = ["SLUG", "make_toy_course", "notebook", "release_of", "student_version"]

SLUG = "99_toy"

_ANSWER_1 = '''def add(a, b):
    """Return the sum of a and b."""
    ### BEGIN SOLUTION
    return a + b
    ### END SOLUTION'''

_TEST_1 = """assert add(1, 2) == 3, f"add(1, 2) returned {add(1, 2)!r}; expected 3"
print("Task 99.1: public checks passed.")
### BEGIN HIDDEN TESTS
assert add(-1, 1) == 0, "add(-1, 1) should be 0"
### END HIDDEN TESTS"""

_ANSWER_2 = '''import logging


def make_logger(name):
    """Return the logger called ``name`` with its level set to DEBUG."""
    ### BEGIN SOLUTION
    logger = logging.getLogger(name)
    logger.setLevel(logging.DEBUG)
    return logger
    ### END SOLUTION'''

_TEST_2 = """import logging
assert make_logger("toy").level == logging.DEBUG, "make_logger() should set the level to DEBUG"
print("Task 99.2: public checks passed.")"""

COURSE_TOML = f'''
[[lesson]]
slug = "{SLUG}"
title = "A toy lesson"

[[assignment]]
slug = "{SLUG}"
title = "Toy exercise"
[[assignment.task]]
id = "99.1"
title = "Add two numbers"
points = 2
hint = "Use the + operator."
[[assignment.task]]
id = "99.2"
title = "A DEBUG logger"
points = 3
hint = "logging.getLogger(name).setLevel(logging.DEBUG)"
'''


def _cell(
    cell_type: str, source: str, cell_id: str, nbgrader: dict[str, Any] | None = None
) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": cell_type, "id": cell_id, "metadata": {}, "source": source}
    if nbgrader is not None:
        cell["metadata"]["nbgrader"] = {"schema_version": 3, **nbgrader}
    if cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def notebook() -> dict[str, Any]:
    """The toy's nbgrader source notebook (solutions and hidden tests included)."""
    common = {"locked": False, "task": False}
    cells = [
        _cell("markdown", "# Toy exercise", "intro"),
        _cell(
            "code",
            _ANSWER_1,
            "answer-1",
            {**common, "grade": False, "solution": True, "grade_id": "answer_99_1"},
        ),
        _cell(
            "code",
            _TEST_1,
            "test-1",
            {
                "grade": True,
                "solution": False,
                "locked": True,
                "task": False,
                "grade_id": "task_99_1",
                "points": 2,
            },
        ),
        _cell(
            "code",
            _ANSWER_2,
            "answer-2",
            {**common, "grade": False, "solution": True, "grade_id": "answer_99_2"},
        ),
        _cell(
            "code",
            _TEST_2,
            "test-2",
            {
                "grade": True,
                "solution": False,
                "locked": True,
                "task": False,
                "grade_id": "task_99_2",
                "points": 3,
            },
        ),
    ]
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


_SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION", re.M | re.S)
_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS\n.*?^[ \t]*### END HIDDEN TESTS\n?", re.M | re.S)


def release_of(source: dict[str, Any]) -> dict[str, Any]:
    """Strip solutions and hidden tests the way ``nbgrader generate_assignment`` does (without checksums)."""
    released = json.loads(json.dumps(source))
    for cell in released["cells"]:
        text = cell["source"]
        text = _SOLUTION.sub(lambda m: f"{m[1]}# YOUR CODE HERE\n{m[1]}raise NotImplementedError()", text)
        cell["source"] = _HIDDEN.sub("", text).rstrip("\n")
    return released


def student_version(release: dict[str, Any], answers: dict[str, str]) -> dict[str, Any]:
    """A copy of ``release`` with the answer cells named in ``answers`` (grade_id -> source) replaced."""
    submitted = json.loads(json.dumps(release))
    for cell in submitted["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    return submitted


def make_toy_course(root: Path) -> Path:
    """Write a course root with ``course.toml``, ``solutions/`` and ``exercises/`` for the toy."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "course.toml").write_text(COURSE_TOML, encoding="utf-8")
    source = notebook()
    for folder, nb in (("solutions", source), ("exercises", release_of(source))):
        path = root / folder / SLUG / f"{SLUG}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(nb, indent=1) + "\n", encoding="utf-8")
    return root
