"""Status of each exercise for ``course list`` and ``course progress``, with a cache.

An exercise whose answer cells all still hold nbgrader's stub is "not started" without running anything.
Otherwise its checks run once per version of the notebook: results are cached in ``.course/``
(gitignored), keyed by a hash of the notebook, the release, the solution source and the check module.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from course.check_runner import CheckReport, fingerprint, is_untouched, read_notebook, run_checks
from course.manifest import REPO_ROOT, Assignment

logger = logging.getLogger(__name__)

__all__ = ["CACHE_DIR", "ExerciseStatus", "exercise_status"]

CACHE_DIR = ".course"


@dataclass(frozen=True)
class ExerciseStatus:
    """One exercise's state: ``state`` is "not started", "failing", "passing", "missing" or "broken"."""

    slug: str
    state: str
    score: float = 0.0
    max_score: float = 0.0
    report: CheckReport | None = None
    detail: str = ""


def _cache_file(root: Path, slug: str) -> Path:
    return root / CACHE_DIR / "checks" / f"{slug}.json"


def exercise_status(
    assignment: Assignment,
    *,
    root: Path = REPO_ROOT,
    notebook: Path | None = None,
    run: bool = True,
    timeout: float = 30.0,
) -> ExerciseStatus:
    """Work out an exercise's status, running its checks (or reusing cached results) when needed."""
    path = notebook or assignment.release_path(root)
    release_path = assignment.release_path(root)
    max_score = assignment.max_points
    if not path.exists():
        return ExerciseStatus(
            assignment.slug, "missing", max_score=max_score, detail=f"{path} does not exist"
        )
    try:
        data = read_notebook(path)
        if is_untouched(data):
            return ExerciseStatus(assignment.slug, "not started", max_score=max_score)
    except (ValueError, json.JSONDecodeError) as exc:
        return ExerciseStatus(assignment.slug, "broken", max_score=max_score, detail=str(exc))
    check_module = root / "course" / "checks" / f"ex{assignment.slug[:2]}.py"
    key = fingerprint(path, release_path, assignment.source_path(root), check_module)
    cache = _cache_file(root, assignment.slug)
    report = None
    if cache.exists():
        try:
            cached = json.loads(cache.read_text(encoding="utf-8"))
            if cached.get("key") == key:
                report = CheckReport.from_json(cached["report"])
        except (ValueError, KeyError, TypeError):
            logger.debug("ignoring unreadable cache file %s", cache)
    if report is None:
        if not run:
            return ExerciseStatus(assignment.slug, "not checked", max_score=max_score)
        report = run_checks(path, assignment, root=root, timeout=timeout)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps({"key": key, "report": report.to_json()}), encoding="utf-8")
        except OSError as exc:
            logger.debug("could not write cache %s: %s", cache, exc)
    state = "passing" if report.all_passed else "failing"
    return ExerciseStatus(assignment.slug, state, report.score, report.max_score, report)
