"""agno 1.x's session table (layouts v0 and v1): each session's runs live in a
JSON column, ``memory["runs"]`` (or ``runs`` in ``workflow_v2`` mode).

Reads decode the JSON; listing decodes only the page's rows; ``append_run``
reads, extends and writes back the session's JSON. The table keeps agno 1.x's
exact columns and encoding, so agno 1.x reads what agno_nb writes.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Inspector

from agno_nb.codec import SessionSummary, decode_json, decode_row
from agno_nb.errors import AgnoNbError, CorruptSessionError, CorruptSessionWarning
from agno_nb.schema import JSON_COLUMNS, V2_COLUMNS, json_text, session_table
from agno_nb.sessions import SESSION_CLASSES, Session
from agno_nb.storage.catalog import unstamped_agno1_version
from agno_nb.storage.contract import Layout, StorageCore, WriteSteps
from agno_nb.summary import name_text, search_term, session_text, summarize_runs
from agno_nb.words import counted

#: Sessions decoded per query when searching in Python.
SEARCH_PAGE = 200


class Agno1Layout(Layout):
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
        self.source = "runs" if storage.mode == "workflow_v2" else "memory"

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

    # -- shared with the row layout (same session columns) --------------------------------

    def _json_columns(self, table: sa.Table) -> tuple[str, ...]:
        return tuple(c for c in JSON_COLUMNS if c in table.c)

    def row_columns(self) -> list[Any]:
        """The session row's columns, JSON as text (agno_nb's summary columns left out)."""
        json_cols = set(self._json_columns(self.table))
        skip = {*(name for name, _ in V2_COLUMNS), "search_name"}
        return [
            json_text(c, self.storage.backend).label(c.name) if c.name in json_cols else c
            for c in self.table.columns
            if c.name not in skip
        ]

    def session_from_row(self, row: Mapping[Any, Any], runs: dict[str, Any] | None) -> Session:
        s = self.storage
        data = decode_row(row, self._json_columns(s.table_at(1)))
        if runs is not None:
            self._put_runs(data, runs.get(data["session_id"], []))
        session: Session = SESSION_CLASSES[s.mode].from_dict(data)
        return session

    def _put_runs(self, data: dict[str, Any], run_list: Any) -> None:
        """Put the runs kept apart from the row back into its decoded ``data``."""

    def _runs_of(self, conn: Connection, session_ids: list[str]) -> dict[str, Any] | None:
        """The runs kept apart from the session rows (None: they are in the rows),
        per session id: a list, or the CorruptSessionError of a run that cannot
        be decoded."""
        return None

    def filtered(
        self,
        query: sa.Select[Any],
        user_id: str | None,
        entity_id: str | None,
        search: str | None = None,
    ) -> sa.Select[Any]:
        """``query`` narrowed to a user and an entity, and to sessions matching
        ``search`` where the layout searches in SQL (see :meth:`_search_clause`)."""
        table = self.table
        if user_id is not None:
            query = query.where(table.c.user_id == user_id)
        if entity_id is not None:
            query = query.where(table.c[self.storage.entity_column] == entity_id)
        term = search_term(search)
        if term is not None:
            clause = self._search_clause(term)
            if clause is None:  # pragma: no cover - callers take the Python path first
                raise AssertionError("this layout searches in Python")
            query = query.where(clause)
        return query

    def _search_clause(self, term: str) -> Any:
        """A SQL condition matching sessions whose folded text holds ``term``, or
        None when this layout keeps no folded text: agno 1.x's table (shared with
        agno, so no new columns) is searched in Python, page by page."""
        return None

    def _searches_in_python(self, search: str | None) -> str | None:
        """The folded term when ``search`` must be matched in Python, else None."""
        term = search_term(search)
        if term is None or self._search_clause(term) is not None:
            return None
        return term

    def _python_matches(
        self, user_id: str | None, entity_id: str | None, term: str, stop: int | None
    ) -> list[str]:
        """Ids of the sessions (newest first) whose folded text holds ``term``,
        decoding the table page by page until ``stop`` are found (None: all).

        Every row is decoded until enough match: the cost of a search on agno's
        layouts grows with the table (after ``upgrade_schema()`` the folded text
        is read in SQL). A row that cannot be decoded (its listing line shows the
        error) is matched by its id only.
        """
        s = self.storage
        base = self.newest_first(self.filtered(sa.select(*self.row_columns()), user_id, entity_id))
        found: list[str] = []
        with s.read_conn() as conn, s.read_conn(check=False) as runs_conn:
            s.stats.queries += 1
            result = conn.execution_options(stream_results=True).execute(base)
            for rows in result.partitions(SEARCH_PAGE):
                if stop is not None and len(found) >= stop:
                    break
                s.stats.rows += len(rows)
                runs = self._runs_of(runs_conn, [row.session_id for row in rows])
                for row in rows:
                    sid = row.session_id
                    try:
                        session = self.session_from_row(row._mapping, runs)
                    except (AgnoNbError, AttributeError, TypeError, ValueError, RecursionError):
                        text = name_text(sid, None)
                    else:
                        text = session_text(sid, session.session_name, session.run_dicts)
                    if term in text:
                        found.append(sid)
        return found if stop is None else found[:stop]

    def newest_first(self, query: sa.Select[Any]) -> sa.Select[Any]:
        return query.order_by(self._creation_key().desc(), self.table.c.session_id.desc())

    def _creation_key(self) -> Any:
        return self.table.c.created_at

    def _exists(self, conn: Connection, session_id: str) -> bool:
        table = self.table
        query = sa.select(table.c.session_id).where(table.c.session_id == session_id)
        return self.storage.run_statement(conn, query).first() is not None

    def _require(self, session_id: str) -> Session:
        session = self.read(session_id, None)
        if session is None:
            raise self.storage.not_found(session_id)
        return session

    # -- reads ----------------------------------------------------------------------------

    def read(self, session_id: str, user_id: str | None) -> Session | None:
        s, table = self.storage, self.table
        query = sa.select(*self.row_columns()).where(table.c.session_id == session_id)
        if user_id:
            query = query.where(table.c.user_id == user_id)
        with s.read_conn() as conn:
            rows = s.fetch_all(conn, query)
            if not rows:
                return None
            runs = self._runs_of(conn, [session_id])
        return self.session_from_row(rows[0]._mapping, runs)

    def sessions(
        self, user_id: str | None, entity_id: str | None, limit: int | None
    ) -> list[Session]:
        s = self.storage
        query = self.newest_first(self.filtered(sa.select(*self.row_columns()), user_id, entity_id))
        if limit is not None:
            query = query.limit(limit)
        with s.read_conn() as conn:
            rows = s.fetch_all(conn, query)
            ids = [row.session_id for row in rows]
            runs = self._runs_of(conn, ids) if ids else None
        return self._decoded(rows, runs, stacklevel=6)

    def sessions_by_ids(self, session_ids: Sequence[str]) -> list[Session]:
        s, table = self.storage, self.table
        if not session_ids:
            return []
        query = sa.select(*self.row_columns()).where(table.c.session_id.in_(list(session_ids)))
        with s.read_conn() as conn:
            rows = s.fetch_all(conn, query)
            runs = self._runs_of(conn, [row.session_id for row in rows]) if rows else None
        by_id = {session.session_id: session for session in self._decoded(rows, runs, stacklevel=7)}
        return [by_id[sid] for sid in session_ids if sid in by_id]

    def _decoded(
        self, rows: Sequence[Any], runs: dict[str, Any] | None, *, stacklevel: int
    ) -> list[Session]:
        """The sessions of ``rows``; a row that cannot be decoded is left out and a
        :class:`~agno_nb.errors.CorruptSessionWarning` names it (bulk reads never
        hand out a half-read session to be written back)."""
        sessions: list[Session] = []
        unreadable: list[str] = []
        for row in rows:
            try:
                sessions.append(self.session_from_row(row._mapping, runs))
            except CorruptSessionError as exc:
                unreadable.append(str(exc))
        if unreadable:
            shown = " | ".join(unreadable[:3])
            more = f" | and {len(unreadable) - 3} more" if len(unreadable) > 3 else ""
            warnings.warn(
                CorruptSessionWarning(
                    f"left out {counted(len(unreadable), 'session')} of "
                    f"{self.storage.ref.qualified} "
                    f"that cannot be read (list_sessions() shows them with this error): "
                    f"{shown}{more}"
                ),
                stacklevel=stacklevel,
            )
        return sessions

    def session_ids(self, user_id: str | None, entity_id: str | None) -> list[str]:
        s = self.storage
        query = self.filtered(sa.select(self.table.c.session_id), user_id, entity_id)
        with s.read_conn() as conn:
            return [row[0] for row in s.fetch_all(conn, self.newest_first(query))]

    def _listing(
        self,
        extra: list[Any],
        user_id: str | None,
        entity_id: str | None,
        search: str | None,
        limit: int | None,
        offset: int,
    ) -> sa.Select[Any]:
        table = self.table
        cols: list[Any] = [
            table.c.session_id,
            table.c.user_id,
            table.c[self.storage.entity_column].label("entity_id"),
            table.c.created_at,
            table.c.updated_at,
            *extra,
        ]
        query = self.filtered(sa.select(*cols), user_id, entity_id, search)
        query = self.newest_first(query).offset(offset)
        return query if limit is None else query.limit(limit)

    def list_sessions(
        self,
        user_id: str | None,
        entity_id: str | None,
        search: str | None,
        limit: int | None,
        offset: int,
    ) -> list[SessionSummary]:
        term = self._searches_in_python(search)
        if term is not None:
            stop = None if limit is None else offset + limit
            ids = self._python_matches(user_id, entity_id, term, stop)[offset:]
            return self._summaries_of(ids)
        query = self._summary_query(user_id, entity_id, search, limit, offset)
        s = self.storage
        with s.read_conn() as conn:
            return self._page_summaries(conn, s.fetch_all(conn, query))

    def _page_summaries(self, conn: Connection, rows: Sequence[Any]) -> list[SessionSummary]:
        """The summaries of rows of :meth:`_summary_query` (``conn`` may read more)."""
        return [self._summary(row._mapping) for row in rows]

    def _summary_query(
        self,
        user_id: str | None,
        entity_id: str | None,
        search: str | None,
        limit: int | None,
        offset: int,
    ) -> sa.Select[Any]:
        """The listing query whose rows :meth:`_summary` turns into summaries."""
        table = self.table
        backend = self.storage.backend
        extra = [json_text(table.c[c], backend).label(c) for c in (self.source, "session_data")]
        return self._listing(extra, user_id, entity_id, search, limit, offset)

    def _summaries_of(self, ids: list[str]) -> list[SessionSummary]:
        """The summaries of ``ids``, in that order (missing ones left out)."""
        out: dict[str, SessionSummary] = {}
        s = self.storage
        with s.read_conn() as conn:
            for start in range(0, len(ids), SEARCH_PAGE):
                chunk = ids[start : start + SEARCH_PAGE]
                query = self._summary_query(None, None, None, None, 0)
                query = query.where(self.table.c.session_id.in_(chunk))
                for summary in self._page_summaries(conn, s.fetch_all(conn, query)):
                    out[summary.session_id] = summary
        return [out[sid] for sid in ids if sid in out]

    def get_summary(self, session_id: str, user_id: str | None) -> SessionSummary | None:
        """One session's summary, looked up by its key (and ``user_id`` when given)."""
        query = self._summary_query(user_id, None, None, None, 0)
        query = query.where(self.table.c.session_id == session_id)
        s = self.storage
        with s.read_conn() as conn:
            found = self._page_summaries(conn, s.fetch_all(conn, query))
        return found[0] if found else None

    def _summary(self, row: Mapping[Any, Any]) -> SessionSummary:
        summary = SessionSummary(
            session_id=row["session_id"],
            user_id=row["user_id"],
            entity_id=row["entity_id"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
        source = self.source
        try:
            holder = decode_json(row[source], session_id=summary.session_id, column=source)
            data = decode_json(
                row["session_data"], session_id=summary.session_id, column="session_data"
            )
        except AgnoNbError as exc:
            summary.error = str(exc)
            return summary
        run_list = self._held_runs(holder)
        counts = summarize_runs(run_list)
        summary.run_count, summary.message_count = len(run_list), counts.message_count
        summary.preview = counts.preview
        summary.session_name = data.get("session_name") if isinstance(data, dict) else None
        return summary

    def count_sessions(self, user_id: str | None, entity_id: str | None, search: str | None) -> int:
        term = self._searches_in_python(search)
        if term is not None:
            return len(self._python_matches(user_id, entity_id, term, None))
        s = self.storage
        query = self.filtered(
            sa.select(sa.func.count()).select_from(self.table), user_id, entity_id, search
        )
        with s.read_conn() as conn:
            return int(s.run_statement(conn, query).scalar_one())

    def get_runs(
        self, session_id: str, limit: int | None, offset: int, newest_first: bool
    ) -> list[dict[str, Any]]:
        runs = self._require(session_id).run_dicts
        ordered = list(reversed(runs)) if newest_first else runs
        return ordered[offset : None if limit is None else offset + limit]

    def count_runs(self, session_id: str) -> int:
        return len(self._require(session_id).run_dicts)

    # -- writes ---------------------------------------------------------------------------

    def _field_columns(self, kind: type) -> tuple[tuple[str, str], ...]:
        """(column, attribute) of what an upsert takes from a session's own fields
        (the times and the summary columns are computed), for sessions of ``kind``."""
        key = ("fields", id(self.table), kind)
        pairs = self.storage.statements.get(key)
        if pairs is None:
            attributes = {f.name: f.name for f in dataclasses.fields(kind)}
            if "runs_v2" in attributes:
                attributes["runs"] = attributes.pop("runs_v2")
            computed = {"created_at", "updated_at", *(n for n, _ in V2_COLUMNS)}
            pairs = tuple(
                (c.name, attributes[c.name])
                for c in self.table.columns
                if c.name not in computed and c.name in attributes
            )
            self.storage.statements[key] = pairs
        return pairs

    def _session_values(
        self, session: Session, now_ms: int, run_rows: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The session row's INSERT parameters (a subclass may add run rows)."""
        values = {c: getattr(session, a) for c, a in self._field_columns(type(session))}
        now = now_ms // 1000
        values["updated_at"] = now
        values["created_at"] = session.created_at or now
        return values

    def upsert_steps(self, batch: Sequence[Session], now_ms: int) -> WriteSteps:
        run_rows: list[dict[str, Any]] = []
        rows = [self._session_values(session, now_ms, run_rows) for session in batch]
        return [(self.storage.upsert_statement(self.table, tuple(rows[0])), rows)]

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
            new_value, run_list = self._appended(session_id, holder, run)
            values: dict[str, Any] = {source: new_value, "updated_at": now}
            if session_data is not None:
                values["session_data"] = session_data
            s.run_statement(
                conn, table.update().where(table.c.session_id == session_id).values(**values)
            )
        return len(run_list) - 1

    def _held_runs(self, holder: Any) -> list[Any]:
        """The runs inside a decoded holder (``memory`` or the ``runs`` column);
        [] when it holds none, or holds them in a shape that is not a list."""
        if self.source != "runs":
            holder = holder.get("runs") if isinstance(holder, dict) else None
        return holder if isinstance(holder, list) else []

    def _appended(self, session_id: str, holder: Any, run: Any) -> tuple[Any, list[Any]]:
        """The stored runs holder (``memory``, or ``runs`` in workflow_v2 mode) with
        ``run`` appended, and the new run list.

        Raises:
            CorruptSessionError: the stored holder is not a shape that holds runs.
        """
        if self.source == "runs":
            if holder is not None and not isinstance(holder, list):
                raise self._bad_holder(session_id, holder)
            run_list = [*(holder or []), run]
            return run_list, run_list
        if holder is not None and not isinstance(holder, dict):
            raise self._bad_holder(session_id, holder)
        memory = dict(holder or {})
        old = memory.get("runs")
        if old is not None and not isinstance(old, list):
            raise self._bad_holder(session_id, old, "memory['runs']")
        memory["runs"] = run_list = [*(old or []), run]
        return memory, run_list

    def _bad_holder(self, session_id: str, value: Any, what: str = "") -> CorruptSessionError:
        where = what or self.source
        wanted = "a dict" if where == "memory" else "a list"
        return CorruptSessionError(
            f"session {session_id!r} has {type(value).__name__} in {where}, not {wanted}, "
            "so a run cannot be added to it; other sessions are unaffected: fix or delete "
            "this row"
        )

    def _rename_values(self, conn: Connection, session_id: str, name: str) -> dict[str, Any]:
        """Columns besides ``session_data`` that a rename sets."""
        return {}

    def rename_session(self, session_id: str, name: str) -> None:
        s, table = self.storage, self.table
        query = sa.select(json_text(table.c.session_data, s.backend)).where(
            table.c.session_id == session_id
        )
        with s.write_conn() as conn:
            # read-modify-write: a concurrent append_run(session_data=...) waits
            # for this write (or this read waits for it), never lost in between
            row = s.run_statement(conn, s.for_update(query)).first()
            if row is None:
                raise s.not_found(session_id)
            data = decode_json(row[0], session_id=session_id, column="session_data") or {}
            data["session_name"] = name
            values: dict[str, Any] = {"session_data": data, "updated_at": int(time.time())}
            values.update(self._rename_values(conn, session_id, name))
            s.run_statement(
                conn, table.update().where(table.c.session_id == session_id).values(**values)
            )

    def delete_session(self, session_id: str) -> None:
        s, table = self.storage, self.table
        with s.write_conn() as conn:
            s.run_statement(conn, table.delete().where(table.c.session_id == session_id))
            self._delete_runs(conn, session_id)

    def _delete_runs(self, conn: Connection, session_id: str) -> None:
        """Delete the runs kept apart from the session row (none here)."""
