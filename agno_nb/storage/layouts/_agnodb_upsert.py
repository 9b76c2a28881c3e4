"""``upsert()`` and ``append_run()`` on agno 2.x / 3.x's tables, written the way
agno writes them (:class:`~agno_nb.storage.layouts.agnodb.AgnoDbLayout` calls
:func:`write_sessions` and :func:`append_run`; the shapes come from
``_agnodb_format``).

- **agno 3.x** (the runs table exists, or the table has no ``runs`` column):
  the ``agno_sessions`` row without ``runs`` plus one ``agno_runs`` row per run
  (``run_type``, ids, ``status``, ``run_index``, ``run_data``, ``created_at``,
  ``updated_at``), JSON encoded once on SQLite and as jsonb on Postgres, as
  agno 3.1.10 does. The legacy ``runs`` column of a 2.x row continued by 3.x is
  left alone, as agno leaves it. A runs table that does not exist yet is created
  with agno's DDL and stamped ``3.0.0`` in ``agno_schema_versions``, as agno does
  when it saves a first run.
- **agno 2.x** (a ``runs`` column and no runs table): the whole row, runs in its
  ``runs`` column, JSON encoded twice on SQLite, as agno 2.x does.

Every write locks the session row first (``SELECT ... FOR UPDATE`` on Postgres;
SQLite's write transaction is ``BEGIN IMMEDIATE``), then reads what it merges
(``session_data``, the next ``run_index``): an agno 3 app saving the same session
at the same time waits for it, and no run of either is lost. ``append_run``
writes one run row and the session row: its cost does not grow with the session.
As in agno, a session owned by another user is not overwritten (an error says so).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from agno_nb.errors import AgnoNbError
from agno_nb.storage.layouts import _agnodb_format as fmt
from agno_nb.storage.layouts._agnodb_sql import (
    JSON_COLUMNS,
    AgnoDbParts,
    decode_agno_json,
    encode_agno_json,
)

if TYPE_CHECKING:
    from agno_nb.sessions import Session

#: The schema version agno 3.1.10 stamps on the tables it creates.
AGNO_SCHEMA_VERSION = "3.0.0"
VERSIONS_TABLE = "agno_schema_versions"
_ROW_JSON = ("session_data", "agent_data", "metadata", "summary")


# -- tables as agno defines them (for the writes; the layout's tables are for reads) -------


@lru_cache(maxsize=64)
def runs_table(name: str, sessions: str, schema: str | None, postgres: bool) -> sa.Table:
    """agno 3.1.10's runs table ``name`` (FK to ``sessions``), with its indexes."""
    json_type: Any = postgresql.JSONB() if postgres else sa.JSON()
    md = sa.MetaData()
    target = f"{schema}.{sessions}.session_id" if schema else f"{sessions}.session_id"
    cols: list[sa.Column[Any]] = [
        sa.Column("run_id", sa.String, primary_key=True, nullable=False),
        sa.Column(
            "session_id", sa.String, sa.ForeignKey(target, ondelete="CASCADE"), nullable=False
        ),
        sa.Column("run_type", sa.String, nullable=False),
        *(sa.Column(c, sa.String) for c in ("agent_id", "team_id", "workflow_id", "user_id")),
        sa.Column("parent_run_id", sa.String),
        sa.Column("status", sa.String),
        sa.Column("run_index", sa.BigInteger),
        sa.Column("run_data", json_type, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger),
    ]
    sa.Table(sessions, md, sa.Column("session_id", sa.String, primary_key=True), schema=schema)
    table = sa.Table(name, md, *cols, schema=schema)
    indexed = (
        "session_id", "run_type", "agent_id", "team_id", "workflow_id", "user_id", "status",
        "created_at",
    )  # fmt: skip
    for col in indexed:
        sa.Index(f"idx_{name}_{col}", table.c[col])
    sa.Index(f"idx_{name}_session_id_run_index", table.c.session_id, table.c.run_index)
    return table


@lru_cache(maxsize=16)
def versions_table(schema: str | None) -> sa.Table:
    """agno's ``agno_schema_versions``."""
    table = sa.Table(
        VERSIONS_TABLE,
        sa.MetaData(),
        sa.Column("table_name", sa.String, primary_key=True, nullable=False),
        sa.Column("version", sa.String, nullable=False),
        sa.Column("created_at", sa.String, nullable=False),
        sa.Column("updated_at", sa.String),
        schema=schema,
    )
    sa.Index(f"idx_{VERSIONS_TABLE}_created_at", table.c.created_at)
    return table


def _runs(layout: AgnoDbParts) -> sa.Table:
    s = layout.storage
    return runs_table(layout.runs.name, s.table_name, s.schema, s.dialect.native_json)


def ensure_runs_table(layout: AgnoDbParts, conn: Connection) -> None:
    """Create the runs table (and its stamp) the way agno 3.1.10 does, if it is missing."""
    if layout.runs_present(conn):
        return
    s = layout.storage
    table = _runs(layout)
    s.stats.queries += 1
    table.create(conn, checkfirst=True)
    versions = versions_table(s.schema)
    versions.create(conn, checkfirst=True)
    stamp = datetime.now().isoformat()  # agno stamps local time, no zone
    found = s.run_statement(
        conn, sa.select(versions.c.table_name).where(versions.c.table_name == table.name)
    ).first()
    if found is None:
        row = {"table_name": table.name, "version": AGNO_SCHEMA_VERSION}
        s.run_statement(conn, versions.insert().values(**row, created_at=stamp, updated_at=stamp))
    layout.has_runs_table = True


# -- JSON cells ----------------------------------------------------------------------------


def _depth(layout: AgnoDbParts, agno3: bool) -> int:
    """How many times JSON is encoded: once (agno 3, Postgres), twice (agno 2 on SQLite)."""
    return 1 if agno3 or layout.storage.dialect.native_json else 2


def _cell(layout: AgnoDbParts, value: Any, depth: int) -> Any:
    """A JSON column's bind value: jsonb takes the value; SQLite takes agno's text
    (Python None is the text ``null``, as agno's JSON type writes it)."""
    if layout.storage.dialect.native_json:
        return value
    return "null" if value is None else encode_agno_json(value, depth)


# -- the session row -----------------------------------------------------------------------


def _lock_row(layout: AgnoDbParts, conn: Connection, session_id: str) -> Mapping[str, Any] | None:
    """The session row of any type (JSON cells as text), locked until the transaction ends."""
    t = layout.table
    cols = [t.c.session_id, t.c.session_type, t.c.user_id, t.c.created_at]
    cols += [t.c.agent_id] if "agent_id" in t.c else []
    cols += [layout.as_text(t.c[c]).label(c) for c in (*JSON_COLUMNS, "runs") if c in t.c]
    query = sa.select(*cols).where(t.c.session_id == session_id)
    row = layout.storage.run_statement(conn, layout.storage.for_update(query)).first()
    return None if row is None else row._mapping


def _ours(layout: AgnoDbParts, row: Mapping[str, Any] | None) -> bool:
    """Whether ``row`` is a session of the storage's type (agent)."""
    return row is not None and row["session_type"] == layout.type


def _decoded(row: Mapping[str, Any] | None, column: str, session_id: str) -> Any:
    if row is None or column not in row:
        return None
    return decode_agno_json(row[column], session_id=session_id, column=column)[0]


def _check_owner(layout: AgnoDbParts, row: Mapping[str, Any] | None, session: Session) -> None:
    if row is not None and not _ours(layout, row):
        raise AgnoNbError(
            f"session id {session.session_id!r} in {layout.storage.ref.qualified} is a "
            f"{row['session_type']} session, not an {layout.type} session: nothing was "
            "written; use another session_id"
        )
    owner = None if row is None else row["user_id"]
    if owner is not None and owner != session.user_id:
        raise AgnoNbError(
            f"session {session.session_id!r} in {layout.storage.ref.qualified} belongs to "
            f"user {owner!r}, not {session.user_id!r}; agno does not overwrite another user's "
            "session either: upsert it with that user_id, or use a new session_id"
        )


def _write_row(
    layout: AgnoDbParts,
    conn: Connection,
    values: dict[str, Any],
    created_at: int,
    now: int,
    depth: int,
) -> None:
    """INSERT ... ON CONFLICT (session_id) DO UPDATE of the session row (as agno's
    upsert_session: ``created_at`` kept, ``updated_at`` now)."""
    s, t = layout.storage, layout.table
    cells = {
        k: (_cell(layout, v, depth) if k in (*_ROW_JSON, "runs") else v)
        for k, v in values.items()
        if k in t.c
    }
    insert = s.insert_into(t).values(**cells, created_at=created_at, updated_at=created_at)
    keep = ("session_id", "session_type", "created_at")
    update = {k: insert.excluded[k] for k in cells if k not in keep}
    update["updated_at"] = now
    s.run_statement(conn, insert.on_conflict_do_update(index_elements=["session_id"], set_=update))


# -- runs rows (agno 3.x) ------------------------------------------------------------------


def _run_row(
    run: dict[str, Any], session_id: str, user_id: str | None, index: int, now: int
) -> dict[str, Any]:
    """agno 3.1.10's ``build_single_run_row`` for an agent run."""
    return {
        "run_id": run["run_id"],
        "session_id": session_id,
        "run_type": "agent",
        "agent_id": run.get("agent_id"),
        "team_id": run.get("team_id"),
        "workflow_id": run.get("workflow_id"),
        "user_id": run.get("user_id") or user_id,
        "parent_run_id": run.get("parent_run_id"),
        "status": run.get("status"),
        "run_index": index,
        "run_data": run,
        "created_at": run.get("created_at") or now,
        "updated_at": now,
    }


def _upsert_runs(
    layout: AgnoDbParts, conn: Connection, rows: list[dict[str, Any]], *, keep_index: bool
) -> None:
    """INSERT ... ON CONFLICT (run_id) DO UPDATE, as agno's upsert_run (which keeps an
    existing ``run_index``; ``keep_index=False`` sets it, for a whole-session upsert)."""
    if not rows:
        return
    s, r = layout.storage, _runs(layout)
    params = [{**row, "run_data": _cell(layout, row["run_data"], 1)} for row in rows]
    if not s.dialect.native_json:
        for row in params:  # the JSON type would encode agno's text again
            row["run_data"] = sa.literal(row["run_data"], sa.Text)
    insert = s.insert_into(r)
    changed = ("status", "run_data", "user_id", "parent_run_id", "updated_at")
    update: dict[str, Any] = {c: insert.excluded[c] for c in changed}
    if keep_index:
        update["run_index"] = sa.func.coalesce(r.c.run_index, insert.excluded.run_index)
    else:
        update["run_index"] = insert.excluded.run_index
    statement = insert.on_conflict_do_update(index_elements=["run_id"], set_=update)
    for row in params:
        s.run_statement(conn, statement.values(**row))


def _table_run_ids(layout: AgnoDbParts, conn: Connection, session_id: str) -> list[str]:
    r = layout.runs
    query = sa.select(r.c.run_id).where(r.c.session_id == session_id)
    return [row[0] for row in layout.storage.fetch_all(conn, query)]


def _next_index(layout: AgnoDbParts, conn: Connection, session_id: str, legacy: list[Any]) -> int:
    """The new run's ``run_index``: after every run of the session (agno's
    position in its merged runs; max + 1 when indexes have gaps)."""
    r = layout.runs
    query = sa.select(sa.func.max(r.c.run_index), sa.func.count()).where(
        r.c.session_id == session_id
    )
    top, count = layout.storage.run_statement(conn, query).one()
    table_ids = set(_table_run_ids(layout, conn, session_id)) if legacy else set()
    only_legacy = [
        run for run in legacy if not (isinstance(run, Mapping) and run.get("run_id") in table_ids)
    ]
    return max(-1 if top is None else int(top), int(count) + len(only_legacy) - 1) + 1


# -- the two writes ------------------------------------------------------------------------


def _agno3(layout: AgnoDbParts, conn: Connection) -> bool:
    """Whether the table is written agno 3's way (else 2.x's: runs in the row)."""
    return layout.runs_present(conn) or not layout.has_legacy


def _with_ids(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [run if run.get("run_id") else {**run, "run_id": str(uuid.uuid4())} for run in runs]


def write_sessions(layout: AgnoDbParts, batch: Sequence[Session], now_ms: int) -> None:
    """Insert or replace each session of ``batch`` (row and runs) in one transaction.

    On agno 3.x tables the session's runs become exactly its ``run_dicts``, in that
    order: runs of the session that are not among them are deleted (as agno's
    ``delete_run``), the others get ``run_index`` 0, 1, 2 ...
    """
    s = layout.storage
    now = now_ms // 1000
    with s.write_conn() as conn:
        agno3 = _agno3(layout, conn)
        if agno3:
            ensure_runs_table(layout, conn)
        depth = _depth(layout, agno3)
        for session in batch:
            sid = session.session_id
            row = _lock_row(layout, conn, sid)
            _check_owner(layout, row, session)
            state = session.session_state
            runs = [
                fmt.agno_run(
                    r,
                    session_id=sid,
                    user_id=session.user_id,
                    agent_id=getattr(session, "agent_id", None),
                    session_state=state,
                    now=now,
                )
                for r in _with_ids(session.run_dicts)
            ]
            values = fmt.session_values(session, runs, kept=_decoded(row, "session_data", sid))
            created = int(row["created_at"]) if row is not None else int(session.created_at or now)
            if not agno3:
                _write_row(layout, conn, {**values, "runs": runs}, created, now, depth)
                continue
            _write_row(layout, conn, values, created, now, depth)
            wanted = {run["run_id"] for run in runs}
            gone = [rid for rid in _table_run_ids(layout, conn, sid) if rid not in wanted]
            if gone:
                r = layout.runs
                s.run_statement(conn, r.delete().where(r.c.session_id == sid, r.c.run_id.in_(gone)))
            _scrub_legacy(layout, conn, row, wanted)
            rows = [_run_row(run, sid, session.user_id, i, now) for i, run in enumerate(runs)]
            _upsert_runs(layout, conn, rows, keep_index=False)


def _scrub_legacy(
    layout: AgnoDbParts, conn: Connection, row: Mapping[str, Any] | None, wanted: set[str]
) -> None:
    """Take runs no longer wanted out of a 2.x row's ``runs`` column (as agno's
    ``delete_run`` does), keeping the cell's encoding."""
    if row is None or not layout.has_legacy or row.get("runs") is None:
        return
    sid = str(row["session_id"])
    legacy, depth = decode_agno_json(row["runs"], session_id=sid, column="runs")
    if not isinstance(legacy, list):
        return
    kept = [r for r in legacy if isinstance(r, Mapping) and r.get("run_id") in wanted]
    if len(kept) == len(legacy):
        return
    t = layout.table
    value = _cell(layout, kept, max(depth, 1))
    layout.storage.run_statement(conn, t.update().where(t.c.session_id == sid).values(runs=value))


def append_run(
    layout: AgnoDbParts,
    session_id: str,
    run: dict[str, Any],
    session_data: Mapping[str, Any] | None,
) -> int:
    """Add one run to an existing session (SessionNotFoundError if there is none);
    returns its index. ``session_data`` (``session_state``, ``session_name``) is
    merged into the row's, whose ``session_metrics`` grow by the run's."""
    s = layout.storage
    now = int(time.time())
    with s.write_conn() as conn:
        row = _lock_row(layout, conn, session_id)
        if row is None or not _ours(layout, row):
            raise s.not_found(session_id)
        agno3 = _agno3(layout, conn)
        if agno3:
            ensure_runs_table(layout, conn)
        depth = _depth(layout, agno3)
        user_id = row["user_id"]
        kept = _decoded(row, "session_data", session_id)
        data = fmt.session_data(session_data, kept=kept)
        new = fmt.agno_run(
            _with_ids([run])[0],
            session_id=session_id,
            user_id=user_id,
            agent_id=row.get("agent_id"),
            session_state=data.get("session_state"),
            now=now,
        )
        grown = fmt.add_run_metrics(data.get("session_metrics"), new.get("metrics"))
        data = fmt.session_data({"session_metrics": grown}, kept=data)
        values: dict[str, Any] = {c: _decoded(row, c, session_id) for c in _ROW_JSON if c in row}
        values["session_data"] = data
        legacy = layout.legacy_runs(row, session_id)
        if agno3:
            index = _next_index(layout, conn, session_id, legacy)
            rows = [_run_row(new, session_id, user_id, index, now)]
            _upsert_runs(layout, conn, rows, keep_index=True)
        else:
            index = len(legacy)
            values["runs"] = [*legacy, new]
        t = layout.table
        cells = {k: _cell(layout, v, depth) for k, v in values.items() if k in t.c}
        s.run_statement(
            conn, t.update().where(t.c.session_id == session_id).values(**cells, updated_at=now)
        )
    return index
