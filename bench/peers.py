"""The two contestants behind one small interface: agno 1.8.4 and agno_nb.

Each peer wraps one storage table and offers what the benchmark measures.
The agno peer does what agno 1.8.4's Agent does to add a run: read the
session, append the run to its memory, upsert the whole session back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("AGNO_TELEMETRY", "false")


@dataclass
class Place:
    """Where a backend keeps its data: a folder (files) or a Postgres schema."""

    backend: str
    folder: Path
    pg_url: str | None = None
    pg_schema: str | None = None

    def sqlite_file(self, who: str) -> str:
        return str(self.folder / f"{who}.db")

    def duckdb_file(self, who: str) -> str:
        return str(self.folder / f"{who}.duckdb")

    def schema_for(self, who: str) -> str:
        return f"{self.pg_schema}_{who}"


def settle(place: Place) -> None:
    """Bring both contestants' freshly written data to the state a later reader
    finds, so that neither pays first-reader costs of its own writes the other
    was spared: on SQLite each file's WAL is checkpointed into the database;
    on Postgres both schemas' tables are vacuumed (which sets the hint bits the
    first reader of a row would otherwise write) and analysed."""
    if place.backend == "sqlite":
        import sqlite3

        for path in place.folder.glob("*.db"):
            with sqlite3.connect(path) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
    elif place.backend == "postgres" and place.pg_url:
        import psycopg

        url = place.pg_url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(url, autocommit=True) as conn:
            schemas = [place.schema_for("agno"), place.schema_for("ours")]
            tables = conn.execute(
                "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(%s)",
                (schemas,),
            ).fetchall()
            for schema, table in tables:
                conn.execute(f'VACUUM ANALYZE "{schema}"."{table}"')


def _use_wal(engine: Any) -> None:
    """Every new connection of ``engine`` gets WAL and ``synchronous=NORMAL``."""
    from sqlalchemy import event

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    event.listen(engine, "connect", on_connect)
    engine.dispose()  # connections made before the listener are dropped


class AgnoPeer:
    """agno 1.8.4's own storage class on one table."""

    name = "agno 1.8.4"

    def __init__(self, place: Place, table: str, *, same_pragmas: bool = False) -> None:
        """``same_pragmas`` (SQLite): give agno's engine agno_nb's settings (WAL,
        ``synchronous=NORMAL``) in a file of its own, to separate what the code
        gains from what the pragmas gain."""
        if place.backend == "sqlite":
            from agno.storage.sqlite import SqliteStorage

            who = "agno_wal" if same_pragmas else "agno"
            self.storage: Any = SqliteStorage(table_name=table, db_file=place.sqlite_file(who))
            if same_pragmas:
                _use_wal(self.storage.db_engine)
        elif place.backend == "postgres":
            from agno.storage.postgres import PostgresStorage

            self.storage = PostgresStorage(
                table_name=table, schema=place.schema_for("agno"), db_url=place.pg_url
            )
        else:
            raise ValueError(f"agno 1.8.4 has no {place.backend} storage")
        self.storage.create()

    @staticmethod
    def session(values: dict[str, Any]) -> Any:
        """agno's AgentSession for a row of column values."""
        from agno.storage.session.agent import AgentSession

        fields = {k: v for k, v in values.items() if k not in ("created_at", "updated_at")}
        return AgentSession(**fields)

    def upsert(self, session: Any) -> None:
        self.storage.upsert(session)

    def add_run(self, session_id: str, run: dict[str, Any]) -> None:
        """What agno does per turn: the whole session is read and written back."""
        session = self.storage.read(session_id)
        session.memory["runs"].append(run)
        self.storage.upsert(session)

    def recent(self, limit: int) -> list[Any]:
        return list(self.storage.get_recent_sessions(limit=limit))

    def read(self, session_id: str) -> Any:
        return self.storage.read(session_id)

    def bulk_load(self, total: int, *, runs: int) -> None:
        """Insert agno-format rows through agno's own Table (its JSON encoding)."""
        from bench.workload import bulk_insert_sqlalchemy

        bulk_insert_sqlalchemy(self.storage.db_engine, self.storage.table, total, runs=runs)

    def close(self) -> None:
        self.storage.db_engine.dispose()


class OursPeer:
    """agno_nb's storage on one table (latest layout unless said otherwise)."""

    name = "agno_nb"

    def __init__(self, place: Place, table: str, *, create: bool = True, **kw: Any) -> None:
        from agno_nb.storage import DuckDbStorage, PostgresStorage, SqliteStorage

        self.place = place
        self.table = table
        if place.backend == "sqlite":
            self.storage: Any = SqliteStorage(table, db_file=place.sqlite_file("ours"), **kw)
        elif place.backend == "duckdb":
            self.storage = DuckDbStorage(table, db_file=place.duckdb_file("ours"), **kw)
        else:
            self.storage = PostgresStorage(
                table, db_url=place.pg_url, schema=place.schema_for("ours"), **kw
            )
        if create:
            self.storage.create()

    @staticmethod
    def session(values: dict[str, Any]) -> Any:
        from agno_nb.sessions import AgentSession

        fields = {k: v for k, v in values.items() if k not in ("created_at", "updated_at")}
        return AgentSession(**fields)

    def upsert(self, session: Any) -> None:
        self.storage.upsert(session)

    def add_run(self, session_id: str, run: dict[str, Any]) -> None:
        self.storage.append_run(session_id, run)

    def recent(self, limit: int) -> list[Any]:
        return list(self.storage.get_recent_sessions(limit=limit))

    def list_page(self, limit: int = 50) -> list[Any]:
        return list(self.storage.list_sessions(limit=limit))

    def read(self, session_id: str) -> Any:
        return self.storage.read(session_id)

    def close(self) -> None:
        self.storage.close()


def load_v1_table(place: Place, table: str, total: int, *, runs: int) -> None:
    """Fill a v1 (agno-format) table named ``table`` in agno_nb's database.

    SQLite and Postgres: agno 1.8.4 creates the table and its Table object
    encodes the rows. DuckDB (no agno storage): agno_nb creates a v1 table and
    the rows go in through a DataFrame.
    """
    from bench.workload import bulk_insert_duckdb, bulk_insert_sqlalchemy

    if place.backend == "duckdb":
        peer = OursPeer(place, table, schema_version=1)
        try:
            bulk_insert_duckdb(peer.storage.db_engine, table, total, runs=runs)
        finally:
            peer.close()
        return
    if place.backend == "sqlite":
        from agno.storage.sqlite import SqliteStorage

        agno_storage: Any = SqliteStorage(table_name=table, db_file=place.sqlite_file("ours"))
    else:
        from agno.storage.postgres import PostgresStorage

        agno_storage = PostgresStorage(
            table_name=table, schema=place.schema_for("ours"), db_url=place.pg_url
        )
    try:
        agno_storage.create()
        bulk_insert_sqlalchemy(agno_storage.db_engine, agno_storage.table, total, runs=runs)
    finally:
        agno_storage.db_engine.dispose()
