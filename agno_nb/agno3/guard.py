"""What the target holds now, as a fingerprint, and what agno 3.x can store.

A migrated session is agno 3.x's once written: a rerun must never overwrite an
edit agno 3.x made. Times cannot tell (agno writes ``updated_at`` in seconds, and
an edit in the same second as the source's looked unchanged), so each migrated
session's target rows are fingerprinted as stored (the ``agno_sessions`` row and
its ``agno_runs`` rows, every column), right after they are written, and again
when a rerun checks them. On Postgres the check locks those rows (``FOR
UPDATE``) until the batch commits, so an edit cannot slip in between the check
and the write; SQLite's write lock is taken at ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from agno_nb.agno3.tables import TargetTables
from agno_nb.dialects import dialect_of

#: ids per IN (...) list
CHUNK = 500
#: an escaped NUL in JSON text (not an escaped backslash followed by "u0000")
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _text(column: sa.Column[Any]) -> Any:
    return sa.cast(column, sa.Text) if isinstance(column.type, sa.JSON) else column


def target_fingerprints(
    conn: Connection, t: TargetTables, ids: list[str], *, lock: bool = False
) -> dict[str, str]:
    """session_id -> ``<digest of its agno_sessions row>:<digest of that row and
    its agno_runs rows>``, as stored now (sessions not in the target are absent). ``lock``: on
    Postgres, the rows read stay locked until the transaction ends."""
    prints: dict[str, str] = {}
    sessions, runs = t.sessions, t.runs
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        query = (
            sa.select(*(_text(c).label(c.name) for c in sessions.columns))
            .where(sessions.c.session_id.in_(chunk))
            .order_by(sessions.c.session_id)
        )
        run_query = (
            sa.select(*(_text(c).label(c.name) for c in runs.columns))
            .where(runs.c.session_id.in_(chunk))
            .order_by(runs.c.session_id, runs.c.run_id)
        )
        if lock:
            query = t.dialect.for_update(query, of=sessions)
            run_query = t.dialect.for_update(run_query, of=runs)
        session_rows = conn.execute(query).all()
        run_rows = conn.execute(run_query).all()
        prints.update(
            fingerprints_of(
                session_rows,
                run_rows,
                session_key=sessions.columns.keys().index("session_id"),
                run_key=runs.columns.keys().index("session_id"),
            )
        )
    return prints


def fingerprints_of(
    session_rows: Iterable[Sequence[Any]],
    run_rows: Iterable[Sequence[Any]],
    *,
    session_key: int,
    run_key: int,
    run_json: int | None = None,
) -> dict[str, str]:
    """The fingerprints of :func:`target_fingerprints` from the rows themselves:
    ``agno_sessions`` rows and ``agno_runs`` rows, each with every column in the
    table's order (JSON as its text), the runs in (session_id, run_id) order;
    ``session_key`` / ``run_key``: where each holds its session_id. A run whose
    session is not among ``session_rows`` is left out. ``run_json``: where every
    run row holds None or text ``json.dumps`` wrote (``target.agno_json``), whose
    repr is then built faster (:func:`ascii_json_repr`)."""
    digests: dict[str, Any] = {}
    for row in session_rows:
        text = repr(tuple(row)).encode()
        digest = hashlib.blake2b(text, digest_size=16)
        digests[row[session_key]] = (hashlib.blake2b(text, digest_size=8).hexdigest(), digest)
    # a session's runs hashed by one update of their joined texts: the digest of
    # the same bytes as one update per run (hashing is streaming), in fewer calls
    held: dict[str, list[str]] = {}
    for row in run_rows:
        sid = row[run_key]
        if sid in digests:
            run_text = repr(tuple(row)) if run_json is None else _row_repr(row, run_json)
            held.setdefault(sid, []).append(run_text)
    for sid, texts in held.items():
        digests[sid][1].update(("\x1e" + "\x1e".join(texts)).encode())
    return {sid: f"{head}:{d.hexdigest()}" for sid, (head, d) in digests.items()}


def _row_repr(row: Sequence[Any], at: int) -> str:
    """``repr(tuple(row))``, the value at ``at`` None or ``json.dumps`` text."""
    value = row[at]
    if type(value) is not str or len(row) < 2:
        return repr(tuple(row))
    parts = list(map(repr, row[:at]))
    parts.append(dumps_text_repr(value))
    parts.extend(map(repr, row[at + 1 :]))
    return "(" + ", ".join(parts) + ")"


def dumps_text_repr(text: str) -> str:
    """``repr(text)`` of text that ``json.dumps`` wrote, by str methods that scan
    it in C instead of repr's per-character loop (2.5 times as fast on a run).

    ``json.dumps`` (``ensure_ascii``) writes printable ASCII only (it escapes
    control characters, DEL and all non-ASCII), and repr of printable ASCII
    quotes with ``'`` (with ``"`` if the text holds ``'`` and no ``"``) and
    escapes only the backslash and that quote. Checking for printable text would
    cost more than repr itself, so only ASCII is checked (free in CPython);
    callers pass nothing but ``json.dumps`` text.
    """
    if not text.isascii():
        return repr(text)
    body = text.replace("\\", "\\\\") if "\\" in text else text
    if "'" not in text:
        return "'" + body + "'"
    if '"' not in text:
        return '"' + body + '"'
    return "'" + body.replace("'", "\\'") + "'"


def only_runs_lost(written: str, now: str) -> bool:
    """Whether the target session's own row is as written but its runs are not:
    runs deleted by hand (agno 3.x rewrites the session row whenever it changes a
    session), which verification reports and the next rerun repairs."""
    head, _, full = written.partition(":")
    now_head, _, now_full = now.partition(":")
    return head == now_head and full != now_full


def unstorable(values: Any, backend: str) -> str | None:
    """Why agno 3.x could not store ``values`` on ``backend`` (None if it can).

    Postgres' ``jsonb`` refuses NaN and infinities and the ``\\u0000`` character;
    SQLite stores what ``json.dumps`` writes (NaN included), as agno does. JSON
    nested deeper than Python's ``json`` can encode (agno 1.8.4 stores about 980
    levels) fits nowhere: agno's own encoder would fail on it.
    """
    dialect = dialect_of(backend)
    if dialect.json_allows_nan and dialect.json_allows_nul:
        try:
            orjson.dumps(values, option=orjson.OPT_NON_STR_KEYS)  # fast: nests < 255 levels
            return None
        except (orjson.JSONEncodeError, TypeError):
            pass  # deeper, or a value orjson refuses: ask json itself
    try:
        text = json.dumps(values, allow_nan=dialect.json_allows_nan)
    except ValueError:
        return "it holds NaN or Infinity, which Postgres' jsonb cannot store"
    except RecursionError:
        return "its JSON nests too deep for agno 3.x to encode"
    if not dialect.json_allows_nul and "\\u0000" in text and _NUL.search(text):
        return "it holds a NUL character (\\u0000), which Postgres cannot store"
    return None
