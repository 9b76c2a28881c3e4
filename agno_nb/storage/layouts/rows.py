"""agno_nb's own layouts (v2, v3): agno 1.x's session columns plus summary
columns (name, run and message counts, preview, creation and activity in ms),
with each run in its own row of ``<table>_runs``.

Listing reads the summary columns only; ``get_runs`` pages the runs table;
``append_run`` inserts one row and bumps the counters, so its cost does not
grow with the number of runs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Inspector

from agno_nb.schema import RUNS_SUFFIX, V2_COLUMNS, runs_table
from agno_nb.search import name_text, run_text, search_term
from agno_nb.sessions import Session
from agno_nb.storage._codec import SessionSummary, decode_json
from agno_nb.storage.layouts import Layout, WriteSteps, register, rows_cached
from agno_nb.storage.layouts.agno1 import Agno1Layout
from agno_nb.summary import first_question, new_message_count, summarize_runs

if TYPE_CHECKING:
    from agno_nb.storage.base import BaseStorage


def _creation_ms(created_at: int | None, now_ms: int) -> int:
    """Creation time in ms for newest-first order: the clock's milliseconds for a
    session made just now (its created_at only has seconds), else created_at."""
    if created_at is None or abs(now_ms - created_at * 1000) <= 2000:
        return now_ms
    return int(created_at) * 1000


#: Longest query (UTF-8 bytes) searched with LIKE on SQLite (its pattern limit is
#: 50,000 bytes, escapes and wildcards included); longer ones use instr(), which
#: is slower on long text but has no limit.
LIKE_LIMIT = 20_000
#: Newest sessions whose runs a search page probes one by one before matching
#: all runs at once (see ``RowsLayout._newest_matches``).
SEARCH_WINDOW = 2_000


@register
class RowsLayout(Agno1Layout):
    """agno 1.x's columns + summary columns + a runs table (one row per run)."""

    family = "rows"
    versions = (2, 3, 4)
    priority = 50

    def __init__(self, storage: BaseStorage, version: int | None) -> None:
        super().__init__(storage, version)
        assert version is not None
        #: v4 keeps each session's and each run's folded text for search
        self.searchable = version >= 4
        self.runs = runs_table(
            sa.MetaData(),
            storage.table_name,
            backend=storage.backend,
            schema=storage.schema,
            version=version,
        )

    @classmethod
    def recognise(
        cls, storage: BaseStorage, conn: Connection, inspector: Inspector, columns: set[str]
    ) -> Layout | None:
        if all(name in columns for name, _ in V2_COLUMNS) and inspector.has_table(
            storage.table_name + RUNS_SUFFIX, schema=storage.schema
        ):
            return cls(storage, 2)
        return None

    def create(self, conn: Connection) -> None:
        self.table.create(conn)
        self.runs.create(conn, checkfirst=True)

    # -- hooks of the agno 1.x table ------------------------------------------------------

    def _runs_of(self, conn: Connection, session_ids: list[str]) -> dict[str, list[Any]] | None:
        runs = self.runs
        query = (
            sa.select(runs.c.session_id, sa.cast(runs.c.run, sa.Text))
            .where(runs.c.session_id.in_(session_ids))
            .order_by(runs.c.session_id, runs.c.run_index)
        )
        out: dict[str, list[Any]] = {sid: [] for sid in session_ids}
        for row in self.storage._all(conn, query):
            sid, text = row[0], row[1]
            out[sid].append(decode_json(text, session_id=sid, column="run"))
        return out

    def _search_clause(self, term: str, *, per_row: bool = False) -> Any:
        """v4: the session's folded name and id, or any of its runs' folded text,
        holds ``term`` (a substring test in the database). Older layouts search in
        Python. ``per_row``: probe each session's runs as the sessions are walked
        (cheap when the walk stops early), else match the runs once as a set
        (cheap when it does not)."""
        if not self.searchable:
            return None
        table, runs = self.table, self.runs
        if self.storage.backend == "sqlite" and len(term.encode()) > LIKE_LIMIT:
            # SQLite refuses LIKE patterns over 50,000 bytes: instr() has no limit
            def find(column: Any) -> Any:
                return sa.func.instr(column, term) > 0
        else:
            # both sides are folded (lower case), so SQLite's ASCII-caseless LIKE
            # matches exactly what Postgres' and DuckDB's LIKE match
            def find(column: Any) -> Any:
                return column.contains(term, autoescape=True)

        if per_row:
            in_runs = sa.exists().where(
                runs.c.session_id == table.c.session_id, find(runs.c.search_text)
            )
            return sa.or_(find(table.c.search_name), in_runs)
        # two sequential reads make the set of matching ids; the newest-first walk
        # then only tests membership (measured 1.5x faster than testing the name
        # on each walked row)
        named = sa.select(table.c.session_id).where(find(table.c.search_name))
        matched = sa.select(runs.c.session_id).where(find(runs.c.search_text))
        return table.c.session_id.in_(sa.union_all(matched, named))

    def list_sessions(
        self,
        user_id: str | None,
        entity_id: str | None,
        search: str | None,
        limit: int | None,
        offset: int,
    ) -> list[SessionSummary]:
        term = search_term(search)
        if term is not None and self.searchable and limit is not None:
            page = self._newest_matches(user_id, entity_id, term, limit, offset)
            if page is not None:
                return page
        return super().list_sessions(user_id, entity_id, search, limit, offset)

    def _newest_matches(
        self, user_id: str | None, entity_id: str | None, term: str, limit: int, offset: int
    ) -> list[SessionSummary] | None:
        """The page, if the newest ``SEARCH_WINDOW + offset + limit`` sessions fill it.

        A common term fills a page from the newest sessions: probing their runs
        one session at a time stops after a few dozen. A rare one does not (None:
        the caller matches all runs at once). The window is a prefix of the
        listing order, so a page filled inside it is the page.
        """
        s, key = self.storage, self._creation_key()
        window = SEARCH_WINDOW + offset + limit
        edge_query = self._newest_first(self._filtered(sa.select(key), user_id, entity_id))
        query = self._summary_query(user_id, entity_id, None, limit, offset)
        query = query.where(self._search_clause(term, per_row=True))
        with s._read() as conn:
            edge = s._run(conn, edge_query.offset(window - 1).limit(1)).scalar()
            if edge is not None:  # else fewer sessions than the window: search them all
                inside = key >= edge
                if s.backend == "postgres":  # descending order puts NULLs first there
                    inside = sa.or_(inside, key.is_(None))
                query = query.where(inside)
            rows = s._all(conn, query)
        if edge is not None and len(rows) < limit:
            return None
        return [self._summary(row._mapping) for row in rows]

    def _creation_key(self) -> Any:
        return self.table.c.created_ms

    def _rename_values(self, session_id: str, name: str) -> dict[str, Any]:
        values: dict[str, Any] = {"session_name": name}
        if self.searchable:
            values["search_name"] = name_text(session_id, name)
        return values

    def _delete_runs(self, conn: Connection, session_id: str) -> None:
        runs = self.runs
        self.storage._run(conn, runs.delete().where(runs.c.session_id == session_id))

    # -- listing from the summary columns --------------------------------------------------

    def summary_select(
        self,
        user_id: str | None,
        entity_id: str | None,
        search: str | None,
        limit: int | None,
        offset: int,
    ) -> sa.Select[Any] | None:
        if self._searches_in_python(search) is not None:
            return None
        return self._summary_query(user_id, entity_id, search, limit, offset)

    def _summary_query(
        self,
        user_id: str | None,
        entity_id: str | None,
        search: str | None,
        limit: int | None,
        offset: int,
    ) -> sa.Select[Any]:
        table = self.table
        extra = [table.c.session_name, table.c.run_count, table.c.message_count, table.c.preview]
        return self._listing(extra, user_id, entity_id, search, limit, offset)

    def _summary(self, row: Mapping[Any, Any]) -> SessionSummary:
        return SessionSummary(
            session_id=row["session_id"],
            user_id=row["user_id"],
            entity_id=row["entity_id"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            session_name=row["session_name"],
            run_count=int(row["run_count"] or 0),
            message_count=int(row["message_count"] or 0),
            preview=row["preview"],
        )

    # -- runs, paged by the database -------------------------------------------------------

    def get_runs(
        self, session_id: str, limit: int | None, offset: int, newest_first: bool
    ) -> list[dict[str, Any]]:
        s, runs_t = self.storage, self.runs
        order = runs_t.c.run_index.desc() if newest_first else runs_t.c.run_index
        query = (
            sa.select(sa.cast(runs_t.c.run, sa.Text))
            .where(runs_t.c.session_id == session_id)
            .order_by(order)
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        with s._read() as conn:
            rows = s._all(conn, query)
            if not rows and not self._exists(conn, session_id):
                raise s._not_found(session_id)
        return [decode_json(r[0], session_id=session_id, column="run") for r in rows]

    def count_runs(self, session_id: str) -> int:
        s, table = self.storage, self.table
        with s._read() as conn:
            count = s._run(
                conn, sa.select(table.c.run_count).where(table.c.session_id == session_id)
            ).first()
        if count is None:
            raise s._not_found(session_id)
        return int(count[0] or 0)

    # -- writes ---------------------------------------------------------------------------

    def _take_runs(self, values: dict[str, Any]) -> list[Any]:
        """Split the runs out of the session values (they go to the runs table)."""
        if self.source == "runs":
            run_list = values.get("runs") or []
            values["runs"] = None
            return list(run_list)
        memory = values.get("memory")
        if not isinstance(memory, dict):
            return []
        memory = dict(memory)
        run_list = memory.pop("runs", None) or []
        values["memory"] = memory
        return list(run_list)

    def _run_row(self, session_id: str, index: int, run: Any, messages: int) -> dict[str, Any]:
        is_dict = isinstance(run, (dict, Mapping))  # dict first: no ABC check for a dict
        row = {
            "session_id": session_id,
            "run_index": index,
            "run_id": run.get("run_id") if is_dict else None,
            "created_at": run.get("created_at") if is_dict else None,
            "message_count": messages,
            "run": run,
        }
        if self.searchable:
            row["search_text"] = run_text(run)
        return row

    def _row_values(self, session: Session, now_ms: int) -> dict[str, Any]:
        """agno 1.x's columns of the session row (runs still inside)."""
        return super()._session_values(session, now_ms, [])

    def _add_summary(
        self,
        values: dict[str, Any],
        now_ms: int,
        run_count: int,
        message_count: int,
        preview: str | None,
    ) -> None:
        """Set the summary columns of a session row's INSERT parameters."""
        data = values.get("session_data")
        values["session_name"] = data.get("session_name") if isinstance(data, dict) else None
        if self.searchable:
            values["search_name"] = name_text(values["session_id"], values["session_name"])
        values["run_count"] = run_count
        values["message_count"] = message_count
        values["preview"] = preview
        values["active_ms"] = now_ms
        values["created_ms"] = _creation_ms(values.get("created_at"), now_ms)

    def _session_values(
        self, session: Session, now_ms: int, run_rows: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The session row's INSERT parameters; its run rows go to ``run_rows``."""
        values = self._row_values(session, now_ms)
        run_list = self._take_runs(values)
        summary = summarize_runs(run_list)
        self._add_summary(values, now_ms, len(run_list), summary.message_count, summary.preview)
        session_id = session.session_id
        counts = summary.per_run_messages
        run_rows.extend(
            self._run_row(session_id, i, run, counts[i]) for i, run in enumerate(run_list)
        )
        return values

    def _runs_statements(self) -> tuple[Any, Any]:
        """DELETE of one session's runs (bound ``sid``) and INSERT of run rows."""
        statements = self.storage._statements.get(("runs",))
        if statements is None:
            runs = self.runs
            clear = runs.delete().where(runs.c.session_id == sa.bindparam("sid"))
            statements = self.storage._statements[("runs",)] = (clear, runs.insert())
        return statements

    def upsert_steps(self, batch: Sequence[Session], now_ms: int) -> WriteSteps:
        run_rows: list[dict[str, Any]] = []
        rows = [self._session_values(session, now_ms, run_rows) for session in batch]
        clear, insert = self._runs_statements()
        return [
            (self.storage._upsert_statement(self.table, tuple(rows[0])), rows),
            (clear, [{"sid": s.session_id} for s in batch]),
            (insert, run_rows),
        ]

    # -- through the run cache where the backend has change tokens ----------------------

    def read(self, session_id: str, user_id: str | None) -> Session | None:
        found = rows_cached.read(self, session_id, user_id)
        if found is rows_cached.UNSUPPORTED:
            return super().read(session_id, user_id)
        return found

    def write_sessions(self, batch: Sequence[Session], now_ms: int) -> None:
        if len(batch) == 1 and rows_cached.write(self, batch[0], now_ms):
            return
        try:
            super().write_sessions(batch, now_ms)
        finally:  # written on a connection whose own commits move no token
            self.storage._run_cache.discard([s.session_id for s in batch])

    def rename_session(self, session_id: str, name: str) -> None:
        try:
            super().rename_session(session_id, name)
        finally:
            self.storage._run_cache.discard([session_id])

    def delete_session(self, session_id: str) -> None:
        try:
            super().delete_session(session_id)
        finally:
            self.storage._run_cache.discard([session_id])

    def _append_statement(self, with_data: bool) -> Any:
        """UPDATE of the session row for one more run, returning its run count."""
        key = ("append", id(self.table), with_data)
        statement = self.storage._statements.get(key)
        if statement is None:
            table = self.table
            zero: Any = sa.literal_column("0")
            values: dict[str, Any] = {
                "run_count": sa.func.coalesce(table.c.run_count, zero) + sa.literal_column("1"),
                "message_count": sa.func.coalesce(table.c.message_count, zero)
                + sa.bindparam("b_added"),
                "preview": sa.func.coalesce(table.c.preview, sa.bindparam("b_preview")),
                "active_ms": sa.bindparam("b_active"),
                "updated_at": sa.bindparam("b_now"),
            }
            if with_data:
                values["session_data"] = sa.bindparam("b_data", type_=table.c.session_data.type)
                values["session_name"] = sa.bindparam("b_name")
                if self.searchable:
                    values["search_name"] = sa.bindparam("b_search")
            statement = (
                table.update()
                .where(table.c.session_id == sa.bindparam("b_sid"))
                .values(**values)
                .returning(table.c.run_count)
            )
            self.storage._statements[key] = statement
        return statement

    def append_run(
        self, session_id: str, run: dict[str, Any], session_data: Mapping[str, Any] | None
    ) -> int:
        s = self.storage
        count = new_message_count(run)
        params: dict[str, Any] = {
            "b_sid": session_id,
            "b_added": count,
            "b_preview": first_question(run),
            "b_active": int(time.time() * 1000),
            "b_now": int(time.time()),
        }
        if session_data is not None:
            params["b_data"] = session_data
            params["b_name"] = session_data.get("session_name")
            if self.searchable:
                params["b_search"] = name_text(session_id, params["b_name"])
        with s._versioned(write=True) as db:
            if db is not None:
                try:
                    found = db.scalar(self._append_statement(session_data is not None), params)
                    if found is None:
                        raise s._not_found(session_id)
                    index = int(found) - 1
                    db.execute(self.runs.insert(), [self._run_row(session_id, index, run, count)])
                finally:
                    s._run_cache.discard([session_id])
                return index
        return self._append_general(session_id, run, session_data)

    def _append_general(
        self, session_id: str, run: dict[str, Any], session_data: Mapping[str, Any] | None
    ) -> int:
        s, table = self.storage, self.table
        now = int(time.time())
        count = new_message_count(run)
        values: dict[str, Any] = {
            "run_count": sa.func.coalesce(table.c.run_count, 0) + 1,
            "message_count": sa.func.coalesce(table.c.message_count, 0) + count,
            "preview": sa.func.coalesce(table.c.preview, first_question(run)),
            "active_ms": int(time.time() * 1000),
            "updated_at": now,
        }
        if session_data is not None:
            values["session_data"] = session_data
            values["session_name"] = session_data.get("session_name")
            if self.searchable:
                values["search_name"] = name_text(session_id, values["session_name"])
        statement = (
            table.update()
            .where(table.c.session_id == session_id)
            .values(**values)
            .returning(table.c.run_count)
        )
        with s._write() as conn:
            new_count = s._run(conn, statement).scalar()
            if new_count is None:
                raise s._not_found(session_id)
            index = int(new_count) - 1
            s._run(conn, self.runs.insert().values(**self._run_row(session_id, index, run, count)))
        return index
