"""``course start`` builds the JupyterLab command line that opens the course."""

from __future__ import annotations

import os

import pytest
import typer

from course.manifest import REPO_ROOT, load_manifest
from course.start import jupyter_lab_argv


class TestJupyterLabArgv:
    """The command runs the venv's jupyter lab on the repository and opens a lesson."""

    def test_opens_the_first_lesson_by_default(self) -> None:
        argv = jupyter_lab_argv(REPO_ROOT)
        first = load_manifest().lessons[0]
        assert argv[1] == "lab"
        assert argv[-1] == f"lessons/{first.slug}.ipynb"
        assert f"--ServerApp.root_dir={REPO_ROOT}" in argv

    def test_opens_a_chosen_lesson(self) -> None:
        assert jupyter_lab_argv(REPO_ROOT, "05")[-1].startswith("lessons/05_")
        assert jupyter_lab_argv(REPO_ROOT, "7")[-1].startswith("lessons/07_")

    def test_passes_extra_options_through(self) -> None:
        argv = jupyter_lab_argv(REPO_ROOT, None, ["--no-browser", "--port=8899"])
        assert argv[-3:-1] == ["--no-browser", "--port=8899"]

    def test_allow_root_only_as_root(self) -> None:
        assert ("--allow-root" in jupyter_lab_argv(REPO_ROOT)) == (os.geteuid() == 0)

    def test_unknown_lesson_is_a_clear_error(self) -> None:
        with pytest.raises(typer.BadParameter, match="no lesson '99'"):
            jupyter_lab_argv(REPO_ROOT, "99")
