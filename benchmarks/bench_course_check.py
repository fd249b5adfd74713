"""Time `course check` against `nbgrader validate` on the same notebook; print the ratio (no asserts).

    uv run python benchmarks/bench_course_check.py [EXERCISE] [--repeat N]

The notebook is the exercise's release with the solution's answers filled in (a finished exercise).
Both commands run as a student would run them: a fresh process each time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from course.manifest import REPO_ROOT, load_manifest
from course.sample_class.make_class import _answers, _fill


def _time(command: list[str], cwd: Path, repeat: int) -> float:
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    """Print the median wall time of each command and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("exercise", nargs="?", default="1")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    assignment = load_manifest().assignment(args.exercise)
    release = json.loads(assignment.release_path().read_text(encoding="utf-8"))
    solved = _fill(release, _answers(json.loads(assignment.source_path().read_text(encoding="utf-8"))))
    with tempfile.TemporaryDirectory() as tmp:
        notebook = Path(tmp) / assignment.notebook_name
        notebook.write_text(json.dumps(solved), encoding="utf-8")
        check = _time(
            [sys.executable, "-m", "course", "check", args.exercise, "--notebook", str(notebook)],
            REPO_ROOT,
            args.repeat,
        )
        validate = _time(
            [sys.executable, "-m", "nbgrader", "validate", str(notebook)], REPO_ROOT, args.repeat
        )
    print(f"notebook: {assignment.slug} (solved), median of {args.repeat} runs")
    print(f"course check      {check:6.2f} s")
    print(f"nbgrader validate {validate:6.2f} s")
    print(f"ratio validate/check: {validate / check:.1f}x (goal: at least 3x)")


if __name__ == "__main__":
    main()
