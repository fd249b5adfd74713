"""Cross-validation experiment script: loguru for our lines, the library's stdlib lines in the same sinks.

Run it as ``grade-predictor-experiment`` or ``python -m apps.experiment``::

    grade-predictor-experiment --folds 5 --epochs 50 --malformed-fold 3 --log-file logs/run.log

Settings come from :func:`grade_predictor.config.load_config`: defaults < ``--config
FILE`` < ``GP_*`` environment variables < command-line flags. What the script does
for the person who reads its log the next morning:

* every line carries ``run_id`` and ``model``; lines logged inside a fold carry
  ``fold`` (``-`` elsewhere), including the library's own lines, because the values
  are set with ``logger.contextualize`` (a context variable that every record made
  in this context picks up, whoever logs it) rather than ``logger.bind`` (which only
  reaches calls made through the bound logger object, not the library's records);
* the start of the run records what is needed to reproduce it: the seed, the
  effective configuration with its sources (secrets masked) and the code version
  (``git rev-parse HEAD``, ``"unknown"`` outside a git checkout);
* a failing fold is logged by the library at ERROR with its traceback and the run
  goes on; the last line sums it up (mean MAE, failed folds);
* an uncaught error is logged with its traceback by ``logger.catch(reraise=True)``
  and the script exits 1, so a scheduler or CI sees the failure (without
  ``reraise`` the exception would be swallowed and the exit code would be 0);
* sinks are flushed and closed before exit (``enqueue=True`` queues records).

``log_level`` sets the console's threshold; the file always keeps DEBUG as well (the
library's per-epoch losses), which is what one wants to read after a failed run.

Exit codes: 0 when at least one fold produced a score, 1 when no fold did or the
run crashed, 2 for an invalid configuration.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from loguru import logger

from apps.loguru_setup import configure_loguru, shutdown_loguru
from apps.provenance import code_version
from grade_predictor.config import ConfigError, TrainingConfig, resolve_config
from grade_predictor.data import make_students
from grade_predictor.evaluate import CrossValidationResult, cross_validate

__all__ = ["DEFAULT_LOG_FILE", "fold_context", "main", "new_run_id", "run_experiment"]

DEFAULT_LOG_FILE = Path("logs") / "experiment.log"
"""Where the file sink writes when the configuration names no ``log_file``."""


def new_run_id() -> str:
    """A sortable, unique run id: UTC start time plus six random hex digits."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


@contextmanager
def fold_context(fold: int) -> Iterator[None]:
    """Give every record logged during ``fold`` the field ``fold`` (for ``cross_validate(on_fold=...)``)."""
    started = time.perf_counter()
    with logger.contextualize(fold=fold):
        try:
            yield
        finally:
            logger.debug("fold {} took {:.3f} s", fold, time.perf_counter() - started)


def _log_run_start(config: TrainingConfig, sources: Mapping[str, str], run_id: str, log_file: Path) -> None:
    settings = config.as_log_dict()
    logger.info("run {} started; writing the log file to {}", run_id, log_file)
    version = code_version()
    logger.bind(code_version=version).info("code version: {}", version)
    logger.bind(python=platform.python_version()).info("python {}", platform.python_version())
    logger.bind(seed=config.data_seed).info("seed: {}", config.data_seed)
    logger.bind(config=settings).info("effective configuration: {}", json.dumps(settings, sort_keys=True))
    changed = {name: source for name, source in sources.items() if source != "default"}
    logger.bind(config_sources=changed).info(
        "settings not at their defaults came from: {}", json.dumps(changed, sort_keys=True)
    )


def _log_summary(result: CrossValidationResult) -> None:
    failed = [fold.fold for fold in result.failed_folds]
    summary = logger.bind(mean_mae=result.mean_mae, failed_folds=failed, n_folds=len(result.folds))
    if result.mean_mae is None:
        summary.error("run finished without a score: all {} folds failed", len(result.folds))
        return
    summary.info(
        "run finished: mean MAE {:.3f} over {}/{} folds; failed folds: {}",
        result.mean_mae,
        len(result.folds) - len(failed),
        len(result.folds),
        ", ".join(map(str, failed)) or "none",
    )


def run_experiment(
    config: TrainingConfig, *, sources: Mapping[str, str], run_id: str, log_file: Path
) -> CrossValidationResult:
    """Log the run's provenance, cross-validate, and log the summary line.

    Logging must already be configured (see :func:`apps.loguru_setup.configure_loguru`).
    """
    _log_run_start(config, sources, run_id, log_file)
    dataset = make_students(config.n_students, seed=config.data_seed)
    result = cross_validate(
        dataset,
        folds=config.folds,
        epochs=config.epochs,
        learning_rate=config.learning_rate,
        seed=config.data_seed,
        malformed_fold=config.malformed_fold,
        on_fold=fold_context,
    )
    _log_summary(result)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run one experiment from the command line; return the process exit code.

    Args:
        argv: command-line arguments without the program name; ``None`` reads ``sys.argv``.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        resolved = resolve_config(environ=os.environ, argv=args)
    except ConfigError as exc:
        print(f"grade-predictor-experiment: {exc}", file=sys.stderr)
        return 2
    config = resolved.config
    run_id = new_run_id()
    log_file = Path(config.log_file) if config.log_file else DEFAULT_LOG_FILE

    configure_loguru(level=config.log_level, log_file=log_file, json=config.log_json)
    try:
        with logger.contextualize(run_id=run_id, model=config.model_name):
            try:
                with logger.catch(reraise=True, message="run failed with an uncaught exception"):
                    result = run_experiment(
                        config, sources=resolved.sources, run_id=run_id, log_file=log_file
                    )
            except Exception:
                return 1  # already logged, with its traceback, by logger.catch
        return 0 if result.mean_mae is not None else 1
    finally:
        shutdown_loguru()


if __name__ == "__main__":
    raise SystemExit(main())
