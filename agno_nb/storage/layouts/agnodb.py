"""agno 2.x / 3.x's own session tables (``agno.db``), read in place.

One table (default ``agno_sessions``) holds agent, team and workflow sessions,
told apart by ``session_type``; the storage's ``mode`` picks one type. agno 2.x
keeps each session's runs in a JSON column ``runs``; agno 3.x keeps them in a
runs table (``agno_runs`` beside ``agno_sessions``, else ``<table>_runs``), one
row per run with its ``run_index``. A 2.x database continued by 3.x has both:
as agno does, the two are merged by ``run_id`` (the runs table wins), the
column's runs first in their order, then the table's others by ``run_index``.

JSON cells may be encoded twice (agno 2.x and 3.0 on SQLite store a JSON string
whose text is the JSON) and both kinds mix in one database, so every cell is
decoded while it is still a string; the text ``null`` is None. A run
(agno's ``RunOutput``) becomes the run dict the rest of agno_nb reads at this
boundary (:func:`run_from_agno`).

agno_nb reads these tables, and makes the two writes agno itself makes:
``rename_session`` (``session_data.session_name``) and ``delete_session`` (with
its runs), each keeping the row's JSON encoding. Everything else that writes
is refused with one line saying what to use instead. Reading never writes: no
row, index or version stamp of agno's (``agno_schema_versions``) is touched,
and agno_nb stamps nothing for these tables.

Listing is paged by the database: counts come from SQL (messages counted with
the database's JSON functions), and only each listed session's first run is
decoded, for its preview. ``get_runs`` pages the runs table in SQL; a session
that still has runs in the ``runs`` column is merged in Python, as agno does.

Search (``list_sessions(search=...)``) matches, case-insensitively, the
session id, its name, and each run's input and answer, extracted from the
JSON with the database's functions (a LIKE scan: no index, and on SQLite
``lower()`` folds ASCII letters only, so ``Zürich`` is not found as ``ZÜRICH``).
It does not look into tool calls or other message fields.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Inspector

from agno_nb.errors import AgnoNbError, CorruptSessionError
from agno_nb.sessions import SESSION_CLASSES, Session
from agno_nb.storage._codec import SessionSummary
from agno_nb.storage.layouts import Layout, WriteSteps, register
from agno_nb.storage.layouts._agnodb_sql import (
    _Json,
    decode_agno_json,
    encode_agno_json,
    merge_runs,
    run_from_agno,
)
from agno_nb.summary import first_question, summarize_runs

if TYPE_CHECKING:
    from agno_nb.storage.base import BaseStorage

__all__ = ["AgnoDbLayout", "decode_agno_json", "default_table", "run_from_agno"]

#: The session table's columns agno_nb needs to recognise it.
REQUIRED = ("session_id", "session_type", "session_data", "created_at")
_JSON = ("session_data", "agent_data", "team_data", "workflow_data", "metadata", "summary")
_IDS = ("agent_id", "team_id", "workflow_id", "user_id")
#: session_type per storage mode.
SESSION_TYPE = {"agent": "agent", "team": "team", "workflow": "workflow", "workflow_v2": "workflow"}
_DATA = {"agent": "agent_data", "team": "team_data", "workflow": "workflow_data"}


# -- the family ----------------------------------------------------------------------------


#: Sessions per query when a page's runs are fetched (keeps bound parameters few).
CHUNK = 500


def _chunks(rows: Sequence[Any]) -> list[Sequence[Any]]:
    return [rows[i : i + CHUNK] for i in range(0, len(rows), CHUNK)]


def _runs_name(table_name: str) -> str:
    return "agno_runs" if table_name == "agno_sessions" else f"{table_name}_runs"


@register
class AgnoDbLayout(Layout):
    """agno 2.x/3.x's ``agno_sessions`` (+ ``runs`` column and/or ``agno_runs``)."""

    family = "agno2/3"
    versions = ()
    priority = 40
    expects = "agno 2.x/3.x's"

    @classmethod
    def expected_columns(cls, storage: BaseStorage) -> tuple[str, ...]:
        return REQUIRED

    def __init__(
        self,
        storage: BaseStorage,
        version: int | None = None,
        *,
        columns: set[str] | frozenset[str] = frozenset(REQUIRED),
        has_runs_table: bool = False,
    ) -> None:
        super().__init__(storage, None)
        json_type: Any = postgresql.JSONB() if storage.backend == "postgres" else sa.Text()
        cols: list[sa.Column[Any]] = [sa.Column("session_id", sa.String, primary_key=True)]
        for name in ("session_type", *_IDS):
            cols.append(sa.Column(name, sa.String))
        for name in (*_JSON, "runs"):
            cols.append(sa.Column(name, json_type))
        cols += [sa.Column("created_at", sa.BigInteger), sa.Column("updated_at", sa.BigInteger)]
        md = sa.MetaData()
        present = [c for c in cols if c.name in columns]
        self.table = sa.Table(storage.table_name, md, *present, schema=storage.schema)
        self.runs = sa.Table(
            _runs_name(storage.table_name),
            md,
            sa.Column("run_id", sa.String, primary_key=True),
            sa.Column("session_id", sa.String),
            sa.Column("run_index", sa.BigInteger),
            sa.Column("run_data", json_type),
            sa.Column("created_at", sa.BigInteger),
            schema=storage.schema,
        )
        self.has_legacy = "runs" in columns
        self.has_runs_table = has_runs_table
        self.type = SESSION_TYPE[storage.mode]
        self.json = _Json(storage.backend)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.family} {self.storage.table_name}>"

    @property
    def label(self) -> str:
        """What the table is, for messages (``agno 3.x tables agno_sessions + agno_runs``)."""
        name = self.storage.table_name
        if self.has_runs_table:
            extra = " (+ its runs column)" if self.has_legacy else ""
            return f"agno 3.x tables {name} + {self.runs.name}{extra}"
        if self.has_legacy:
            return f"agno 2.x table {name} (runs in its runs column)"
        return f"agno 3.x table {name} (no runs table yet)"

    @classmethod
    def recognise(
        cls, storage: BaseStorage, conn: Connection, inspector: Inspector, columns: set[str]
    ) -> Layout | None:
        if not all(c in columns for c in REQUIRED) or "memory" in columns:
            return None
        runs = _runs_name(storage.table_name)
        storage.stats.queries += 1
        has_runs = bool(inspector.has_table(runs, schema=storage.schema))
        return cls(storage, columns=columns, has_runs_table=has_runs)

    def create(self, conn: Connection) -> None:  # pragma: no cover - never a new table's family
        raise AgnoNbError("agno_nb does not create agno 2.x/3.x tables: agno creates them")

    def refuse(self, operation: str) -> None:
        if operation in ("rename_session", "delete_session"):
            return
        where = self.storage._ref.qualified
        instead = {
            "upgrade_schema": "agno upgrades its own tables (agno.db.migrations.MigrationManager)",
            "drop": "drop them with agno or SQL if you mean it",
        }.get(
            operation,
            "write sessions with agno itself (Agent(db=SqliteDb(...))), or keep agno_nb's "
            "sessions in a table of their own (table_name='agent_sessions')",
        )
        raise AgnoNbError(
            f"{operation} refused: {where} holds agno 2.x/3.x sessions, which agno_nb reads, "
            f"renames and deletes but does not write otherwise: {instead}"
        )

    # -- SQL building blocks ----------------------------------------------------------------

    def _text(self, col: Any) -> Any:
        return sa.cast(col, sa.Text) if self.storage.backend == "postgres" else col

    def _runs_present(self, conn: Connection) -> bool:
        """Whether the runs table exists (agno 3.x creates it with the first run)."""
        if not self.has_runs_table:
            s = self.storage
            s.stats.queries += 1
            self.has_runs_table = bool(sa.inspect(conn).has_table(self.runs.name, schema=s.schema))
        return self.has_runs_table

    def _filtered(
        self,
        query: sa.Select[Any],
        user_id: str | None,
        entity_id: str | None,
        search: str | None = None,
    ) -> sa.Select[Any]:
        t = self.table
        query = query.where(t.c.session_type == self.type)
        if user_id is not None:
            query = query.where(t.c.user_id == user_id)
        if entity_id is not None:
            entity = self.storage._entity
            query = (
                query.where(t.c[entity] == entity_id) if entity in t.c else query.where(sa.false())
            )
        if search:
            query = query.where(self._search(search.lower()))
        return query

    def _search(self, term: str) -> Any:
        t, j = self.table, self.json

        def like(expr: Any) -> Any:
            return sa.func.lower(expr).contains(term, autoescape=True)

        def in_run(value: Any) -> Any:
            return sa.or_(
                like(j.element_text(value, "input", "input_content")),
                like(j.element_text(value, "content")),
            )

        found = [like(t.c.session_id), like(j.text(j.doc(t.c.session_data), "session_name"))]
        if self.has_runs_table:
            r = self.runs
            doc = j.doc(r.c.run_data)
            found.append(
                sa.exists().where(
                    r.c.session_id == t.c.session_id,
                    sa.or_(
                        like(j.text(doc, "input", "input_content")), like(j.text(doc, "content"))
                    ),
                )
            )
        if self.has_legacy:
            e = j.elements(j.doc(t.c.runs), None, "lr")
            found.append(
                sa.exists(sa.select(sa.literal(1)).select_from(e).where(in_run(e.c.value)))
            )
        return sa.or_(*found)

    def _newest_first(self, query: sa.Select[Any]) -> sa.Select[Any]:
        return query.order_by(self.table.c.created_at.desc(), self.table.c.session_id.desc())

    def _run_order(self, newest_first: bool = False) -> list[Any]:
        r = self.runs
        cols = [r.c.run_index, r.c.created_at, r.c.run_id]
        return [c.desc() for c in cols] if newest_first else list(cols)

    def _row_columns(self) -> list[Any]:
        return [
            self._text(c).label(c.name) if c.name in (*_JSON, "runs") else c for c in self.table.c
        ]

    # -- sessions ------------------------------------------------------------------------

    def _session(self, row: Mapping[str, Any], table_runs: list[tuple[str | None, Any]]) -> Session:
        sid = str(row["session_id"])
        data: dict[str, Any] = {}
        for name in _JSON:
            data[name] = decode_agno_json(row.get(name), session_id=sid, column=name)[0]
        legacy = self._legacy(row, sid)
        runs = [run_from_agno(r) for r in merge_runs(legacy, table_runs)]
        mode = self.storage.mode
        out: dict[str, Any] = {
            "session_id": sid,
            "user_id": row.get("user_id"),
            "session_data": data["session_data"],
            "extra_data": data["metadata"],
            "created_at": row.get("created_at"),
            "updated_at": row.get("updated_at"),
        }
        kind = "workflow" if mode == "workflow_v2" else mode
        out[f"{kind}_id"] = row.get(f"{kind}_id")
        out[_DATA[kind]] = data[_DATA[kind]]
        if mode == "workflow_v2":
            out["runs"] = runs
            wf = data["workflow_data"]
            out["workflow_name"] = wf.get("name") if isinstance(wf, Mapping) else None
        else:
            out["memory"] = {"runs": runs, "summary": data["summary"]}
        session: Session = SESSION_CLASSES[mode].from_dict(out)
        return session

    def _legacy(self, row: Mapping[str, Any], sid: str) -> list[Any]:
        """The runs kept in the session row's ``runs`` column (a list, maybe empty)."""
        if not self.has_legacy:
            return []
        value = decode_agno_json(row.get("runs"), session_id=sid, column="runs")[0]
        return list(value) if isinstance(value, list) else []

    def _table_runs(
        self, conn: Connection, session_ids: list[str]
    ) -> dict[str, list[tuple[str | None, Any]]]:
        """Every run of the sessions in the runs table, decoded, in agno's order."""
        out: dict[str, list[tuple[str | None, Any]]] = {sid: [] for sid in session_ids}
        if not session_ids or not self._runs_present(conn):
            return out
        r = self.runs
        query = (
            sa.select(r.c.session_id, r.c.run_id, self._text(r.c.run_data))
            .where(r.c.session_id.in_(session_ids))
            .order_by(r.c.session_id, *self._run_order())
        )
        for sid, run_id, text in self.storage._all(conn, query):
            out[sid].append((run_id, decode_agno_json(text, session_id=sid, column="run_data")[0]))
        return out

    def read(self, session_id: str, user_id: str | None) -> Session | None:
        s, t = self.storage, self.table
        query = self._filtered(sa.select(*self._row_columns()), user_id, None)
        query = query.where(t.c.session_id == session_id)
        with s._read() as conn:
            rows = s._all(conn, query)
            if not rows:
                return None
            runs = self._table_runs(conn, [session_id])
        return self._session(rows[0]._mapping, runs[session_id])

    def sessions(
        self, user_id: str | None, entity_id: str | None, limit: int | None
    ) -> list[Session]:
        s = self.storage
        query = self._newest_first(
            self._filtered(sa.select(*self._row_columns()), user_id, entity_id)
        )
        if limit is not None:
            query = query.limit(limit)
        with s._read() as conn:
            rows = s._all(conn, query)
            runs: dict[str, list[tuple[str | None, Any]]] = {}
            for part in _chunks(rows):
                runs.update(self._table_runs(conn, [row.session_id for row in part]))
        return [self._session(row._mapping, runs[row.session_id]) for row in rows]

    def session_ids(self, user_id: str | None, entity_id: str | None) -> list[str]:
        s = self.storage
        query = self._newest_first(
            self._filtered(sa.select(self.table.c.session_id), user_id, entity_id)
        )
        with s._read() as conn:
            return [row[0] for row in s._all(conn, query)]

    def count_sessions(self, user_id: str | None, entity_id: str | None, search: str | None) -> int:
        s = self.storage
        with s._read() as conn:
            if search:
                self._runs_present(conn)  # search looks into a runs table agno made since
            query = self._filtered(
                sa.select(sa.func.count()).select_from(self.table), user_id, entity_id, search
            )
            return int(s._run(conn, query).scalar_one())

    # -- listing -------------------------------------------------------------------------

    def list_sessions(
        self,
        user_id: str | None,
        entity_id: str | None,
        search: str | None,
        limit: int | None,
        offset: int,
    ) -> list[SessionSummary]:
        return self._summaries(user_id, entity_id, search, limit, offset)

    def get_summary(self, session_id: str, user_id: str | None) -> SessionSummary | None:
        """One session's summary, looked up by its key (and ``user_id`` when given)."""
        found = self._summaries(user_id, None, None, 1, 0, session_id=session_id)
        return found[0] if found else None

    def _summaries(
        self,
        user_id: str | None,
        entity_id: str | None,
        search: str | None,
        limit: int | None,
        offset: int,
        *,
        session_id: str | None = None,
    ) -> list[SessionSummary]:
        s, t = self.storage, self.table
        entity = s._entity
        cols: list[Any] = [
            t.c.session_id,
            t.c.user_id,
            (t.c[entity] if entity in t.c else sa.null()).label("entity_id"),
            t.c.created_at,
            t.c.updated_at,
            self._text(t.c.session_data).label("session_data"),
        ]
        if self.has_legacy:
            cols.append(self._text(t.c.runs).label("runs"))
        with s._read() as conn:
            if search:
                self._runs_present(conn)  # search looks into a runs table agno made since
            query = self._filtered(sa.select(*cols), user_id, entity_id, search)
            if session_id is not None:
                query = query.where(t.c.session_id == session_id)
            query = self._newest_first(query).offset(offset)
            if limit is not None:
                query = query.limit(limit)
            rows = [row._mapping for row in s._all(conn, query)]
            counts: dict[str, tuple[int, int, int]] = {}
            firsts: dict[str, Any] = {}
            per_run: dict[str, dict[str, int]] = {}
            for part in _chunks(rows):  # bound parameters stay few on a long page
                ids = [str(row["session_id"]) for row in part]
                counts.update(self._run_counts(conn, ids))
                firsts.update(self._first_runs(conn, ids))
                legacy = [r["session_id"] for r in part if r.get("runs") not in (None, "null")]
                per_run.update(self._per_run_counts(conn, legacy))
        return [self._summary(row, counts, firsts, per_run) for row in rows]

    def _run_counts(self, conn: Connection, ids: list[str]) -> dict[str, tuple[int, int, int]]:
        """(runs, messages, runs whose JSON is corrupt) per session, from the runs table."""
        if not ids or not self._runs_present(conn):
            return {}
        r, j = self.runs, self.json
        per_run = (
            sa.select(
                r.c.session_id,
                j.message_count(j.doc(r.c.run_data)).label("messages"),
                j.valid(r.c.run_data).label("valid"),
            )
            .where(r.c.session_id.in_(ids))
            .subquery()
        )
        query = sa.select(
            per_run.c.session_id,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(per_run.c.messages), 0),
            sa.func.count() - sa.func.coalesce(sa.func.sum(per_run.c.valid), 0),
        ).group_by(per_run.c.session_id)
        return {
            row[0]: (int(row[1]), int(row[2]), int(row[3]))
            for row in self.storage._all(conn, query)
        }

    def _first_runs(self, conn: Connection, ids: list[str]) -> dict[str, Any]:
        """Each session's first run in the runs table, as JSON text (for its preview)."""
        if not ids or not self._runs_present(conn):
            return {}
        r = self.runs
        number = sa.func.row_number().over(partition_by=r.c.session_id, order_by=self._run_order())
        ranked = (
            sa.select(r.c.session_id, self._text(r.c.run_data).label("run_data"), number.label("n"))
            .where(r.c.session_id.in_(ids))
            .subquery()
        )
        query = sa.select(ranked.c.session_id, ranked.c.run_data).where(ranked.c.n == 1)
        return {row[0]: row[1] for row in self.storage._all(conn, query)}

    def _per_run_counts(self, conn: Connection, ids: list[str]) -> dict[str, dict[str, int]]:
        """{run_id: messages} of the runs table, for sessions that also have a runs column."""
        out: dict[str, dict[str, int]] = {sid: {} for sid in ids}
        if not ids or not self._runs_present(conn):
            return out
        r, j = self.runs, self.json
        query = sa.select(r.c.session_id, r.c.run_id, j.message_count(j.doc(r.c.run_data))).where(
            r.c.session_id.in_(ids)
        )
        for sid, run_id, count in self.storage._all(conn, query):
            out[sid][run_id] = int(count or 0)
        return out

    def _summary(
        self,
        row: Mapping[str, Any],
        counts: dict[str, tuple[int, int, int]],
        firsts: dict[str, Any],
        per_run: dict[str, dict[str, int]],
    ) -> SessionSummary:
        sid = str(row["session_id"])
        summary = SessionSummary(
            session_id=sid,
            user_id=row["user_id"],
            entity_id=row["entity_id"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
        try:
            data = decode_agno_json(row["session_data"], session_id=sid, column="session_data")[0]
            summary.session_name = data.get("session_name") if isinstance(data, dict) else None
            legacy = self._legacy(row, sid)
            runs, messages, corrupt = counts.get(sid, (0, 0, 0))
            if corrupt:
                raise CorruptSessionError(
                    f"session {sid!r} has corrupt JSON in {corrupt} run(s) of "
                    f"{self.runs.name}; other sessions are unaffected: fix or delete those rows"
                )
            if legacy:
                table_counts = per_run.get(sid, {})
                converted = [run_from_agno(run) for run in legacy]
                counted = summarize_runs(converted)
                ids = [str(r.get("run_id")) if isinstance(r, Mapping) else "" for r in legacy]
                shared = {i for i in ids if i in table_counts}
                runs = len(legacy) + len(table_counts) - len(shared)
                messages = sum(
                    table_counts[i] if i in shared else n
                    for i, n in zip(ids, counted.per_run_messages, strict=True)
                ) + sum(n for i, n in table_counts.items() if i not in shared)
                summary.preview = counted.preview
            elif sid in firsts:
                first, _ = decode_agno_json(firsts[sid], session_id=sid, column="run_data")
                summary.preview = first_question(run_from_agno(first))
            summary.run_count, summary.message_count = runs, messages
        except AgnoNbError as exc:
            summary.error = str(exc)
        return summary

    # -- runs, paged by the database -----------------------------------------------------

    def _head(self, conn: Connection, session_id: str) -> Mapping[str, Any]:
        """The session row's id and ``runs`` text (SessionNotFoundError if missing)."""
        t = self.table
        cols = [t.c.session_id] + ([self._text(t.c.runs).label("runs")] if self.has_legacy else [])
        query = self._filtered(sa.select(*cols), None, None).where(t.c.session_id == session_id)
        row = self.storage._run(conn, query).first()
        if row is None:
            raise self.storage._not_found(session_id)
        return row._mapping

    def _order(self, conn: Connection, session_id: str, legacy: list[Any]) -> list[tuple[str, Any]]:
        """The merged run order without run payloads: ("legacy", index) or ("table", run_id)."""
        table_ids: list[str] = []
        if self._runs_present(conn):
            r = self.runs
            query = (
                sa.select(r.c.run_id)
                .where(r.c.session_id == session_id)
                .order_by(*self._run_order())
            )
            table_ids = [row[0] for row in self.storage._all(conn, query)]
        known = set(table_ids)
        order: list[tuple[str, Any]] = []
        seen: set[str] = set()
        for i, run in enumerate(legacy):
            run_id = run.get("run_id") if isinstance(run, Mapping) else None
            if run_id is not None and run_id in known:
                order.append(("table", run_id))
                seen.add(run_id)
            else:
                order.append(("legacy", i))
        order += [("table", run_id) for run_id in table_ids if run_id not in seen]
        return order

    def get_runs(
        self, session_id: str, limit: int | None, offset: int, newest_first: bool
    ) -> list[dict[str, Any]]:
        s, r = self.storage, self.runs
        with s._read() as conn:
            head = self._head(conn, session_id)
            legacy = self._legacy(head, session_id)
            if not legacy:
                if not self._runs_present(conn):
                    return []
                query = (
                    sa.select(self._text(r.c.run_data))
                    .where(r.c.session_id == session_id)
                    .order_by(*self._run_order(newest_first))
                    .offset(offset)
                )
                if limit is not None:
                    query = query.limit(limit)
                texts = [row[0] for row in s._all(conn, query)]
                return [self._run(text, session_id) for text in texts]
            order = self._order(conn, session_id, legacy)
            if newest_first:
                order.reverse()
            page = order[offset : None if limit is None else offset + limit]
            wanted = [key for src, key in page if src == "table"]
            found: dict[str, Any] = {}
            if wanted:
                query = sa.select(r.c.run_id, self._text(r.c.run_data)).where(
                    r.c.session_id == session_id, r.c.run_id.in_(wanted)
                )
                found = {row[0]: row[1] for row in s._all(conn, query)}
        return [
            self._run(found[key], session_id) if src == "table" else run_from_agno(legacy[key])
            for src, key in page
        ]

    def _run(self, text: Any, session_id: str) -> dict[str, Any]:
        return run_from_agno(decode_agno_json(text, session_id=session_id, column="run_data")[0])

    def count_runs(self, session_id: str) -> int:
        s, r = self.storage, self.runs
        with s._read() as conn:
            head = self._head(conn, session_id)
            legacy = self._legacy(head, session_id)
            if legacy:
                return len(self._order(conn, session_id, legacy))
            if not self._runs_present(conn):
                return 0
            query = sa.select(sa.func.count()).select_from(r).where(r.c.session_id == session_id)
            return int(s._run(conn, query).scalar_one())

    # -- the writes agno makes -----------------------------------------------------------

    def rename_session(self, session_id: str, name: str) -> None:
        s, t = self.storage, self.table
        json_cols = [c for c in _JSON if c in t.c]
        query = self._filtered(
            sa.select(*(self._text(t.c[c]).label(c) for c in json_cols)), None, None
        ).where(t.c.session_id == session_id)
        if s.backend == "postgres":  # lock the row, as agno_nb's other read-modify-writes do
            query = query.with_for_update()
        with s._write() as conn:
            row = s._run(conn, query).first()
            if row is None:
                raise s._not_found(session_id)
            cells = row._mapping
            data, depth = decode_agno_json(
                cells["session_data"], session_id=session_id, column="session_data"
            )
            if data is None or depth == 0:
                depth = self._row_depth(cells, session_id)
            if not isinstance(data, dict):
                data = {}
            data["session_name"] = name
            text = encode_agno_json(data, depth)
            value: Any = text
            if s.backend == "postgres":
                value = sa.cast(sa.literal(text, sa.Text), postgresql.JSONB)
            update = (
                t.update()
                .where(t.c.session_id == session_id)
                .values(session_data=value, updated_at=int(time.time()))
            )
            s._run(conn, update)

    def _row_depth(self, cells: Mapping[str, Any], session_id: str) -> int:
        """How the row's JSON columns are encoded (1 when none holds a value)."""
        for column, text in cells.items():
            value, depth = decode_agno_json(text, session_id=session_id, column=column)
            if value is not None:
                return depth
        return 1

    def delete_session(self, session_id: str) -> None:
        s, t = self.storage, self.table
        with s._write() as conn:
            statement = t.delete().where(
                t.c.session_id == session_id, t.c.session_type == self.type
            )
            deleted = s._run(conn, statement).rowcount
            if deleted and self._runs_present(conn):
                r = self.runs
                s._run(conn, r.delete().where(r.c.session_id == session_id))

    # -- writes refused (refuse() runs first) ----------------------------------------------

    def upsert_steps(self, batch: Sequence[Session], now_ms: int) -> WriteSteps:
        self.refuse("upsert")
        return []  # pragma: no cover

    def append_run(
        self, session_id: str, run: dict[str, Any], session_data: Mapping[str, Any] | None
    ) -> int:
        self.refuse("append_run")
        return -1  # pragma: no cover


# -- which table to open when none is named ----------------------------------------------

AGNO_TABLE = "agno_sessions"


def default_table(storage: BaseStorage) -> str | None:
    """``agno_sessions`` when the storage's database has it but not the storage's
    own table (``agent_sessions`` when none was named), else None.

    Looks only at a database that exists (a missing SQLite file is not created;
    DuckDB, where agno keeps no sessions, is not asked) and never raises: a
    database that cannot be reached keeps the default and says so on first use.
    """
    from pathlib import Path

    if storage.backend == "duckdb":
        return None
    database = storage.db_engine.url.database or ""
    if database.startswith("file:"):  # a URI filename (read-only opens use one)
        database = database[5:].split("?", 1)[0]
    if storage.backend == "sqlite" and (
        not database or database == ":memory:" or not Path(database).exists()
    ):
        return None
    try:
        with storage._read(check=False) as conn:
            inspector = sa.inspect(conn)
            if inspector.has_table(storage.table_name, schema=storage.schema):
                return None
            if inspector.has_table(AGNO_TABLE, schema=storage.schema):
                return AGNO_TABLE
    except Exception:  # the first real call reports it properly
        return None
    return None


def opened_note(storage: BaseStorage, default: str) -> str:
    """The line that says agno_nb opened agno's table because none was named."""
    return (
        f"opened {storage._ref.qualified}: this database has agno 2.x/3.x sessions and no "
        f"{default} table (name one with --table / table_name= to open another)"
    )
