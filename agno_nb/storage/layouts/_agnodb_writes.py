"""The two writes agno itself makes to its 2.x / 3.x tables, made the same way
by :class:`~agno_nb.storage.layouts.agnodb.AgnoDbLayout`: renaming a session
(``session_data.session_name``) and deleting one with its runs.

A rename reads the row's JSON cells inside the write transaction (locking the
row on Postgres) and writes ``session_data`` back encoded as the row's cells
are (once or twice, see ``_agnodb_sql``), so agno reads it back unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from agno_nb.storage.contract import Listing
from agno_nb.storage.layouts._agnodb_sql import (
    JSON_COLUMNS,
    AgnoDbParts,
    decode_agno_json,
    encode_agno_json,
)


def rename_session(layout: AgnoDbParts, session_id: str, name: str) -> None:
    """Set ``session_data["session_name"]`` (SessionNotFoundError if no such session)."""
    s, t = layout.storage, layout.table
    json_cols = [c for c in JSON_COLUMNS if c in t.c]
    query = sa.select(*(layout.as_text(t.c[c]).label(c) for c in json_cols))
    query = layout.filtered(query, Listing()).where(t.c.session_id == session_id)
    query = s.for_update(query)  # lock the row, as agno_nb's other read-modify-writes do
    with s.write_conn() as conn:
        row = s.run_statement(conn, query).first()
        if row is None:
            raise s.not_found(session_id)
        cells = row._mapping
        data, depth = decode_agno_json(
            cells["session_data"], session_id=session_id, column="session_data"
        )
        if data is None or depth == 0:
            depth = _row_depth(cells, session_id)
        if not isinstance(data, dict):
            data = {}
        data["session_name"] = name
        text = encode_agno_json(data, depth)
        value = s.dialect.json_value(data, text)
        update = (
            t.update()
            .where(t.c.session_id == session_id)
            .values(session_data=value, updated_at=int(time.time()))
        )
        s.run_statement(conn, update)


def _row_depth(cells: Mapping[str, Any], session_id: str) -> int:
    """How the row's JSON columns are encoded (1 when none holds a value)."""
    for column, text in cells.items():
        value, depth = decode_agno_json(text, session_id=session_id, column=column)
        if value is not None:
            return depth
    return 1


def delete_session(layout: AgnoDbParts, session_id: str) -> None:
    """Delete the session's row and, when there was one, its runs (no error if missing)."""
    s, t = layout.storage, layout.table
    with s.write_conn() as conn:
        statement = t.delete().where(t.c.session_id == session_id, t.c.session_type == layout.type)
        deleted = s.run_statement(conn, statement).rowcount
        if deleted and layout.runs_present(conn):
            r = layout.runs
            s.run_statement(conn, r.delete().where(r.c.session_id == session_id))
