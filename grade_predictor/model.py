"""A linear model of the final grade, fitted by gradient descent.

Small on purpose: pure Python, no numpy, one class. What matters for the course is
what it logs: the loss of every epoch at DEBUG, one INFO line when the model is
fitted, and a clear :class:`ModelShapeError` when a row has the wrong width.
"""

import logging
import math
from collections.abc import Sequence

from grade_predictor.data import FEATURE_NAMES, Dataset

__all__ = ["LinearGradeModel", "ModelShapeError", "NotFittedError", "train_model"]

logger = logging.getLogger(__name__)

Rows = Sequence[Sequence[float]]


class ModelShapeError(ValueError):
    """A feature row does not have the number of columns the model expects.

    Attributes:
        expected: the number of features the model expects per row.
        got: the number of features found in the first offending row.
        row: the index of that row.
    """

    def __init__(self, *, expected: int, got: int, row: int) -> None:
        super().__init__(f"shape mismatch: expected {expected} features per row, got {got}")
        self.expected = expected
        self.got = got
        self.row = row


class NotFittedError(RuntimeError):
    """:meth:`LinearGradeModel.predict` was called before :meth:`LinearGradeModel.fit`."""


def _check_width(features: Rows, expected: int) -> None:
    for index, row in enumerate(features):
        if len(row) != expected:
            raise ModelShapeError(expected=expected, got=len(row), row=index)


class LinearGradeModel:
    """Linear regression on standardised features, fitted by full-batch gradient descent.

    Args:
        n_features: number of columns every row must have.

    Attributes:
        model_version: a label for logs and API responses (``"linear-v1"``).
        weights: one weight per standardised feature (empty until fitted).
        bias: the intercept.
        loss_history: the mean squared error after every epoch of the last fit.
    """

    model_version: str = "linear-v1"

    def __init__(self, *, n_features: int = len(FEATURE_NAMES)) -> None:
        if n_features < 1:
            raise ValueError(f"n_features must be at least 1, got {n_features}")
        self.n_features = n_features
        self.weights: tuple[float, ...] = ()
        self.bias = 0.0
        self.loss_history: tuple[float, ...] = ()
        self._means: tuple[float, ...] = ()
        self._scales: tuple[float, ...] = ()

    def __repr__(self) -> str:
        state = "fitted" if self.is_fitted else "not fitted"
        return f"{type(self).__name__}(n_features={self.n_features}, {self.model_version}, {state})"

    @property
    def is_fitted(self) -> bool:
        """Whether :meth:`fit` has completed."""
        return bool(self.weights)

    def _standardise(self, features: Rows) -> list[list[float]]:
        return [
            [
                (value - mean) / scale
                for value, mean, scale in zip(row, self._means, self._scales, strict=True)
            ]
            for row in features
        ]

    def fit(
        self, features: Rows, targets: Sequence[float], *, epochs: int = 50, learning_rate: float = 0.05
    ) -> "LinearGradeModel":
        """Fit the model by minimising the mean squared error.

        Args:
            features: one row of ``n_features`` numbers per sample.
            targets: one target per row.
            epochs: full passes of gradient descent (at least 1).
            learning_rate: step size (positive).

        Returns:
            The model itself, fitted.

        Raises:
            ModelShapeError: if a row does not have ``n_features`` values.
            ValueError: on empty data, mismatched lengths, bad settings, or a loss that
                stops being finite (lower the learning rate).
        """
        if epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {epochs}")
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {learning_rate}")
        if not features:
            raise ValueError("cannot fit on zero rows")
        if len(features) != len(targets):
            raise ValueError(f"{len(features)} feature rows but {len(targets)} targets")
        _check_width(features, self.n_features)

        n = len(features)
        columns = list(zip(*features, strict=True))
        self._means = tuple(math.fsum(column) / n for column in columns)
        self._scales = tuple(
            math.sqrt(math.fsum((v - mean) ** 2 for v in column) / n) or 1.0
            for column, mean in zip(columns, self._means, strict=True)
        )
        x = self._standardise(features)
        weights = [0.0] * self.n_features
        bias = 0.0
        history: list[float] = []
        logger.debug(
            "fitting %s on %d rows x %d features (epochs=%d, learning_rate=%g)",
            self.model_version,
            n,
            self.n_features,
            epochs,
            learning_rate,
        )
        # Plain sum() rather than math.fsum(): a diverging run must reach inf/nan and be
        # reported below, not stop with fsum's OverflowError.
        for epoch in range(1, epochs + 1):
            errors = [
                bias + sum(w * v for w, v in zip(weights, row, strict=True)) - y
                for row, y in zip(x, targets, strict=True)
            ]
            loss = sum(e * e for e in errors) / n
            if not math.isfinite(loss):
                raise ValueError(
                    f"loss is not finite at epoch {epoch} (learning_rate={learning_rate}); "
                    "lower the learning rate"
                )
            history.append(loss)
            logger.debug("epoch %d/%d: loss=%.4f", epoch, epochs, loss)
            gradients = [
                2.0 * sum(e * row[j] for e, row in zip(errors, x, strict=True)) / n
                for j in range(self.n_features)
            ]
            weights = [w - learning_rate * g for w, g in zip(weights, gradients, strict=True)]
            bias -= learning_rate * 2.0 * sum(errors) / n

        self.weights = tuple(weights)
        self.bias = bias
        self.loss_history = tuple(history)
        logger.info(
            "model %s fitted on %d rows in %d epochs: loss %.4f -> %.4f",
            self.model_version,
            n,
            epochs,
            history[0],
            history[-1],
        )
        return self

    def predict(self, features: Rows) -> list[float]:
        """Predict one value per row.

        Raises:
            NotFittedError: if the model has not been fitted.
            ModelShapeError: if a row does not have ``n_features`` values.
        """
        if not self.is_fitted:
            raise NotFittedError(f"{self.model_version} must be fitted before predict()")
        _check_width(features, self.n_features)
        x = self._standardise(features)
        predictions = [self.bias + sum(w * v for w, v in zip(self.weights, row, strict=True)) for row in x]
        logger.debug("%s predicted %d rows", self.model_version, len(predictions))
        return predictions


def train_model(dataset: Dataset, *, epochs: int = 50, learning_rate: float = 0.05) -> LinearGradeModel:
    """Fit a new :class:`LinearGradeModel` on every student of ``dataset``."""
    logger.info("training %s on %d students", LinearGradeModel.model_version, len(dataset))
    return LinearGradeModel().fit(
        dataset.features, dataset.targets, epochs=epochs, learning_rate=learning_rate
    )
