"""Keep secrets and e-mail addresses out of log output: stdlib, structlog and loguru.

:func:`scrub` masks secrets inside a string; :func:`redact` walks dicts, lists and
tuples. The adapters apply them where each library builds its output:

- stdlib: :class:`RedactingFilter` on every handler (or on the ``QueueHandler``);
- structlog: :func:`redact_processor` just before the renderer;
- loguru: :func:`loguru_patcher` via ``logger.configure(patcher=loguru_patcher)``.

Redaction is a safety net, not a licence to log secrets: pattern matching cannot
recognise a password that appears with no telling key (``login("hunter2")``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

from logkit._records import extra_fields

__all__ = [
    "EMAIL_MASK",
    "MASK",
    "RedactingFilter",
    "is_secret_key",
    "loguru_patcher",
    "redact",
    "redact_processor",
    "scrub",
]

MASK = "[REDACTED]"
EMAIL_MASK = "[EMAIL]"

# A key "names a secret" when it ends with one of these words: "db_password",
# "OPENAI_API_KEY", "access_token", but not "max_tokens" or "tokenizer".
_SECRET_WORD = (
    r"(?:password|passwd|secret|token|api[_-]?key|apikey|"
    r"(?:secret|private|access)[_-]?key|authorization|credentials?)"
)
_SECRET_KEY_RE = re.compile(rf"(?i){_SECRET_WORD}$")

# key=value, key: value, "key": "value", key='value', Authorization: Bearer xyz
_PAIR_RE = re.compile(
    rf"""(?ix)
    (?<![A-Za-z0-9_.\-])                      # start at the beginning of a key (linear time)
    (?P<key>[A-Za-z0-9_.\-]*{_SECRET_WORD})
    (?P<sep>["']?[ \t]*[:=][ \t]*)
    (?P<value>
        (?:(?:bearer|basic|token)[ \t]+)?      # an auth scheme belongs to the value
        (?:"[^"]*"|'[^']*'|\[REDACTED\]|[^\s,;&)\]}}]+)    # unquoted: stops before a closing bracket
    )
    """
)

_TOKEN_RES: tuple[re.Pattern[str], ...] = (
    # Bearer tokens (the word stays, the credential goes); 8+ characters, so that prose
    # such as "the bearer of bad news" is left alone
    re.compile(r"(?i)(?<![A-Za-z0-9])(?P<keep>bearer[ \t]+)[A-Za-z0-9\-._~+/]{8,}=*"),
    # OpenAI-style keys: sk-..., sk-proj-..., sk-test-...
    re.compile(r"(?<![A-Za-z0-9_\-])sk-[A-Za-z0-9_\-]{8,}"),
    # GitHub tokens: ghp_, gho_, ghu_, ghs_, ghr_, github_pat_
    re.compile(r"(?<![A-Za-z0-9_])(?:gh[pousr]|github_pat)_[A-Za-z0-9_]{16,}"),
    # AWS access key ids
    re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{12,}"),
    # JWT: three base64url parts, the header starting with '{"' -> "eyJ"
    re.compile(r"(?<![A-Za-z0-9_\-])eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"),
)

# scheme://user:password@host. Every pattern that starts with a repeated character class
# has a negative lookbehind, so it can only start where a word starts: without it a long
# run of word characters (a base64 blob in a message) takes quadratic time to scan.
_URL_CREDENTIALS_RE = re.compile(
    r"(?<![A-Za-z0-9+.\-])(?P<keep>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]+:)[^\s/@]+@"
)
_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+"  # local part
    r"@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"  # domain
)


def is_secret_key(key: object) -> bool:
    """Return True if a field or dict key names a secret (``password``, ``api_key``, ...)."""
    return isinstance(key, str) and _SECRET_KEY_RE.search(key.strip().strip("\"'")) is not None


def scrub(text: str) -> str:
    """Return ``text`` with secrets replaced by ``[REDACTED]`` and e-mails by ``[EMAIL]``.

    Masks API keys (``sk-...``, ``ghp_...``, ``AKIA...``), Bearer tokens, JWT-looking
    strings, credentials in URLs, the value of ``key=value`` / ``key: value`` pairs whose
    key names a secret, and e-mail addresses.
    """
    text = _PAIR_RE.sub(_mask_pair, text)
    text = _URL_CREDENTIALS_RE.sub(lambda m: f"{m['keep']}{MASK}@", text)
    for pattern in _TOKEN_RES:
        text = pattern.sub(lambda m: f"{m.groupdict().get('keep') or ''}{MASK}", text)
    return _EMAIL_RE.sub(EMAIL_MASK, text)


def _mask_pair(match: re.Match[str]) -> str:
    value = match["value"]
    quote = value[0] if value[0] in "\"'" else ""
    return f"{match['key']}{match['sep']}{quote}{MASK}{quote}"


def redact(value: Any) -> Any:
    """Return a copy of ``value`` with every secret masked.

    Strings are scrubbed; dicts, lists and tuples are walked recursively, and a dict
    entry whose key names a secret is masked whole. Other values are returned as is.
    """
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: MASK if is_secret_key(k) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, tuple):
        items = [redact(item) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, (set, frozenset)):
        return type(value)(redact(item) for item in value)
    return value


class RedactingFilter(logging.Filter):
    """Scrub every record's message, extra fields and traceback text; never drops a record.

    The merged message (``record.getMessage()``) is scrubbed and stored in
    ``record.msg`` with ``record.args = None``, so secrets passed as %-arguments are
    caught too. Put it on every handler (or on the ``QueueHandler``): it changes the
    shared record, so later handlers see the scrubbed version as well.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask secrets in ``record`` in place and let it through."""
        try:
            message = record.getMessage()
        except Exception:
            # A broken call such as log.info("%d", "x"): keep it broken, so the handler
            # still reports the error, but with the arguments redacted.
            record.msg = scrub(str(record.msg))
            record.args = redact(record.args)
        else:
            record.msg = scrub(message)
            record.args = None
        for key, value in extra_fields(record).items():
            setattr(record, key, MASK if is_secret_key(key) else redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def redact_processor(logger: object, method_name: str, event_dict: MutableMapping[str, Any]) -> Any:
    """structlog processor: mask secrets in the event and every bound value.

    Place it late in the chain (after ``format_exc_info``, before the renderer) so it
    also sees rendered tracebacks.
    """
    return {key: MASK if is_secret_key(key) else redact(value) for key, value in event_dict.items()}


def loguru_patcher(record: dict[str, Any]) -> None:
    """loguru patcher: scrub the formatted message and every ``extra`` value in place.

    Use ``logger.configure(patcher=loguru_patcher)`` or ``logger.patch(loguru_patcher)``.
    The message is already merged with its ``{}`` arguments when patchers run.
    Tracebacks are not rewritten: keep ``diagnose=False`` in production sinks.
    """
    record["message"] = scrub(record["message"])
    extra = record["extra"]
    for key in list(extra):
        extra[key] = MASK if is_secret_key(key) else redact(extra[key])
