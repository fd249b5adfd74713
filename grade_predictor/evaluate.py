"""K-fold cross-validation of the grade model.

This is the module behind the course's 11 PM story: a long cross-validation run in
which one fold fails with a shape mismatch. Here the failure is logged at ERROR
with its traceback and recorded in the result, the other folds go on, and the mean
error is computed over the folds that succeeded: nothing falls back silently to a
default that would corrupt the average.
"""

import contextlib
import logging
import math
import random
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from grade_predictor.data import Dataset
from grade_predictor.model import LinearGradeModel

__all__ = [
    "CrossValidationResult",
    "FoldResult",
    "cross_validate",
    "evaluate_fold",
    "kfold_indices",
    "mean_absolute_error",
]

logger = logging.getLogger(__name__)

Split = tuple[tuple[int, ...], tuple[int, ...]]


@dataclass(frozen=True)
class FoldResult:
    """The outcome of one fold: its mean absolute error, or the error that stopped it.

    Args:
        fold: fold number, counted from 1.
        mae: mean absolute error on the fold's test rows, ``None`` if the fold failed.
        error: ``"ExceptionType: message"`` if the fold failed, else ``None``.
    """

    fold: int
    mae: float | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the fold produced a score."""
        return self.error is None


@dataclass(frozen=True)
class CrossValidationResult:
    """Every fold's result, in fold order."""

    folds: tuple[FoldResult, ...]

    @property
    def succeeded_folds(self) -> tuple[FoldResult, ...]:
        """The folds that produced a score."""
        return tuple(f for f in self.folds if f.ok)

    @property
    def failed_folds(self) -> tuple[FoldResult, ...]:
        """The folds that raised; each carries its ``error``."""
        return tuple(f for f in self.folds if not f.ok)

    @property
    def mean_mae(self) -> float | None:
        """Mean absolute error averaged over the folds that succeeded; ``None`` if none did."""
        scores = [f.mae for f in self.folds if f.ok and f.mae is not None]
        return math.fsum(scores) / len(scores) if scores else None


def mean_absolute_error(predictions: Sequence[float], targets: Sequence[float]) -> float:
    """Mean of ``|prediction - target|``.

    Raises:
        ValueError: if the sequences are empty or differ in length.
    """
    if not targets or len(predictions) != len(targets):
        raise ValueError(f"need equal, non-zero lengths, got {len(predictions)} and {len(targets)}")
    return math.fsum(abs(p - t) for p, t in zip(predictions, targets, strict=True)) / len(targets)


def kfold_indices(n: int, *, folds: int, seed: int) -> tuple[Split, ...]:
    """Shuffle ``range(n)`` with ``seed`` and split it into ``folds`` (train, test) pairs.

    Every index is in exactly one test set; each train set is the complement of its
    test set. Test sets differ in size by at most one.

    Raises:
        ValueError: unless ``2 <= folds <= n``.
    """
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}")
    if folds > n:
        raise ValueError(f"cannot split {n} rows into {folds} folds")
    order = list(range(n))
    random.Random(seed).shuffle(order)
    size, extra = divmod(n, folds)
    splits: list[Split] = []
    start = 0
    for k in range(folds):
        stop = start + size + (1 if k < extra else 0)
        test = tuple(sorted(order[start:stop]))
        test_set = set(test)
        train = tuple(i for i in range(n) if i not in test_set)
        splits.append((train, test))
        start = stop
    return tuple(splits)


def _drop_last_column(rows: Sequence[Sequence[float]]) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(row[:-1]) for row in rows)


def evaluate_fold(
    dataset: Dataset,
    fold: int,
    train_idx: Sequence[int],
    test_idx: Sequence[int],
    *,
    epochs: int,
    learning_rate: float,
    malformed: bool = False,
) -> FoldResult:
    """Fit on ``train_idx``, score on ``test_idx``, and return the fold's result.

    Args:
        dataset: all students.
        fold: fold number (from 1), used in logs and in the result.
        train_idx: rows to fit on.
        test_idx: rows to score.
        epochs: passed to :meth:`LinearGradeModel.fit`.
        learning_rate: passed to :meth:`LinearGradeModel.fit`.
        malformed: simulate a broken feature pipeline: the test rows lose a column,
            so prediction raises :class:`ModelShapeError` after the model was fitted.

    Raises:
        ModelShapeError: if ``malformed`` (or the rows really have the wrong width).
    """
    train = dataset.subset(train_idx)
    test = dataset.subset(test_idx)
    logger.info("fold %d started: %d train rows, %d test rows", fold, len(train), len(test))
    model = LinearGradeModel().fit(train.features, train.targets, epochs=epochs, learning_rate=learning_rate)
    test_features = _drop_last_column(test.features) if malformed else test.features
    predictions = model.predict(test_features)
    mae = mean_absolute_error(predictions, test.targets)
    logger.info("fold %d finished: MAE %.3f", fold, mae)
    return FoldResult(fold=fold, mae=mae)


def cross_validate(
    dataset: Dataset,
    *,
    folds: int = 5,
    epochs: int = 50,
    learning_rate: float = 0.05,
    seed: int = 42,
    malformed_fold: int | None = None,
    on_fold: Callable[[int], AbstractContextManager[object]] | None = None,
) -> CrossValidationResult:
    """Run k-fold cross-validation; a failing fold is logged and recorded, the rest go on.

    Args:
        dataset: the students to split.
        folds: number of folds (2 to ``len(dataset)``).
        epochs: gradient-descent epochs per fold.
        learning_rate: gradient-descent step size.
        seed: seed of the shuffle that assigns students to folds.
        malformed_fold: fold number (from 1) whose test rows lose a column, to
            reproduce the shape-mismatch failure; ``None`` for a clean run.
        on_fold: called with each fold number; the context manager it returns is
            entered around that fold, including the logging of its failure. Use it
            to attach context (``loguru.logger.contextualize(fold=fold)``,
            ``structlog.contextvars.bound_contextvars(fold=fold)``, a stdlib
            context helper) without this library knowing about any of them.

    Returns:
        One :class:`FoldResult` per fold, failed ones included.

    Raises:
        ValueError: on invalid settings (checked before any fold runs).
    """
    splits = kfold_indices(len(dataset), folds=folds, seed=seed)
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    if malformed_fold is not None and not 1 <= malformed_fold <= folds:
        raise ValueError(f"malformed_fold must be between 1 and {folds}, got {malformed_fold}")
    logger.info(
        "cross-validation started: %d students, %d folds, epochs=%d, learning_rate=%g, seed=%d",
        len(dataset),
        folds,
        epochs,
        learning_rate,
        seed,
    )
    results: list[FoldResult] = []
    for fold, (train_idx, test_idx) in enumerate(splits, start=1):
        context = on_fold(fold) if on_fold is not None else contextlib.nullcontext()
        with context:
            try:
                result = evaluate_fold(
                    dataset,
                    fold,
                    train_idx,
                    test_idx,
                    epochs=epochs,
                    learning_rate=learning_rate,
                    malformed=fold == malformed_fold,
                )
            except Exception as exc:
                logger.exception("fold %d failed: %s", fold, exc)
                result = FoldResult(fold=fold, mae=None, error=f"{type(exc).__name__}: {exc}")
        results.append(result)

    outcome = CrossValidationResult(folds=tuple(results))
    failed = outcome.failed_folds
    if failed:
        logger.warning(
            "%d of %d folds failed (folds %s); mean MAE is over the %d folds that succeeded",
            len(failed),
            folds,
            ", ".join(str(f.fold) for f in failed),
            folds - len(failed),
        )
    if outcome.mean_mae is None:
        logger.error("cross-validation finished: every fold failed, no score")
    else:
        logger.info(
            "cross-validation finished: mean MAE %.3f over %d/%d folds",
            outcome.mean_mae,
            folds - len(failed),
            folds,
        )
    return outcome
