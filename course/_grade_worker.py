"""One grading worker: ``python -m course._grade_worker`` reads its requests as JSON lines on stdin.

It imports nbgrader while the parent is still finding submissions, then, for each job (one student's
submission of one assignment): pre-checks the file (:func:`course.submissions.precheck`), copies it into
``submitted/<student>/<assignment>/``, autogrades it, writes feedback and reads the scores back from the
gradebook, printing one JSON line per job so the parent can show progress. Workers get disjoint sets of
students, so they never touch the same folders; they share the SQLite gradebook, whose writes are short.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any


def _call(method: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Call an NbGraderAPI method, retrying if the gradebook was locked by the other worker."""
    result: dict[str, Any] = {}
    for attempt in range(3):
        result = method(*args, **kwargs)
        text = f"{result.get('error') or ''}{result.get('log') or ''}"
        if result.get("success") or "database is locked" not in text:
            return result
        time.sleep(0.5 * (attempt + 1))
    return result


def _scores(gradebook: Any, slug: str, notebook: str, student: str) -> tuple[float, dict[str, float]] | None:
    from nbgrader.api import MissingEntry

    from course.check_runner import task_id_of

    try:
        found = gradebook.find_submission_notebook(notebook, slug, student)
    except MissingEntry:
        return None
    return float(found.score), {task_id_of(grade.name): float(grade.score) for grade in found.grades}


def grade_job(api: Any, course_dir: Path, job: dict[str, Any], feedback: bool) -> dict[str, Any]:
    """Pre-check, import, autograde and (optionally) write feedback for one submission."""
    from nbgrader.api import Gradebook

    from course.submissions import Submission, import_submission, precheck

    slug, student = job["slug"], job["student"]
    submission = Submission(
        student,
        slug,
        Path(job["path"]) if job["path"] else None,
        job["submitted_name"],
        job["timestamp"],
        tuple(job["notes"]),
    )
    release = course_dir / "release" / slug / job["notebook_name"]
    verdict = precheck(submission, release)
    record: dict[str, Any] = {
        "slug": slug,
        "student": student,
        "reason": verdict.reason,
        "notes": list(verdict.notes),
    }
    if not verdict.ok:
        import_submission(course_dir, submission, job["notebook_name"], remove_only=True)
        record["success"] = False
        return record
    import_submission(course_dir, submission, job["notebook_name"])
    result = _call(api.autograde, slug, student, force=True, create=True)
    record.update(
        success=bool(result.get("success")),
        error=(result.get("error") or "")[-2000:],
        log=(result.get("log") or "")[-4000:],
    )
    if record["success"] and feedback:
        done = _call(api.generate_feedback, slug, student, force=True)
        if not done.get("success"):
            record["feedback_error"] = (done.get("error") or done.get("log") or "")[-1000:]
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        scores = _scores(gradebook, slug, job["notebook_name"][: -len(".ipynb")], student)
    if scores is not None:
        record["score"], record["tasks"] = scores
    return record


def _api(course_dir: Path) -> Any:
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    os.chdir(course_dir)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def main() -> int:
    """Import nbgrader, then answer requests read line by line from stdin.

    ``{"course_dir": ..., "generate": [slug, ...]}`` runs ``generate_assignment`` for each slug and ends
    with ``{"done": "generate"}``; ``{"course_dir": ..., "jobs": [...]}`` grades each job.
    """
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    import nbgrader.apps  # noqa: F401  (the slow import, done while the parent finds submissions)

    api = None
    for line in sys.stdin:
        request = json.loads(line)
        course_dir = Path(request["course_dir"])
        api = api or _api(course_dir)
        for slug in request.get("generate", []):
            result = api.generate_assignment(slug, force=True, create=True)
            error = "" if result.get("success") else (result.get("error") or result.get("log") or "")[-3000:]
            print(
                json.dumps({"generated": slug, "success": bool(result.get("success")), "error": error}),
                flush=True,
            )
        if "generate" in request:
            print(json.dumps({"done": "generate"}), flush=True)
        for job in request.get("jobs", []):
            started = time.perf_counter()
            try:
                record = grade_job(api, course_dir, job, bool(request.get("feedback", True)))
            except Exception as exc:  # one submission must never stop the others
                record = {
                    "slug": job["slug"],
                    "student": job["student"],
                    "success": False,
                    "error": repr(exc),
                }
            record["seconds"] = round(time.perf_counter() - started, 3)
            print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
