"""The row layouts' reads and writes through the run cache (``versioned.py``).

``read`` fetches the session row and its change token in one transaction; a
cached entry at that token gives the stored runs, else their texts are fetched
(not decoded) and cached. Either way the session's runs are a ``RunList`` of
the entry's ``StoredRun`` objects, decoded one by one as the caller takes them
(``lazy_runs.py``). ``write`` of one session finds, inside the write
transaction and only when the token says the cache describes the stored
session, how many leading runs are unchanged (identity for runs nobody took,
else their encodings): those rows stay, the rest are deleted and inserted, so
an agno Agent's whole-session upsert of one more run writes one run. Without
a current entry (first write, another writer's commit) every run is written,
which is exactly what ``upsert`` means: the caller's session replaces the
stored one.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from agno_nb.codec import StoredRun, encode_json
from agno_nb.errors import CorruptSessionError
from agno_nb.storage.contract import StorageCore
from agno_nb.storage.lazy_runs import RunList
from agno_nb.storage.versioned import CachedRuns, VersionedDb
from agno_nb.summary import first_question, run_facts

if TYPE_CHECKING:
    from agno_nb.sessions import Session

#: Returned by ``read`` when the backend has no change tokens (use the general path).
UNSUPPORTED: Any = object()


class RowsParts(Protocol):
    """What these fast paths use of :class:`~agno_nb.storage.layouts.rows.RowsLayout`
    (which imports this module, so this module does not import it)."""

    storage: StorageCore
    table: sa.Table
    runs: sa.Table
    #: whether run rows keep their folded text (layout v4 on)
    searchable: bool
    #: all-ASCII search text is stored as written (the database's LIKE ignores ASCII case)
    ascii_as_is: bool

    def row_columns(self) -> list[Any]: ...

    def session_from_row(self, row: Mapping[Any, Any], runs: dict[str, Any] | None) -> Session: ...

    def take_runs(self, values: dict[str, Any]) -> list[Any] | None: ...

    @property
    def run_row(self) -> Callable[[str, int, Any, int, str | None], dict[str, Any]]:
        """A run row's INSERT parameters: (session id, index, run, messages, text)."""
        ...

    def row_values(self, session: Session, now_ms: int) -> dict[str, Any]: ...

    @property
    def add_summary(self) -> Callable[[dict[str, Any], int, int, int, str | None], None]:
        """Set the summary columns of a session row's INSERT parameters: (values,
        now_ms, run count, message count, preview)."""
        ...


def _statements(layout: RowsParts, token: Any | None) -> tuple[Any, Any, Any, list[str]]:
    """(session row by id, the same with user, runs of a session, row column
    names); the row queries end with the preview column, then the ``token``
    column when there is one."""
    key = ("cached-read", id(layout.table), token is not None)
    found = layout.storage.statements.get(key)
    if found is None:
        table, runs = layout.table, layout.runs
        columns = layout.row_columns()
        names = [c.name for c in columns]
        columns.append(table.c.preview)
        if token is not None:
            columns.append(token)
        by_id = sa.select(*columns).where(table.c.session_id == sa.bindparam("sid"))
        by_user = by_id.where(table.c.user_id == sa.bindparam("uid"))
        # SQLite hands a BLOB over as it is stored: no str per run to decode and re-encode
        as_bytes = layout.storage.dialect.blob_is_stored_bytes
        run_texts = (
            sa.select(
                sa.cast(runs.c.run, sa.LargeBinary if as_bytes else sa.Text), runs.c.message_count
            )
            .where(runs.c.session_id == sa.bindparam("sid"))
            .order_by(runs.c.run_index)
        )
        found = layout.storage.statements[key] = (by_id, by_user, run_texts, names)
    return found


def read(layout: RowsParts, session_id: str, user_id: str | None) -> Session | None:
    """One whole session through the cache (``UNSUPPORTED`` without tokens)."""
    s = layout.storage
    with s.versioned(write=False) as db:
        if db is None:
            return UNSUPPORTED
        column = db.token_column(layout.table)
        by_id, by_user, run_texts, names = _statements(layout, column)
        params = {"sid": session_id}
        rows = db.rows(by_user, {**params, "uid": user_id}) if user_id else db.rows(by_id, params)
        if not rows:
            return None
        row = rows[0]
        token: Hashable | None
        if column is None:
            token = db.token(layout.table, session_id)
        else:
            token = None if row[-1] is None else str(row[-1])
        entry = s.run_cache.get(session_id, token)
        if entry is not None:
            stored = entry.stored
        else:
            texts, counts = _columns(db.rows(run_texts, params))
            stored = list(map(StoredRun, texts, repeat(session_id)))
            if token is not None:
                size = sum(map(len, filter(None, texts)))
                counts = [int(c or 0) for c in counts]
                s.run_cache.put(
                    session_id, CachedRuns(token, stored, counts, row[len(names)], size)
                )
    runs = RunList(stored)
    return layout.session_from_row(dict(zip(names, row, strict=False)), {session_id: runs})


def _columns(rows: Sequence[Sequence[Any]]) -> tuple[list[Any], list[Any]]:
    """The two columns of (run text, message count) rows."""
    if not rows:
        return [], []
    texts, counts = zip(*rows, strict=True)
    return list(texts), list(counts)


def write(layout: RowsParts, session: Session, now_ms: int) -> bool:
    """Upsert one session, writing only the runs that differ from the stored
    ones when the cache proves what is stored; False without tokens.

    A session this storage holds no entry for (a new one, or one nobody read
    here) is written whole and not cached: the cache is filled by reads, and a
    write whose runs nobody reads again (an import, an app creating sessions)
    pays nothing for it."""
    s = layout.storage
    session_id = session.session_id
    values = layout.row_values(session, now_ms)
    runs = layout.take_runs(values)
    if runs is None:  # no list of runs: stored as given, by the family's general path
        return False
    items = list.copy(runs)  # as the list holds them: runs nobody took still stored
    cache = s.run_cache
    with s.versioned(write=True) as db:
        if db is None:
            return False
        if session_id not in cache:
            _write_tail(layout, db, None, 0, values, items, now_ms, cached=False)
            return True
        token = db.token(layout.table, session_id, lock=True)
        entry = cache.get(session_id, token)
        keep = 0 if entry is None else entry.unchanged_prefix(items)
        new_entry = _write_tail(layout, db, entry, keep, values, items[keep:], now_ms)
        assert new_entry is not None
        if new_entry.token is None:
            new_entry.token = db.token(layout.table, session_id)
        if new_entry.token is not None:
            db.on_commit(lambda: cache.put(session_id, new_entry))
    return True


def _write_tail(
    layout: RowsParts,
    db: VersionedDb,
    entry: CachedRuns | None,
    keep: int,
    values: dict[str, Any],
    added: list[Any],
    now_ms: int,
    *,
    cached: bool = True,
) -> CachedRuns | None:
    """Write the session row and replace its runs from index ``keep`` on with
    ``added`` (the ``keep`` first stored runs stay); returns what is stored
    now (its token None when the write did not return it), or None when not
    ``cached``."""
    session_id = values["session_id"]
    if entry is not None:
        _refuse_dropping_unread(entry, keep, session_id)
        kept, counts = entry.stored[:keep], entry.counts[:keep]
    else:
        kept, counts = [], []
    new_stored: list[StoredRun] = []
    run_rows: list[dict[str, Any]] = []
    # a StoredRun is bound as its text where the engine encodes with encode_json
    # (which writes one as its text, so a run is encoded once); an engine of the
    # caller's knows nothing of stored runs and gets the value
    own_encoder = layout.storage.encodes_json
    preview, looking = _kept_preview(entry, keep)
    run_row, searchable, as_is = layout.run_row, layout.searchable, layout.ascii_as_is
    for index, item in enumerate(added, keep):
        stored: StoredRun | None = None
        if type(item) is StoredRun:  # taken from another read, unchanged
            value, stored = item.decode(), item
        elif cached:
            value, stored = item, StoredRun(encode_json(item), session_id)
        else:  # encoded by the engine, on binding
            value = item
        count, text, asked = run_facts(
            value, search=searchable, question=looking, ascii_as_is=as_is
        )
        row = run_row(session_id, index, value, count, text)
        if own_encoder and stored is not None:
            row["run"] = stored
        run_rows.append(row)
        if stored is not None:
            new_stored.append(stored)
        counts.append(count)
        if looking:
            preview = asked
            looking = asked is None
    layout.add_summary(values, now_ms, keep + len(added), sum(counts), preview)
    upsert = layout.storage.upsert_statement(layout.table, tuple(values))
    column = db.token_column(layout.table)
    token: Hashable | None = None
    if column is None:
        db.execute(upsert, [values])
    else:
        token = str(db.scalar(_returning(layout, upsert, column), values))
    clear_from, insert = _tail_statements(layout)
    if entry is None or keep < len(entry.stored):
        db.execute(clear_from, [{"sid": session_id, "start": keep}])
    db.execute(insert, run_rows)
    if not cached:
        return None
    size = (entry.size if entry is not None and keep == len(entry.stored) else _size(kept)) + _size(
        new_stored
    )
    return CachedRuns(token, kept + new_stored, counts, preview, size)


def _refuse_dropping_unread(entry: CachedRuns, keep: int, session_id: str) -> None:
    """Refuse a write that would replace a stored run this process could not
    decode: its caller never saw that run (agno's Agent, say, logs the error
    and goes on with the runs it did read), so writing would lose it.

    Raises:
        CorruptSessionError: such a run is among those the write replaces.
    """
    for index in range(keep, len(entry.stored)):
        if entry.stored[index].failed:
            raise CorruptSessionError(
                f"session {session_id!r}: run {index} could not be decoded when read, and "
                "this upsert would replace it unseen; nothing was written: fix or delete "
                "that run's row first"
            )


def _kept_preview(entry: CachedRuns | None, keep: int) -> tuple[str | None, bool]:
    """The first question among the ``keep`` kept stored runs, and whether the
    added runs must still be searched for one."""
    if entry is None or not keep:
        return None, True
    if keep == len(entry.stored):  # all kept: the stored preview is theirs
        return entry.preview, entry.preview is None
    for stored in entry.stored[:keep]:
        question = first_question(stored.decode())
        if question is not None:
            return question, False
    return None, True


def _size(stored: Sequence[StoredRun]) -> int:
    """Bytes of stored text (what the cache's bound counts)."""
    return sum(len(item.text or "") for item in stored)


def _returning(layout: RowsParts, upsert: Any, column: Any) -> Any:
    """``upsert`` returning the token ``column`` (built once per statement)."""
    key = ("upsert-token", id(upsert))
    returning = layout.storage.statements.get(key)
    if returning is None:
        returning = layout.storage.statements[key] = upsert.returning(column)
    return returning


def _tail_statements(layout: RowsParts) -> tuple[Any, Any]:
    """DELETE of a session's runs from an index on, and INSERT of run rows."""
    key = ("runs-tail", id(layout.runs))
    found = layout.storage.statements.get(key)
    if found is None:
        runs = layout.runs
        clear = runs.delete().where(
            runs.c.session_id == sa.bindparam("sid"), runs.c.run_index >= sa.bindparam("start")
        )
        found = layout.storage.statements[key] = (clear, runs.insert())
    return found
