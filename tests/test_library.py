"""Tests for grade_predictor: silent by default, honest logs, reproducible results."""

from __future__ import annotations

import ast
import contextlib
import contextvars
import importlib
import json
import logging
import math
import pkgutil
import random
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import grade_predictor
from grade_predictor.data import FEATURE_NAMES, Dataset, make_students
from grade_predictor.evaluate import (
    CrossValidationResult,
    FoldResult,
    cross_validate,
    evaluate_fold,
    kfold_indices,
    mean_absolute_error,
)
from grade_predictor.model import LinearGradeModel, ModelShapeError, NotFittedError, train_model
from grade_predictor.service import PredictionInput, predict_one

PACKAGE_DIR = Path(grade_predictor.__file__).parent
REPO_ROOT = PACKAGE_DIR.parent
SUBMODULES = sorted(info.name for info in pkgutil.iter_modules([str(PACKAGE_DIR)]))
APPLICATION_LIBRARIES = ("loguru", "structlog", "rich", "logkit")


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """Every record of the "grade_predictor" loggers, DEBUG and up (conftest undoes the setup)."""
    handler = _ListHandler()
    package_logger = logging.getLogger("grade_predictor")
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.DEBUG)
    yield handler.records


@pytest.fixture(scope="module")
def small() -> Dataset:
    """A small dataset that keeps cross-validation fast."""
    return make_students(60, seed=3)


def _messages(records: list[logging.LogRecord], level: int) -> list[str]:
    return [r.getMessage() for r in records if r.levelno == level]


# --- silent by default -----------------------------------------------------------------------------

_PROBE = """
import json, logging, sys
root = logging.getLogger()
root_before = ([type(h).__name__ for h in root.handlers], root.level)
import grade_predictor
if {run!r}:
    import importlib
    for name in {submodules!r}:
        importlib.import_module("grade_predictor." + name)
    from grade_predictor import PredictionInput, cross_validate, load_config, log_effective_config
    from grade_predictor import make_students, predict_one, train_model
    data = make_students(40, seed=5)
    result = cross_validate(data, folds=3, epochs=3, malformed_fold=2)
    assert len(result.failed_folds) == 1, result
    model = train_model(data, epochs=3)
    predict_one(model, PredictionInput(attendance=0.5, study_hours=3.0, prior_grade=50.0))
    log_effective_config(load_config(environ={{"GP_TRACKING_TOKEN": "sk-test-not-a-real-key"}}, argv=[]))
package = logging.getLogger("grade_predictor")
children = {{
    name: (lg.level, [type(h).__name__ for h in lg.handlers])
    for name, lg in logging.Logger.manager.loggerDict.items()
    if name.startswith("grade_predictor.") and isinstance(lg, logging.Logger)
}}
report = {{
    "root_before": root_before,
    "root_after": ([type(h).__name__ for h in root.handlers], root.level),
    "package_handlers": [type(h).__name__ for h in package.handlers],
    "package_level": package.level,
    "children": children,
    "third_party": sorted(m for m in {libraries!r} if m in sys.modules),
}}
with open(sys.argv[1], "w") as fh:
    json.dump(report, fh)
"""


def _run_probe(tmp_path: Path, *, run: bool) -> dict[str, object]:
    script = _PROBE.format(run=run, submodules=SUBMODULES, libraries=APPLICATION_LIBRARIES)
    report_file = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-X", "dev", "-c", script, str(report_file)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "", f"grade_predictor wrote to stdout: {proc.stdout!r}"
    assert proc.stderr == "", f"grade_predictor wrote to stderr: {proc.stderr!r}"
    return json.loads(report_file.read_text())


class TestSilentByDefault:
    """Importing and running the library with no logging configured emits nothing and configures nothing."""

    @pytest.mark.parametrize("run", [False, True], ids=["import_only", "import_and_cross_validate"])
    def test_fresh_process_is_silent_and_unconfigured(self, tmp_path: Path, run: bool) -> None:
        report = _run_probe(tmp_path, run=run)
        assert report["package_handlers"] == ["NullHandler"]
        assert report["package_level"] == logging.NOTSET
        assert report["root_after"] == report["root_before"]
        assert report["third_party"] == []
        for name, (level, handlers) in report["children"].items():
            assert (level, handlers) == (logging.NOTSET, []), name

    def test_package_logger_has_exactly_one_null_handler(self) -> None:
        handlers = logging.getLogger("grade_predictor").handlers
        assert [type(h) for h in handlers] == [logging.NullHandler]

    @pytest.mark.parametrize("name", SUBMODULES)
    def test_every_module_logs_under_its_own_name(self, name: str) -> None:
        module = importlib.import_module(f"grade_predictor.{name}")
        assert isinstance(module.logger, logging.Logger)
        assert module.logger.name == module.__name__


# --- static checks ---------------------------------------------------------------------------------

_FORBIDDEN_CALLS = {
    "basicConfig",
    "dictConfig",
    "fileConfig",
    "addHandler",
    "removeHandler",
    "setLevel",
    "disable",
}
_LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log"}


def _is_eager_message(node: ast.expr) -> bool:
    """An f-string, ``%`` / ``+`` formatting or ``.format()`` used as a log message."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"


def _violations(source: str, filename: str) -> list[str]:
    """Library rules broken in ``source``: logging configuration, prints, eager log messages, imports."""
    found = []
    allow_null_handler = filename == "__init__.py"
    for node in ast.walk(ast.parse(source)):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call):
            func = node.func
            name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            if name in _FORBIDDEN_CALLS:
                is_null = (
                    name == "addHandler"
                    and len(node.args) == 1
                    and isinstance(node.args[0], ast.Call)
                    and ast.unparse(node.args[0].func) == "logging.NullHandler"
                )
                if not (is_null and allow_null_handler):
                    found.append(f"{where}: calls {name}()")
            if name == "print":
                found.append(f"{where}: calls print()")
            if isinstance(func, ast.Attribute) and name in _LOG_METHODS and node.args:
                message = node.args[1] if name == "log" and len(node.args) > 1 else node.args[0]
                if _is_eager_message(message) or any(isinstance(a, ast.JoinedStr) for a in node.args):
                    found.append(f"{where}: formats the message of {name}() eagerly")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top != "grade_predictor":
                    found.append(f"{where}: imports {module}")
    return found


class TestLibraryRules:
    """No module configures logging, prints, formats log messages eagerly or imports a non-stdlib module."""

    @pytest.mark.parametrize("path", sorted(PACKAGE_DIR.glob("*.py")), ids=lambda p: p.name)
    def test_module_follows_library_rules(self, path: Path) -> None:
        assert _violations(path.read_text(encoding="utf-8"), path.name) == []

    def test_init_adds_the_null_handler(self) -> None:
        source = (PACKAGE_DIR / "__init__.py").read_text(encoding="utf-8")
        assert "addHandler(logging.NullHandler())" in source

    def test_checker_catches_each_broken_rule(self) -> None:
        bad = textwrap.dedent(
            """
            import logging, loguru
            logging.basicConfig(level=logging.INFO)
            logger = logging.getLogger(__name__)
            logger.addHandler(logging.StreamHandler())
            logger.addHandler(logging.NullHandler())
            logger.setLevel(logging.DEBUG)
            logger.info(f"loss={loss}")
            logger.log(logging.INFO, "loss=%s" % loss)
            logger.debug("loss={}".format(loss))
            print("done")
            """
        )
        found = _violations(bad, "model.py")
        assert len(found) == 9, found
        assert _violations("import logging\nlogging.getLogger('x').info('a %s', 1)\n", "model.py") == []


# --- data --------------------------------------------------------------------------------------------


class TestMakeStudents:
    """make_students gives reproducible synthetic students and logs the rows it had to clip."""

    def test_same_seed_same_data(self) -> None:
        assert make_students(50, seed=7) == make_students(50, seed=7)

    def test_different_seed_different_data(self) -> None:
        assert make_students(50, seed=7).features != make_students(50, seed=8).features

    def test_global_random_state_untouched(self) -> None:
        random.seed(1234)
        expected = random.random()
        random.seed(1234)
        make_students(30, seed=1)
        assert random.random() == expected

    def test_shape_ids_and_ranges(self) -> None:
        data = make_students(120, seed=2)
        assert len(data) == 120
        assert data.student_ids[0] == "S0001" and data.student_ids[-1] == "S0120"
        assert len(set(data.student_ids)) == 120
        for attendance, study_hours, prior_grade in data.features:
            assert 0.0 <= attendance <= 1.0
            assert study_hours >= 0.0
            assert 0.0 <= prior_grade <= 100.0
        assert all(0.0 <= t <= 100.0 for t in data.targets)
        assert len(FEATURE_NAMES) == len(data.features[0]) == 3

    def test_suspicious_rows_are_warned_about_and_clipped(self, records: list[logging.LogRecord]) -> None:
        data = make_students(200, seed=42)
        warnings = [r for r in records if r.levelno == logging.WARNING]
        assert len(warnings) >= 2
        rows = dict(zip(data.student_ids, data.features, strict=True))
        for record in warnings:
            assert record.name == "grade_predictor.data"
            attendance, study_hours, prior_grade = rows[record.args[0]]
            assert attendance == 1.0 or study_hours == 0.0 or prior_grade == 100.0, record.getMessage()
        kinds = ("attendance", "negative study hours", "prior grade")
        assert all(any(kind in r.getMessage() for r in warnings) for kind in kinds)

    def test_rejects_empty(self) -> None:
        with pytest.raises(ValueError, match="at least 1"):
            make_students(0)


class TestDataset:
    """Dataset keeps its three columns aligned."""

    def test_mismatched_lengths_rejected(self) -> None:
        with pytest.raises(ValueError, match="differ in length"):
            Dataset(student_ids=("S0001",), features=(), targets=(1.0,))

    def test_subset_keeps_rows_together(self, small: Dataset) -> None:
        part = small.subset([4, 1])
        assert part.student_ids == (small.student_ids[4], small.student_ids[1])
        assert part.features == (small.features[4], small.features[1])
        assert part.targets == (small.targets[4], small.targets[1])


# --- model -----------------------------------------------------------------------------------------


class TestLinearGradeModel:
    """The model learns, logs each epoch at DEBUG and rejects rows of the wrong width."""

    def test_learns_better_than_the_mean(self, small: Dataset) -> None:
        model = LinearGradeModel().fit(small.features, small.targets, epochs=60, learning_rate=0.1)
        mean = sum(small.targets) / len(small.targets)
        baseline = mean_absolute_error([mean] * len(small), small.targets)
        assert mean_absolute_error(model.predict(small.features), small.targets) < 0.6 * baseline
        assert len(model.loss_history) == 60
        assert model.loss_history[-1] < model.loss_history[0]

    def test_debug_per_epoch_and_info_when_fitted(
        self, small: Dataset, records: list[logging.LogRecord]
    ) -> None:
        LinearGradeModel().fit(small.features, small.targets, epochs=7)
        epoch_lines = [m for m in _messages(records, logging.DEBUG) if m.startswith("epoch ")]
        assert len(epoch_lines) == 7
        assert epoch_lines[-1].startswith("epoch 7/7: loss=")
        fitted = [m for m in _messages(records, logging.INFO) if "fitted" in m]
        assert len(fitted) == 1 and "linear-v1" in fitted[0]

    def test_wrong_width_at_fit(self) -> None:
        with pytest.raises(ModelShapeError) as info:
            LinearGradeModel().fit([(0.5, 3.0), (0.9, 1.0)], [50.0, 60.0])
        assert str(info.value) == "shape mismatch: expected 3 features per row, got 2"
        assert isinstance(info.value, ValueError)
        assert (info.value.expected, info.value.got, info.value.row) == (3, 2, 0)

    def test_wrong_width_at_predict(self, small: Dataset) -> None:
        model = LinearGradeModel().fit(small.features, small.targets, epochs=2)
        with pytest.raises(ModelShapeError, match="expected 3 features per row, got 4"):
            model.predict([small.features[0], (*small.features[1], 1.0)])

    def test_predict_before_fit(self) -> None:
        with pytest.raises(NotFittedError):
            LinearGradeModel().predict([(0.5, 3.0, 60.0)])

    @pytest.mark.parametrize(
        ("features", "targets", "settings", "match"),
        [
            ([], [], {}, "zero rows"),
            ([(0.5, 3.0, 60.0)], [1.0, 2.0], {}, "1 feature rows but 2 targets"),
            ([(0.5, 3.0, 60.0)], [1.0], {"epochs": 0}, "epochs"),
            ([(0.5, 3.0, 60.0)], [1.0], {"learning_rate": 0.0}, "learning_rate"),
        ],
    )
    def test_bad_input_rejected(self, features: list, targets: list, settings: dict, match: str) -> None:
        with pytest.raises(ValueError, match=match):
            LinearGradeModel().fit(features, targets, **settings)

    def test_diverging_loss_is_an_error(self, small: Dataset) -> None:
        with pytest.raises(ValueError, match="not finite"):
            LinearGradeModel().fit(small.features, small.targets, epochs=2000, learning_rate=5.0)

    def test_train_model(self, small: Dataset, records: list[logging.LogRecord]) -> None:
        model = train_model(small, epochs=3)
        assert model.is_fitted and model.model_version == "linear-v1"
        assert len(model.predict(small.features)) == len(small)
        assert any(m == "training linear-v1 on 60 students" for m in _messages(records, logging.INFO))


# --- cross-validation -------------------------------------------------------------------------------


class TestKFoldIndices:
    """kfold_indices partitions the rows reproducibly."""

    @given(n=st.integers(min_value=2, max_value=80), data=st.data())
    def test_test_sets_partition_the_rows(self, n: int, data: st.DataObject) -> None:
        folds = data.draw(st.integers(min_value=2, max_value=n))
        splits = kfold_indices(n, folds=folds, seed=data.draw(st.integers(0, 1000)))
        assert len(splits) == folds
        tests = [test for _, test in splits]
        assert sorted(i for test in tests for i in test) == list(range(n))
        assert max(map(len, tests)) - min(map(len, tests)) <= 1
        for train, test in splits:
            assert set(train) == set(range(n)) - set(test)

    def test_seeded(self) -> None:
        assert kfold_indices(30, folds=3, seed=1) == kfold_indices(30, folds=3, seed=1)
        assert kfold_indices(30, folds=3, seed=1) != kfold_indices(30, folds=3, seed=2)

    @pytest.mark.parametrize(("n", "folds"), [(10, 1), (3, 4)])
    def test_invalid(self, n: int, folds: int) -> None:
        with pytest.raises(ValueError, match="fold"):
            kfold_indices(n, folds=folds, seed=0)


class TestCrossValidate:
    """A failing fold is logged with its traceback and recorded; the others still run and count."""

    def test_malformed_fold_logged_with_traceback(
        self, small: Dataset, records: list[logging.LogRecord]
    ) -> None:
        result = cross_validate(small, folds=3, epochs=5, malformed_fold=2)
        errors = [r for r in records if r.levelno == logging.ERROR]
        assert len(errors) == 1
        assert errors[0].name == "grade_predictor.evaluate"
        assert errors[0].exc_info is not None and errors[0].exc_info[0] is ModelShapeError
        assert "fold 2 failed" in errors[0].getMessage()
        assert [f.fold for f in result.folds] == [1, 2, 3]
        assert [f.fold for f in result.failed_folds] == [2]
        assert "shape mismatch" in (result.failed_folds[0].error or "")
        assert result.failed_folds[0].mae is None
        started = [m for m in _messages(records, logging.INFO) if m.startswith("fold ") and "started" in m]
        assert len(started) == 3
        assert any("1 of 3 folds failed" in m for m in _messages(records, logging.WARNING))

    def test_mean_mae_over_good_folds_only(self, small: Dataset) -> None:
        clean = cross_validate(small, folds=4, epochs=5, seed=9)
        broken = cross_validate(small, folds=4, epochs=5, seed=9, malformed_fold=3)
        good = [f.mae for f in clean.folds if f.fold != 3]
        assert [f.mae for f in broken.succeeded_folds] == good
        assert broken.mean_mae == pytest.approx(sum(good) / 3)
        assert broken.mean_mae != pytest.approx(clean.mean_mae)

    def test_debug_epoch_lines(self, small: Dataset, records: list[logging.LogRecord]) -> None:
        cross_validate(small, folds=3, epochs=4)
        epoch_lines = [m for m in _messages(records, logging.DEBUG) if m.startswith("epoch ")]
        assert len(epoch_lines) == 3 * 4

    def test_same_seed_same_scores(self) -> None:
        first = cross_validate(make_students(50, seed=11), folds=3, epochs=5, seed=4)
        second = cross_validate(make_students(50, seed=11), folds=3, epochs=5, seed=4)
        other = cross_validate(make_students(50, seed=11), folds=3, epochs=5, seed=5)
        assert first == second
        assert first.mean_mae != other.mean_mae

    def test_on_fold_context_wraps_each_fold(self, small: Dataset, records: list[logging.LogRecord]) -> None:
        current: contextvars.ContextVar[int | None] = contextvars.ContextVar("fold", default=None)
        entered: list[int] = []

        @contextlib.contextmanager
        def on_fold(fold: int) -> Iterator[None]:
            entered.append(fold)
            token = current.set(fold)
            try:
                yield
            finally:
                current.reset(token)

        seen: list[tuple[str, int | None]] = []

        class Spy(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                seen.append((record.getMessage(), current.get()))

        logging.getLogger("grade_predictor").addHandler(Spy(logging.INFO))
        cross_validate(small, folds=3, epochs=2, malformed_fold=3, on_fold=on_fold)
        assert entered == [1, 2, 3]
        for message, fold in seen:
            if message.startswith("fold "):
                assert fold == int(message.split()[1]), (message, fold)
        assert ("fold 3 failed: shape mismatch: expected 3 features per row, got 2", 3) in seen
        assert current.get() is None

    @pytest.mark.parametrize(
        ("settings", "match"),
        [
            ({"malformed_fold": 4}, "malformed_fold"),
            ({"malformed_fold": 0}, "malformed_fold"),
            ({"epochs": 0}, "epochs"),
            ({"learning_rate": -0.1}, "learning_rate"),
            ({"folds": 61}, "folds"),
        ],
    )
    def test_invalid_settings_fail_before_any_fold(
        self, small: Dataset, records: list[logging.LogRecord], settings: dict, match: str
    ) -> None:
        with pytest.raises(ValueError, match=match):
            cross_validate(small, **{"folds": 3, **settings})
        assert records == []

    def test_evaluate_fold_raises_instead_of_recovering(self, small: Dataset) -> None:
        (train, test), *_ = kfold_indices(len(small), folds=3, seed=0)
        ok = evaluate_fold(small, 1, train, test, epochs=3, learning_rate=0.05)
        assert ok.ok and ok.mae is not None and ok.mae > 0
        with pytest.raises(ModelShapeError):
            evaluate_fold(small, 1, train, test, epochs=3, learning_rate=0.05, malformed=True)


class TestResults:
    """The result types summarise folds without inventing scores."""

    def test_mean_mae_none_when_every_fold_failed(self) -> None:
        result = CrossValidationResult(folds=(FoldResult(fold=1, mae=None, error="ValueError: x"),))
        assert result.mean_mae is None
        assert result.failed_folds == result.folds

    def test_mean_mae(self) -> None:
        result = CrossValidationResult(
            folds=(
                FoldResult(fold=1, mae=2.0),
                FoldResult(fold=2, mae=None, error="E: x"),
                FoldResult(3, 4.0),
            )
        )
        assert result.mean_mae == 3.0
        assert math.isclose(mean_absolute_error([1.0, 3.0], [2.0, 2.0]), 1.0)

    def test_frozen(self) -> None:
        with pytest.raises(AttributeError):
            FoldResult(fold=1, mae=1.0).mae = 2.0  # type: ignore[misc]


# --- service -----------------------------------------------------------------------------------------


class TestService:
    """PredictionInput validates its fields and predict_one clips to 0..100."""

    @pytest.mark.parametrize(
        "fields",
        [
            {"attendance": 1.5, "study_hours": 3.0, "prior_grade": 50.0},
            {"attendance": 0.5, "study_hours": -1.0, "prior_grade": 50.0},
            {"attendance": 0.5, "study_hours": 3.0, "prior_grade": 101.0},
            {"attendance": float("nan"), "study_hours": 3.0, "prior_grade": 50.0},
            {"attendance": True, "study_hours": 3.0, "prior_grade": 50.0},
            {"attendance": "0.5", "study_hours": 3.0, "prior_grade": 50.0},
        ],
    )
    def test_invalid_input(self, fields: dict) -> None:
        with pytest.raises(ValueError):
            PredictionInput(**fields)

    def test_prediction_matches_model(self, small: Dataset) -> None:
        model = train_model(small, epochs=30)
        item = PredictionInput(attendance=0.8, study_hours=5, prior_grade=60.0)
        assert predict_one(model, item) == pytest.approx(model.predict([item.as_row()])[0])

    def test_clipped(self, records: list[logging.LogRecord]) -> None:
        rows = [(0.5, 2.0, 40.0), (0.9, 8.0, 80.0), (0.7, 4.0, 60.0)]
        model = LinearGradeModel().fit(rows, [400.0, 600.0, 500.0], epochs=200, learning_rate=0.1)
        assert predict_one(model, PredictionInput(attendance=0.9, study_hours=8.0, prior_grade=80.0)) == 100.0
        assert any("clipped to 100.0" in m for m in _messages(records, logging.DEBUG))
