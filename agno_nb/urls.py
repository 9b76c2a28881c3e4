"""URL helpers: masking secrets before anything is shown or logged.

One function, :func:`mask_url`, masks everything agno_nb prints, raises, logs
or returns as text. It works in two tiers:

1. URL shapes in any text: the password of ``scheme://user:PASSWORD@host``
   (SQLAlchemy takes everything up to the first ``@``, so ``#``, ``/``, ``?``,
   ``:`` and spaces belong to it; a raw ``@`` in a password is masked too) and
   the value of any secret-looking query or ``key=value`` parameter
   (``?password=``, ``sslpassword=``, ``token=``, ...).
2. Secrets agno_nb has seen: every URL given to it (constructors, the CLI's
   arguments, a magic's line) is passed to :func:`remember_secrets` first, so
   its password is masked even where it shows without its URL around it (an
   argument split at its spaces, a driver message quoting it, an encoded form).
   Only secrets of :data:`MIN_SECRET_LENGTH` characters or more are masked
   this way, so that a short password does not blank out ordinary words.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

__all__ = ["MIN_SECRET_LENGTH", "mask_url", "remember_secrets", "secret_keys", "secrets_in"]

MASK = "***"
#: Shorter remembered secrets are masked only inside URL shapes (tier 1).
MIN_SECRET_LENGTH = 4

# scheme://user:PASSWORD@ : the user part is SQLAlchemy's ``[^:/]*``; the password
# runs to the first ``@`` (as SQLAlchemy parses it) and on through any further
# ``@``-separated pieces before the host (``p@ss@host``: the user meant ``p@ss``).
_PASSWORD_IN_URL = re.compile(
    r"(?P<head>[\w+.\-]+://[^:/\s]*:)(?P<pw>[^@\n]*(?:@[^@/?#\s]*(?=@))*)@"
)
_SECRET_KEY = r"[\w.\-]*(?:pass(?:word|wd)?|pwd|secret|token|api_?key|access_?key)[\w.\-]*"
# in a URL's query a value runs to the next ``&`` (spaces included, as SQLAlchemy
# reads it); an already masked value stops at its mask
_SECRET_QUERY = re.compile(rf"(?P<head>(?<=[?&])(?i:{_SECRET_KEY})=)(?P<pw>\*\*\*|[^&\n]*)")
# ``key=value`` elsewhere (libpq conninfo strings, driver messages)
_SECRET_PARAM = re.compile(
    rf"(?P<head>(?:^|(?<=[;\s,(\"']))(?i:{_SECRET_KEY})\s*=\s*)(?P<pw>'[^'\n]*'|[^&;\s)\"']*)"
)
_SECRET_KEY_NAME = re.compile(rf"(?i:{_SECRET_KEY})")

_known: set[str] = set()
_lock = threading.Lock()
_pattern: re.Pattern[str] | None = None


def secret_keys(keys: Iterable[str]) -> list[str]:
    """The names among ``keys`` (URL query parameters) that hold secrets."""
    return [k for k in keys if _SECRET_KEY_NAME.fullmatch(k)]


def secrets_in(text: object) -> set[str]:
    """The secrets (passwords, secret parameters) in a URL or in text holding URLs,
    read both the way SQLAlchemy parses a URL and the lenient way of tier 1."""
    if text is None:
        return set()
    found: set[str] = set()
    password = getattr(text, "password", None)
    query = getattr(text, "query", None)
    if isinstance(password, str):
        found.add(password)
    if isinstance(query, dict):
        for key in secret_keys(query):
            value = query[key]
            found.update([value] if isinstance(value, str) else value)
    raw = text if isinstance(text, str) else str(text)
    for match in _PASSWORD_IN_URL.finditer(raw):
        found.add(match.group("pw"))
    for match in _SECRET_QUERY.finditer(raw):
        found.add(match.group("pw"))
    for match in _SECRET_PARAM.finditer(raw):
        found.add(match.group("pw").strip("'"))
    if isinstance(text, str) and "://" in text:
        try:
            from sqlalchemy.engine import make_url

            url = make_url(text.strip())
        except Exception:  # not a URL SQLAlchemy takes: tier 1 found what there is
            url = None
        if url is not None:
            found |= secrets_in(url)
    return {s for s in found if s and MASK not in s}


def _plain_word(piece: str) -> bool:
    """A short lowercase word ("with", "space"): too common to mask on its own."""
    return len(piece) < 12 and piece.isascii() and piece.isalpha() and piece.islower()


def remember_secrets(*texts: object) -> None:
    """Mask, from now on, every secret in ``texts`` (URLs, argument lists, a magic's
    line) wherever it shows, with or without its URL around it."""
    global _pattern
    new: set[str] = set()
    for text in texts:
        items = text if isinstance(text, list | tuple) else [text]
        for item in items:
            for secret in secrets_in(item):
                forms = {secret, quote(secret, safe=""), quote_plus(secret), unquote(secret)}
                forms.add(unquote_plus(secret))
                # the pieces of an unquoted, split argument, but not plain words: a
                # password "Sx9 with space" must not mask every "with" from now on
                forms.update(p for p in secret.split() if p != secret and not _plain_word(p))
                new |= {f.strip() for f in forms if len(f.strip()) >= MIN_SECRET_LENGTH}
    with _lock:
        if new - _known:
            _known.update(new)
            ordered = sorted(_known, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def _render(url: Any) -> str:
    """A SQLAlchemy URL as text, its password and secret query values masked."""
    keys = secret_keys(url.query)
    if keys:
        url = url.update_query_dict(dict.fromkeys(keys, MASK))
    return str(url.render_as_string(hide_password=True))


def mask_url(url: object) -> str:
    """Return ``url`` as text with every secret replaced by ``***``.

    Works on SQLAlchemy URL objects and on any text (error messages, argument
    lists, reprs), so it is safe to apply to anything shown.
    """
    if url is None:
        return ""
    if callable(getattr(url, "render_as_string", None)) and hasattr(url, "query"):
        text = _render(url)
    else:
        text = str(url)
    text = _PASSWORD_IN_URL.sub(lambda m: m.group("head") + MASK + "@", text)
    text = _SECRET_QUERY.sub(lambda m: m.group("head") + MASK, text)
    text = _SECRET_PARAM.sub(lambda m: m.group("head") + MASK, text)
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return text
