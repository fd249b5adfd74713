"""Tests for grade_predictor.config: precedence, typed parsing, clear errors, redacted secrets."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest

from grade_predictor.config import (
    REDACTED,
    ConfigError,
    TrainingConfig,
    build_arg_parser,
    config_sources,
    load_config,
    log_effective_config,
    resolve_config,
)

FAKE_TOKEN = "sk-test-not-a-real-key"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def json_file(tmp_path: Path) -> Path:
    """A JSON config that changes four fields."""
    settings = {"epochs": 10, "folds": 4, "learning_rate": 0.1, "log_json": True}
    return _write(tmp_path, "train.json", json.dumps(settings))


@pytest.fixture
def toml_file(tmp_path: Path) -> Path:
    """A TOML config that changes four fields."""
    return _write(tmp_path, "train.toml", 'epochs = 12\nfolds = 3\nlog_level = "debug"\nlog_json = true\n')


class TestDefaults:
    """With no file, no GP_ variables and no flags, the defaults apply."""

    def test_defaults(self) -> None:
        config = load_config(environ={})
        assert config == TrainingConfig()
        assert (config.data_seed, config.n_students, config.folds, config.epochs) == (42, 200, 5, 50)
        assert (config.learning_rate, config.model_name, config.log_level) == (0.05, "linear", "INFO")
        assert (config.log_json, config.log_file, config.malformed_fold, config.tracking_token) == (
            False,
            None,
            None,
            None,
        )

    def test_environ_none_reads_os_environ(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("GP_EPOCHS", "7")
        assert load_config().epochs == 7
        assert load_config(environ={}).epochs == 50

    def test_every_field_reports_default(self) -> None:
        assert set(config_sources(environ={}).values()) == {"default"}


class TestFileLayer:
    """A JSON or TOML file overrides the defaults and nothing else."""

    def test_json(self, json_file: Path) -> None:
        config = load_config(file=json_file, environ={})
        assert (config.epochs, config.folds, config.learning_rate, config.log_json) == (10, 4, 0.1, True)
        assert config.data_seed == 42
        assert config_sources(file=json_file, environ={})["epochs"] == f"file:{json_file}"

    def test_toml(self, toml_file: Path) -> None:
        config = load_config(file=str(toml_file), environ={})
        assert (config.epochs, config.folds, config.log_level, config.log_json) == (12, 3, "DEBUG", True)
        assert config.learning_rate == 0.05

    def test_json_null_and_string_values(self, tmp_path: Path) -> None:
        path = _write(
            tmp_path, "c.json", json.dumps({"malformed_fold": None, "log_json": "False", "epochs": "9"})
        )
        config = load_config(file=path, environ={})
        assert (config.malformed_fold, config.log_json, config.epochs) == (None, False, 9)

    def test_int_accepted_for_float(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "c.toml", "learning_rate = 1\n")
        config = load_config(file=path, environ={})
        assert config.learning_rate == 1.0 and isinstance(config.learning_rate, float)

    def test_config_flag_chooses_the_file(self, json_file: Path, toml_file: Path) -> None:
        config = load_config(file=json_file, environ={}, argv=["--config", str(toml_file)])
        assert config.epochs == 12


class TestEnvironmentLayer:
    """GP_ variables override the file and are parsed by field type, booleans explicitly."""

    def test_env_overrides_file(self, json_file: Path) -> None:
        config = load_config(file=json_file, environ={"GP_EPOCHS": "20", "GP_LOG_JSON": "false"})
        assert (config.epochs, config.log_json, config.folds) == (20, False, 4)
        sources = config_sources(file=json_file, environ={"GP_EPOCHS": "20"})
        assert sources["epochs"] == "env:GP_EPOCHS" and sources["folds"] == f"file:{json_file}"

    @pytest.mark.parametrize("text", ["false", "False", "FALSE", "0", "no", "off", " Off "])
    def test_false_values(self, text: str) -> None:
        assert load_config(environ={"GP_LOG_JSON": text}, argv=None).log_json is False

    @pytest.mark.parametrize("text", ["true", "True", "1", "yes", "ON"])
    def test_true_values(self, text: str) -> None:
        assert load_config(environ={"GP_LOG_JSON": text}).log_json is True

    def test_false_overrides_a_true_file(self, json_file: Path) -> None:
        assert load_config(file=json_file, environ={"GP_LOG_JSON": "False"}).log_json is False

    def test_numbers(self) -> None:
        config = load_config(
            environ={"GP_DATA_SEED": "-3", "GP_LEARNING_RATE": "1e-2", "GP_N_STUDENTS": " 80 "}
        )
        assert (config.data_seed, config.learning_rate, config.n_students) == (-3, 0.01, 80)

    @pytest.mark.parametrize("text", ["none", "None", "NULL", ""])
    def test_none_for_optional_fields(self, text: str, json_file: Path) -> None:
        file = _write(json_file.parent, "opt.json", json.dumps({"malformed_fold": 2, "log_file": "run.log"}))
        environ = {"GP_MALFORMED_FOLD": text, "GP_LOG_FILE": text, "GP_TRACKING_TOKEN": text}
        config = load_config(file=file, environ=environ)
        assert (config.malformed_fold, config.log_file, config.tracking_token) == (None, None, None)

    def test_optional_int_value(self) -> None:
        assert load_config(environ={"GP_MALFORMED_FOLD": "3"}).malformed_fold == 3

    def test_log_level_normalised(self) -> None:
        config = load_config(environ={"GP_LOG_LEVEL": "warning"})
        assert config.log_level == "WARNING" and config.log_level_number == logging.WARNING

    def test_other_prefixes_ignored(self) -> None:
        assert load_config(environ={"HOME": "/tmp", "GPU_COUNT": "2", "EPOCHS": "3"}) == TrainingConfig()


class TestCommandLineLayer:
    """Flags override the environment; a flag that is absent overrides nothing."""

    def test_cli_overrides_env(self) -> None:
        config = load_config(environ={"GP_EPOCHS": "20"}, argv=["--epochs", "30", "--data-seed=7"])
        assert (config.epochs, config.data_seed) == (30, 7)
        assert (
            config_sources(environ={"GP_EPOCHS": "20"}, argv=["--epochs", "30"])["epochs"] == "cli:--epochs"
        )

    def test_absent_flag_keeps_env(self) -> None:
        environ = {"GP_EPOCHS": "20", "GP_LOG_JSON": "true", "GP_MALFORMED_FOLD": "2"}
        config = load_config(environ=environ, argv=["--folds", "3"])
        assert (config.epochs, config.log_json, config.malformed_fold, config.folds) == (20, True, 2, 3)
        assert load_config(environ=environ, argv=[]) == load_config(environ=environ)

    @pytest.mark.parametrize(
        "argv",
        [["--log-json", "false"], ["--log-json", "False"], ["--log-json=0"], ["--no-log-json"]],
    )
    def test_false_flags(self, argv: list[str]) -> None:
        assert load_config(environ={"GP_LOG_JSON": "true"}, argv=argv).log_json is False

    @pytest.mark.parametrize("argv", [["--log-json"], ["--log-json", "true"], ["--log-json=YES"]])
    def test_true_flags(self, argv: list[str]) -> None:
        assert load_config(environ={"GP_LOG_JSON": "false"}, argv=argv).log_json is True

    def test_last_flag_wins_and_is_reported(self) -> None:
        argv = ["--log-json", "--no-log-json"]
        assert load_config(environ={}, argv=argv).log_json is False
        assert config_sources(environ={}, argv=argv)["log_json"] == "cli:--no-log-json"

    def test_none_and_strings(self) -> None:
        argv = ["--malformed-fold", "none", "--log-file", "logs/run.log", "--model-name", "linear"]
        config = load_config(environ={"GP_MALFORMED_FOLD": "2"}, argv=argv)
        assert (config.malformed_fold, config.log_file) == (None, "logs/run.log")

    def test_every_field_has_a_flag(self) -> None:
        help_text = build_arg_parser().format_help()
        for field in dataclasses.fields(TrainingConfig):
            assert "--" + field.name.replace("_", "-") in help_text
        assert "--no-log-json" in help_text
        assert FAKE_TOKEN not in help_text


class TestPrecedence:
    """defaults < file < environment < command line, field by field."""

    @pytest.mark.parametrize("suffix", ["json", "toml"])
    def test_all_layers(self, tmp_path: Path, suffix: str) -> None:
        text = (
            json.dumps({"epochs": 10, "folds": 4, "learning_rate": 0.1})
            if suffix == "json"
            else "epochs = 10\nfolds = 4\nlearning_rate = 0.1\n"
        )
        file = _write(tmp_path, f"c.{suffix}", text)
        resolved = resolve_config(
            file=file, environ={"GP_EPOCHS": "20", "GP_FOLDS": "3"}, argv=["--epochs", "30"]
        )
        config = resolved.config
        assert (config.data_seed, config.learning_rate, config.folds, config.epochs) == (42, 0.1, 3, 30)
        assert resolved.sources["data_seed"] == "default"
        assert resolved.sources["learning_rate"] == f"file:{file}"
        assert resolved.sources["folds"] == "env:GP_FOLDS"
        assert resolved.sources["epochs"] == "cli:--epochs"


class TestConfigErrors:
    """Every mistake is a ConfigError that says where the bad value came from."""

    def test_missing_file_names_the_path(self, tmp_path: Path) -> None:
        missing = tmp_path / "no_such_config.toml"
        with pytest.raises(ConfigError, match="config file not found") as info:
            load_config(file=missing, environ={})
        assert str(missing) in str(info.value)

    def test_unknown_key_in_file(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "c.toml", "epoch = 3\n")
        with pytest.raises(
            ConfigError, match=r"unknown key\(s\) in config file .*'epoch' \(did you mean 'epochs'\?\)"
        ):
            load_config(file=path, environ={})

    def test_unknown_gp_variable(self) -> None:
        with pytest.raises(ConfigError, match=r"GP_EPOCH \(did you mean 'GP_EPOCHS'\?\)"):
            load_config(environ={"GP_EPOCH": "3"})

    @pytest.mark.parametrize(
        ("environ", "pattern"),
        [
            ({"GP_LOG_JSON": "maybe"}, r"environment variable GP_LOG_JSON: 'maybe' is not a boolean"),
            ({"GP_EPOCHS": "ten"}, r"environment variable GP_EPOCHS: 'ten' is not an integer"),
            ({"GP_EPOCHS": "2.5"}, r"environment variable GP_EPOCHS: '2.5' is not an integer"),
            ({"GP_LEARNING_RATE": "fast"}, r"GP_LEARNING_RATE: 'fast' is not a number"),
            ({"GP_MALFORMED_FOLD": "third"}, r"GP_MALFORMED_FOLD: 'third' is not an integer or none"),
            ({"GP_EPOCHS": ""}, r"GP_EPOCHS: '' is not an integer"),
        ],
    )
    def test_env_values_that_do_not_parse(self, environ: dict[str, str], pattern: str) -> None:
        with pytest.raises(ConfigError, match=pattern):
            load_config(environ=environ)

    @pytest.mark.parametrize(
        ("argv", "pattern"),
        [
            (["--epochs", "ten"], r"command-line flag --epochs: 'ten' is not an integer"),
            (["--log-json", "perhaps"], r"command-line flag --log-json: 'perhaps' is not a boolean"),
            (["--epoch", "3"], r"command line: unrecognized arguments: --epoch 3"),
            (["--epochs"], r"command line: argument --epochs"),
        ],
    )
    def test_cli_values_that_do_not_parse(self, argv: list[str], pattern: str) -> None:
        with pytest.raises(ConfigError, match=pattern):
            load_config(environ={}, argv=argv)

    @pytest.mark.parametrize(
        ("text", "pattern"),
        [
            ('epochs = "ten"\n', r"key 'epochs': 'ten' is not an integer"),
            ("epochs = 1.5\n", r"key 'epochs': expected an integer, got float 1.5"),
            ("log_json = 1\n", r"key 'log_json': expected a boolean, got int 1"),
            ("model_name = 3\n", r"key 'model_name': expected a string, got int 3"),
            ("epochs = \n", r"is not valid TOML"),
        ],
    )
    def test_file_values_that_do_not_parse(self, tmp_path: Path, text: str, pattern: str) -> None:
        path = _write(tmp_path, "c.toml", text)
        with pytest.raises(ConfigError, match=pattern) as info:
            load_config(file=path, environ={})
        assert str(path) in str(info.value)

    def test_invalid_json(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="is not valid JSON"):
            load_config(file=_write(tmp_path, "c.json", "{epochs: 3}"), environ={})
        with pytest.raises(ConfigError, match="must hold an object"):
            load_config(file=_write(tmp_path, "d.json", "[1, 2]"), environ={})

    @pytest.mark.parametrize("name", ["train.yaml", "train.ini", "train"])
    def test_unsupported_suffix(self, tmp_path: Path, name: str) -> None:
        path = _write(tmp_path, name, "epochs: 3\n")
        with pytest.raises(ConfigError, match=r"unsupported config file type .*use \.json or \.toml"):
            load_config(file=path, environ={})

    @pytest.mark.parametrize(
        ("environ", "pattern"),
        [
            ({"GP_FOLDS": "1"}, r"folds must be at least 2, got 1 \(folds from env:GP_FOLDS\)"),
            (
                {"GP_LOG_LEVEL": "LOUD"},
                r"log_level must be one of .* got 'LOUD' \(log_level from env:GP_LOG_LEVEL\)",
            ),
            ({"GP_MALFORMED_FOLD": "6"}, r"malformed_fold must be between 1 and folds \(5\), got 6"),
            ({"GP_N_STUDENTS": "3"}, r"n_students \(3\) must be at least folds \(5\)"),
            ({"GP_LEARNING_RATE": "-0.1"}, r"learning_rate must be a positive number"),
            ({"GP_LEARNING_RATE": "nan"}, r"learning_rate must be a positive number"),
            ({"GP_EPOCHS": "0"}, r"epochs must be at least 1"),
        ],
    )
    def test_values_out_of_range(self, environ: dict[str, str], pattern: str) -> None:
        with pytest.raises(ConfigError, match=pattern):
            load_config(environ=environ)

    def test_is_a_value_error_and_never_exits(self) -> None:
        with pytest.raises(ValueError):
            load_config(environ={}, argv=["--bogus"])


class TestTrainingConfig:
    """TrainingConfig is frozen, keyword-only and validates its own values."""

    def test_frozen(self) -> None:
        with pytest.raises(dataclasses.FrozenInstanceError):
            TrainingConfig().epochs = 3  # type: ignore[misc]

    def test_keyword_only(self) -> None:
        with pytest.raises(TypeError):
            TrainingConfig(42)  # type: ignore[misc]

    @pytest.mark.parametrize(
        "fields", [{"epochs": True}, {"epochs": "50"}, {"log_json": "false"}, {"learning_rate": None}]
    )
    def test_types_checked(self, fields: dict[str, object]) -> None:
        with pytest.raises(ConfigError, match="expected"):
            TrainingConfig(**fields)  # type: ignore[arg-type]


class TestSecrets:
    """The tracking token never appears in clear in a log dict, a repr, a log line or an error."""

    def test_as_log_dict(self) -> None:
        config = TrainingConfig(tracking_token=FAKE_TOKEN)
        shown = config.as_log_dict()
        assert shown["tracking_token"] == REDACTED == "***"
        assert shown["epochs"] == 50
        assert set(shown) == {f.name for f in dataclasses.fields(TrainingConfig)}
        assert config.tracking_token == FAKE_TOKEN
        assert TrainingConfig().as_log_dict()["tracking_token"] is None

    def test_repr(self) -> None:
        text = repr(load_config(environ={"GP_TRACKING_TOKEN": FAKE_TOKEN}))
        assert FAKE_TOKEN not in text and "tracking_token='***'" in text

    def test_logged_line(self, caplog: pytest.LogCaptureFixture) -> None:
        config = load_config(environ={"GP_TRACKING_TOKEN": FAKE_TOKEN}, argv=["--epochs", "3"])
        with caplog.at_level(logging.INFO, logger="grade_predictor.config"):
            log_effective_config(config)
        assert len(caplog.records) == 1
        record = caplog.records[0]
        assert record.levelno == logging.INFO and record.name == "grade_predictor.config"
        message = record.getMessage()
        assert FAKE_TOKEN not in message and '"tracking_token": "***"' in message and '"epochs": 3' in message
        assert record.config["tracking_token"] == "***"  # type: ignore[attr-defined]
        assert FAKE_TOKEN not in caplog.text

    def test_custom_logger(self, caplog: pytest.LogCaptureFixture) -> None:
        with caplog.at_level(logging.INFO, logger="my_app"):
            log_effective_config(
                TrainingConfig(tracking_token=FAKE_TOKEN), logger=logging.getLogger("my_app")
            )
        assert [r.name for r in caplog.records] == ["my_app"]
        assert FAKE_TOKEN not in caplog.text

    def test_not_in_errors(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "c.json", json.dumps({"tracking_token": 12345678}))
        with pytest.raises(ConfigError) as info:
            load_config(file=path, environ={})
        assert "12345678" not in str(info.value) and "***" in str(info.value)
