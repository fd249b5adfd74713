"""Training configuration from defaults, a file, the environment and the command line.

Precedence, lowest to highest::

    defaults  <  file (JSON or TOML)  <  environment (GP_*)  <  command-line flags

Values are parsed from the field annotations of :class:`TrainingConfig`, booleans
explicitly (``bool("False")`` is ``True``, so it is never used). Every mistake is a
:class:`ConfigError` that names where the bad value came from: a missing file, an
unknown key or ``GP_`` variable, a value that does not parse. Nothing is skipped
silently. Secrets (``tracking_token``) never appear in logs, reprs or error messages.
"""

import argparse
import dataclasses
import difflib
import json
import logging
import math
import os
import tomllib
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ENV_PREFIX",
    "LOG_LEVELS",
    "REDACTED",
    "SECRET_FIELDS",
    "ConfigError",
    "ResolvedConfig",
    "TrainingConfig",
    "build_arg_parser",
    "config_sources",
    "load_config",
    "log_effective_config",
    "resolve_config",
]

logger = logging.getLogger(__name__)

ENV_PREFIX = "GP_"
"""Prefix of the environment variables read by :func:`load_config` (``GP_EPOCHS``)."""
SECRET_FIELDS = frozenset({"tracking_token"})
"""Fields whose values are replaced by :data:`REDACTED` wherever a config is shown."""
REDACTED = "***"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_NONE = frozenset({"none", "null", ""})


class ConfigError(ValueError):
    """A configuration value is missing, unknown or invalid.

    Attributes:
        fields: the configuration fields the error is about (may be empty).
    """

    def __init__(self, message: str, *, fields: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.fields = tuple(fields)


@dataclass(frozen=True, kw_only=True, repr=False)
class TrainingConfig:
    """Everything a training run needs to know, validated on construction.

    Raises:
        ConfigError: if a value has the wrong type or is out of range.
    """

    data_seed: int = dataclasses.field(default=42, metadata={"help": "seed of the synthetic students"})
    n_students: int = dataclasses.field(default=200, metadata={"help": "number of students"})
    folds: int = dataclasses.field(default=5, metadata={"help": "cross-validation folds"})
    epochs: int = dataclasses.field(default=50, metadata={"help": "gradient-descent epochs per fold"})
    learning_rate: float = dataclasses.field(default=0.05, metadata={"help": "gradient-descent step size"})
    model_name: str = dataclasses.field(default="linear", metadata={"help": "model to train"})
    log_level: str = dataclasses.field(default="INFO", metadata={"help": "console log level"})
    log_json: bool = dataclasses.field(default=False, metadata={"help": "log JSON lines instead of text"})
    log_file: str | None = dataclasses.field(default=None, metadata={"help": "also log to this file"})
    malformed_fold: int | None = dataclasses.field(
        default=None, metadata={"help": "fold whose rows lose a column (to reproduce the failure)"}
    )
    tracking_token: str | None = dataclasses.field(
        default=None,
        metadata={"help": "experiment-tracker token (secret: prefer the environment, flags show in `ps`)"},
    )

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            checked = _check_native(field.name, value, f"TrainingConfig.{field.name}")
            if checked is not value:
                object.__setattr__(self, field.name, checked)
        object.__setattr__(self, "log_level", self.log_level.upper())
        self._validate()

    def _validate(self) -> None:
        def fail(message: str, *fields: str) -> None:
            raise ConfigError(message, fields=fields)

        if self.folds < 2:
            fail(f"folds must be at least 2, got {self.folds}", "folds")
        if self.n_students < self.folds:
            fail(
                f"n_students ({self.n_students}) must be at least folds ({self.folds})", "n_students", "folds"
            )
        if self.epochs < 1:
            fail(f"epochs must be at least 1, got {self.epochs}", "epochs")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            fail(f"learning_rate must be a positive number, got {self.learning_rate}", "learning_rate")
        if not self.model_name:
            fail("model_name must not be empty", "model_name")
        if self.log_level not in LOG_LEVELS:
            fail(f"log_level must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}", "log_level")
        if self.log_file == "":
            fail("log_file must be a path or None, not an empty string", "log_file")
        if self.malformed_fold is not None and not 1 <= self.malformed_fold <= self.folds:
            fail(
                f"malformed_fold must be between 1 and folds ({self.folds}), got {self.malformed_fold}",
                "malformed_fold",
                "folds",
            )

    def __repr__(self) -> str:
        items = ", ".join(f"{key}={value!r}" for key, value in self.as_log_dict().items())
        return f"{type(self).__name__}({items})"

    @property
    def log_level_number(self) -> int:
        """The numeric level of :attr:`log_level` (``logging.INFO`` for ``"INFO"``)."""
        return logging.getLevelNamesMapping()[self.log_level]

    def as_log_dict(self) -> dict[str, Any]:
        """The fields as a dict, secrets that are set replaced by ``"***"``."""
        return {
            field.name: _shown(field.name, getattr(self, field.name)) for field in dataclasses.fields(self)
        }


@dataclass(frozen=True)
class ResolvedConfig:
    """A configuration and, for each field, the source that set it.

    ``sources`` maps a field name to ``"default"``, ``"file:<path>"``,
    ``"env:<VARIABLE>"`` or ``"cli:<--flag>"``.
    """

    config: TrainingConfig
    sources: Mapping[str, str]


# --- parsing -------------------------------------------------------------------------------------

_FIELDS: dict[str, dataclasses.Field[Any]] = {f.name: f for f in dataclasses.fields(TrainingConfig)}
_HINTS = typing.get_type_hints(TrainingConfig)


def _field_type(name: str) -> tuple[type, bool]:
    """Return ``(base type, accepts None)`` for a field annotated ``T`` or ``T | None``."""
    hint = _HINTS[name]
    args = typing.get_args(hint)
    if args:
        (base,) = [a for a in args if a is not type(None)]
        return base, True
    return hint, False


def _shown(name: str, value: object) -> object:
    return REDACTED if name in SECRET_FIELDS and value is not None else value


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_label(name: str) -> str:
    base, optional = _field_type(name)
    label = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}[base]
    return f"{label} or none" if optional else label


def _parse_text(name: str, raw: str, where: str) -> Any:
    """Parse the text ``raw`` for field ``name``; ``where`` names the source in errors."""
    base, optional = _field_type(name)
    text = raw.strip()
    shown = _shown(name, raw)
    if optional and text.lower() in _NONE:
        return None
    if base is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ConfigError(
            f"{where}: {shown!r} is not a boolean (use true/false, 1/0, yes/no or on/off)", fields=[name]
        )
    if base is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{where}: {shown!r} is not {_type_label(name)}", fields=[name]) from None
    if base is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{where}: {shown!r} is not {_type_label(name)}", fields=[name]) from None
    return raw


def _check_native(name: str, value: object, where: str) -> Any:
    """Check a value that already has a Python type (from JSON, TOML or code)."""
    base, optional = _field_type(name)
    if value is None and optional:
        return None
    if base is bool and isinstance(value, bool):
        return value
    if base is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if base is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if base is str and isinstance(value, str):
        return value
    raise ConfigError(
        f"{where}: expected {_type_label(name)}, got {type(value).__name__} {_shown(name, value)!r}",
        fields=[name],
    )


# --- the layers ----------------------------------------------------------------------------------


def _read_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a JSON or TOML config file into checked field values."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in {".json", ".toml"}:
        raise ConfigError(
            f"unsupported config file type {file.suffix or '(no suffix)'!r} for {file}: use .json or .toml"
        )
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {file}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {file}: {exc}") from None
    try:
        data = json.loads(raw) if suffix == ".json" else tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        kind = "JSON" if suffix == ".json" else "TOML"
        raise ConfigError(f"config file {file} is not valid {kind}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {file} must hold an object of settings, got {type(data).__name__}")
    unknown = [key for key in data if key not in _FIELDS]
    if unknown:
        details = "; ".join(f"{key!r}{_suggest(key, _FIELDS)}" for key in unknown)
        raise ConfigError(
            f"unknown key(s) in config file {file}: {details}; known keys: {', '.join(_FIELDS)}"
        )
    values = {}
    for key, value in data.items():
        where = f"config file {file}, key {key!r}"
        values[key] = (
            _parse_text(key, value, where) if isinstance(value, str) else _check_native(key, value, where)
        )
    return values


def _env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def _read_env(environ: Mapping[str, str]) -> dict[str, tuple[str, Any]]:
    """Return ``{field: (variable, value)}`` for every ``GP_`` variable in ``environ``."""
    by_variable = {_env_name(name): name for name in _FIELDS}
    unknown = [key for key in environ if key.startswith(ENV_PREFIX) and key not in by_variable]
    if unknown:
        details = "; ".join(f"{key}{_suggest(key, by_variable)}" for key in sorted(unknown))
        raise ConfigError(
            f"unknown environment variable(s) with prefix {ENV_PREFIX}: {details}; "
            f"known: {', '.join(by_variable)}"
        )
    values = {}
    for variable, name in by_variable.items():
        if variable in environ:
            values[name] = (
                variable,
                _parse_text(name, environ[variable], f"environment variable {variable}"),
            )
    return values


class _ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser that raises ConfigError instead of exiting the process."""

    def error(self, message: str) -> typing.NoReturn:
        raise ConfigError(f"command line: {message}")


class _RecordFlag(argparse.Action):
    """Store ``(flag, text)`` so that the flag that set a value can be reported."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        text = self.const if self.nargs == 0 else values
        setattr(namespace, self.dest, (option_string, text))


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def build_arg_parser() -> argparse.ArgumentParser:
    """The command-line parser used by :func:`load_config` (absent flags set nothing)."""
    parser = _ArgumentParser(
        prog="grade-predictor",
        description="Cross-validate the grade predictor. Flags override GP_* variables and the config file.",
        argument_default=argparse.SUPPRESS,
        allow_abbrev=False,
    )
    parser.add_argument(
        "--config", dest="config_file", action=_RecordFlag, metavar="PATH", help="JSON or TOML file"
    )
    for name, field in _FIELDS.items():
        base, _ = _field_type(name)
        default = _shown(name, field.default)
        help_text = f"{field.metadata['help']} (default: {default}; environment: {_env_name(name)})"
        help_text = help_text.replace("%", "%%")
        if base is bool:
            parser.add_argument(
                _flag(name),
                dest=name,
                action=_RecordFlag,
                nargs="?",
                const="true",
                metavar="BOOL",
                help=help_text,
            )
            parser.add_argument(
                "--no-" + _flag(name)[2:],
                dest=name,
                action=_RecordFlag,
                nargs=0,
                const="false",
                help=f"same as {_flag(name)}=false",
            )
        else:
            metavar = name.upper()
            parser.add_argument(_flag(name), dest=name, action=_RecordFlag, metavar=metavar, help=help_text)
    return parser


def _read_argv(argv: Sequence[str]) -> tuple[dict[str, tuple[str, Any]], str | None]:
    """Return ``({field: (flag, value)}, config file path or None)`` from the flags in ``argv``."""
    namespace = vars(build_arg_parser().parse_args(list(argv)))
    config_file = namespace.pop("config_file", (None, None))[1]
    values = {}
    for name, (flag, text) in namespace.items():
        values[name] = (flag, _parse_text(name, text, f"command-line flag {flag}"))
    return values, config_file


# --- public entry points ---------------------------------------------------------------------------


def resolve_config(
    *,
    file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    argv: Sequence[str] | None = None,
) -> ResolvedConfig:
    """Like :func:`load_config`, and also report which source set each field."""
    cli_values, cli_file = _read_argv(argv) if argv is not None else ({}, None)
    env_values = _read_env(os.environ if environ is None else environ)
    path = cli_file if cli_file is not None else file

    values: dict[str, Any] = {}
    sources = dict.fromkeys(_FIELDS, "default")
    if path is not None:
        for name, value in _read_file(path).items():
            values[name] = value
            sources[name] = f"file:{os.fspath(path)}"
    for name, (variable, value) in env_values.items():
        values[name] = value
        sources[name] = f"env:{variable}"
    for name, (flag, value) in cli_values.items():
        values[name] = value
        sources[name] = f"cli:{flag}"
    try:
        config = TrainingConfig(**values)
    except ConfigError as exc:
        origin = ", ".join(f"{name} from {sources[name]}" for name in exc.fields)
        raise ConfigError(f"{exc} ({origin})" if origin else str(exc), fields=exc.fields) from None
    return ResolvedConfig(config=config, sources=sources)


def load_config(
    *,
    file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    argv: Sequence[str] | None = None,
) -> TrainingConfig:
    """Build a :class:`TrainingConfig`: defaults < file < ``GP_*`` environment < flags.

    Args:
        file: a ``.json`` or ``.toml`` file of settings; ``None`` for no file. A
            ``--config PATH`` flag in ``argv`` replaces it.
        environ: the environment to read ``GP_*`` variables from; ``None`` means
            ``os.environ`` (pass ``{}`` to ignore the environment).
        argv: command-line arguments without the program name (``sys.argv[1:]``);
            ``None`` means no command-line layer. A flag that is absent never
            overrides the environment.

    Raises:
        ConfigError: on a missing file, an unsupported suffix, an unknown key or
            ``GP_`` variable, an unknown flag, or a value that does not parse or
            is out of range. The message names the source, key and value.
    """
    return resolve_config(file=file, environ=environ, argv=argv).config


def config_sources(
    *,
    file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    argv: Sequence[str] | None = None,
) -> dict[str, str]:
    """Which source set each field: ``"default"``, ``"file:..."``, ``"env:GP_..."`` or ``"cli:--..."``."""
    return dict(resolve_config(file=file, environ=environ, argv=argv).sources)


def log_effective_config(
    config: TrainingConfig, *, logger: logging.Logger | logging.LoggerAdapter[Any] | None = None
) -> dict[str, Any]:
    """Log the configuration once at INFO, secrets redacted, and return what was logged.

    The message holds the settings as JSON; the same dict is attached to the record
    as ``extra={"config": ...}`` for structured formatters.
    """
    target = logger if logger is not None else logging.getLogger(__name__)
    shown = config.as_log_dict()
    target.info("effective configuration: %s", json.dumps(shown), extra={"config": shown})
    return shown
