"""Checks for assignment 08, configuration precedence.

Task 8.1 ``parse_bool(text)``: explicit parsing of boolean strings.
Task 8.2 ``load_training_config(file, environ, argv)``: defaults < file < APP_* environment < command line.
Task 8.3 ``log_effective_config(config, logger)``: one INFO record with every field and secrets redacted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from course.checks.support import ListHandler, expect, isolated, passed

__all__ = [
    "DEFAULTS",
    "task_1",
    "task_1_hidden",
    "task_2",
    "task_2_hidden",
    "task_3",
    "task_3_hidden",
]

#: The defaults of the notebook's ``TrainingConfig``, as its statement gives them.
DEFAULTS: dict[str, Any] = {
    "data_path": "data/grades.csv",
    "lr": 0.001,
    "epochs": 10,
    "seed": 42,
    "log_level": "INFO",
    "use_gpu": False,
    "api_key": None,
}

FAKE_KEY = "sk-test-not-a-real-key-8301"
FAKE_PASSWORD = "hunter2-not-a-real-password"
FAKE_TOKEN = "hf_test_not_a_real_token_8302"


# --- Task 8.1 ---------------------------------------------------------------------------------------


def _expect_bools(parse_bool: Callable[[str], Any], table: dict[str, bool]) -> None:
    for text, want in table.items():
        try:
            got = parse_bool(text)
        except ValueError as error:
            raise AssertionError(
                f"parse_bool({text!r}) should return {want}; it raised ValueError: {error}"
            ) from None
        expect(
            got is want,
            f"parse_bool({text!r}) should return {want}; it returned {got!r}"
            + (" (bool() of any non-empty string is True)" if text and got is True else "")
            + ".",
        )


def _expect_rejected(parse_bool: Callable[[str], Any], texts: list[str]) -> None:
    for text in texts:
        try:
            got = parse_bool(text)
        except ValueError:
            continue
        raise AssertionError(
            f"parse_bool({text!r}) should raise ValueError (a typo must not silently become a boolean); "
            f"it returned {got!r}."
        )


def task_1(parse_bool: Callable[[str], Any]) -> None:
    """Public checks: the usual spellings, and one value that is neither."""
    _expect_bools(
        parse_bool, {"true": True, "False": False, "1": True, "0": False, "yes": True, "off": False}
    )
    _expect_rejected(parse_bool, ["maybe"])
    passed("8.1", hidden_checks=2)


def task_1_hidden(parse_bool: Callable[[str], Any]) -> None:
    """Hidden checks: case and whitespace, and more values that must be rejected."""
    _expect_bools(
        parse_bool,
        {" TRUE ": True, "No": False, "ON": True, "fAlSe": False, "Yes\n": True, " 0": False, "on": True},
    )
    _expect_rejected(parse_bool, ["", "2", "t", "enable", "None", "-1"])
    print("Task 8.1: hidden checks passed.")


# --- Task 8.2 ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def _os_environ(values: dict[str, str]) -> Iterator[None]:
    """Put decoys into os.environ: the function under test must read the mapping it is given."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _load(
    load_training_config: Callable[..., Any],
    file_values: dict[str, Any] | None,
    environ: dict[str, str],
    argv: list[str],
) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        path = None
        if file_values is not None:
            path = Path(tmp) / "config.json"
            path.write_text(json.dumps(file_values), encoding="utf-8")
        decoys = {"APP_EPOCHS": "999", "APP_DATA_PATH": "decoy/from/os.environ.csv"}
        decoys = {key: value for key, value in decoys.items() if key not in environ}
        with isolated(), _os_environ(decoys):
            return load_training_config(path, dict(environ), list(argv))


def _describe_call(file_values: dict[str, Any] | None, environ: dict[str, str], argv: list[str]) -> str:
    return f"file={file_values}, environ={environ}, argv={argv}"


def _expect_config(
    load_training_config: Callable[..., Any],
    file_values: dict[str, Any] | None,
    environ: dict[str, str],
    argv: list[str],
    want: dict[str, Any],
) -> None:
    config = _load(load_training_config, file_values, environ, argv)
    call = _describe_call(file_values, environ, argv)
    expect(
        dataclasses.is_dataclass(config) and not isinstance(config, type),
        f"load_training_config() should return a TrainingConfig; with {call} it returned {config!r}.",
    )
    for name, value in {**DEFAULTS, **want}.items():
        got = getattr(config, name, "<missing>")
        hint = ""
        if name == "use_gpu" and got is True and value is False:
            hint = " bool('False') is True: parse boolean strings explicitly."
        elif name in {"epochs", "seed", "data_path"} and got == DEFAULTS[name] and value != DEFAULTS[name]:
            hint = (
                " A later layer put the default back: an argparse default counts as a value even when "
                "the flag is absent."
            )
        elif name == "epochs" and got == 999:
            hint = " That is os.environ's value: read the `environ` argument instead."
        expect(
            got == value and type(got) is type(value),
            f"with {call}, {name} should be {value!r} ({type(value).__name__}); it is {got!r} "
            f"({type(got).__name__}).{hint}",
        )


def task_2(load_training_config: Callable[..., Any]) -> None:
    """Public checks: defaults alone; then file, environment and command line each winning a field."""
    _expect_config(load_training_config, None, {}, [], {})
    _expect_config(
        load_training_config,
        {"lr": 0.01, "epochs": 20, "data_path": "data/from_file.csv"},
        {"APP_EPOCHS": "30", "APP_SEED": "7", "APP_USE_GPU": "False"},
        ["--epochs", "40"],
        {"lr": 0.01, "epochs": 40, "data_path": "data/from_file.csv", "seed": 7, "use_gpu": False},
    )
    passed("8.2", hidden_checks=4)


def task_2_hidden(load_training_config: Callable[..., Any]) -> None:
    """Hidden checks: typed env values, boolean flags, unrelated variables, and a missing file."""
    _expect_config(
        load_training_config,
        {"use_gpu": True, "seed": 1},
        {"APP_LR": "0.2", "APP_LOG_LEVEL": "DEBUG", "APP_API_KEY": FAKE_KEY, "HOME": "/home/student"},
        ["--no-use-gpu", "--data-path", "data/cli.csv"],
        {
            "lr": 0.2,
            "log_level": "DEBUG",
            "api_key": FAKE_KEY,
            "use_gpu": False,
            "seed": 1,
            "data_path": "data/cli.csv",
        },
    )
    _expect_config(
        load_training_config,
        None,
        {"APP_USE_GPU": "yes", "APP_EPOCHS": "12"},
        ["--lr", "0.5", "--seed", "3"],
        {"use_gpu": True, "epochs": 12, "lr": 0.5, "seed": 3},
    )
    _expect_config(
        load_training_config,
        {"epochs": 5},
        {},
        ["--use-gpu", "--log-level", "WARNING"],
        {"epochs": 5, "use_gpu": True, "log_level": "WARNING"},
    )
    with tempfile.TemporaryDirectory() as tmp:
        missing = Path(tmp) / "confg.json"
        try:
            with isolated():
                config = load_training_config(missing, {}, [])
        except FileNotFoundError:
            pass
        else:
            raise AssertionError(
                f"load_training_config({missing.name!r}, ...) with a file that does not exist should raise "
                f"FileNotFoundError (a typo in the path must not silently run with defaults); it returned "
                f"{config!r}."
            )
    print("Task 8.2: hidden checks passed.")


# --- Task 8.3 ---------------------------------------------------------------------------------------


def _secret_name(name: str) -> bool:
    return any(word in name.lower() for word in ("key", "token", "secret", "password"))


def _log_config(log_effective_config: Callable[..., Any], config: Any) -> tuple[list[logging.LogRecord], str]:
    with isolated() as captured:
        spy = ListHandler()
        spy.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger = logging.getLogger("experiment.config")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(spy)
        log_effective_config(config, logger)
        return spy.records, "\n".join(spy.lines) + captured.stdout + captured.stderr


def _expect_logged(log_effective_config: Callable[..., Any], config: Any, secrets: list[str]) -> None:
    records, rendered = _log_config(log_effective_config, config)
    expect(
        len(records) == 1,
        f"log_effective_config() should log exactly one record (one line to search for); it logged "
        f"{len(records)}.",
    )
    record = records[0]
    expect(record.levelno == logging.INFO, f"the record should be at INFO; it is at {record.levelname}.")
    message = record.getMessage()
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        shown = "'***'" if _secret_name(field.name) and value is not None else repr(value)
        expect(
            f"{field.name}={shown}" in message,
            f"the message should contain {field.name}={shown}; it is {message!r}.",
        )
    everything = " ".join([message, rendered, repr(record.args), repr(record.msg), repr(vars(record))])
    for secret in secrets:
        expect(
            secret not in everything,
            f"the secret {secret[:7]}... appears in what was logged (message, arguments or record "
            "attributes); "
            f"redact every field whose name contains key, token, secret or password. Message: {message!r}.",
        )


def _config_class(name: str, fields: list[tuple[str, type, Any]]) -> type:
    return dataclasses.make_dataclass(
        name, [(n, t, dataclasses.field(default=d)) for n, t, d in fields], frozen=True
    )


def task_3(log_effective_config: Callable[..., Any]) -> None:
    """Public checks: a training config with an API key."""
    config_class = _config_class(
        "RunConfig",
        [
            ("data_path", str, "data/grades.csv"),
            ("lr", float, 0.001),
            ("epochs", int, 10),
            ("use_gpu", bool, False),
            ("api_key", str, FAKE_KEY),
        ],
    )
    _expect_logged(log_effective_config, config_class(), [FAKE_KEY])
    passed("8.3", hidden_checks=1)


def task_3_hidden(log_effective_config: Callable[..., Any]) -> None:
    """Hidden checks: other secret names, and a secret field left unset."""
    config_class = _config_class(
        "ServiceConfig",
        [
            ("model_version", str, "linear-v1"),
            ("port", int, 8000),
            ("db_password", str, FAKE_PASSWORD),
            ("hf_token", str, FAKE_TOKEN),
            ("api_key", object, None),
            ("Upload_Secret", str, FAKE_KEY + "-2"),
        ],
    )
    _expect_logged(log_effective_config, config_class(), [FAKE_PASSWORD, FAKE_TOKEN, FAKE_KEY])
    print("Task 8.3: hidden checks passed.")
