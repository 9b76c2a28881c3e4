"""A batch's target rows written (:func:`insert_rows`), and their fingerprints
from the values bound (:func:`written_fingerprints`).

``guard.target_fingerprints`` reads a session's ``agno_sessions`` row and its
``agno_runs`` rows back and digests them as stored. Right after a batch is
written the same digests follow from the values just bound, wherever the
database is known to store each value as given (:meth:`Dialect.kept_as_bound`:
on SQLite, text in TEXT columns, 64-bit ints in INTEGER ones, JSON text that is
not a number) and no other row can have joined the session's runs (they were
deleted in the same transaction, which holds the write lock). A session with
any value that is not certain, every session of a database that rewrites what
it stores (Postgres' jsonb), or of a batch that names a session twice, is read
back as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from agno_nb.agno3.guard import fingerprints_of, target_fingerprints
from agno_nb.agno3.tables import TargetTables
from agno_nb.agno3.target import agno_json

Row = tuple[Any, ...]
Tests = list[Callable[[Sequence[Any]], bool]]


def insert_rows(
    conn: Connection,
    t: TargetTables,
    table: sa.Table,
    rows: list[dict[str, Any]],
    *,
    upsert: bool = False,
) -> list[tuple[Any, ...]] | None:
    """INSERT ``rows``. On SQLite the JSON is encoded here, as agno's engine does
    (``json.dumps`` with its default separators, by ``target.agno_json``; a key
    given as None is JSON ``null``, a key left out is SQL NULL), and the rows go to the driver's
    executemany in one call; elsewhere through SQLAlchemy's JSON types.

    ``upsert``: a row whose key exists is updated in place (every column), as
    agno's own upsert does, so that an agno 3.x write waiting for that row's
    lock applies to the synced row instead of to a deleted one.

    Returns the values bound, one tuple a row in the table's column order (JSON
    as its text), where they are bound here (SQLite); else None."""
    key = [c.name for c in table.primary_key.columns]
    if t.dialect.native_json:
        if not upsert:
            conn.execute(table.insert(), rows)
            return None
        statement = t.dialect.insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=key,
            set_={c.name: statement.excluded[c.name] for c in table.columns if c.name not in key},
        )
        conn.execute(statement, rows)
        return None
    columns = [c.name for c in table.columns]
    plain = [c.name for c in table.columns if not isinstance(c.type, sa.JSON)]
    json_columns = [c.name for c in table.columns if isinstance(c.type, sa.JSON)]
    # built plain columns first, then JSON ones; bound in the table's order
    order = itemgetter(*[(plain + json_columns).index(c) for c in columns])
    dumps = agno_json
    params = [
        order(
            (
                *[row.get(c) for c in plain],
                *[dumps(row[c]) if c in row else None for c in json_columns],
            )
        )
        for row in rows
    ]
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'
    if upsert:
        keys = ", ".join(f'"{c}"' for c in key)
        sets = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in key)
        sql += f" ON CONFLICT ({keys}) DO UPDATE SET {sets}"
    conn.exec_driver_sql(sql, params)
    return params


def written_fingerprints(
    conn: Connection,
    t: TargetTables,
    ids: list[str],
    sessions: Sequence[Row] | None,
    runs: Sequence[Row] | None,
) -> dict[str, str]:
    """session_id -> the fingerprint :func:`guard.target_fingerprints` would read
    now, for the sessions ``ids`` just written in this transaction with the bound
    rows ``sessions`` and ``runs`` (every column, in the tables' column order, JSON
    as the text bound; all the runs the sessions hold). None for either: the
    values bound are not known here, so every session is read back."""
    if sessions is None or runs is None:
        return target_fingerprints(conn, t, ids)
    session_key = _position(t.sessions, "session_id")
    session_tests = _tests(conn, t, t.sessions)
    run_tests = _tests(conn, t, t.runs)
    if (
        session_tests is None
        or run_tests is None
        or len(set(ids)) != len(ids)
        or [row[session_key] for row in sessions] != ids
    ):
        return target_fingerprints(conn, t, ids)
    run_key = _position(t.runs, "session_id")
    run_id = _position(t.runs, "run_id")
    unsure: set[Any] = set()
    if not _all_kept(session_tests, sessions) or not _texts(sessions, session_key):
        unsure.update(row[session_key] for row in sessions if not _row_kept(session_tests, row))
        unsure.update(row[session_key] for row in sessions if type(row[session_key]) is not str)
    if not _all_kept(run_tests, runs) or not _texts(runs, run_key, run_id):
        for row in runs:
            if type(row[run_key]) is not str:  # which session holds it: unknown
                return target_fingerprints(conn, t, ids)
            if type(row[run_id]) is not str or not _row_kept(run_tests, row):
                unsure.add(row[run_key])
    sure_sessions = [row for row in sessions if row[session_key] not in unsure]
    # in (session_id, run_id) order, as read back: Python orders str by code
    # point, SQLite's BINARY collation by UTF-8 bytes, which is the same order
    sure_runs = sorted(
        (row for row in runs if row[run_key] not in unsure), key=itemgetter(run_key, run_id)
    )
    prints = fingerprints_of(
        sure_sessions,
        sure_runs,
        session_key=session_key,
        run_key=run_key,
        run_json=_position(t.runs, "run_data"),  # insert_rows bound json.dumps text
    )
    if unsure:
        prints.update(target_fingerprints(conn, t, [sid for sid in ids if sid in unsure]))
    return prints


def _texts(rows: Sequence[Row], *positions: int) -> bool:
    """Every value at ``positions`` of ``rows`` is a str (the keys a read orders by)."""
    return all(set(map(type, map(itemgetter(p), rows))) <= {str} for p in positions)


def _position(table: sa.Table, name: str) -> int:
    return [c.name for c in table.columns].index(name)


def _tests(conn: Connection, t: TargetTables, table: sa.Table) -> Tests | None:
    """The dialect's tests for ``table``'s columns, in column order (None: read back)."""
    kept = t.dialect.kept_as_bound(conn, table)
    if kept is None:
        return None
    return [kept[c.name] for c in table.columns]


def _all_kept(tests: Tests, rows: Sequence[Row]) -> bool:
    """Every value of ``rows`` is stored as bound (each column tested at once)."""
    if not rows:
        return True
    return all(test(values) for test, values in zip(tests, zip(*rows, strict=True), strict=True))


def _row_kept(tests: Tests, row: Row) -> bool:
    return all(test((value,)) for test, value in zip(tests, row, strict=True))
