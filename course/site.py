"""Build the self-study site: the executed lessons and the exercise statements as a searchable website.

The generator is mkdocs-material with mkdocs-jupyter (it builds fully offline here; see README). The build:

1. executes every lesson listed in ``course.toml`` in a fresh kernel, each in its own empty working folder,
   several at once (a failing untagged cell fails the build);
2. stages the executed lessons, the released exercises (``exercises/``, never ``solutions/``), unexecuted,
   and a generated home page into a temporary docs folder that mirrors the repository's layout, so the
   notebooks' relative links keep their meaning;
3. writes a complete mkdocs config from ``site/mkdocs.yml`` plus the navigation generated from the manifest,
   and runs ``mkdocs build`` in a subprocess (mkdocs-jupyter renders without executing again).

Run it with ``uv run course site`` (or ``uv run python -m course.site``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from course.manifest import REPO_ROOT, Manifest, load_manifest

__all__ = [
    "DEFAULT_OUTPUT",
    "SITE_DIR",
    "SiteBuildError",
    "SiteResult",
    "build_site",
    "execute_lesson",
    "exercise_hints",
    "main",
    "nav_pages",
    "serve_site",
    "site_command",
    "site_config",
    "site_nav",
]

SITE_DIR = REPO_ROOT / "site"
DEFAULT_OUTPUT = REPO_ROOT / "site_build"
#: Rich sizes its output to this many columns in the kernels (the content column fits about 100).
RICH_COLUMNS = 100
#: Seconds one lesson cell may run during the build.
CELL_TIMEOUT = 120
_INDEX_MARKER = "<!-- course-table -->"
_PREVIOUS_BUILD_MARKERS = ("sitemap.xml", "404.html", "search")


class SiteBuildError(RuntimeError):
    """A lesson failed to execute, or mkdocs could not build the site."""


@dataclass(frozen=True)
class SiteResult:
    """What a build produced and how long its two stages took."""

    output: Path
    lessons: int
    exercises: int
    pages: int
    execute_seconds: float
    render_seconds: float

    @property
    def total_seconds(self) -> float:
        return self.execute_seconds + self.render_seconds


# --- navigation ------------------------------------------------------------------------------------


def nav_pages(manifest: Manifest, *, root: Path = REPO_ROOT) -> list[str]:
    """The site's pages in course order, as docs-relative paths: each lesson, then its exercise.

    Lessons whose notebook does not exist yet and exercises not yet released are left out.
    """
    released = {a.lesson: a for a in manifest.assignments if a.release_path(root).exists()}
    pages: list[str] = []
    for lesson in manifest.lessons:
        if not lesson.path(root).exists():
            continue
        pages.append(f"lessons/{lesson.slug}.ipynb")
        if lesson.slug in released:
            assignment = released[lesson.slug]
            pages.append(f"exercises/{assignment.slug}/{assignment.notebook_name}")
    return pages


def site_nav(manifest: Manifest, *, root: Path = REPO_ROOT) -> list[Any]:
    """The mkdocs ``nav``: the home page, then one section per lesson holding the lesson and its exercise."""
    nav: list[Any] = [{"Home": "index.md"}]
    pages = set(nav_pages(manifest, root=root))
    for lesson in manifest.lessons:
        lesson_page = f"lessons/{lesson.slug}.ipynb"
        if lesson_page not in pages:
            continue
        section: list[Any] = [{"Lesson": lesson_page}]
        section += [
            {"Exercise": page} for page in sorted(pages) if page.startswith(f"exercises/{lesson.slug}/")
        ]
        nav.append({f"{lesson.number:02d} · {lesson.title}": section})
    return nav


def site_config(*, docs_dir: Path, site_dir: Path, manifest: Manifest, root: Path = REPO_ROOT) -> dict:
    """The complete mkdocs config: ``site/mkdocs.yml`` plus folders, the generated nav and the hook."""
    import yaml

    config = yaml.safe_load((root / "site" / "mkdocs.yml").read_text(encoding="utf-8"))
    config.update(
        docs_dir=str(docs_dir),
        site_dir=str(site_dir),
        nav=site_nav(manifest, root=root),
        hooks=[str(root / "site" / "hooks.py")],
    )
    config.setdefault("extra", {})["course_hints"] = exercise_hints(manifest, root=root)
    return config


def exercise_hints(manifest: Manifest, *, root: Path = REPO_ROOT) -> dict[str, list[dict[str, Any]]]:
    """Each released exercise page's tasks and hints (what ``course hint`` prints), keyed by page path."""
    return {
        f"exercises/{a.slug}/{a.notebook_name}": [
            {"id": t.id, "title": t.title, "points": t.points, "hint": t.hint} for t in a.tasks
        ]
        for a in manifest.assignments
        if a.release_path(root).exists() and a.tasks
    }


# --- executing and staging -------------------------------------------------------------------------


def execute_lesson(path: Path, *, timeout: int = CELL_TIMEOUT, env: dict[str, str] | None = None) -> Any:
    """Execute one lesson in a fresh ``python3`` kernel in an empty temporary folder; return the notebook.

    Cells tagged ``raises-exception`` may raise; any other error raises ``SiteBuildError``. The kernel
    process's own stderr (start-up notices) is kept out of the terminal and quoted if the kernel dies.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    kernel_env = dict(os.environ if env is None else env)
    kernel_env.setdefault("JUPYTER_COLUMNS", str(RICH_COLUMNS))
    with (
        tempfile.TemporaryDirectory(prefix=f"site-{path.stem}-") as workdir,
        tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as kernel_stderr,
    ):
        client = NotebookClient(
            nb,
            kernel_name="python3",
            timeout=timeout,
            resources={"metadata": {"path": workdir}},
            allow_errors=False,
            record_timing=False,
        )
        try:
            client.execute(env=kernel_env, stderr=kernel_stderr)
        except CellExecutionError as error:
            lines = str(error).strip().splitlines()
            raise SiteBuildError(f"lesson {path.name} failed:\n" + "\n".join(lines[-12:])) from None
        except Exception as error:  # a dead kernel or a timeout
            kernel_stderr.seek(0)
            said = "\n".join(kernel_stderr.read().strip().splitlines()[-10:])
            raise SiteBuildError(
                f"lesson {path.name} failed: {type(error).__name__}: {error}"
                + (f"\nthe kernel's stderr ended with:\n{said}" if said else "")
            ) from None
    return nb


def _stage_lessons(manifest: Manifest, root: Path, docs: Path, workers: int) -> int:
    import nbformat

    paths = [lesson.path(root) for lesson in manifest.lessons if lesson.path(root).exists()]
    (docs / "lessons").mkdir(parents=True, exist_ok=True)
    failures: list[str] = []

    def run(path: Path) -> None:
        try:
            nb = execute_lesson(path)
        except SiteBuildError as error:
            failures.append(str(error))
            return
        nbformat.write(nb, docs / "lessons" / path.name)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(run, paths))
    if failures:
        raise SiteBuildError("\n\n".join(sorted(failures)))
    return len(paths)


def _stage_exercises(manifest: Manifest, root: Path, docs: Path) -> int:
    count = 0
    for assignment in manifest.assignments:
        released = assignment.release_path(root)
        if not released.exists():
            continue
        target = docs / "exercises" / assignment.slug / assignment.notebook_name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(released, target)
        count += 1
    return count


def _index_page(manifest: Manifest, root: Path) -> str:
    """The home page: site/index.md with the table of lessons and exercises generated from the manifest."""
    text = (root / "site" / "index.md").read_text(encoding="utf-8")
    pages = set(nav_pages(manifest, root=root))
    rows = ["| # | Lesson | Exercise |", "|---|---|---|"]
    for lesson in manifest.lessons:
        page = f"lessons/{lesson.slug}.ipynb"
        if page not in pages:
            continue
        exercises = [p for p in sorted(pages) if p.startswith(f"exercises/{lesson.slug}/")]
        exercise = f"[statement]({exercises[0]})" if exercises else "none"
        rows.append(f"| {lesson.number:02d} | [{lesson.title}]({page}) | {exercise} |")
    return text.replace(_INDEX_MARKER, "\n".join(rows))


def _check_output_folder(output: Path, root: Path) -> None:
    """Refuse to let mkdocs clean a folder that is not empty and not an earlier build of this site."""
    output = output.resolve()
    if output == root.resolve() or output in root.resolve().parents:
        raise SiteBuildError(f"refusing to build the site into {output}: it holds the repository")
    earlier_build = any((output / name).exists() for name in _PREVIOUS_BUILD_MARKERS)
    if output.exists() and any(output.iterdir()) and not earlier_build:
        raise SiteBuildError(f"refusing to overwrite {output}: not empty, and not an earlier site build")


def _count_pages(output: Path) -> int:
    return sum(1 for path in output.rglob("index.html") if path.relative_to(output).parts[0] != "assets")


def build_site(
    *,
    root: Path = REPO_ROOT,
    output: Path | None = None,
    workers: int = 0,
    keep_staging: Path | None = None,
) -> SiteResult:
    """Execute the lessons, stage them with the released exercises, and build the site into ``output``.

    Args:
        root: the course folder (with ``course.toml``, ``lessons/``, ``exercises/``, ``site/``).
        output: where the site goes (default ``site_build/`` in the root); an earlier build there is replaced.
        workers: lessons executed at once (0: one more than the number of cores; kernels mostly wait).
        keep_staging: copy the staged docs folder and config here, for debugging.

    Raises:
        SiteBuildError: a lesson failed, or mkdocs failed (its last output lines are in the message).
    """
    root = root.resolve()
    output = (output or root / "site_build").resolve()
    _check_output_folder(output, root)
    manifest = load_manifest(root / "course.toml")
    workers = workers or (os.cpu_count() or 1) + 1

    with tempfile.TemporaryDirectory(prefix="course-site-") as staging:
        docs = Path(staging) / "docs"
        started = time.perf_counter()
        lessons = _stage_lessons(manifest, root, docs, workers)
        execute_seconds = time.perf_counter() - started

        exercises = _stage_exercises(manifest, root, docs)
        (docs / "index.md").write_text(_index_page(manifest, root), encoding="utf-8")
        shutil.copytree(root / "site" / "assets", docs / "assets")
        config_file = Path(staging) / "mkdocs.yml"
        _write_config(config_file, site_config(docs_dir=docs, site_dir=output, manifest=manifest, root=root))
        if keep_staging is not None:
            shutil.copytree(staging, keep_staging, dirs_exist_ok=True)

        started = time.perf_counter()
        _run_mkdocs(config_file, cwd=Path(staging))
        render_seconds = time.perf_counter() - started

    return SiteResult(
        output=output,
        lessons=lessons,
        exercises=exercises,
        pages=_count_pages(output),
        execute_seconds=execute_seconds,
        render_seconds=render_seconds,
    )


def _write_config(path: Path, config: dict) -> None:
    import yaml

    header = "# Generated by course/site.py from site/mkdocs.yml and course.toml; do not edit.\n"
    path.write_text(header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _run_mkdocs(config_file: Path, *, cwd: Path) -> None:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONWARNINGS="ignore::DeprecationWarning")
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config_file)]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-30:])
        raise SiteBuildError(f"mkdocs build failed (exit {done.returncode}):\n{tail}")


# --- serving and the command -----------------------------------------------------------------------


def serve_site(directory: Path, *, port: int = 8000) -> None:
    """Serve a built site on http://127.0.0.1:PORT/ until interrupted (Ctrl-C)."""
    import functools
    import http.server

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        typer.echo(f"Serving {directory} on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()


def _course_root() -> Path:
    """The folder ``course --root`` chose (when run as ``course site``), else COURSE_ROOT, else this repo."""
    cli = sys.modules.get("course.cli")
    state = getattr(cli, "_state", None) if cli is not None else None
    if isinstance(state, dict) and isinstance(state.get("root"), Path):
        return state["root"]
    return Path(os.environ.get("COURSE_ROOT", REPO_ROOT)).resolve()


def site_command(
    output: Annotated[
        Path | None, typer.Option(help="Where to write the site (default: site_build/ in the course folder).")
    ] = None,
    workers: Annotated[int, typer.Option(help="Lessons executed at once (0: cores + 1).")] = 0,
    serve: Annotated[bool, typer.Option(help="Serve the site on 127.0.0.1 after building it.")] = False,
    port: Annotated[int, typer.Option(help="Port for --serve.")] = 8000,
) -> None:
    """Build the self-study site: execute the lessons, render them with the exercise statements."""
    root = _course_root()
    try:
        result = build_site(root=root, output=output, workers=workers)
    except SiteBuildError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"Built {result.pages} pages ({result.lessons} lessons, {result.exercises} exercises) into "
        f"{result.output} in {result.total_seconds:.1f} s (lessons executed in "
        f"{result.execute_seconds:.1f} s, rendered in {result.render_seconds:.1f} s)."
    )
    if serve:
        serve_site(result.output, port=port)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m course.site [--output DIR] [--workers N] [--serve]``."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(site_command)
    app(args=list(argv) if argv is not None else None, prog_name="course site")


if __name__ == "__main__":
    main()
