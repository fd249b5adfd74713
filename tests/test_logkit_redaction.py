"""Tests for logkit.redaction: scrub, redact and the stdlib, structlog and loguru adapters."""

from __future__ import annotations

import io
import json
import logging
import re
import string
import tempfile
from collections import namedtuple
from dataclasses import dataclass
from pathlib import Path

import pytest
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loguru import logger as loguru_logger

from logkit.console import FILE_FORMAT, ColourFormatter, IsoFormatter
from logkit.jsonformat import JsonFormatter
from logkit.redaction import (
    EMAIL_MASK,
    MASK,
    RedactingFilter,
    is_secret_key,
    loguru_patcher,
    redact,
    redact_processor,
    scrub,
)

FAKE_KEY = "sk-test-not-a-real-key-0123456789"


# --------------------------------------------------------------------------- strategies


@dataclass(frozen=True)
class Secret:
    """A secret as it appears in text (``shown``) and the part that must never leak (``core``)."""

    shown: str
    core: str


_ALNUM = string.ascii_letters + string.digits
_B64URL = _ALNUM + "-_"
_PASSWORD_CHARS = _ALNUM + "!#$%*+-./@^_~"
SECRET_KEYS = [
    *("password", "db_password", "PASSWORD", "passwd", "secret", "client_secret", "token"),
    *("access_token", "api_key", "OPENAI_API_KEY", "apikey", "api-key", "Authorization"),
]


def _chars(alphabet: str, min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=min_size, max_size=max_size)


def _token(prefix: str, alphabet: str, n_min: int, n_max: int) -> st.SearchStrategy[Secret]:
    return _chars(alphabet, n_min, n_max).map(lambda s: Secret(prefix + s, prefix + s))


_openai = st.builds(
    lambda mid, body: Secret(f"sk-{mid}{body}", f"sk-{mid}{body}"),
    st.sampled_from(["", "test-", "proj-"]),
    _chars(_ALNUM, 20, 40),
)
_github = _token("ghp_", _ALNUM, 36, 36)
_aws = _token("AKIA", string.ascii_uppercase + string.digits, 16, 16)
_jwt = st.builds(
    lambda a, b, c: Secret(f"eyJ{a}.{b}.{c}", f"eyJ{a}.{b}.{c}"),
    _chars(_B64URL, 10, 30),
    _chars(_B64URL, 10, 40),
    _chars(_B64URL, 10, 40),
)
_bearer = st.builds(
    lambda header, tok: Secret(f"{header}Bearer {tok}", tok),
    st.sampled_from(["", "Authorization: ", "authorization="]),
    _chars(_B64URL + ".~+/", 20, 40),
)
_pair = st.builds(
    lambda key, sep, value: Secret(f"{key}{sep}{value}", value),
    st.sampled_from(SECRET_KEYS),
    st.sampled_from(["=", ": ", " = ", ":", "='"]),
    _chars(_PASSWORD_CHARS, 10, 30),
).map(lambda s: Secret(s.shown + "'", s.core) if s.shown.count("'") == 1 else s)
_email = st.builds(
    lambda local, domain, tld: Secret(f"{local}@{domain}.{tld}", f"{local}@{domain}.{tld}"),
    _chars(string.ascii_lowercase + string.digits + "._+-", 3, 15).filter(lambda s: s[0] not in "._+-"),
    _chars(string.ascii_lowercase + string.digits, 3, 12),
    _chars(string.ascii_lowercase, 2, 6),
)
secrets = st.one_of(_openai, _github, _aws, _jwt, _bearer, _pair, _email)
filler = st.sampled_from(["loaded 120 rows", "fold 3 done", "calling the API", "retrying in 2 s", ""])

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


_GLUED = re.compile(r"[A-Za-z0-9](?:\[REDACTED\]|\[EMAIL\])|(?:\[REDACTED\]|\[EMAIL\])[A-Za-z0-9]")


def assert_no_leak(output: str, secret: Secret) -> None:
    """Fail if the secret (or a tell-tale tail of it) appears in ``output``, or nothing was masked."""
    assert MASK in output or EMAIL_MASK in output, f"nothing was masked in {output!r}"
    assert secret.core not in output, f"{secret.core!r} leaked into {output!r}"
    tail = secret.core[-10:]
    if len(secret.core) >= 16 and any(c.isalpha() for c in tail):
        assert tail not in output, f"the end of {secret.core!r} leaked into {output!r}"
    # A mask glued to letters or digits means part of the secret was left next to it.
    glued = _GLUED.search(output)
    assert glued is None, f"part of {secret.core!r} left next to a mask: {glued and glued.group()!r}"


# --------------------------------------------------------------------------- unit tests


class TestScrub:
    """scrub masks each kind of secret and leaves ordinary text alone."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (f"using key {FAKE_KEY}", f"using key {MASK}"),
            ("token ghp_" + "a1" * 18 + " ok", f"token {MASK} ok"),
            ("aws AKIAABCDEFGHIJKLMNOP", f"aws {MASK}"),
            ("Authorization: Bearer abc.def-ghi", f"Authorization: {MASK}"),
            ("sent Bearer abc.def-ghi", f"sent Bearer {MASK}"),
            ("jwt eyJhbGciOi.eyJzdWIiOiIx.sig_nature", f"jwt {MASK}"),
            ("password=hunter2-fake, user=ana", f"password={MASK}, user=ana"),
            ("db_password: 'not real'", f"db_password: '{MASK}'"),
            ('{"api_key": "fake value", "fold": 2}', f'{{"api_key": "{MASK}", "fold": 2}}'),
            ("OPENAI_API_KEY=abc123", f"OPENAI_API_KEY={MASK}"),
            ("mail ana.silva@example.com now", f"mail {EMAIL_MASK} now"),
            (
                "postgres://app:pw-not-real@db.example.com/grades",
                f"postgres://app:{MASK}@db.example.com/grades",
            ),
        ],
    )
    def test_masks(self, text: str, expected: str) -> None:
        assert scrub(text) == expected

    @pytest.mark.parametrize(
        "text",
        [
            "fold=3 max_tokens=512 tokenizer=bert-base",
            "task-manager started; learning_rate=0.01",
            "loaded 120 rows from data/grades.csv",
            "key=value pairs are fine when the key is harmless",
            "the bearer of bad news; a secretary: Ana",
        ],
    )
    def test_leaves_ordinary_text_alone(self, text: str) -> None:
        assert scrub(text) == text

    def test_unquoted_value_stops_at_closing_bracket(self) -> None:
        assert scrub('{"tracking_token": null}') == '{"tracking_token": [REDACTED]}'
        assert scrub("cfg(token=abc123def456)") == "cfg(token=[REDACTED])"

    def test_idempotent(self) -> None:
        once = scrub(f"password=abc {FAKE_KEY} ana@example.com")
        assert scrub(once) == once


class TestRedact:
    """redact walks containers and masks whole values under secret keys."""

    def test_nested_structures(self) -> None:
        Point = namedtuple("Point", "label token")
        value = {
            "user": "ana@example.com",
            "api_key": 12345,
            "params": [{"password": ["a", "b"]}, (FAKE_KEY, 3)],
            "point": Point("p", "tok"),
            "max_tokens": 512,
        }
        assert redact(value) == {
            "user": EMAIL_MASK,
            "api_key": MASK,
            "params": [{"password": MASK}, (MASK, 3)],
            "point": Point("p", "tok"),
            "max_tokens": 512,
        }

    def test_input_is_not_modified(self) -> None:
        value = {"password": "x", "items": ["ana@example.com"]}
        redact(value)
        assert value == {"password": "x", "items": ["ana@example.com"]}

    @pytest.mark.parametrize("key", ["password", "DB_PASSWORD", "api-key", "access_token", "client_secret"])
    def test_secret_keys(self, key: str) -> None:
        assert is_secret_key(key)

    @pytest.mark.parametrize("key", ["max_tokens", "tokenizer", "fold", "password_policy", 42])
    def test_harmless_keys(self, key: object) -> None:
        assert not is_secret_key(key)


class TestRedactingFilter:
    """The stdlib filter scrubs the merged message, extras and traceback text in place."""

    def test_merges_args_and_scrubs(self) -> None:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "key %s for %s", (FAKE_KEY, "ana"), None)
        assert RedactingFilter().filter(record)
        assert (record.msg, record.args) == (f"key {MASK} for ana", None)

    def test_broken_arguments_do_not_raise_and_stay_redacted(self) -> None:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d retries", (FAKE_KEY,), None)
        assert RedactingFilter().filter(record)
        assert record.args == (MASK,)

    def test_extra_fields(self) -> None:
        record = logging.makeLogRecord({"msg": "m", "api_key": FAKE_KEY, "note": "to ana@example.com"})
        RedactingFilter().filter(record)
        assert (record.api_key, record.note) == (MASK, f"to {EMAIL_MASK}")

    def test_traceback_text(self) -> None:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.addFilter(RedactingFilter())
        logging.getLogger().addHandler(handler)
        try:
            raise PermissionError(f"rejected key {FAKE_KEY}")
        except PermissionError:
            logging.getLogger("x").exception("call failed")
        assert "PermissionError: rejected key [REDACTED]" in stream.getvalue()
        assert FAKE_KEY not in stream.getvalue()


# --------------------------------------------------------------------------- property tests


def _stdlib_outputs(message: str, args: tuple[object, ...], extra: dict[str, object]) -> str:
    """Log one record through a console, a file and a JSON handler; return all output."""
    console, as_json = io.StringIO(), io.StringIO()
    with tempfile.TemporaryDirectory() as folder:
        log_file = Path(folder) / "run.log"
        handlers: list[logging.Handler] = [
            logging.StreamHandler(console),
            logging.FileHandler(log_file, encoding="utf-8"),
            logging.StreamHandler(as_json),
        ]
        console_format = "%(levelname)-8s %(message)s note=%(note)s"
        handlers[0].setFormatter(ColourFormatter(console_format, use_colour=True))
        handlers[1].setFormatter(IsoFormatter(FILE_FORMAT))
        handlers[2].setFormatter(JsonFormatter())
        log = logging.getLogger("grade_predictor.redaction_test")
        log.propagate = False
        log.setLevel(logging.DEBUG)
        for handler in handlers:
            handler.addFilter(RedactingFilter())
            log.addHandler(handler)
        try:
            log.warning(message, *args, extra=extra)
            try:
                raise RuntimeError(message % args if args else message)
            except RuntimeError:
                log.exception("request failed", extra=extra)
        finally:
            for handler in handlers:
                log.removeHandler(handler)
                handler.close()
        file_text = log_file.read_text(encoding="utf-8")
    return console.getvalue() + file_text + as_json.getvalue()


def _extras(secret: Secret) -> dict[str, object]:
    return {
        "note": f"see {secret.shown}",
        "api_key": secret.core,
        "payload": {"password": secret.core, "items": [secret.shown, 3]},
    }


class TestRedactionProperty:
    """Generated secrets never reach any output, wherever they are placed."""

    @PROPERTY
    @given(secret=secrets, before=filler, after=filler)
    def test_stdlib_message(self, secret: Secret, before: str, after: str) -> None:
        output = _stdlib_outputs(f"{before} {secret.shown} {after}", (), {"note": "-"})
        assert_no_leak(output, secret)

    @PROPERTY
    @given(secret=secrets, before=filler)
    def test_stdlib_percent_args(self, secret: Secret, before: str) -> None:
        output = _stdlib_outputs(before + " sent %s (attempt %d)", (secret.shown, 2), {"note": "-"})
        assert_no_leak(output, secret)
        assert "(attempt 2)" in output

    @PROPERTY
    @given(secret=secrets)
    def test_stdlib_extra_fields(self, secret: Secret) -> None:
        output = _stdlib_outputs("request handled", (), _extras(secret))
        assert_no_leak(output, secret)
        assert "request handled" in output

    @PROPERTY
    @given(secret=secrets, before=filler)
    def test_loguru(self, secret: Secret, before: str) -> None:
        loguru_logger.remove()
        loguru_logger.configure(patcher=loguru_patcher)
        serialized, text = io.StringIO(), io.StringIO()
        sinks = [
            loguru_logger.add(serialized, serialize=True, backtrace=False, diagnose=False),
            loguru_logger.add(text, format="{message} | {extra}", colorize=False),
        ]
        try:
            bound = loguru_logger.bind(**_extras(secret))
            bound.info(f"{before} {secret.shown}")
            bound.warning("sent {} (attempt {})", secret.shown, 2)
            loguru_logger.info("keyword {who}", who=secret.shown)
        finally:
            for sink in sinks:
                loguru_logger.remove(sink)
        for line in serialized.getvalue().splitlines():
            json.loads(line)
        output = serialized.getvalue() + text.getvalue()
        assert_no_leak(output, secret)
        assert "(attempt 2)" in output

    @PROPERTY
    @given(secret=secrets, before=filler)
    def test_structlog(self, secret: Secret, before: str) -> None:
        out = io.StringIO()
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                redact_processor,
                structlog.processors.JSONRenderer(),
            ],
            wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
            logger_factory=structlog.PrintLoggerFactory(file=out),
            cache_logger_on_first_use=False,
        )
        structlog.contextvars.bind_contextvars(client=secret.shown)
        try:
            log = structlog.get_logger()
            event = f"{before} {secret.shown}"  # the secret inside the event text itself
            log.info(event, **_extras(secret))
            log.warning("sent %s (attempt %d)", secret.shown, 2)
        finally:
            structlog.contextvars.clear_contextvars()
        for line in out.getvalue().splitlines():
            json.loads(line)
        assert_no_leak(out.getvalue(), secret)
        assert "(attempt 2)" in out.getvalue()
