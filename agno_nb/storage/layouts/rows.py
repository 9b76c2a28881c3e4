"""agno_nb's own layouts (v2 to v6): agno 1.x's session columns plus summary
columns (name, run and message counts, preview, creation and activity in ms),
with each run in its own row of ``<table>_runs``.

Listing reads the summary columns only; ``get_runs`` pages the runs table;
``append_run`` inserts one row and bumps the counters, so its cost does not
grow with the number of runs.

A session whose runs holder (``memory``, or ``runs`` in workflow_v2 mode) has
no list of runs (``memory=None``, no ``"runs"`` key, ``"runs": None``) is
stored *as given*, with ``run_count`` NULL, so it reads back exactly. The same
mark keeps a row the upgrade could not move (corrupt JSON, skipped with
``skip_corrupt=True``) exactly as it was: once fixed, its runs are read from
its JSON, and the next ``append_run`` or ``upgrade_schema()`` moves them. On
v4 such a session has no run rows to hold its runs' search text, so its
``search_name`` holds it after its name and id (see ``_search_name``). From
v5 Postgres keeps each run as ``json`` (the text as written) instead of
``jsonb``; runs are read as text on every version (``json_text``), so the
same statements serve both. From v6 Postgres and DuckDB number each new
session row (``insert_seq``), which orders sessions created in the same
millisecond; SQLite's rowid does that on every version.

The session row is agno 1.x's plus the summary columns: its columns, values,
runs holder, listing queries and Python search are the functions of
``agno1_rows.py``, shared with agno 1.x's own family; this family is a
``contract.Layout`` of its own that uses them.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Inspector

from agno_nb.codec import SessionSummary, decode_json, decode_row, session_row
from agno_nb.errors import CorruptSessionError
from agno_nb.migrations import StepStats
from agno_nb.migrations.sql import quoted
from agno_nb.schema import INSERT_SEQ, json_text, quiet_update, runs_name, runs_table
from agno_nb.sessions import SESSION_CLASSES, Session
from agno_nb.storage.catalog import v2_columns_present
from agno_nb.storage.contract import Layout, Listing, StorageCore, WriteSteps
from agno_nb.storage.layouts import agno1_rows, rows_cached
from agno_nb.summary import (
    first_question,
    name_text,
    new_message_count,
    run_text,
    search_term,
    session_text,
    summarize_runs,
)


def _creation_ms(created_at: int | None, now_ms: int) -> int:
    """Creation time in ms for newest-first order: the clock's milliseconds for a
    session made just now (its created_at only has seconds), else created_at."""
    if created_at is None or abs(now_ms - created_at * 1000) <= 2000:
        return now_ms
    return int(created_at) * 1000


#: Newest sessions whose runs a search page probes one by one before matching
#: all runs at once (see ``RowsLayout._newest_matches``).
SEARCH_WINDOW = 2_000


class RowsLayout(agno1_rows.Agno1Reads, Layout):
    """agno 1.x's columns + summary columns + a runs table (one row per run)."""

    family = "rows"
    versions = (2, 3, 4, 5, 6)
    priority = 50

    def __init__(self, storage: StorageCore, version: int | None) -> None:
        super().__init__(storage, version)
        assert version is not None
        self.table = storage.table_at(version)
        #: where agno 1.x keeps a session's runs: ``memory["runs"]``, or ``runs`` (workflow_v2)
        self.source = agno1_rows.runs_source(storage.mode)
        #: agno 1.x's JSON columns, decoded from a row
        self.json_columns = agno1_rows.json_columns(storage.table_at(1))
        #: v4 keeps each session's and each run's folded text for search
        self.searchable = version >= 4
        #: the database's LIKE ignores ASCII case: all-ASCII search text is stored as written
        self.ascii_as_is = storage.dialect.like_ignores_ascii_case
        #: session type -> ``agno1_rows.field_reader`` (its columns and getter)
        self._field_readers: dict[type, Any] = {}
        self.runs = runs_table(
            sa.MetaData(),
            storage.table_name,
            backend=storage.backend,
            schema=storage.schema,
            version=version,
        )

    @classmethod
    def recognise(
        cls, storage: StorageCore, conn: Connection, inspector: Inspector, columns: set[str]
    ) -> Layout | None:
        if v2_columns_present(columns) and storage.has_table(
            conn, runs_name(storage.table_name, storage.backend)
        ):
            return cls(storage, 2)
        return None

    def create(self, conn: Connection) -> None:
        self.table.create(conn)
        self.runs.create(conn, checkfirst=True)
        if (self.version or 0) >= 5:
            # as the v4 -> v5 step leaves it: runs' text compressed (lz4 on Postgres)
            runs = quoted(self.storage.ref, conn.dialect, self.runs.name)
            ddl = self.storage.dialect.compressed_runs_ddl(runs, ["run", "search_text"])
            if ddl is not None:
                conn.exec_driver_sql(ddl)

    # -- what agno1_rows asks of this family (Agno1Parts) -----------------------------------

    def row_columns(self) -> list[Any]:
        return [
            *agno1_rows.row_columns(self.table, self.storage.backend),
            self.table.c.run_count,
        ]

    def session_from_row(self, row: Mapping[Any, Any], runs: dict[str, Any] | None) -> Session:
        data = decode_row(row, self.json_columns)
        if runs is not None:
            self._put_runs(data, runs.get(data["session_id"], []))
        session: Session = SESSION_CLASSES[self.storage.mode].from_dict(data)
        return session

    def _put_runs(self, data: dict[str, Any], run_list: Any) -> None:
        """Put the runs kept apart from the row back into its decoded ``data``."""
        if data.get("run_count", 0) is None:  # stored as given: its runs are inside
            return
        if isinstance(run_list, CorruptSessionError):
            raise run_list
        if self.source == "runs":
            data["runs"] = run_list
            return
        memory = data.get("memory")
        data["memory"] = (
            dict(memory, runs=run_list) if isinstance(memory, dict) else {"runs": run_list}
        )

    def runs_of(self, conn: Connection, session_ids: list[str]) -> dict[str, Any] | None:
        runs = self.runs
        query = (
            sa.select(runs.c.session_id, json_text(runs.c.run, self.storage.backend))
            .where(runs.c.session_id.in_(session_ids))
            .order_by(runs.c.session_id, runs.c.run_index)
        )
        out: dict[str, Any] = {sid: [] for sid in session_ids}
        for row in self.storage.fetch_all(conn, query):
            sid, text = row[0], row[1]
            runs = out[sid]
            if isinstance(runs, list):
                try:
                    runs.append(decode_json(text, session_id=sid, column="run"))
                except CorruptSessionError as exc:
                    out[sid] = exc  # this session cannot be read; the others can
        return out

    def search_clause(self, term: str, *, per_row: bool = False) -> Any:
        """v4: the session's folded name and id, or any of its runs' folded text,
        holds ``term`` (a substring test in the database). Older layouts search in
        Python. ``per_row``: probe each session's runs as the sessions are walked
        (cheap when the walk stops early), else match the runs once as a set
        (cheap when it does not)."""
        if not self.searchable:
            return None
        table, runs = self.table, self.runs
        # both sides are folded (lower case), so SQLite's ASCII-caseless LIKE
        # matches exactly what Postgres' and DuckDB's LIKE match
        dialect = self.storage.dialect

        def find(column: Any) -> Any:
            return dialect.contains(column, term)

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

    def list_sessions(self, want: Listing) -> list[SessionSummary]:
        term = search_term(want.search)
        if term is not None and self.searchable and want.limit is not None:
            page = self._newest_matches(want, term, want.limit)
            if page is not None:
                return page
        return agno1_rows.list_sessions(self, want)

    def _newest_matches(self, want: Listing, term: str, limit: int) -> list[SessionSummary] | None:
        """The page, if the newest ``SEARCH_WINDOW + offset + limit`` sessions fill it.

        A common term fills a page from the newest sessions: probing their runs
        one session at a time stops after a few dozen. A rare one does not (None:
        the caller matches all runs at once). The window is a prefix of the
        listing order, so a page filled inside it is the page.
        """
        s, key = self.storage, self.creation_key()
        window = SEARCH_WINDOW + want.offset + limit
        edge_query = agno1_rows.newest_first(
            self, agno1_rows.filtered(self, sa.select(key), Listing(want.user_id, want.entity_id))
        )
        query = self.summary_query(dataclasses.replace(want, search=None))
        query = query.where(self.search_clause(term, per_row=True))
        with s.read_conn() as conn:
            edge = s.run_statement(conn, edge_query.offset(window - 1).limit(1)).scalar()
            if edge is not None:  # else fewer sessions than the window: search them all
                query = query.where(s.dialect.with_nulls(key >= edge, key))
            rows = s.fetch_all(conn, query)
            if edge is not None and len(rows) < limit:
                return None
            return self.page_summaries(conn, rows)

    def creation_key(self) -> Any:
        return self.table.c.created_ms

    def insertion_key(self) -> Any:
        if INSERT_SEQ in self.table.c:  # v6 where the database keeps no insertion order
            return self.table.c[INSERT_SEQ]
        return agno1_rows.insertion_order(self.storage, self.table)

    def _rename_values(self, conn: Connection, session_id: str, name: str) -> dict[str, Any]:
        values: dict[str, Any] = {"session_name": name}
        if self.searchable:
            values["search_name"] = self._search_name(conn, session_id, name)
        return values

    def _search_name(self, conn: Connection, session_id: str, name: Any) -> str:
        """v4's ``search_name``: the folded name and id, and for a session stored
        as given (its runs in its JSON, none in the runs table) its runs' text."""
        try:
            held = self._held(conn, session_id)
        except CorruptSessionError:  # found by name and id until fixed
            held = None
        return session_text(session_id, name, held or [])

    def _delete_runs(self, conn: Connection, session_id: str) -> None:
        runs = self.runs
        self.storage.run_statement(conn, runs.delete().where(runs.c.session_id == session_id))

    # -- listing from the summary columns --------------------------------------------------

    def summary_select(self, want: Listing) -> sa.Select[Any] | None:
        if agno1_rows.searches_in_python(self, want.search) is not None:
            return None
        return self.summary_query(want)

    def summary_query(self, want: Listing) -> sa.Select[Any]:
        table = self.table
        extra = [table.c.session_name, table.c.run_count, table.c.message_count, table.c.preview]
        return agno1_rows.listing(self, extra, want)

    def page_summaries(self, conn: Connection, rows: Sequence[Any]) -> list[SessionSummary]:
        """Summaries from the summary columns; a session stored as given (its
        ``run_count`` NULL) is summarised from its JSON instead."""
        held = [row.session_id for row in rows if row.run_count is None]
        kept = self._held_summaries(conn, held) if held else {}
        return [kept.get(row.session_id) or self._summary(row._mapping) for row in rows]

    def _held_summaries(self, conn: Connection, ids: list[str]) -> dict[str, SessionSummary]:
        """Summaries of sessions stored as given (runs, if any, in their JSON),
        computed from that JSON as on agno's layout; a corrupt one is an error row."""
        table = self.table
        query = sa.select(
            table.c.session_id,
            table.c.user_id,
            table.c[self.storage.entity_column].label("entity_id"),
            table.c.created_at,
            table.c.updated_at,
            *agno1_rows.json_listing_columns(self),
        ).where(table.c.session_id.in_(ids))
        rows = self.storage.fetch_all(conn, query)
        source = self.source
        return {row.session_id: agno1_rows.json_summary(source, row._mapping) for row in rows}

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
            sa.select(json_text(runs_t.c.run, s.backend))
            .where(runs_t.c.session_id == session_id)
            .order_by(order)
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        with s.read_conn() as conn:
            rows = s.fetch_all(conn, query)
            if not rows:
                held = self._held(conn, session_id)
                if held is not None:  # stored as given: page the runs inside its JSON
                    ordered = list(reversed(held)) if newest_first else held
                    return ordered[offset : None if limit is None else offset + limit]
        return [decode_json(r[0], session_id=session_id, column="run") for r in rows]

    def count_runs(self, session_id: str) -> int:
        s, table = self.storage, self.table
        with s.read_conn() as conn:
            count = s.run_statement(
                conn, sa.select(table.c.run_count).where(table.c.session_id == session_id)
            ).first()
            if count is not None and count[0] is None:
                return len(self._held(conn, session_id) or [])
        if count is None:
            raise s.not_found(session_id)
        return int(count[0])

    def _held(self, conn: Connection, session_id: str) -> list[Any] | None:
        """The runs inside the JSON of a session stored as given; None when its runs
        are in the runs table.

        Raises:
            SessionNotFoundError: no such session.
            CorruptSessionError: its JSON cannot be decoded.
        """
        s, table = self.storage, self.table
        query = sa.select(table.c.run_count, json_text(table.c[self.source], s.backend)).where(
            table.c.session_id == session_id
        )
        row = s.run_statement(conn, query).first()
        if row is None:
            raise s.not_found(session_id)
        if row[0] is not None:
            return None
        holder = decode_json(row[1], session_id=session_id, column=self.source)
        return agno1_rows.held_runs(self.source, holder)

    # -- writes ---------------------------------------------------------------------------

    def take_runs(self, values: dict[str, Any]) -> list[Any] | None:
        """Split the runs out of the session values (they go to the runs table);
        None when the holder has no list of runs (it is then stored as given)."""
        if self.source == "runs":
            run_list = values.get("runs")
            if not isinstance(run_list, list):
                return None
            values["runs"] = None
            return run_list
        memory = values.get("memory")
        if not isinstance(memory, dict) or not isinstance(memory.get("runs"), list):
            return None
        rest = dict(memory)
        run_list = rest.pop("runs")
        values["memory"] = rest
        return run_list

    def run_row(
        self,
        session_id: str,
        index: int,
        run: Any,
        messages: int,
        text: str | None = None,
    ) -> dict[str, Any]:
        """A run row's INSERT parameters (``text``: the run's ``run_text()`` when
        the caller has it, so it is not folded again)."""
        is_dict = type(run) is dict or isinstance(run, Mapping)
        row = {
            "session_id": session_id,
            "run_index": index,
            "run_id": run.get("run_id") if is_dict else None,
            "created_at": run.get("created_at") if is_dict else None,
            "message_count": messages,
            "run": run,
        }
        if self.searchable:
            row["search_text"] = (
                run_text(run, ascii_as_is=self.ascii_as_is) if text is None else text
            )
        return row

    def row_values(self, session: Session, now_ms: int) -> dict[str, Any]:
        """agno 1.x's columns of the session row (runs still inside), with the
        field reader kept on this layout so a write does not call into agno1_rows."""
        kind = type(session)
        reader = self._field_readers.get(kind)
        if reader is None:
            reader = agno1_rows.field_reader(self.storage, self.table, kind)
            self._field_readers[kind] = reader
        return session_row(reader, session, now_ms)

    def add_summary(
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
            values["search_name"] = name_text(
                values["session_id"], values["session_name"], ascii_as_is=self.ascii_as_is
            )
        values["run_count"] = run_count
        values["message_count"] = message_count
        values["preview"] = preview
        values["active_ms"] = now_ms
        values["created_ms"] = _creation_ms(values.get("created_at"), now_ms)

    def _session_values(
        self, session: Session, now_ms: int, run_rows: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The session row's INSERT parameters; its run rows go to ``run_rows``."""
        values = self.row_values(session, now_ms)
        taken = self.take_runs(values)
        run_list = [] if taken is None else taken
        summary = summarize_runs(run_list)
        self.add_summary(values, now_ms, len(run_list), summary.message_count, summary.preview)
        if taken is None:
            values["run_count"] = None  # stored as given (see the module docstring)
        session_id = session.session_id
        counts = summary.per_run_messages
        run_rows.extend(
            self.run_row(session_id, i, run, counts[i]) for i, run in enumerate(run_list)
        )
        return values

    def _runs_statements(self) -> tuple[Any, Any]:
        """DELETE of one session's runs (bound ``sid``) and INSERT of run rows."""
        statements = self.storage.statements.get(("runs",))
        if statements is None:
            runs = self.runs
            clear = runs.delete().where(runs.c.session_id == sa.bindparam("sid"))
            statements = self.storage.statements[("runs",)] = (clear, runs.insert())
        return statements

    def upsert_steps(self, batch: Sequence[Session], now_ms: int) -> WriteSteps:
        run_rows: list[dict[str, Any]] = []
        rows = [self._session_values(session, now_ms, run_rows) for session in batch]
        clear, insert = self._runs_statements()
        return [
            (self.storage.upsert_statement(self.table, tuple(rows[0])), rows),
            (clear, [{"sid": s.session_id} for s in batch]),
            (insert, run_rows),
        ]

    # -- through the run cache where the backend has change tokens ----------------------

    def read(self, session_id: str, user_id: str | None) -> Session | None:
        found = rows_cached.read(self, session_id, user_id)
        if found is rows_cached.UNSUPPORTED:
            return agno1_rows.read(self, session_id, user_id)
        return found

    def write_sessions(self, batch: Sequence[Session], now_ms: int) -> None:
        if len(batch) == 1 and rows_cached.write(self, batch[0], now_ms):
            return
        try:
            self.storage.write_steps(self.upsert_steps(batch, now_ms))
        finally:  # written on a connection whose own commits move no token
            self.storage.run_cache.discard([s.session_id for s in batch])

    def rename_session(self, session_id: str, name: str) -> None:
        def more(conn: Connection) -> dict[str, Any]:
            return self._rename_values(conn, session_id, name)

        try:
            agno1_rows.rename_session(self, session_id, name, more)
        finally:
            self.storage.run_cache.discard([session_id])

    def delete_session(self, session_id: str) -> None:
        try:
            with self.storage.write_conn() as conn:
                agno1_rows.delete_row(self, conn, session_id)
                self._delete_runs(conn, session_id)
        finally:
            self.storage.run_cache.discard([session_id])

    def _append_statement(self, with_data: bool) -> Any:
        """UPDATE of the session row for one more run, returning its run count."""
        key = ("append", id(self.table), with_data)
        statement = self.storage.statements.get(key)
        if statement is None:
            table = self.table
            zero: Any = sa.literal_column("0")
            values: dict[str, Any] = {
                "run_count": table.c.run_count + sa.literal_column("1"),
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
                # a session stored as given (run_count NULL) takes the general path
                .where(table.c.session_id == sa.bindparam("b_sid"), table.c.run_count.isnot(None))
                .values(**values)
                .returning(table.c.run_count)
            )
            self.storage.statements[key] = statement
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
                params["b_search"] = name_text(
                    session_id, params["b_name"], ascii_as_is=self.ascii_as_is
                )
        with s.versioned(write=True) as db:
            if db is not None:
                try:
                    found = db.scalar(self._append_statement(session_data is not None), params)
                    if found is not None:
                        index = int(found) - 1
                        row = self.run_row(session_id, index, run, count)
                        db.execute(self.runs.insert(), [row])
                finally:
                    s.run_cache.discard([session_id])
                if found is not None:
                    return index
        # no change tokens, no such session, or one stored as given: the general path
        return self._append_general(session_id, run, session_data)

    def _append_general(
        self, session_id: str, run: dict[str, Any], session_data: Mapping[str, Any] | None
    ) -> int:
        s, table = self.storage, self.table
        now = int(time.time())
        count = new_message_count(run)
        values: dict[str, Any] = {
            "run_count": table.c.run_count + 1,  # stays NULL on a session stored as given
            "message_count": sa.func.coalesce(table.c.message_count, 0) + count,
            "preview": sa.func.coalesce(table.c.preview, first_question(run)),
            "active_ms": int(time.time() * 1000),
            "updated_at": now,
        }
        if session_data is not None:
            values["session_data"] = session_data
            values["session_name"] = session_data.get("session_name")
            if self.searchable:
                values["search_name"] = name_text(
                    session_id, values["session_name"], ascii_as_is=self.ascii_as_is
                )
        statement = (
            table.update()
            .where(table.c.session_id == session_id)
            .values(**values)
            .returning(table.c.run_count)
        )
        with s.write_conn() as conn:
            updated = s.run_statement(conn, statement).first()
            if updated is None:
                raise s.not_found(session_id)
            if updated[0] is None:  # its runs are in its JSON: move them, then this one
                return self._move_held(conn, session_id, [run]) - 1
            index = int(updated[0]) - 1
            s.run_statement(
                conn, self.runs.insert().values(**self.run_row(session_id, index, run, count))
            )
        return index

    def move_held(self, conn: Connection) -> StepStats:
        s, table, source = self.storage, self.table, self.source
        query = sa.select(table.c.session_id, json_text(table.c[source], s.backend)).where(
            table.c.run_count.is_(None)
        )
        stats = StepStats()
        for session_id, text in s.fetch_all(conn, query):
            try:
                holder = decode_json(text, session_id=session_id, column=source)
                if not agno1_rows.held_runs(source, holder):
                    continue  # stored as given, no runs inside: nothing to move
                stats.runs += self._move_held(conn, session_id, [])
            except CorruptSessionError as exc:
                stats.unmoved.append((session_id, str(exc).split(";")[0]))
                continue
            stats.sessions += 1
        return stats

    def _move_held(self, conn: Connection, session_id: str, more: list[Any]) -> int:
        """Move the runs of a session stored as given (plus ``more``) into the runs
        table and fill its summary columns, in the caller's transaction; returns
        how many runs it has now.

        Raises:
            CorruptSessionError: its JSON cannot be decoded or holds no list of runs.
        """
        s, table, source = self.storage, self.table, self.source
        query = s.for_update(  # read-modify-write: the row stays locked until written
            sa.select(json_text(table.c[source], s.backend), table.c.session_name).where(
                table.c.session_id == session_id
            )
        )
        text, name = s.run_statement(conn, query).one()
        holder = decode_json(text, session_id=session_id, column=source)
        # checks its shape
        new_holder, run_list = agno1_rows.appended(source, session_id, holder, None)
        run_list = [*run_list[:-1], *more]  # without the None that checked it
        rest: Any = None
        if source != "runs":
            rest = dict(new_holder)
            del rest["runs"]
        summary = summarize_runs(run_list)
        self._delete_runs(conn, session_id)
        counts = summary.per_run_messages
        rows = [self.run_row(session_id, i, r, counts[i]) for i, r in enumerate(run_list)]
        if rows:
            s.run_statement(conn, self.runs.insert(), rows)
        values = {
            source: rest,
            "run_count": len(run_list),
            "message_count": summary.message_count,
            "preview": summary.preview,
        }
        if self.searchable:  # its runs' text now lives in their rows
            values["search_name"] = name_text(session_id, name, ascii_as_is=self.ascii_as_is)
        # quiet: moving runs is no user write (append_run sets updated_at itself)
        update = quiet_update(table).where(table.c.session_id == session_id)
        s.run_statement(conn, update.values(**values))
        return len(run_list)
