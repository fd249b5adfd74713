"""Synthetic student data for the grade predictor.

Every student is a row of three features (attendance, weekly study hours, prior
grade) and a target (the final grade). The data are generated from a seed, so the
same seed always gives the same students. A few rows are recorded wrongly on
purpose, the way real exports are: attendance written as a percentage, negative
study hours, a prior grade with a lost decimal point. They are logged at WARNING
and clipped into range, so a reader of the logs can see that the data were touched.
"""

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["FEATURE_NAMES", "Dataset", "make_students"]

logger = logging.getLogger(__name__)

FEATURE_NAMES: tuple[str, ...] = ("attendance", "study_hours", "prior_grade")
"""Column names of :attr:`Dataset.features`, in order."""

# How the synthetic final grade depends on the features (before noise).
_INTERCEPT = 8.0
_ATTENDANCE_WEIGHT = 25.0
_STUDY_HOURS_WEIGHT = 2.0
_PRIOR_GRADE_WEIGHT = 0.5
_NOISE_SD = 5.0
_SUSPICIOUS_FRACTION = 0.03


@dataclass(frozen=True)
class Dataset:
    """Students as parallel tuples: one id, one feature row and one target per student.

    Args:
        student_ids: synthetic ids such as ``"S0001"`` (never names).
        features: one row per student, columns in :data:`FEATURE_NAMES` order.
        targets: final grades, 0 to 100.

    Raises:
        ValueError: if the three tuples do not have the same length.
    """

    student_ids: tuple[str, ...]
    features: tuple[tuple[float, ...], ...]
    targets: tuple[float, ...]

    def __post_init__(self) -> None:
        if not len(self.student_ids) == len(self.features) == len(self.targets):
            raise ValueError(
                f"dataset columns differ in length: {len(self.student_ids)} ids, "
                f"{len(self.features)} feature rows, {len(self.targets)} targets"
            )

    def __len__(self) -> int:
        return len(self.student_ids)

    def subset(self, indices: Sequence[int]) -> "Dataset":
        """Return the students at ``indices``, in that order."""
        return Dataset(
            student_ids=tuple(self.student_ids[i] for i in indices),
            features=tuple(self.features[i] for i in indices),
            targets=tuple(self.targets[i] for i in indices),
        )


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def make_students(n: int = 200, *, seed: int = 42) -> Dataset:
    """Generate ``n`` synthetic students, reproducibly from ``seed``.

    About 3% of the rows (at least one) are recorded wrongly on purpose: attendance
    written as a percentage (``87.0`` instead of ``0.87``), negative study hours, or
    a prior grade with a lost decimal point (``625`` instead of ``62.5``). Each bad
    value is logged at WARNING and clipped into its valid range.

    Args:
        n: number of students (at least 1).
        seed: seed of the private random generator; the global ``random`` state is
            neither used nor changed.

    Returns:
        The students, with ids ``"S0001"`` to ``"S{n:04d}"``.

    Raises:
        ValueError: if ``n`` is smaller than 1.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = random.Random(seed)
    logger.info("generating %d synthetic students (seed=%d)", n, seed)

    ids: list[str] = []
    rows: list[tuple[float, float, float]] = []
    targets: list[float] = []
    for i in range(n):
        attendance = _clip(rng.gauss(0.82, 0.12), 0.0, 1.0)
        study_hours = max(rng.gauss(6.0, 3.0), 0.0)
        prior_grade = _clip(rng.gauss(62.0, 14.0), 0.0, 100.0)
        grade = (
            _INTERCEPT
            + _ATTENDANCE_WEIGHT * attendance
            + _STUDY_HOURS_WEIGHT * study_hours
            + _PRIOR_GRADE_WEIGHT * prior_grade
            + rng.gauss(0.0, _NOISE_SD)
        )
        ids.append(f"S{i + 1:04d}")
        rows.append((round(attendance, 3), round(study_hours, 2), round(prior_grade, 1)))
        targets.append(round(_clip(grade, 0.0, 100.0), 1))

    # Recording errors, as a real export would have them.
    n_suspicious = max(1, round(n * _SUSPICIOUS_FRACTION))
    for k, i in enumerate(sorted(rng.sample(range(n), n_suspicious))):
        attendance, study_hours, prior_grade = rows[i]
        if k % 3 == 0:  # attendance exported as a percentage
            attendance = round(attendance * 100.0, 1)
        elif k % 3 == 1:  # a sign error in the hours column
            study_hours = -study_hours if study_hours > 0 else -1.0
        else:  # a lost decimal point: 62.5 typed as 625
            prior_grade = round(prior_grade * 10.0, 1) if prior_grade > 10.0 else 150.0
        rows[i] = (attendance, study_hours, prior_grade)

    clean_rows = [_clean_row(student_id, row) for student_id, row in zip(ids, rows, strict=True)]
    n_clipped = sum(clean != raw for clean, raw in zip(clean_rows, rows, strict=True))
    logger.info("generated %d students, %d suspicious rows clipped", n, n_clipped)
    return Dataset(student_ids=tuple(ids), features=tuple(clean_rows), targets=tuple(targets))


def _clean_row(student_id: str, row: tuple[float, float, float]) -> tuple[float, float, float]:
    """Clip one row into range, logging a WARNING for every value that was out of range."""
    attendance, study_hours, prior_grade = row
    if not 0.0 <= attendance <= 1.0:
        clipped = _clip(attendance, 0.0, 1.0)
        logger.warning(
            "student %s: attendance %.1f is outside 0..1 (recorded as a percentage?); clipped to %.1f",
            student_id,
            attendance,
            clipped,
        )
        attendance = clipped
    if study_hours < 0.0:
        logger.warning("student %s: negative study hours %.2f; clipped to 0", student_id, study_hours)
        study_hours = 0.0
    if not 0.0 <= prior_grade <= 100.0:
        clipped = _clip(prior_grade, 0.0, 100.0)
        logger.warning(
            "student %s: prior grade %.1f is outside 0..100; clipped to %.1f",
            student_id,
            prior_grade,
            clipped,
        )
        prior_grade = clipped
    return (attendance, study_hours, prior_grade)
