"""agno 3.x's session tables, as agno 3.1.10 creates them, in SQLAlchemy Core.

``agno_sessions``, ``agno_runs`` and ``agno_schema_versions`` get the same
columns, types, nullability, keys and index names (``idx_<table>_<column>``)
that agno 3.1.10's ``SqliteDb`` / ``PostgresDb`` create: JSON columns are
``JSON`` on SQLite and ``JSONB`` on Postgres, times are ``BIGINT`` seconds,
``agno_runs.session_id`` references the sessions table ``ON DELETE CASCADE``.
A table created here is stamped in ``agno_schema_versions`` the way agno stamps
a table it creates (version ``3.0.0``, ISO times), so agno opens it without a
migration. The tests create the same tables with agno 3.1.10 and compare the
catalogs.

The agno_nb bookkeeping tables of ``agno-nb migrate`` live beside them:
``agno_nb_migrate_rows`` (which target sessions came from which source row,
with the source row's fingerprint) and ``agno_nb_migrate_progress`` (how far a
migration got).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeEngine

from agno_nb.dialects import Dialect, dialect_of

#: What agno 3.1.10 stamps on a table it creates (``MigrationManager.latest_schema_version``).
AGNO_SCHEMA_VERSION = "3.0.0"
SESSIONS = "agno_sessions"
RUNS = "agno_runs"
VERSIONS = "agno_schema_versions"
MEMORIES = "agno_memories"
ROWS = "agno_nb_migrate_rows"
PROGRESS = "agno_nb_migrate_progress"


def _json(backend: str) -> TypeEngine[object]:
    return dialect_of(backend).json_column_type()


def _index(table: sa.Table, *columns: str) -> None:
    sa.Index(f"idx_{table.name}_{'_'.join(columns)}", *(table.c[c] for c in columns))


def sessions_table(
    md: sa.MetaData, *, backend: str, schema: str | None = None, name: str = SESSIONS
) -> sa.Table:
    """agno 3.1.10's sessions table."""
    js = _json(backend)
    table = sa.Table(
        name,
        md,
        sa.Column("session_id", sa.String, primary_key=True, nullable=False),
        sa.Column("session_type", sa.String, nullable=False),
        sa.Column("agent_id", sa.String, nullable=True),
        sa.Column("team_id", sa.String, nullable=True),
        sa.Column("workflow_id", sa.String, nullable=True),
        sa.Column("user_id", sa.String, nullable=True),
        sa.Column("session_data", js, nullable=True),
        sa.Column("agent_data", js, nullable=True),
        sa.Column("team_data", js, nullable=True),
        sa.Column("workflow_data", js, nullable=True),
        sa.Column("metadata", js, nullable=True),
        sa.Column("summary", js, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=True),
        schema=schema,
    )
    _index(table, "session_type")
    _index(table, "created_at")
    return table


def runs_table(md: sa.MetaData, sessions: sa.Table, *, backend: str, name: str = RUNS) -> sa.Table:
    """agno 3.1.10's runs table (one row per run, ``run_index`` in conversation order)."""
    table = sa.Table(
        name,
        md,
        sa.Column("run_id", sa.String, primary_key=True, nullable=False),
        sa.Column(
            "session_id",
            sa.String,
            sa.ForeignKey(sessions.c.session_id, ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("run_type", sa.String, nullable=False),
        sa.Column("agent_id", sa.String, nullable=True),
        sa.Column("team_id", sa.String, nullable=True),
        sa.Column("workflow_id", sa.String, nullable=True),
        sa.Column("user_id", sa.String, nullable=True),
        sa.Column("parent_run_id", sa.String, nullable=True),
        sa.Column("status", sa.String, nullable=True),
        sa.Column("run_index", sa.BigInteger, nullable=True),
        sa.Column("run_data", _json(backend), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=True),
        schema=sessions.schema,
    )
    for column in (
        "session_id",
        "run_type",
        "agent_id",
        "team_id",
        "workflow_id",
        "user_id",
        "status",
        "created_at",
    ):
        _index(table, column)
    _index(table, "session_id", "run_index")
    return table


def versions_table(md: sa.MetaData, *, schema: str | None = None) -> sa.Table:
    """agno's ``agno_schema_versions``: one row per table, its schema version."""
    table = sa.Table(
        VERSIONS,
        md,
        sa.Column("table_name", sa.String, primary_key=True, nullable=False),
        sa.Column("version", sa.String, nullable=False),
        sa.Column("created_at", sa.String, nullable=False),
        sa.Column("updated_at", sa.String, nullable=True),
        schema=schema,
    )
    _index(table, "created_at")
    return table


def memories_table(
    md: sa.MetaData, *, backend: str, schema: str | None = None, name: str = MEMORIES
) -> sa.Table:
    """agno 3.1.10's user-memories table."""
    dialect = dialect_of(backend)
    text = dialect.agno_text_type()
    js = _json(backend)
    columns: list[sa.Column[object]] = [
        sa.Column("memory_id", sa.String, primary_key=True, nullable=False),
        sa.Column("memory", js, nullable=False),
    ]
    if dialect.agno_memory_feedback_early:
        columns.append(sa.Column("feedback", text, nullable=True))
    columns += [
        sa.Column("input", text, nullable=True),
        sa.Column("agent_id", sa.String, nullable=True),
        sa.Column("team_id", sa.String, nullable=True),
        sa.Column("user_id", sa.String, nullable=True),
        sa.Column("topics", js, nullable=True),
    ]
    if not dialect.agno_memory_feedback_early:
        columns.append(sa.Column("feedback", text, nullable=True))
    columns += [
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=True),
    ]
    table = sa.Table(name, md, *columns, schema=schema)
    _index(table, "user_id")
    _index(table, "created_at")
    _index(table, "updated_at")
    return table


def rows_table(md: sa.MetaData, *, schema: str | None = None) -> sa.Table:
    """Bookkeeping: one row per target session written by ``agno-nb migrate``."""
    return sa.Table(
        ROWS,
        md,
        sa.Column("session_id", sa.String, primary_key=True),
        sa.Column("source", sa.String, nullable=False),
        sa.Column("fingerprint", sa.String, nullable=False),
        sa.Column("source_updated_at", sa.BigInteger),
        sa.Column("target_updated_at", sa.BigInteger),
        sa.Column("runs", sa.Integer, nullable=False),
        sa.Column("messages", sa.Integer, nullable=False),
        sa.Column("migrated_at", sa.BigInteger, nullable=False),
        *bookkeeping_columns(),
        schema=schema,
    )


def bookkeeping_columns() -> list[sa.Column[Any]]:
    """Columns later versions added to ``agno_nb_migrate_rows`` (nullable: rows
    an earlier version wrote have none): the fingerprint of the target rows as
    written, and where the source table was read."""
    return [
        sa.Column("target_fingerprint", sa.String),
        sa.Column("location", sa.String),
    ]


def progress_table(md: sa.MetaData, *, schema: str | None = None) -> sa.Table:
    """Bookkeeping: one row per source table, how far its migration got."""
    return sa.Table(
        PROGRESS,
        md,
        sa.Column("source", sa.String, primary_key=True),
        sa.Column("last_session_id", sa.String),
        sa.Column("sessions_done", sa.Integer, nullable=False),
        sa.Column("runs_done", sa.Integer, nullable=False),
        sa.Column("started_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("finished_at", sa.BigInteger),
        schema=schema,
    )


@dataclass
class TargetTables:
    """Every target table of one migration, bound to one backend and schema."""

    backend: str
    schema: str | None
    sessions: sa.Table
    runs: sa.Table
    versions: sa.Table
    memories: sa.Table
    rows: sa.Table
    progress: sa.Table

    @property
    def dialect(self) -> Dialect:
        """What differs on the target's database."""
        return dialect_of(self.backend)

    @classmethod
    def build(cls, backend: str, schema: str | None = None) -> TargetTables:
        """The tables for ``backend`` (``sqlite`` or ``postgres``) in ``schema``."""
        md = sa.MetaData()
        sessions = sessions_table(md, backend=backend, schema=schema)
        return cls(
            backend=backend,
            schema=schema,
            sessions=sessions,
            runs=runs_table(md, sessions, backend=backend),
            versions=versions_table(md, schema=schema),
            memories=memories_table(md, backend=backend, schema=schema),
            rows=rows_table(md, schema=schema),
            progress=progress_table(md, schema=schema),
        )

    def agno_tables(self, *, memories: bool = False) -> list[sa.Table]:
        """agno's own tables this migration writes, parents first."""
        tables = [self.sessions, self.runs]
        return [*tables, self.memories] if memories else tables

    def missing(self, conn: Connection, *, memories: bool = False) -> list[sa.Table]:
        """The tables (agno's and the bookkeeping ones) that do not exist yet."""
        inspector = sa.inspect(conn)
        wanted = [self.versions, *self.agno_tables(memories=memories), self.rows, self.progress]
        return [t for t in wanted if not inspector.has_table(t.name, schema=self.schema)]

    def add_bookkeeping_columns(self, conn: Connection) -> list[str]:
        """Add the columns this version's bookkeeping has and an earlier one's
        lacks (inside the caller's transaction); returns their names."""
        inspector = sa.inspect(conn)
        if not inspector.has_table(self.rows.name, schema=self.schema):
            return []
        have = {c["name"] for c in inspector.get_columns(self.rows.name, schema=self.schema)}
        added = []
        preparer = conn.dialect.identifier_preparer
        for column in bookkeeping_columns():
            if column.name not in have:
                kind = column.type.compile(dialect=conn.dialect)
                conn.exec_driver_sql(
                    f"ALTER TABLE {preparer.format_table(self.rows)} ADD COLUMN "
                    f"{preparer.quote(column.name)} {kind}"
                )
                added.append(column.name)
        return added

    def ddl(self, tables: list[sa.Table], dialect: sa.engine.Dialect) -> list[str]:
        """The CREATE statements for ``tables`` (and their indexes), as SQL text."""
        out: list[str] = []
        for table in tables:
            out.append(str(sa.schema.CreateTable(table).compile(dialect=dialect)).strip())
            for index in sorted(table.indexes, key=lambda i: str(i.name)):
                out.append(str(sa.schema.CreateIndex(index).compile(dialect=dialect)).strip())
        return out

    def create(self, conn: Connection, *, memories: bool = False) -> list[str]:
        """Create what is missing, inside the caller's transaction; agno's tables
        created here are stamped in ``agno_schema_versions``. Returns the names."""
        if self.schema is not None and self.dialect.has_schemas:
            conn.execute(sa.schema.CreateSchema(self.schema, if_not_exists=True))
        created = self.missing(conn, memories=memories)
        for table in created:
            table.create(conn)
        now = datetime.now().isoformat()
        stamps = [
            {
                "table_name": t.name,
                "version": AGNO_SCHEMA_VERSION,
                "created_at": now,
                "updated_at": now,
            }
            for t in created
            if t in self.agno_tables(memories=memories)
        ]
        if stamps:
            conn.execute(self.versions.insert(), stamps)
        return [t.name for t in created]
