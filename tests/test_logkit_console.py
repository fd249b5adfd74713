"""Tests for logkit.console: ColourFormatter and configure()."""

from __future__ import annotations

import io
import logging
import re
import sys
from pathlib import Path

import pytest

from logkit.console import (
    CONSOLE_HANDLER_NAME,
    FILE_HANDLER_NAME,
    ColourFormatter,
    IsoFormatter,
    configure,
    parse_level,
)

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class TtyStream(io.StringIO):
    """A StringIO that claims to be a terminal."""

    def isatty(self) -> bool:
        return True


def _record(level: int = logging.INFO, msg: str = "hello %s", args: tuple = ("world",)) -> logging.LogRecord:
    return logging.LogRecord("grade_predictor.model", level, __file__, 10, msg, args, None)


def _own_handlers() -> list[logging.Handler]:
    names = (CONSOLE_HANDLER_NAME, FILE_HANDLER_NAME)
    return [h for h in logging.getLogger().handlers if h.get_name() in names]


class TestColourFormatter:
    """The console formatter colours the level name only, and only where wanted."""

    def test_colours_level_name_on_a_tty(self) -> None:
        line = ColourFormatter(stream=TtyStream()).format(_record())
        assert "\x1b[32mINFO\x1b[0m" in line
        assert line.endswith("grade_predictor.model: hello world")

    def test_no_colour_when_stream_is_not_a_tty(self) -> None:
        line = ColourFormatter(stream=io.StringIO()).format(_record())
        assert not ANSI.search(line)
        assert line == "INFO     grade_predictor.model: hello world"

    def test_use_colour_overrides_the_stream(self) -> None:
        assert ANSI.search(ColourFormatter(use_colour=True, stream=io.StringIO()).format(_record()))
        assert not ANSI.search(ColourFormatter(use_colour=False, stream=TtyStream()).format(_record()))

    def test_no_color_environment_variable_disables_colour(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("NO_COLOR", "1")
        assert not ColourFormatter(stream=TtyStream()).use_colour

    def test_record_is_never_modified(self) -> None:
        record = _record(logging.WARNING)
        before = dict(vars(record))
        ColourFormatter(use_colour=True).format(record)
        assert record.levelname == "WARNING"
        assert {k: v for k, v in vars(record).items() if k in before} == before

    def test_padding_counts_visible_characters_only(self) -> None:
        line = ColourFormatter("%(levelname)-8s|%(message)s", use_colour=True).format(_record())
        assert ANSI.sub("", line) == "INFO    |hello world"

    def test_brace_style_alignment(self) -> None:
        fmt = ColourFormatter("{levelname:>8}|{message}", style="{", use_colour=True)
        assert ANSI.sub("", fmt.format(_record())) == "    INFO|hello world"

    @pytest.mark.parametrize("use_colour", [True, False])
    def test_defaults_fill_missing_fields(self, use_colour: bool) -> None:
        fmt = ColourFormatter(
            "%(levelname)s fold=%(fold)s %(message)s", use_colour=use_colour, defaults={"fold": "-"}
        )
        assert ANSI.sub("", fmt.format(_record())) == "INFO fold=- hello world"

    def test_exception_text_still_included(self) -> None:
        try:
            raise ValueError("shape mismatch")
        except ValueError:
            record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
        line = ColourFormatter(use_colour=True).format(record)
        assert "ValueError: shape mismatch" in line


class TestIsoFormatter:
    """The detailed formatter writes ISO 8601 timestamps."""

    def test_asctime_is_iso_8601_with_offset(self) -> None:
        line = IsoFormatter("%(asctime)s").format(_record())
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", line)


class TestConfigure:
    """configure() sets up console and file output on the root logger, idempotently."""

    def test_calling_twice_writes_each_record_once(self, tmp_path: Path) -> None:
        stream = io.StringIO()
        log_file = tmp_path / "run.log"
        configure(stream=stream, log_file=log_file)
        configure(stream=stream, log_file=log_file)
        logging.getLogger("grade_predictor.model").info("fold %d done", 3)
        assert stream.getvalue().count("fold 3 done") == 1
        assert log_file.read_text(encoding="utf-8").count("fold 3 done") == 1
        assert len(_own_handlers()) == 2

    def test_second_call_replaces_settings(self, tmp_path: Path) -> None:
        configure(stream=io.StringIO(), log_file=tmp_path / "a.log")
        stream = io.StringIO()
        configure(console_level="warning", stream=stream)
        logging.getLogger("x").warning("only console")
        assert len(_own_handlers()) == 1
        assert "only console" in stream.getvalue()
        assert "only console" not in (tmp_path / "a.log").read_text(encoding="utf-8")

    def test_debug_reaches_file_but_not_info_console(self, tmp_path: Path) -> None:
        stream = io.StringIO()
        log_file = tmp_path / "run.log"
        configure(console_level=logging.INFO, log_file=log_file, file_level=logging.DEBUG, stream=stream)
        log = logging.getLogger("grade_predictor.data")
        log.debug("gradient norm %.4f", 0.0023)
        log.info("loaded %d rows", 120)
        text = log_file.read_text(encoding="utf-8")
        assert "gradient norm 0.0023" in text
        assert "loaded 120 rows" in text
        assert "gradient norm" not in stream.getvalue()
        assert "loaded 120 rows" in stream.getvalue()

    def test_file_line_has_the_detailed_fields(self, tmp_path: Path) -> None:
        log_file = tmp_path / "run.log"
        configure(log_file=log_file, stream=io.StringIO())

        def fit_model() -> None:
            logging.getLogger("grade_predictor.model").info("fitting")

        fit_model()
        line = log_file.read_text(encoding="utf-8").strip()
        pattern = r"\d{4}-\d\d-\d\dT\S+ INFO +grade_predictor\.model fit_model:\d+ fitting"
        assert re.fullmatch(pattern, line), line

    def test_no_ansi_codes_in_the_file_when_console_is_a_tty(self, tmp_path: Path) -> None:
        stream = TtyStream()
        log_file = tmp_path / "run.log"
        configure(log_file=log_file, stream=stream)
        log = logging.getLogger("grade_predictor")
        for level in (logging.INFO, logging.WARNING, logging.ERROR):
            log.log(level, "message at %s", logging.getLevelName(level))
        assert ANSI.search(stream.getvalue()), "the TTY console should be coloured"
        assert not ANSI.search(log_file.read_text(encoding="utf-8"))

    def test_no_ansi_codes_reach_a_handler_added_after_the_console(self) -> None:
        configure(stream=TtyStream())
        later = io.StringIO()
        other = logging.StreamHandler(later)
        other.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        logging.getLogger().addHandler(other)
        logging.getLogger("x").warning("careful")
        assert later.getvalue() == "WARNING careful\n"

    def test_other_handlers_are_left_alone(self) -> None:
        foreign = logging.StreamHandler(io.StringIO())
        logging.getLogger().addHandler(foreign)
        configure(stream=io.StringIO())
        configure(stream=io.StringIO())
        assert foreign in logging.getLogger().handlers
        assert foreign.stream is not None
        assert not foreign.stream.closed

    def test_root_level_is_lowest_level_a_handler_needs(self, tmp_path: Path) -> None:
        configure(console_level="INFO", stream=io.StringIO())
        assert logging.getLogger().level == logging.INFO
        configure(console_level="INFO", log_file=tmp_path / "r.log", file_level="DEBUG", stream=io.StringIO())
        assert logging.getLogger().level == logging.DEBUG
        configure("ERROR", tmp_path / "r.log", "WARNING", stream=io.StringIO())
        assert logging.getLogger().level == logging.WARNING

    def test_parent_folder_is_created(self, tmp_path: Path) -> None:
        log_file = tmp_path / "logs" / "nested" / "run.log"
        configure(log_file=log_file, stream=io.StringIO())
        logging.getLogger("x").info("hi")
        assert log_file.exists()

    def test_replaced_file_handler_is_closed(self, tmp_path: Path) -> None:
        configure(log_file=tmp_path / "a.log", stream=io.StringIO())
        (old,) = [h for h in _own_handlers() if isinstance(h, logging.FileHandler)]
        configure(log_file=tmp_path / "b.log", stream=io.StringIO())
        assert old.stream is None  # FileHandler.close() drops its stream

    def test_default_stream_is_stdout(self, capsys: pytest.CaptureFixture[str]) -> None:
        configure()
        logging.getLogger("x").info("to stdout")
        captured = capsys.readouterr()
        assert "to stdout" in captured.out
        assert captured.err == ""


class TestParseLevel:
    """Levels may be given as numbers or names in any case."""

    @pytest.mark.parametrize(("given", "expected"), [(10, 10), ("info", 20), ("WARNING", 30), ("40", 40)])
    def test_known_levels(self, given: int | str, expected: int) -> None:
        assert parse_level(given) == expected

    def test_unknown_name_raises_with_the_choices(self) -> None:
        with pytest.raises(ValueError, match=r"unknown logging level 'verbose'.*DEBUG"):
            parse_level("verbose")
