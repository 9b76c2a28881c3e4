"""The row layouts' reads and writes through the run cache (``_versioned.py``).

``read`` fetches the session row and its change token in one transaction; a
cached entry at that token gives the runs (after checking that no caller
changed them in place), else they are fetched and decoded at once with
orjson (guarded, see ``loads_exact``) and cached. ``write`` of one session
compares the caller's runs with the stored ones by fingerprint, inside the
write transaction and only when the token says the cache describes the
stored session: the unchanged leading runs stay, the rest is deleted and
inserted, so an agno Agent's whole-session upsert of one more run writes one
run. Any doubt (no cache entry, another writer's commit, a run whose
fingerprint cannot be trusted) takes the full rewrite, which is exactly what
``upsert`` means: the caller's session replaces the stored one.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa

from agno_nb.storage._codec import (
    decode_json,
    fingerprint,
    has_long_number,
    loads_many,
)
from agno_nb.storage._versioned import (
    CachedRuns,
    VersionedDb,
    fingerprints,
    references,
)
from agno_nb.summary import first_question, new_message_count

if TYPE_CHECKING:
    from agno_nb.sessions import Session
    from agno_nb.storage.layouts.rows import RowsLayout

#: Returned by ``read`` when the backend has no change tokens (use the general path).
UNSUPPORTED: Any = object()


def _statements(layout: RowsLayout, token: Any | None) -> tuple[Any, Any, Any, list[str]]:
    """(session row by id, the same with user, runs of a session, row column
    names); the row queries end with the ``token`` column when there is one."""
    key = ("cached-read", id(layout.table), token is not None)
    found = layout.storage._statements.get(key)
    if found is None:
        table, runs = layout.table, layout.runs
        columns = layout._row_columns()
        names = [c.name for c in columns]
        if token is not None:
            columns.append(token)
        by_id = sa.select(*columns).where(table.c.session_id == sa.bindparam("sid"))
        by_user = by_id.where(table.c.user_id == sa.bindparam("uid"))
        # SQLite hands a BLOB over as it is stored: no str per run to decode and re-encode
        as_bytes = layout.storage.db_engine.dialect.name == "sqlite"
        run_texts = (
            sa.select(
                sa.cast(runs.c.run, sa.LargeBinary if as_bytes else sa.Text), runs.c.message_count
            )
            .where(runs.c.session_id == sa.bindparam("sid"))
            .order_by(runs.c.run_index)
        )
        found = layout.storage._statements[key] = (by_id, by_user, run_texts, names)
    return found


def decode_runs(
    texts: Sequence[str | bytes | None], session_id: str
) -> tuple[list[Any], list[bytes | None]]:
    """Every run's value (exactly as ``json.loads`` reads it) and reference.

    The texts (all ``str`` or all UTF-8 ``bytes``) are joined into one array
    and decoded by one ``orjson.loads``; the values are exact when the text
    holds no run of 19 or more digits (``has_long_number``; orjson refuses
    NaN, infinities and lone surrogates itself). Any doubt (NaN, a long
    number, a corrupt run) decodes run by run with ``decode_json``. When the
    first and last runs are stored as orjson writes them (agno_nb writes runs
    with orjson), each run's reference is its stored bytes, else its
    fingerprint. A stored text is what the run holds, so a caller's run whose
    fingerprint equals it has that value; a stored text that is not orjson's
    form only makes its run look changed (decoded again, or rewritten).
    """
    if None not in texts:
        blobs = [t.encode() if isinstance(t, str) else t for t in texts]
        data = b"[" + b",".join(blobs) + b"]"  # type: ignore[arg-type]
        try:
            values = loads_many(data)
        except orjson.JSONDecodeError:
            values = None
        if values is not None and not has_long_number(data):
            if values and not all(fingerprint(values[i]) == blobs[i] for i in {0, len(values) - 1}):
                return values, references(values)
            if b"null" in data:  # see ``trusted``
                return values, [None if b"null" in b else b for b in blobs]  # type: ignore[operator]
            return values, blobs
    values = [decode_json(t, session_id=session_id, column="run") for t in texts]
    return values, references(values)


def _preview(runs: Sequence[Any], start: int) -> tuple[str | None, int | None]:
    """The first preview among ``runs[start:]`` and its index."""
    for i in range(start, len(runs)):
        question = first_question(runs[i])
        if question is not None:
            return question, i
    return None, None


def read(layout: RowsLayout, session_id: str, user_id: str | None) -> Session | None:
    """One whole session through the cache (``UNSUPPORTED`` without tokens)."""
    s = layout.storage
    with s._versioned(write=False) as db:
        if db is None:
            return UNSUPPORTED
        column = db.token_column(layout.table)
        by_id, by_user, run_texts, names = _statements(layout, column)
        params = {"sid": session_id}
        rows = db.rows(by_user, {**params, "uid": user_id}) if user_id else db.rows(by_id, params)
        if not rows:
            return None
        token: Hashable | None
        if column is None:
            token = db.token(layout.table, session_id)
        else:
            token = None if rows[0][-1] is None else str(rows[0][-1])
        entry = s._run_cache.get(session_id, token)
        runs = entry.verified_runs() if entry is not None else None
        if runs is None:
            fetched = db.rows(run_texts, params)
            runs, refs = decode_runs([r[0] for r in fetched], session_id)
            counts = [int(r[1] or 0) for r in fetched]
            preview, where = _preview(runs, 0)
            if token is not None:
                entry = CachedRuns(token, runs, refs, counts, preview, where)
                s._run_cache.put(session_id, entry)
                runs = list(runs)
    return layout._session(dict(zip(names, rows[0], strict=False)), {session_id: runs})


def write(layout: RowsLayout, session: Session, now_ms: int) -> bool:
    """Upsert one session, writing only the runs that differ from the stored
    ones when the cache proves what is stored; False without tokens."""
    s = layout.storage
    session_id = session.session_id
    values = layout._row_values(session, now_ms)
    runs = layout._take_runs(values)
    if runs is None:  # no list of runs: stored as given, by the family's general path
        return False
    prints = fingerprints(runs)
    with s._versioned(write=True) as db:
        if db is None:
            return False
        entry = None
        if session_id in s._run_cache:  # else nothing to compare with: skip the token
            token = db.token(layout.table, session_id, lock=True)
            entry = s._run_cache.get(session_id, token)
        new_token: Hashable | None = None
        if entry is None:
            keep = 0
            counts, preview, where, new_token = _write_all(layout, db, session, now_ms, runs)
        else:
            keep = entry.unchanged_prefix(prints)
            counts, preview, where, new_token = _write_changed(
                layout, db, entry, keep, values, runs, now_ms
            )
        refs = (entry.refs[:keep] if entry is not None else []) + references(
            runs[keep:], prints[keep:]
        )
        if new_token is None:
            new_token = db.token(layout.table, session_id)
        if new_token is not None:
            entry = CachedRuns(new_token, list(runs), refs, counts, preview, where)
            db.on_commit(lambda: s._run_cache.put(session_id, entry))
    return True


def _write_all(
    layout: RowsLayout, db: VersionedDb, session: Session, now_ms: int, runs: list[Any]
) -> tuple[list[int], str | None, int | None, Hashable | None]:
    """The family's full rewrite of the session (its runs all deleted and
    inserted); the last item is the new token when the write returned it."""
    column = db.token_column(layout.table)
    new_token: Hashable | None = None
    for i, (statement, rows) in enumerate(layout.upsert_steps([session], now_ms)):
        if i == 0 and column is not None and len(rows) == 1:  # the session row
            new_token = str(db.scalar(_returning(layout, statement, column), rows[0]))
        else:
            db.execute(statement, rows)
    preview, where = _preview(runs, 0)
    return [new_message_count(r) for r in runs], preview, where, new_token


def _returning(layout: RowsLayout, upsert: Any, column: Any) -> Any:
    """``upsert`` returning the token ``column`` (built once per statement)."""
    key = ("upsert-token", id(upsert))
    returning = layout.storage._statements.get(key)
    if returning is None:
        returning = layout.storage._statements[key] = upsert.returning(column)
    return returning


def _write_changed(
    layout: RowsLayout,
    db: VersionedDb,
    entry: CachedRuns,
    keep: int,
    values: dict[str, Any],
    runs: list[Any],
    now_ms: int,
) -> tuple[list[int], str | None, int | None, Hashable | None]:
    """Keep the ``keep`` first stored runs (the caller did not change them),
    replace the rest; the last item is the new token when the write returned it."""
    session_id = values["session_id"]
    added = [new_message_count(r) for r in runs[keep:]]
    counts = entry.counts[:keep] + added
    preview: str | None
    where: int | None
    if entry.preview_index is not None and entry.preview_index < keep:
        preview, where = entry.preview, entry.preview_index
    else:
        preview, where = _preview(runs, keep)
    layout._add_summary(values, now_ms, len(runs), sum(counts), preview)
    upsert = layout.storage._upsert_statement(layout.table, tuple(values))
    column = db.token_column(layout.table)
    new_token: Hashable | None = None
    if column is None:
        db.execute(upsert, [values])
    else:
        new_token = str(db.scalar(_returning(layout, upsert, column), values))
    clear_from, insert = _tail_statements(layout)
    if keep < len(entry.refs):
        db.execute(clear_from, [{"sid": session_id, "start": keep}])
    db.execute(
        insert,
        [layout._run_row(session_id, keep + i, run, added[i]) for i, run in enumerate(runs[keep:])],
    )
    return counts, preview, where, new_token


def _tail_statements(layout: RowsLayout) -> tuple[Any, Any]:
    """DELETE of a session's runs from an index on, and INSERT of run rows."""
    key = ("runs-tail", id(layout.runs))
    found = layout.storage._statements.get(key)
    if found is None:
        runs = layout.runs
        clear = runs.delete().where(
            runs.c.session_id == sa.bindparam("sid"), runs.c.run_index >= sa.bindparam("start")
        )
        found = layout.storage._statements[key] = (clear, runs.insert())
    return found
