"""What agno_nb derives from a session's runs and keeps beside them: message
counts and the first question (the latest layout's summary columns), and the
folded text that session search matches (``search_name``, ``search_text``).

Session search: the text a person reads, folded the same way on every backend.

``list_sessions(search=...)`` matches a query against what a person sees of a
session: its name, its id, and the content (and run id) of every message a
run added. It never matches the stored JSON (escapes, keys, ``null``).

Matching is a substring test after *folding* both sides with :func:`fold`:
Unicode NFKC normalisation and full case folding (``str.casefold``), so
"ÉCOLE" finds "école", "STRASSE" finds "Straße" and full-width
letters find their ASCII forms. Whitespace is kept as it is (a query with a newline matches a
newline). The folding is done in Python, on write for agno_nb's layout v4
(``search_name`` and ``<table>_runs.search_text`` columns) and on read for
older layouts, so every backend and layout gives the same answers. On SQLite,
whose ``LIKE`` ignores the case of ASCII letters, a write stores text that is all
ASCII as written (folding would only lower-case it, and lower-casing every run's
text was a tenth of a new session's write); the stored text is still matched
against the folded query, with the same answers.

Pieces of text (the name, the id, each message) are joined with
:data:`SEPARATOR`, a control character that :func:`fold` never leaves in a
piece or a query, so a match never spans two messages.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

PREVIEW_CHARS = 120


@dataclass
class RunsSummary:
    """Message counts and the first user question of a list of runs."""

    message_count: int = 0
    preview: str | None = None
    per_run_messages: list[int] = field(default_factory=list)


def content_text(content: Any) -> str:
    """Flatten message content (str, list of parts, None) to text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, Mapping):
                parts.append(str(part.get("text", "")))
            else:
                parts.append(str(part))
        return " ".join(p for p in parts if p)
    return str(content)


_MAPPINGS = (dict, Mapping)  # dict first: a plain dict skips the ABC check


def run_messages(run: Any) -> list[Mapping[str, Any]]:
    """The messages of a run dict (agno's RunResponse or older AgentRun shape)."""
    if not isinstance(run, _MAPPINGS):
        return []
    messages = run.get("messages")
    if messages is None:
        response = run.get("response")
        if isinstance(response, _MAPPINGS):
            messages = response.get("messages")
    if not messages:
        return []
    return [m for m in messages if isinstance(m, _MAPPINGS)]


def new_message_count(run: Any) -> int:
    """How many messages the run added (history copies are not counted)."""
    return count_new(run_messages(run))


def count_new(messages: list[Mapping[str, Any]]) -> int:
    """How many of a run's ``run_messages()`` it added (not history copies)."""
    return len([m for m in messages if not m.get("from_history")])


def first_question(run: Any, messages: list[Mapping[str, Any]] | None = None) -> str | None:
    """The first user message the run added, shortened for a preview
    (``messages``: the run's ``run_messages()`` when the caller has them)."""
    return _first_question(run, run_messages(run) if messages is None else messages)


def _first_question(run: Any, messages: list[Mapping[str, Any]]) -> str | None:
    for message in messages:
        if message.get("role") == "user" and not message.get("from_history"):
            return shorten(content_text(message.get("content")))
    if isinstance(run, Mapping) and isinstance(run.get("message"), Mapping):
        return shorten(content_text(run["message"].get("content")))
    return None


def shorten(text: str, limit: int = PREVIEW_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def summarize_runs(runs: Iterable[Any]) -> RunsSummary:
    summary = RunsSummary()
    counts = summary.per_run_messages
    for run in runs:
        messages = run_messages(run)
        counts.append(count_new(messages))
        if summary.preview is None:
            summary.preview = _first_question(run, messages)
    summary.message_count = sum(counts)
    return summary


#: Joins the folded pieces of a session's text (ASCII unit separator).
SEPARATOR = "\x1f"
_STRIP = {ord(SEPARATOR): " ", 0: " "}  # Postgres text cannot hold NUL


def fold(text: str) -> str:
    """``text`` normalised (NFKC) and case-folded, for caseless matching.

    ASCII text is only lower-cased (which is what folding does to it).
    """
    folded = _fold(text)
    return folded.translate(_STRIP) if SEPARATOR in folded or "\0" in folded else folded


def _fold(text: str) -> str:
    """:func:`fold` without the removal of separators and NULs."""
    if text.isascii():
        return text.lower()
    nfkc = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return nfkc.casefold()  # NFKC can make capitals again (double-struck C)


def fold_joined(pieces: list[str], *, ascii_as_is: bool = False) -> str:
    """``SEPARATOR.join(fold(p) for p in pieces)``, folded in one pass.

    Folding is done character by character, and NFKC never composes or reorders
    across the separator (a control character: a starter that composes with
    nothing), so the joined text folds to the join of the folded pieces. A piece
    that holds a separator or a NUL itself (which :func:`fold` replaces), or
    whose folding makes one, takes the piece-by-piece way.

    ``ascii_as_is``: text that is all ASCII is returned as written, for a
    database whose ``LIKE`` ignores ASCII case (folding would only lower-case it).
    """
    joined = SEPARATOR.join(pieces)
    separators = len(pieces) - 1
    if joined.count(SEPARATOR) != separators or "\0" in joined:
        return SEPARATOR.join([fold(p) for p in pieces])
    if joined.isascii():  # lower() makes no separator and no NUL
        return joined if ascii_as_is else joined.lower()
    folded = _fold(joined)
    if folded.count(SEPARATOR) != separators or "\0" in folded:
        return SEPARATOR.join([fold(p) for p in pieces])
    return folded


def search_term(search: str | None) -> str | None:
    """The folded query, or None when there is nothing to search for."""
    if search is None:
        return None
    term = fold(str(search))
    return term if term.strip() else None


def name_text(session_id: str, name: Any, *, ascii_as_is: bool = False) -> str:
    """The folded text of a session's own fields: its name, then its id
    (``ascii_as_is``: see :func:`fold_joined`)."""
    shown = "" if name is None else str(name)
    joined = shown + SEPARATOR + str(session_id)
    if joined.isascii() and joined.count(SEPARATOR) == 1 and "\0" not in joined:
        # what folding each side gives, in one pass
        return joined if ascii_as_is else joined.lower()
    return fold(shown) + SEPARATOR + fold(str(session_id))


def run_text(
    run: Any, messages: list[Mapping[str, Any]] | None = None, *, ascii_as_is: bool = False
) -> str:
    """The folded text of one run: its id and what each message it added says.

    ``messages``: the run's ``run_messages(run)`` when the caller has them already;
    ``ascii_as_is``: see :func:`fold_joined`.
    """
    if messages is None:
        messages = run_messages(run)
    said = [content_text(m.get("content")) for m in messages if not m.get("from_history")]
    return _folded_text(run, messages, said, ascii_as_is)


def run_facts(
    run: Any, *, search: bool, question: bool, ascii_as_is: bool = False
) -> tuple[int, str | None, str | None]:
    """What a write keeps of one run, in one pass over its messages: how many
    messages it added (``count_new``), its folded text (``run_text``; None when
    not ``search``) and its first question (``first_question``; None when not
    ``question`` or it asked none)."""
    messages = run_messages(run)
    said: list[str] = []
    asked: str | None = None
    for message in messages:
        if message.get("from_history"):
            continue
        content = message.get("content")
        text = content if type(content) is str else content_text(content)
        said.append(text)
        if question and asked is None and message.get("role") == "user":
            asked = shorten(text)
    if question and asked is None:
        asked = _first_question(run, [])  # no user message: agno's single ``message``
    folded = _folded_text(run, messages, said, ascii_as_is) if search else None
    return len(said), folded, asked


def _folded_text(
    run: Any, messages: list[Mapping[str, Any]], said: list[str], ascii_as_is: bool
) -> str:
    """``run_text`` of ``run``, given its messages and what the new ones say."""
    if type(run) is dict and messages:  # agno's shape: no list copied or filtered twice
        run_id = run.get("run_id")
        pieces = said if run_id is None else [str(run_id), *said]
        if "" in pieces:
            pieces = [p for p in pieces if p]
        joined = SEPARATOR.join(pieces)
        if joined.isascii() and joined.count(SEPARATOR) == len(pieces) - 1 and "\0" not in joined:
            return joined if ascii_as_is else joined.lower()  # fold_joined's ASCII case
        return fold_joined(pieces, ascii_as_is=ascii_as_is)
    pieces = []
    if isinstance(run, dict | Mapping):  # dict first: no ABC check for a dict
        if run.get("run_id") is not None:
            pieces.append(str(run["run_id"]))
        pieces += said
        if not messages:
            single = run.get("message")
            if isinstance(single, Mapping):
                pieces.append(content_text(single.get("content")))
            if isinstance(run.get("content"), str):
                pieces.append(run["content"])
    return fold_joined([p for p in pieces if p], ascii_as_is=ascii_as_is) if pieces else ""


def session_text(
    session_id: str, name: Any, runs: Iterable[Any], *, ascii_as_is: bool = False
) -> str:
    """The folded text of a whole session (what :func:`matches` searches;
    ``ascii_as_is``: see :func:`fold_joined`, decided for each piece)."""
    return SEPARATOR.join(
        [
            name_text(session_id, name, ascii_as_is=ascii_as_is),
            *(run_text(r, ascii_as_is=ascii_as_is) for r in runs),
        ]
    )
