"""``course start``: JupyterLab on the course, with the first lesson (or a chosen one) open."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from course.manifest import REPO_ROOT, load_manifest

__all__ = ["jupyter_lab_argv", "start_command"]


def jupyter_lab_argv(root: Path, lesson: str | None = None, extra: list[str] | None = None) -> list[str]:
    """The ``jupyter lab`` command line that opens the course at ``root`` on a lesson.

    JupyterLab refuses to run as root without ``--allow-root``; containers and fresh cloud machines
    often run as root, so the flag is added there (and only there).
    """
    manifest = load_manifest(root / "course.toml")
    chosen = manifest.lessons[0]
    if lesson is not None:
        names = {item.slug: (item.slug, item.slug[:2], str(item.number)) for item in manifest.lessons}
        matches = [item for item in manifest.lessons if lesson in names[item.slug]]
        if not matches:
            known = ", ".join(item.slug[:2] for item in manifest.lessons)
            raise typer.BadParameter(f"no lesson {lesson!r}; lessons: {known}")
        chosen = matches[0]
    jupyter = Path(sys.executable).parent / "jupyter"
    argv = [str(jupyter), "lab", f"--ServerApp.root_dir={root}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    return [*argv, *(extra or []), str(chosen.path(root).relative_to(root))]


def start_command(
    ctx: typer.Context,
    lesson: Annotated[str | None, typer.Option(help="Open this lesson (e.g. 05), not the first.")] = None,
) -> None:
    """Start JupyterLab on the course. Extra options go to jupyter lab (e.g. --no-browser --port 8899)."""
    root = Path(os.environ.get("COURSE_ROOT", REPO_ROOT)).resolve()
    argv = jupyter_lab_argv(root, lesson, list(ctx.args))
    os.chdir(root)
    os.execv(argv[0], argv)
