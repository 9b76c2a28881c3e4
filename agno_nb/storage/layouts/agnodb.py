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

agno_nb reads these tables, and makes the writes agno itself makes:
``rename_session`` (``session_data.session_name``) and ``delete_session`` (with
its runs), each keeping the row's JSON encoding, and, for agent sessions,
``upsert`` and ``append_run`` exactly as agno 3.1.10 (or 2.x, on a 2.x table)
saves a session and its runs (``_agnodb_upsert.py``; docs/agno3_writes.md).
Team and workflow writes, upgrades and drops are refused with one line saying
what to use instead. Reading never writes: no row, index or version stamp of
agno's (``agno_schema_versions``) is touched, and agno_nb stamps nothing of its
own for these tables.

Listing is paged by the database: counts come from SQL (messages counted with
the database's JSON functions), and only each listed session's first run is
decoded, for its preview. ``get_runs`` pages the runs table in SQL; a session
that still has runs in the ``runs`` column is merged in Python, as agno does.

Search (``list_sessions(search=...)``) matches, case-insensitively, the
session id, its name, and each run's input and answer, extracted from the
JSON with the database's functions (a LIKE scan: no index, and on SQLite
``lower()`` folds ASCII letters only, so ``Zürich`` is not found as ``ZÜRICH``).
It does not look into tool calls or other message fields.

Here: recognising the tables, the SQL building blocks, and whole sessions
(read, listed by id, counted). Beside it: ``_agnodb_sql.py`` (JSON cells,
runs and the per-dialect SQL), ``_agnodb_listing.py`` (summaries),
``_agnodb_runs.py`` (one session's runs, paged), ``_agnodb_writes.py``
(rename, delete), ``_agnodb_upsert.py`` + ``_agnodb_format.py`` (upsert,
append_run) and ``_agnodb_open.py`` (which table to open when none is
named).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Inspector

from agno_nb.codec import SessionSummary
from agno_nb.errors import AgnoNbError
from agno_nb.sessions import SESSION_CLASSES, Session
from agno_nb.storage.contract import OPERATION_NEEDS, Layout, Listing, StorageCore, WriteSteps
from agno_nb.storage.layouts import _agnodb_listing, _agnodb_runs, _agnodb_upsert, _agnodb_writes
from agno_nb.storage.layouts._agnodb_open import AGNO_TABLE, default_table, opened_note
from agno_nb.storage.layouts._agnodb_sql import (
    JSON_COLUMNS,
    Json,
    decode_agno_json,
    merge_runs,
    run_from_agno,
)

__all__ = [
    "AGNO_TABLE",
    "AgnoDbLayout",
    "decode_agno_json",
    "default_table",
    "opened_note",
    "run_from_agno",
]

#: The session table's columns agno_nb needs to recognise it.
REQUIRED = ("session_id", "session_type", "session_data", "created_at")
_IDS = ("agent_id", "team_id", "workflow_id", "user_id")
#: session_type per storage mode.
SESSION_TYPE = {"agent": "agent", "team": "team", "workflow": "workflow", "workflow_v2": "workflow"}
_DATA = {"agent": "agent_data", "team": "team_data", "workflow": "workflow_data"}


# -- the family ----------------------------------------------------------------------------


#: Sessions per query when a page's runs are fetched (keeps bound parameters few).
CHUNK = 500


def _runs_name(table_name: str) -> str:
    return "agno_runs" if table_name == "agno_sessions" else f"{table_name}_runs"


class AgnoDbLayout(Layout):
    """agno 2.x/3.x's ``agno_sessions`` (+ ``runs`` column and/or ``agno_runs``)."""

    #: agno_nb reads, renames and deletes every agno 2.x/3.x table, and writes agent
    #: sessions (see ``__init__``); team and workflow sessions are agno's to write.
    capabilities = frozenset({"read", "rename", "delete"})
    family = "agno2/3"
    versions = ()
    priority = 40
    expects = "agno 2.x/3.x's"

    @classmethod
    def expected_columns(cls, storage: StorageCore) -> tuple[str, ...]:
        return REQUIRED

    def __init__(
        self,
        storage: StorageCore,
        version: int | None = None,
        *,
        columns: set[str] | frozenset[str] = frozenset(REQUIRED),
        has_runs_table: bool = False,
    ) -> None:
        super().__init__(storage, None)
        json_type = storage.dialect.json_type()
        cols: list[sa.Column[Any]] = [sa.Column("session_id", sa.String, primary_key=True)]
        for name in ("session_type", *_IDS):
            cols.append(sa.Column(name, sa.String))
        for name in (*JSON_COLUMNS, "runs"):
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
        if self.type == "agent":
            self.capabilities = self.capabilities | {"write"}
        self.json = Json(storage.dialect)

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
        cls, storage: StorageCore, conn: Connection, inspector: Inspector, columns: set[str]
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
        if OPERATION_NEEDS.get(operation) in self.capabilities:
            return
        where = self.storage.ref.qualified
        if operation in ("upsert", "append_run"):
            raise AgnoNbError(
                f"{operation} refused: agno_nb writes agent sessions into agno 2.x/3.x's "
                f"{where}, not {self.type} sessions: write those with agno itself "
                f"(its {self.type.capitalize()}(db=...)), or keep them in a table of agno_nb's "
                "(table_name='agent_sessions')"
            )
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

    def as_text(self, col: Any) -> Any:
        return self.storage.dialect.as_text(col)

    def runs_present(self, conn: Connection) -> bool:
        """Whether the runs table exists (agno 3.x creates it with the first run)."""
        if not self.has_runs_table:
            s = self.storage
            s.stats.queries += 1
            self.has_runs_table = bool(sa.inspect(conn).has_table(self.runs.name, schema=s.schema))
        return self.has_runs_table

    def filtered(self, query: sa.Select[Any], want: Listing) -> sa.Select[Any]:
        t = self.table
        query = query.where(t.c.session_type == self.type)
        if want.user_id is not None:
            query = query.where(t.c.user_id == want.user_id)
        if want.entity_id is not None:
            entity = self.storage.entity_column
            found = t.c[entity] == want.entity_id if entity in t.c else sa.false()
            query = query.where(found)
        if want.search:
            query = query.where(self._search(want.search.lower()))
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

    def newest_first(self, query: sa.Select[Any]) -> sa.Select[Any]:
        """By ``created_at`` (agno's seconds), ties by insertion order where the
        database keeps it (SQLite's rowid), else by id: agno's tables get no column
        of agno_nb's, so on Postgres sessions of the same second are in a stable
        order, not their insertion order (docs/reliability.md)."""
        t = self.table
        tie = self.storage.dialect.insertion_order(t)
        tie = t.c.session_id if tie is None else tie
        return query.order_by(t.c.created_at.desc(), tie.desc())

    def run_order(self, newest_first: bool = False) -> list[Any]:
        r = self.runs
        cols = [r.c.run_index, r.c.created_at, r.c.run_id]
        return [c.desc() for c in cols] if newest_first else list(cols)

    def chunks(self, rows: Sequence[Any]) -> list[Sequence[Any]]:
        """``rows`` in parts of ``CHUNK`` (a page's runs are fetched part by part)."""
        return [rows[i : i + CHUNK] for i in range(0, len(rows), CHUNK)]

    def row_columns(self) -> list[Any]:
        return [
            self.as_text(c).label(c.name) if c.name in (*JSON_COLUMNS, "runs") else c
            for c in self.table.c
        ]

    # -- sessions ------------------------------------------------------------------------

    def session_from_row(
        self, row: Mapping[str, Any], table_runs: list[tuple[str | None, Any]]
    ) -> Session:
        sid = str(row["session_id"])
        data: dict[str, Any] = {}
        for name in JSON_COLUMNS:
            data[name] = decode_agno_json(row.get(name), session_id=sid, column=name)[0]
        legacy = self.legacy_runs(row, sid)
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

    def legacy_runs(self, row: Mapping[str, Any], sid: str) -> list[Any]:
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
        if not session_ids or not self.runs_present(conn):
            return out
        r = self.runs
        query = (
            sa.select(r.c.session_id, r.c.run_id, self.as_text(r.c.run_data))
            .where(r.c.session_id.in_(session_ids))
            .order_by(r.c.session_id, *self.run_order())
        )
        for sid, run_id, text in self.storage.fetch_all(conn, query):
            out[sid].append((run_id, decode_agno_json(text, session_id=sid, column="run_data")[0]))
        return out

    def read(self, session_id: str, user_id: str | None) -> Session | None:
        s, t = self.storage, self.table
        query = self.filtered(sa.select(*self.row_columns()), Listing(user_id))
        query = query.where(t.c.session_id == session_id)
        with s.read_conn() as conn:
            rows = s.fetch_all(conn, query)
            if not rows:
                return None
            runs = self._table_runs(conn, [session_id])
        return self.session_from_row(rows[0]._mapping, runs[session_id])

    def sessions(
        self, user_id: str | None, entity_id: str | None, limit: int | None
    ) -> list[Session]:
        s = self.storage
        query = sa.select(*self.row_columns())
        query = self.newest_first(self.filtered(query, Listing(user_id, entity_id)))
        if limit is not None:
            query = query.limit(limit)
        with s.read_conn() as conn:
            rows = s.fetch_all(conn, query)
            runs: dict[str, list[tuple[str | None, Any]]] = {}
            for part in self.chunks(rows):
                runs.update(self._table_runs(conn, [row.session_id for row in part]))
        return [self.session_from_row(row._mapping, runs[row.session_id]) for row in rows]

    def session_ids(self, user_id: str | None, entity_id: str | None) -> list[str]:
        s = self.storage
        query = self.newest_first(
            self.filtered(sa.select(self.table.c.session_id), Listing(user_id, entity_id))
        )
        with s.read_conn() as conn:
            return [row[0] for row in s.fetch_all(conn, query)]

    def count_sessions(self, want: Listing) -> int:
        s = self.storage
        with s.read_conn() as conn:
            if want.search:
                self.runs_present(conn)  # search looks into a runs table agno made since
            query = self.filtered(sa.select(sa.func.count()).select_from(self.table), want)
            return int(s.run_statement(conn, query).scalar_one())

    # -- listing (_agnodb_listing.py) ----------------------------------------------------

    def list_sessions(self, want: Listing) -> list[SessionSummary]:
        return _agnodb_listing.summaries(self, want)

    def get_summary(self, session_id: str, user_id: str | None) -> SessionSummary | None:
        """One session's summary, looked up by its key (and ``user_id`` when given)."""
        found = _agnodb_listing.summaries(self, Listing(user_id, limit=1), session_id=session_id)
        return found[0] if found else None

    # -- runs, paged by the database (_agnodb_runs.py) -----------------------------------

    def get_runs(
        self, session_id: str, limit: int | None, offset: int, newest_first: bool
    ) -> list[dict[str, Any]]:
        return _agnodb_runs.get_runs(self, session_id, limit, offset, newest_first)

    def count_runs(self, session_id: str) -> int:
        return _agnodb_runs.count_runs(self, session_id)

    # -- the writes agno makes (_agnodb_writes.py) ---------------------------------------

    def rename_session(self, session_id: str, name: str) -> None:
        _agnodb_writes.rename_session(self, session_id, name)

    def delete_session(self, session_id: str) -> None:
        _agnodb_writes.delete_session(self, session_id)

    # -- agent sessions written as agno writes them (_agnodb_upsert.py) ------------------

    def upsert_steps(self, batch: Sequence[Session], now_ms: int) -> WriteSteps:
        raise AgnoNbError(  # pragma: no cover - write_sessions() is the way in
            "agno 2.x/3.x tables are written by write_sessions(), which locks each row first"
        )

    def write_sessions(self, batch: Sequence[Session], now_ms: int) -> None:
        _agnodb_upsert.write_sessions(self, batch, now_ms)

    def append_run(
        self, session_id: str, run: dict[str, Any], session_data: Mapping[str, Any] | None
    ) -> int:
        return _agnodb_upsert.append_run(self, session_id, run, session_data)
