"""Single predictions for a web service, without any web framework.

The structlog service in ``apps/service`` validates requests into
:class:`PredictionInput` and calls :func:`predict_one`; this module only logs
through stdlib ``logging`` like the rest of the library.
"""

import logging
import math
from dataclasses import dataclass

from grade_predictor.model import LinearGradeModel

__all__ = ["MAX_STUDY_HOURS", "PredictionInput", "predict_one"]

logger = logging.getLogger(__name__)

MAX_STUDY_HOURS = 168.0
"""Hours in a week: the most weekly study hours an input may claim."""


def _check_range(name: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}, got {value!r}")


@dataclass(frozen=True)
class PredictionInput:
    """One student's features, validated.

    Args:
        attendance: fraction of classes attended, 0 to 1.
        study_hours: weekly study hours, 0 to 168.
        prior_grade: previous grade, 0 to 100.

    Raises:
        ValueError: if a value is not a finite number in its range.
    """

    attendance: float
    study_hours: float
    prior_grade: float

    def __post_init__(self) -> None:
        _check_range("attendance", self.attendance, 0.0, 1.0)
        _check_range("study_hours", self.study_hours, 0.0, MAX_STUDY_HOURS)
        _check_range("prior_grade", self.prior_grade, 0.0, 100.0)

    def as_row(self) -> tuple[float, float, float]:
        """The features in :data:`grade_predictor.data.FEATURE_NAMES` order."""
        return (float(self.attendance), float(self.study_hours), float(self.prior_grade))


def predict_one(model: LinearGradeModel, item: PredictionInput) -> float:
    """Predict one final grade, clipped to 0..100."""
    raw = model.predict([item.as_row()])[0]
    grade = min(max(raw, 0.0), 100.0)
    if grade != raw:
        logger.debug("prediction %.2f clipped to %.1f", raw, grade)
    logger.debug("predicted grade %.2f with %s", grade, model.model_version)
    return grade
