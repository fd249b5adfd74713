"""Tests of the loguru experiment script: end to end in a subprocess, and its pieces in-process."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

import apps.experiment as experiment
from apps.loguru_setup import DEFAULT_EXTRA, InterceptHandler, configure_loguru, shutdown_loguru
from apps.provenance import code_version

REPO_ROOT = Path(__file__).resolve().parent.parent
FAKE_TOKEN = "sk-test-not-a-real-key-0123456789"
# Small enough that a run takes well under a second of work.
SMALL_RUN = ["--n-students", "40", "--epochs", "3"]
LINE_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \| ")


def run_script(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run ``python -m apps.experiment`` in ``tmp_path`` with a clean ``GP_*`` environment."""
    log_file = tmp_path / "run.log"
    environ = {key: value for key, value in os.environ.items() if not key.startswith("GP_")}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), environ.get("PYTHONPATH")]))
    environ.update(env or {})
    completed = subprocess.run(
        [sys.executable, "-m", "apps.experiment", *SMALL_RUN, "--log-file", str(log_file), *args],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return completed, log_file


def entries(text: str) -> list[str]:
    """Split a text log into entries: a line that starts with a timestamp plus its traceback lines."""
    result: list[str] = []
    for line in text.splitlines():
        if LINE_START.match(line) or not result:
            result.append(line)
        else:
            result[-1] += "\n" + line
    return result


class TestTextRun:
    """A run with one malformed fold, text format, secret in the environment."""

    @pytest.fixture(scope="class")
    def run(self, tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], str]:
        tmp_path = tmp_path_factory.mktemp("text_run")
        completed, log_file = run_script(
            tmp_path, "--folds", "3", "--malformed-fold", "2", env={"GP_TRACKING_TOKEN": FAKE_TOKEN}
        )
        return completed, log_file.read_text(encoding="utf-8")

    def test_exit_code_is_zero_with_one_failing_fold(self, run: tuple[Any, str]) -> None:
        """One failed fold out of three is a result, not a crash."""
        completed, _ = run
        assert completed.returncode == 0, completed.stderr

    def test_nothing_goes_to_stderr(self, run: tuple[Any, str]) -> None:
        """Every line goes through the sinks; loguru's default stderr sink is gone."""
        completed, _ = run
        assert completed.stderr == ""

    def test_file_holds_library_and_script_lines(self, run: tuple[Any, str]) -> None:
        """The intercept handler brings grade_predictor's stdlib records into the same file."""
        _, text = run
        assert re.search(r"\| grade_predictor\.evaluate:cross_validate:\d+ - cross-validation started", text)
        assert re.search(r"\| grade_predictor\.model:fit:\d+ - model linear-v1 fitted", text)
        assert re.search(r"\| __main__:_log_run_start:\d+ - run \S+ started", text)
        assert re.search(r"\| __main__:_log_summary:\d+ - run finished: mean MAE [\d.]+ over 2/3 folds", text)

    def test_failing_fold_is_logged_with_traceback(self, run: tuple[Any, str]) -> None:
        """The library's logger.exception arrives at ERROR with the traceback, inside fold 2."""
        _, text = run
        errors = [entry for entry in entries(text) if "| ERROR    |" in entry]
        assert len(errors) == 1, errors
        (error,) = errors
        assert "fold=2 " in error
        assert "fold 2 failed: shape mismatch" in error
        assert "Traceback (most recent call last):" in error
        assert "grade_predictor.model.ModelShapeError: shape mismatch" in error

    def test_run_id_on_every_line(self, run: tuple[Any, str]) -> None:
        """Script and library lines all carry the same, real run id."""
        _, text = run
        run_ids = {re.search(r"\| run=(\S+) ", entry).group(1) for entry in entries(text)}  # type: ignore[union-attr]
        assert len(run_ids) == 1
        assert run_ids != {"-"}

    def test_fold_on_fold_lines_and_dash_elsewhere(self, run: tuple[Any, str]) -> None:
        """Lines logged inside a fold carry its number; lines outside carry the default '-'."""
        _, text = run
        for entry in entries(text):
            started = re.search(r"fold (\d+) (started|finished|failed)", entry)
            if started:
                assert f"fold={started.group(1)} " in entry, entry
            if "cross-validation started" in entry or "run finished" in entry:
                assert "fold=- " in entry, entry

    def test_provenance_is_logged_at_startup(self, run: tuple[Any, str]) -> None:
        """Seed, effective configuration and code version come before any fold."""
        _, text = run
        before_folds = text.split("fold 1 started")[0]
        assert "seed: 42" in before_folds
        assert re.search(r'effective configuration: \{.*"folds": 3', before_folds)
        assert re.search(r"code version: ([0-9a-f]{40}|unknown)\n", before_folds)

    def test_secret_never_appears(self, run: tuple[Any, str]) -> None:
        """The tracking token given via GP_TRACKING_TOKEN is masked in file and stdout."""
        completed, text = run
        assert "tracking_token" in text  # the setting is shown...
        assert FAKE_TOKEN not in text  # ...its value is not
        assert FAKE_TOKEN not in completed.stdout
        assert FAKE_TOKEN not in completed.stderr

    def test_stdout_sink_shows_info_and_above(self, run: tuple[Any, str]) -> None:
        """The console gets the INFO lines; the DEBUG detail stays in the file."""
        completed, text = run
        assert "run finished: mean MAE" in completed.stdout
        assert "| DEBUG    |" in text
        assert "| DEBUG    |" not in completed.stdout


class TestJsonRun:
    """``--log-json`` turns both sinks into JSON lines (loguru's serialize=True)."""

    @pytest.fixture(scope="class")
    def run(self, tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], str]:
        tmp_path = tmp_path_factory.mktemp("json_run")
        completed, log_file = run_script(tmp_path, "--folds", "3", "--malformed-fold", "3", "--log-json")
        return completed, log_file.read_text(encoding="utf-8")

    def test_every_line_is_json_with_run_id(self, run: tuple[Any, str]) -> None:
        """File and stdout lines parse as JSON and carry record.extra.run_id."""
        completed, text = run
        assert completed.returncode == 0, completed.stderr
        for source in (text, completed.stdout):
            records = [json.loads(line)["record"] for line in source.splitlines()]
            assert records
            assert {r["extra"]["run_id"] for r in records} != {"-"}
            assert len({r["extra"]["run_id"] for r in records}) == 1

    def test_library_records_and_fold_context(self, run: tuple[Any, str]) -> None:
        """Library records keep their module name; fold records carry extra.fold."""
        _, text = run
        records = [json.loads(line)["record"] for line in text.splitlines()]
        library = [r for r in records if r["name"].startswith("grade_predictor.")]
        assert {r["name"] for r in library} >= {"grade_predictor.evaluate", "grade_predictor.model"}
        started = [r for r in records if re.match(r"fold \d+ started", r["message"])]
        assert [r["extra"]["fold"] for r in started] == [1, 2, 3]
        failed = [r for r in records if r["level"]["name"] == "ERROR"]
        assert [r["extra"]["fold"] for r in failed] == [3]
        assert failed[0]["exception"]["type"] == "ModelShapeError"

    def test_summary_carries_structured_fields(self, run: tuple[Any, str]) -> None:
        """The last record is the summary, with mean_mae and failed_folds as data."""
        _, text = run
        last = json.loads(text.splitlines()[-1])["record"]
        assert last["message"].startswith("run finished")
        assert last["extra"]["failed_folds"] == [3]
        assert last["extra"]["n_folds"] == 3
        assert isinstance(last["extra"]["mean_mae"], float)


@pytest.mark.parametrize(
    ("file_folds", "env_folds", "cli_folds", "expected"),
    [
        (None, "3", None, 3),  # environment over the default (5)
        (None, "3", "4", 4),  # flag over the environment
        ("2", None, None, 2),  # file over the default
        ("2", "3", None, 3),  # environment over the file
    ],
)
def test_config_precedence_reaches_the_script(
    tmp_path: Path, file_folds: str | None, env_folds: str | None, cli_folds: str | None, expected: int
) -> None:
    """defaults < --config file < GP_* < flags decides how many folds actually run."""
    args = ["--log-json"]
    if file_folds is not None:
        config = tmp_path / "config.toml"
        config.write_text(f"folds = {file_folds}\n", encoding="utf-8")
        args += ["--config", str(config)]
    if cli_folds is not None:
        args += ["--folds", cli_folds]
    completed, log_file = run_script(tmp_path, *args, env={"GP_FOLDS": env_folds} if env_folds else {})
    assert completed.returncode == 0, completed.stderr
    last = json.loads(log_file.read_text(encoding="utf-8").splitlines()[-1])["record"]
    assert last["extra"]["n_folds"] == expected


def test_invalid_configuration_exits_2_before_logging(tmp_path: Path) -> None:
    """A bad value is reported on stderr with its source; no log file is started."""
    completed, log_file = run_script(tmp_path, env={"GP_FOLDS": "three"})
    assert completed.returncode == 2
    assert "GP_FOLDS" in completed.stderr
    assert not log_file.exists()


class TestInProcess:
    """The script's behaviour on errors, and the set-up helpers, without a subprocess."""

    @pytest.fixture(autouse=True)
    def _no_gp_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for key in [key for key in os.environ if key.startswith("GP_")]:
            monkeypatch.delenv(key)

    def test_uncaught_error_is_logged_and_exits_1(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """logger.catch(reraise=True): the traceback is logged and the exit code is not 0."""

        def broken_cross_validate(*args: object, **kwargs: object) -> None:
            raise RuntimeError("disk full while writing a checkpoint")

        monkeypatch.setattr(experiment, "cross_validate", broken_cross_validate)
        log_file = tmp_path / "crash.log"
        code = experiment.main([*SMALL_RUN, "--log-file", str(log_file)])
        assert code == 1
        text = log_file.read_text(encoding="utf-8")
        assert "run failed with an uncaught exception" in text
        assert "RuntimeError: disk full while writing a checkpoint" in text
        assert "run finished" not in text
        assert "run failed with an uncaught exception" in capsys.readouterr().out

    def test_tracebacks_do_not_show_local_variables(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """diagnose=False: a secret held in a local variable stays out of the traceback."""
        password = "correct-horse-battery-staple-fake"

        def connect(login: str) -> None:
            raise ConnectionError("database refused the login")

        def make_students_with_a_secret(*args: object, **kwargs: object) -> None:
            db_login = password  # a local that loguru's diagnose=True would print
            connect(db_login)

        monkeypatch.setattr(experiment, "make_students", make_students_with_a_secret)
        log_file = tmp_path / "crash.log"
        assert experiment.main([*SMALL_RUN, "--log-file", str(log_file)]) == 1
        text = log_file.read_text(encoding="utf-8")
        assert "ConnectionError: database refused the login" in text
        assert password not in text

    def test_enqueued_lines_are_flushed_before_main_returns(self, tmp_path: Path) -> None:
        """shutdown_loguru drains the file sink's queue: the summary is in the file at once."""
        log_file = tmp_path / "run.log"
        assert experiment.main([*SMALL_RUN, "--folds", "2", "--log-file", str(log_file)]) == 0
        assert "run finished: mean MAE" in log_file.read_text(encoding="utf-8").splitlines()[-1]

    def test_main_leaves_no_sinks_behind(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """After main() the file is closed and the stdlib root no longer forwards to loguru."""
        log_file = tmp_path / "run.log"
        assert experiment.main([*SMALL_RUN, "--folds", "2", "--log-file", str(log_file)]) == 0
        capsys.readouterr()
        logger.info("logged after main returned")
        logging.getLogger("grade_predictor").warning("stdlib record after main returned")
        assert "after main returned" not in log_file.read_text(encoding="utf-8")
        assert "after main returned" not in capsys.readouterr().out
        assert not any(isinstance(h, InterceptHandler) for h in logging.getLogger().handlers)

    def test_default_extra_keeps_the_format_working_outside_a_run(self) -> None:
        """A record with no bound context still formats, with '-' for run, fold and model."""
        console = io.StringIO()
        configure_loguru(console=console)
        try:
            logger.info("outside any run")
        finally:
            shutdown_loguru()
        line = console.getvalue()
        assert "run=- fold=- model=- |" in line
        assert line.rstrip().endswith("- outside any run")
        assert dict(DEFAULT_EXTRA) == {"run_id": "-", "fold": "-", "model": "-"}

    def test_intercept_handler_maps_level_and_finds_the_caller(self) -> None:
        """A stdlib record arrives at loguru's matching level, attributed to the function that logged it."""
        seen: list[dict[str, Any]] = []
        configure_loguru(console=io.StringIO(), level="DEBUG")
        logger.add(lambda message: seen.append(message.record), level=0)
        try:
            logging.getLogger("grade_predictor.fake").warning("%d rows clipped", 3)
            logging.getLogger("grade_predictor.fake").log(15, "a level loguru has no name for")
        finally:
            shutdown_loguru()
        warning, custom = seen
        assert (warning["level"].name, warning["message"]) == ("WARNING", "3 rows clipped")
        assert warning["function"] == "test_intercept_handler_maps_level_and_finds_the_caller"
        assert warning["file"].name == "test_experiment.py"
        assert custom["level"].no == 15

    def test_shutdown_detaches_from_stdlib_logging(self) -> None:
        """After shutdown the root logger no longer forwards to loguru."""
        configure_loguru(console=io.StringIO())
        assert any(isinstance(h, InterceptHandler) for h in logging.getLogger().handlers)
        shutdown_loguru()
        assert not any(isinstance(h, InterceptHandler) for h in logging.getLogger().handlers)

    def test_code_version_outside_a_checkout_is_unknown(self, tmp_path: Path) -> None:
        """No git repository: the version is 'unknown', not an exception."""
        assert code_version(tmp_path) == "unknown"

    def test_code_version_in_this_checkout_is_the_head_commit(self) -> None:
        """In the course's own checkout the version is HEAD's SHA."""

        def head() -> str:
            return subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
            ).stdout.strip()

        before = head()
        if not before:
            pytest.skip("not running from a git checkout")
        version = code_version(REPO_ROOT)
        assert version in {before, head()}  # someone may commit in between
