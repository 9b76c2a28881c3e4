"""agno 1.x's session table (layouts v0 and v1): each session's runs live in a
JSON column, ``memory["runs"]`` (or ``runs`` in ``workflow_v2`` mode).

Reads decode the JSON; listing decodes only the page's rows; ``append_run``
reads, extends and writes back the session's JSON. The table keeps agno 1.x's
exact columns and encoding, so agno 1.x reads what agno_nb writes. The row
handling it shares with agno_nb's row layouts is in ``agno1_rows.py``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Inspector

from agno_nb.codec import SessionSummary, decode_json, decode_row, session_row
from agno_nb.schema import json_text, session_table
from agno_nb.sessions import SESSION_CLASSES, Session
from agno_nb.storage.catalog import unstamped_agno1_version
from agno_nb.storage.contract import Layout, Listing, StorageCore, WriteSteps
from agno_nb.storage.layouts import agno1_rows


class Agno1Layout(agno1_rows.Agno1Reads, Layout):
    """agno 1.x's table: one row per session, runs inside its JSON."""

    family = "agno1"
    versions: ClassVar[tuple[int, ...]] = (0, 1)
    priority = 100  # asked last: any other table with agno 1.x's columns is agno 1.x's
    expects = "agno 1.x's"

    def __init__(self, storage: StorageCore, version: int | None) -> None:
        super().__init__(storage, version)
        assert version is not None
        self.table = storage.table_at(version)
        #: where a session's runs live: ``memory["runs"]``, or ``runs`` (workflow_v2)
        self.source = agno1_rows.runs_source(storage.mode)
        #: agno 1.x's JSON columns, decoded from a row
        self.json_columns = agno1_rows.json_columns(storage.table_at(1))

    @classmethod
    def expected_columns(cls, storage: StorageCore) -> tuple[str, ...]:
        table = session_table(
            sa.MetaData(), "t", mode=storage.mode, version=0, backend=storage.backend
        )
        return tuple(c.name for c in table.columns)

    @classmethod
    def recognise(
        cls, storage: StorageCore, conn: Connection, inspector: Inspector, columns: set[str]
    ) -> Layout | None:
        if not all(c in columns for c in cls.expected_columns(storage)):
            return None
        return cls(storage, unstamped_agno1_version(columns, storage.mode))

    def create(self, conn: Connection) -> None:
        self.table.create(conn)

    # -- what agno1_rows asks of this family (Agno1Parts) -----------------------------------

    def row_columns(self) -> list[Any]:
        return agno1_rows.row_columns(self.table, self.storage.backend)

    def session_from_row(self, row: Mapping[Any, Any], runs: dict[str, Any] | None) -> Session:
        session: Session = SESSION_CLASSES[self.storage.mode].from_dict(
            decode_row(row, self.json_columns)
        )
        return session

    def runs_of(self, conn: Connection, session_ids: list[str]) -> dict[str, Any] | None:
        return None  # the runs are in the rows

    def search_clause(self, term: str) -> Any:
        return None  # agno 1.x's table (shared with agno: no new columns) is searched in Python

    def creation_key(self) -> Any:
        return self.table.c.created_at

    def insertion_key(self) -> Any:
        return agno1_rows.insertion_order(self.storage, self.table)

    def summary_query(self, want: Listing) -> sa.Select[Any]:
        return agno1_rows.listing(self, agno1_rows.json_listing_columns(self), want)

    def page_summaries(self, conn: Connection, rows: Sequence[Any]) -> list[SessionSummary]:
        return [agno1_rows.json_summary(self.source, row._mapping) for row in rows]

    def _require(self, session_id: str) -> Session:
        session = self.read(session_id, None)
        if session is None:
            raise self.storage.not_found(session_id)
        return session

    def get_runs(
        self, session_id: str, limit: int | None, offset: int, newest_first: bool
    ) -> list[dict[str, Any]]:
        runs = self._require(session_id).run_dicts
        ordered = list(reversed(runs)) if newest_first else runs
        return ordered[offset : None if limit is None else offset + limit]

    def count_runs(self, session_id: str) -> int:
        return len(self._require(session_id).run_dicts)

    # -- writes ---------------------------------------------------------------------------

    def upsert_steps(self, batch: Sequence[Session], now_ms: int) -> WriteSteps:
        s, table = self.storage, self.table
        rows = [
            session_row(agno1_rows.field_reader(s, table, type(session)), session, now_ms)
            for session in batch
        ]
        return [(s.upsert_statement(table, tuple(rows[0])), rows)]

    def append_run(
        self, session_id: str, run: dict[str, Any], session_data: Mapping[str, Any] | None
    ) -> int:
        s, table, source = self.storage, self.table, self.source
        now = int(time.time())
        column = table.c[source]
        # read-modify-write: the row stays locked until the new value is written
        query = s.for_update(
            sa.select(json_text(column, s.backend)).where(table.c.session_id == session_id)
        )
        with s.write_conn() as conn:
            row = s.run_statement(conn, query).first()
            if row is None:
                raise s.not_found(session_id)
            holder = decode_json(row[0], session_id=session_id, column=source)
            new_value, run_list = agno1_rows.appended(source, session_id, holder, run)
            values: dict[str, Any] = {source: new_value, "updated_at": now}
            if session_data is not None:
                values["session_data"] = session_data
            s.run_statement(
                conn, table.update().where(table.c.session_id == session_id).values(**values)
            )
        return len(run_list) - 1

    def rename_session(self, session_id: str, name: str) -> None:
        agno1_rows.rename_session(self, session_id, name)

    def delete_session(self, session_id: str) -> None:
        with self.storage.write_conn() as conn:
            agno1_rows.delete_row(self, conn, session_id)
