"""Read ``course.toml``: the lessons in order and, for each graded assignment, its tasks and hints."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["REPO_ROOT", "Assignment", "Lesson", "Manifest", "ManifestError", "Task", "load_manifest"]

REPO_ROOT = Path(__file__).resolve().parent.parent


class ManifestError(ValueError):
    """``course.toml`` is malformed or refers to something that does not exist."""


@dataclass(frozen=True)
class Lesson:
    """One lesson notebook, ``lessons/<slug>.ipynb``."""

    slug: str
    title: str

    @property
    def number(self) -> int:
        return int(self.slug[:2])

    def path(self, root: Path = REPO_ROOT) -> Path:
        return root / "lessons" / f"{self.slug}.ipynb"


@dataclass(frozen=True)
class Task:
    """One graded task: ``id`` is ``"<assignment>.<task>"``, e.g. ``"5.2"``."""

    id: str
    title: str
    points: float
    hint: str

    @property
    def grade_id(self) -> str:
        """The grade_id of the task's graded test cell."""
        return "task_" + self.id.replace(".", "_")

    @property
    def answer_id(self) -> str:
        """The grade_id of the task's answer cell."""
        return "answer_" + self.id.replace(".", "_")


@dataclass(frozen=True)
class Assignment:
    """One nbgrader assignment; its slug matches the lesson it belongs to."""

    slug: str
    title: str
    lesson: str
    tasks: tuple[Task, ...]

    @property
    def number(self) -> int:
        return int(self.slug[:2])

    @property
    def notebook_name(self) -> str:
        return f"{self.slug}.ipynb"

    def source_path(self, root: Path = REPO_ROOT) -> Path:
        return root / "solutions" / self.slug / self.notebook_name

    def release_path(self, root: Path = REPO_ROOT) -> Path:
        return root / "exercises" / self.slug / self.notebook_name

    @property
    def max_points(self) -> float:
        return sum(task.points for task in self.tasks)

    def task(self, task_id: str) -> Task:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise KeyError(f"assignment {self.slug} has no task {task_id!r}")


@dataclass(frozen=True)
class Manifest:
    """The whole course, in order."""

    lessons: tuple[Lesson, ...]
    assignments: tuple[Assignment, ...]

    def assignment(self, key: str | int) -> Assignment:
        """Find an assignment by number (``5``, ``"05"``) or slug."""
        for assignment in self.assignments:
            if key in (assignment.slug, assignment.number) or str(key).zfill(2) == assignment.slug[:2]:
                return assignment
        raise KeyError(f"no assignment {key!r} in course.toml")

    def task(self, task_id: str) -> Task:
        """Find a task by id (``"5.2"``)."""
        number = task_id.split(".", 1)[0]
        return self.assignment(int(number)).task(task_id)

    def lesson(self, slug: str) -> Lesson:
        for lesson in self.lessons:
            if lesson.slug == slug:
                return lesson
        raise KeyError(f"no lesson {slug!r} in course.toml")


def load_manifest(path: Path | None = None) -> Manifest:
    """Load and check ``course.toml`` (by default the repository's own).

    Raises:
        ManifestError: a required key is missing, a task id does not match its assignment, or an
            assignment names a lesson the manifest does not list.
    """
    path = path or REPO_ROOT / "course.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    try:
        lessons = tuple(Lesson(slug=item["slug"], title=item["title"]) for item in data.get("lesson", []))
        assignments = tuple(_assignment(item) for item in data.get("assignment", []))
    except KeyError as missing:
        raise ManifestError(f"{path.name}: missing key {missing}") from None
    lesson_slugs = {lesson.slug for lesson in lessons}
    for assignment in assignments:
        if assignment.lesson not in lesson_slugs:
            raise ManifestError(f"assignment {assignment.slug} names unknown lesson {assignment.lesson!r}")
        for task in assignment.tasks:
            if task.id.split(".")[0] != str(assignment.number):
                raise ManifestError(f"task {task.id} does not belong to assignment {assignment.slug}")
    return Manifest(lessons=lessons, assignments=assignments)


def _assignment(item: dict) -> Assignment:
    tasks = tuple(
        Task(id=str(t["id"]), title=t["title"], points=float(t["points"]), hint=t["hint"])
        for t in item.get("task", [])
    )
    return Assignment(
        slug=item["slug"], title=item["title"], lesson=item.get("lesson", item["slug"]), tasks=tasks
    )
