"""grade_predictor: the course's mock ML library.

It predicts a student's final grade from attendance, weekly study hours and prior
grade, and cross-validates that model. It logs through stdlib ``logging`` only, with
one logger per module (``grade_predictor.data``, ``grade_predictor.model``, ...), and
is silent by default: the package adds a single :class:`logging.NullHandler` to the
``"grade_predictor"`` logger and configures nothing else. Where its records go is
the application's decision.
"""

import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())

from grade_predictor.config import (  # noqa: E402
    ConfigError,
    TrainingConfig,
    config_sources,
    load_config,
    log_effective_config,
)
from grade_predictor.data import FEATURE_NAMES, Dataset, make_students  # noqa: E402
from grade_predictor.evaluate import (  # noqa: E402
    CrossValidationResult,
    FoldResult,
    cross_validate,
    evaluate_fold,
    kfold_indices,
)
from grade_predictor.model import LinearGradeModel, ModelShapeError, train_model  # noqa: E402
from grade_predictor.service import PredictionInput, predict_one  # noqa: E402

__all__ = [
    "FEATURE_NAMES",
    "ConfigError",
    "CrossValidationResult",
    "Dataset",
    "FoldResult",
    "LinearGradeModel",
    "ModelShapeError",
    "PredictionInput",
    "TrainingConfig",
    "__version__",
    "config_sources",
    "cross_validate",
    "evaluate_fold",
    "kfold_indices",
    "load_config",
    "log_effective_config",
    "make_students",
    "predict_one",
    "train_model",
]

__version__ = "0.1.0"
