"""Reading agno 1.x and agno_nb session tables (layouts v0..v6) for ``agno-nb migrate``.

Reads only: plain SELECTs on an engine without agno_nb's connection settings
(no WAL switch on a SQLite file), in primary-key order, one batch at a time
(keyset pagination: ``WHERE session_id > :last ORDER BY session_id LIMIT n``).
Each row comes with a fingerprint of its stored text, so a rerun can tell an
unchanged session from a changed one without converting it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from agno_nb.errors import AgnoNbError, TableMissingError
from agno_nb.schema import (
    JSON_COLUMNS,
    OWN_COLUMNS,
    runs_name,
    runs_table,
    session_table,
)
from agno_nb.storage.catalog import KNOWN_VERSIONS, stamped_version, unstamped_version

_SKIP = OWN_COLUMNS  # agno_nb-only columns (v2+, v4, v6): not part of a session
#: Label of ``run_count`` on v2/v3: NULL marks a row whose runs holder is stored
#: as given (no list of runs, or runs an upgrade skipped): its JSON is the truth.
_HELD = "_agno_nb_run_count"


@dataclass
class SourceRow:
    """One source session: its decoded row (runs inside), fingerprint and raw problem."""

    session_id: str
    row: dict[str, Any]
    fingerprint: str
    updated_at: int | None
    error: str | None = None


@dataclass
class SourceTable:
    """A 1.x session table to read: where it is, its mode and layout."""

    engine: Engine
    backend: str
    table: str
    schema: str | None
    mode: str
    version: int

    @property
    def qualified(self) -> str:
        """``schema.table`` (or the table name)."""
        return f"{self.schema}.{self.table}" if self.schema else self.table

    def _tables(self) -> tuple[sa.Table, sa.Table]:
        md = sa.MetaData()
        table = session_table(
            md,
            self.table,
            mode=self.mode,
            version=self.version,
            backend=self.backend,
            schema=self.schema,
        )
        return table, runs_table(md, self.table, backend=self.backend, schema=self.schema)

    def count(self, conn: Connection) -> int:
        """How many sessions the table holds."""
        table, _ = self._tables()
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    def batches(self, *, batch_size: int) -> Iterator[list[SourceRow]]:
        """Every session in primary-key order, ``batch_size`` at a time; each
        batch is read in its own short transaction."""
        table, runs = self._tables()
        columns = [
            sa.cast(c, sa.Text).label(c.name) if c.name in JSON_COLUMNS else c
            for c in table.columns
            if c.name not in _SKIP
        ]
        if self.version >= 2:  # NULL: a session agno_nb stored as given, runs inside
            columns.append(table.c.run_count.label(_HELD))
        last: str | None = None
        while True:
            query = sa.select(*columns).order_by(table.c.session_id).limit(batch_size)
            if last is not None:
                query = query.where(table.c.session_id > last)
            with self.engine.connect() as conn:
                result = conn.execute(query)
                keys = list(result.keys())  # plain rows zipped: no RowMapping per row
                rows = [dict(zip(keys, r, strict=True)) for r in result.all()]
                if not rows:
                    return
                run_texts: dict[str, list[str]] | None = None
                if self.version >= 2:
                    run_texts = self._run_texts(conn, runs, [r["session_id"] for r in rows])
            last = rows[-1]["session_id"]
            yield [self._source_row(r, run_texts) for r in rows]
            if len(rows) < batch_size:
                return

    def _run_texts(self, conn: Connection, runs: sa.Table, ids: list[str]) -> dict[str, list[str]]:
        query = (
            sa.select(runs.c.session_id, sa.cast(runs.c.run, sa.Text))
            .where(runs.c.session_id.in_(ids))
            .order_by(runs.c.session_id, runs.c.run_index)
        )
        out: dict[str, list[str]] = {}
        for sid, text in conn.execute(query).all():
            out.setdefault(sid, []).append(text)
        return out

    def _source_row(self, raw: dict[str, Any], run_texts: dict[str, list[str]] | None) -> SourceRow:
        session_id = str(raw["session_id"])
        held = raw.pop(_HELD, 0) is None  # not part of the fingerprint
        # one update of the joined text: the digest of the same bytes as before
        # (hashing is streaming), without ~40 calls per session
        parts: list[str] = []
        for key in sorted(raw):
            value = raw[key]
            parts += (key, "\x1f", value if type(value) is str else repr(value), "\x1e")
        texts = run_texts.get(session_id, []) if run_texts is not None else None
        for text in texts or ():
            parts += (text if type(text) is str else repr(text), "\x1e")
        digest = hashlib.blake2b("".join(parts).encode(), digest_size=16)
        row = dict(raw)
        error = None
        try:
            for column in JSON_COLUMNS:
                value = row.get(column)
                if isinstance(value, str):
                    row[column] = _loads(value)
            if texts is not None and not held:
                run_list = [_loads(t) for t in texts]
                if self.mode == "workflow_v2":
                    row["runs"] = run_list
                else:
                    memory = row.get("memory")
                    memory = dict(memory) if isinstance(memory, dict) else {}
                    memory["runs"] = run_list
                    row["memory"] = memory
        except json.JSONDecodeError as exc:
            error = (
                f"session {session_id!r} has corrupt JSON ({exc.msg} at char {exc.pos}); fix or "
                "delete that row, or rerun with skip_bad=True (--skip-bad) to list it"
            )
        except RecursionError:
            error = (
                f"session {session_id!r} nests its JSON too deep to read; fix or delete that "
                "row, or rerun with skip_bad=True (--skip-bad) to list it"
            )
        updated = raw.get("updated_at")
        return SourceRow(
            session_id=session_id,
            row=row,
            fingerprint=digest.hexdigest(),
            updated_at=int(updated) if isinstance(updated, (int, float)) else None,
            error=error,
        )


def _loads(text: str) -> Any:
    """Parse JSON text: orjson (fast), or the standard library for what orjson
    refuses but ``json.dumps`` writes (NaN, Infinity) and for its error message."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def mode_from_columns(columns: set[str]) -> str:
    """agno 1.x's session kind, recognised from a table's columns.

    Raises:
        AgnoNbError: the table is agno 2.x/3.x's, or no agno 1.x session table.
    """
    if "session_type" in columns:
        raise AgnoNbError(
            "that table is already agno 2.x/3.x's (it has a session_type column): pass "
            "--table naming the agno 1.x session table"
        )
    if "session_id" not in columns or not ({"memory", "runs"} & columns):
        raise AgnoNbError(
            "not an agno 1.x session table (no session_id, memory or runs column): check --table"
        )
    if "team_id" in columns:
        return "team"
    if "workflow_name" in columns and "runs" in columns:
        return "workflow_v2"
    if "workflow_id" in columns:
        return "workflow"
    if "agent_id" in columns:
        return "agent"
    raise AgnoNbError(
        "not an agno 1.x session table (no agent_id, team_id or workflow_id column): check --table"
    )


def open_source(
    engine: Engine, backend: str, table: str, *, schema: str | None = None
) -> SourceTable:
    """Inspect ``table``: its mode (from its columns) and layout (v0..v6, found as
    the storage finds it: ``agno_nb.storage.catalog``).

    Raises:
        TableMissingError: no such table.
        AgnoNbError: the table is not an agno 1.x / agno_nb session table.
    """
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        if not inspector.has_table(table, schema=schema):
            where = f"{schema}.{table}" if schema else table
            raise TableMissingError(
                f"no table {where!r} in the source database: pass --table (and --schema on "
                "Postgres) naming the agno 1.x session table"
            )
        probe = sa.select(sa.text("*")).select_from(sa.table(table, schema=schema)).limit(0)
        columns = set(conn.execute(probe).keys())  # portable: DuckDB lacks Postgres' catalogs
        mode = mode_from_columns(columns)
        version = _layout(conn, inspector, backend, table, schema, columns, mode)
    return SourceTable(engine, backend, table, schema, mode, version)


def _layout(
    conn: Connection,
    inspector: Any,
    backend: str,
    table: str,
    schema: str | None,
    columns: set[str],
    mode: str,
) -> int:
    """The source table's layout, by the storage's own detection (``storage.catalog``)."""
    stamp = stamped_version(conn, table, backend, schema=schema)
    if stamp is not None:
        if stamp not in KNOWN_VERSIONS:
            raise AgnoNbError(
                f"table {table!r} has layout v{stamp}, newer than this agno_nb knows "
                f"(v{KNOWN_VERSIONS[-1]}): upgrade agno_nb (pip install -U agno_nb)"
            )
        return stamp
    has_runs = inspector.has_table(runs_name(table, backend), schema=schema)
    return unstamped_version(columns, mode, has_runs_table=has_runs)


def count_source(row: dict[str, Any], mode: str) -> tuple[int, int]:
    """(runs, messages) of a decoded source row, history copies included."""
    if mode == "workflow_v2":
        runs = row.get("runs")
    else:
        memory = row.get("memory")
        runs = memory.get("runs") if isinstance(memory, dict) else None
    if not isinstance(runs, list):
        return 0, 0
    messages = 0
    for run in runs:
        if isinstance(run, dict) and isinstance(run.get("messages"), list):
            messages += len(run["messages"])
    return len(runs), messages
