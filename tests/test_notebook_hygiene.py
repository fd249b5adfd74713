"""Notebooks in git carry no outputs, no execution counts, and stable cell ids.

Outputs in git make diffs unreadable, leak whatever a run printed, and let a stale result pass for a
fresh one; a missing cell id makes every tool that saves the notebook invent new ids (noisy diffs, and
nbgrader matches cells by id).
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import warnings
from pathlib import Path

import nbformat
import pytest
from nbformat.warnings import DuplicateCellId, MissingIDFieldWarning

from course.manifest import REPO_ROOT

NOTEBOOK_FOLDERS = ("lessons", "solutions", "exercises")


def tracked_notebooks(root: Path = REPO_ROOT) -> list[Path]:
    """Every ``.ipynb`` under the notebook folders that git tracks (or, without git, that exists)."""
    if shutil.which("git") and (root / ".git").exists():
        result = subprocess.run(
            ["git", "ls-files", "-z", "--", *(f"{folder}/*.ipynb" for folder in NOTEBOOK_FOLDERS)],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        )
        names = [name for name in result.stdout.split("\0") if name]
        return sorted(root / name for name in names if (root / name).exists())
    return sorted(path for folder in NOTEBOOK_FOLDERS for path in (root / folder).rglob("*.ipynb"))


def problems(nb: nbformat.NotebookNode) -> list[str]:
    """What is wrong with one notebook's hygiene, one line per problem (empty when clean)."""
    found: list[str] = []
    try:
        with warnings.catch_warnings():  # validate() "repairs" repeated ids with a warning; we report them
            warnings.simplefilter("ignore", DuplicateCellId)
            warnings.simplefilter("ignore", MissingIDFieldWarning)
            nbformat.validate(copy.deepcopy(nb))
    except nbformat.ValidationError as error:
        found.append(f"invalid nbformat: {error.message}")
    if (nb.nbformat, nb.nbformat_minor) < (4, 5):
        found.append(f"nbformat {nb.nbformat}.{nb.nbformat_minor} has no cell ids; save as 4.5 or later")
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    if kernel != "python3":
        found.append(f"kernelspec name is {kernel!r}, expected 'python3'")
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        where = f"cell {index}"
        cell_id = cell.get("id")
        if not cell_id:
            found.append(f"{where} has no id")
        elif cell_id in seen:
            found.append(f"{where} repeats id {cell_id!r}")
        else:
            seen.add(cell_id)
        if cell.cell_type == "code":
            if cell.get("outputs"):
                found.append(f"{where} ({cell_id}) has outputs")
            if cell.get("execution_count") is not None:
                found.append(f"{where} ({cell_id}) has execution_count {cell.execution_count}")
        if "execution" in cell.get("metadata", {}):
            found.append(f"{where} ({cell_id}) records execution timings in its metadata")
    return found


def read_raw(path: Path) -> nbformat.NotebookNode:
    """The notebook exactly as stored: ``nbformat.read`` would silently repair missing or repeated ids."""
    return nbformat.from_dict(json.loads(path.read_text(encoding="utf-8")))


NOTEBOOKS = tracked_notebooks()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(REPO_ROOT)) for p in NOTEBOOKS])
def test_notebook_is_clean(path: Path) -> None:
    """A tracked notebook is valid nbformat with cell ids, no outputs and no execution counts."""
    found = problems(read_raw(path))
    assert not found, f"{path.relative_to(REPO_ROOT)}:\n  " + "\n  ".join(found)


class TestTheCheckItself:
    """The hygiene check rejects each kind of dirt, so a green run means something."""

    @staticmethod
    def clean() -> nbformat.NotebookNode:
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("x = 1")]
        return nb

    def test_clean_notebook_passes(self) -> None:
        """A freshly made notebook has no problems."""
        assert problems(self.clean()) == []

    def test_outputs_and_counts_are_reported(self) -> None:
        """An executed cell is caught twice: its outputs and its execution count."""
        nb = self.clean()
        nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
        nb.cells[1].execution_count = 3
        found = problems(nb)
        assert any("has outputs" in line for line in found)
        assert any("execution_count 3" in line for line in found)

    def test_missing_and_repeated_ids_are_reported(self) -> None:
        """A cell without an id, or with another cell's id, is caught."""
        nb = self.clean()
        nb.cells[1].id = nb.cells[0].id
        assert any("repeats id" in line for line in problems(nb))
        del nb.cells[1]["id"]
        assert any("has no id" in line for line in problems(nb))

    def test_wrong_kernel_is_reported(self) -> None:
        """Lessons and exercises run on the python3 kernel that the venv provides."""
        nb = self.clean()
        nb.metadata["kernelspec"]["name"] = "my-conda-env"
        assert any("kernelspec" in line for line in problems(nb))

    def test_ids_are_checked_as_stored(self, tmp_path: Path) -> None:
        """A file with a missing and a repeated id is reported, not silently repaired on reading."""
        nb = self.clean()
        nb.cells.append(nbformat.v4.new_code_cell("y = 2"))
        raw = json.loads(nbformat.writes(nb))
        del raw["cells"][0]["id"]
        raw["cells"][2]["id"] = raw["cells"][1]["id"]
        path = tmp_path / "dirty.ipynb"
        path.write_text(json.dumps(raw), encoding="utf-8")
        found = problems(read_raw(path))
        assert any("has no id" in line for line in found)
        assert any("repeats id" in line for line in found)

    def test_invalid_structure_is_reported(self) -> None:
        """A cell with an unknown type is not valid nbformat."""
        nb = self.clean()
        nb.cells[0]["cell_type"] = "picture"
        assert any("invalid nbformat" in line for line in problems(nb))
