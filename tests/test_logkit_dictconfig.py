"""Tests for logkit.dictconfig: rotating files through dictConfig."""

from __future__ import annotations

import json
import logging
import logging.config
from pathlib import Path

import pytest

from logkit.dictconfig import RunIdFilter, apply_rotating_config, rotating_config, timed_rotating_config


def _flush() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    """A log folder that does not exist yet."""
    return tmp_path / "logs" / "run"


class TestRotatingConfig:
    """The dict has the right shape and is plain data."""

    def test_shape(self, tmp_path: Path) -> None:
        config = rotating_config(tmp_path, run_id="r-1")
        assert config["disable_existing_loggers"] is False
        assert "propagate" not in config["root"]
        assert config["root"]["level"] == logging.INFO
        handlers = config["handlers"]
        assert handlers["console"]["stream"] == "ext://sys.stdout"
        assert handlers["info_file"]["level"] == "INFO"
        assert handlers["error_file"]["level"] == "ERROR"
        assert handlers["info_file"]["maxBytes"] == 10 * 1024 * 1024
        assert config["filters"]["run_id"]["()"] == "logkit.dictconfig.RunIdFilter"

    def test_is_json_serialisable(self, tmp_path: Path) -> None:
        json.dumps(rotating_config(tmp_path))

    def test_fresh_run_id_when_none_given(self, tmp_path: Path) -> None:
        first = rotating_config(tmp_path)["filters"]["run_id"]["run_id"]
        second = rotating_config(tmp_path)["filters"]["run_id"]["run_id"]
        assert first != second

    def test_console_level_below_info_lowers_the_root(self, tmp_path: Path) -> None:
        assert rotating_config(tmp_path, console_level="DEBUG")["root"]["level"] == logging.DEBUG

    def test_timed_variant(self, tmp_path: Path) -> None:
        handler = timed_rotating_config(tmp_path, when="H", backup_count=3)["handlers"]["info_file"]
        assert handler["class"] == "logging.handlers.TimedRotatingFileHandler"
        assert (handler["when"], handler["backupCount"]) == ("H", 3)


class TestApplyRotatingConfig:
    """Applying the config routes records by level, keeps old loggers and rotates by size."""

    def test_folder_is_created(self, log_dir: Path) -> None:
        assert not log_dir.exists()
        apply_rotating_config(log_dir)
        assert (log_dir / "info.log").exists()
        assert (log_dir / "error.log").exists()

    def test_plain_dictconfig_fails_without_the_folder(self, log_dir: Path) -> None:
        with pytest.raises(ValueError, match="Unable to configure handler"):
            logging.config.dictConfig(rotating_config(log_dir))

    def test_levels_reach_the_right_files(self, log_dir: Path) -> None:
        apply_rotating_config(log_dir, run_id="r-9")
        log = logging.getLogger("grade_predictor.train")
        log.debug("debug detail")
        log.info("info line")
        log.error("error line")
        _flush()
        info = (log_dir / "info.log").read_text(encoding="utf-8")
        error = (log_dir / "error.log").read_text(encoding="utf-8")
        assert "debug detail" not in info
        assert "info line" in info
        assert "error line" in info
        assert "error line" in error
        assert "info line" not in error
        assert all("run=r-9" in line for line in info.splitlines())

    def test_console_goes_to_stdout(self, log_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
        apply_rotating_config(log_dir, console_level="WARNING")
        logging.getLogger("x").info("quiet")
        logging.getLogger("x").warning("loud")
        captured = capsys.readouterr()
        assert "loud" in captured.out
        assert "quiet" not in captured.out
        assert captured.err == ""

    def test_logger_created_before_is_not_disabled(self, log_dir: Path) -> None:
        early = logging.getLogger("grade_predictor.early_module")
        apply_rotating_config(log_dir)
        early.warning("still here")
        _flush()
        assert not early.disabled
        assert "still here" in (log_dir / "info.log").read_text(encoding="utf-8")

    def test_rollover_at_max_bytes(self, log_dir: Path) -> None:
        apply_rotating_config(log_dir, max_bytes=2000, backup_count=2)
        log = logging.getLogger("x")
        for i in range(100):
            log.info("line %03d %s", i, "x" * 40)
        _flush()
        files = sorted(p.name for p in log_dir.glob("info.log*"))
        assert files == ["info.log", "info.log.1", "info.log.2"]
        for name in files:
            assert (log_dir / name).stat().st_size <= 2000
        assert "line 099" in (log_dir / "info.log").read_text(encoding="utf-8")


class TestRunIdFilter:
    """RunIdFilter stamps records but keeps a run_id given with extra=."""

    def test_adds_and_keeps(self) -> None:
        flt = RunIdFilter("r-1")
        plain = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
        given = logging.makeLogRecord({"msg": "m", "run_id": "r-2"})
        assert flt.filter(plain)
        assert flt.filter(given)
        assert (plain.run_id, given.run_id) == ("r-1", "r-2")
