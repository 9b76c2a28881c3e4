"""DuckDB: Postgres's INSERT syntax, one writer per file, no agno tables,
frames built by the database itself, and what its driver errors mean."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from agno_nb.dialects.base import Dialect, ErrorPlace, sql_literal
from agno_nb.errors import (
    AgnoNbError,
    BackendUnavailableError,
    StorageConflictError,
    StorageFullError,
    StorageLockedError,
)

if TYPE_CHECKING:
    import pandas as pd


class DuckDbDialect(Dialect):
    """DuckDB: Postgres's INSERT syntax, no agno tables, frames built natively."""

    name = "duckdb"
    sqlalchemy_name = "duckdb"
    holds_agno_tables = False
    indexes_after_updates = False
    binds_tuples = False
    blob_is_stored_bytes = False
    like_ignores_ascii_case = False
    #: its ART indexes serve lookups, never an ORDER BY
    indexes_serve_order = False

    def numbering_column(self, name: str, sequence: str) -> sa.Column[Any] | None:
        # text() reads ":word" as a bound parameter: a name may hold colons
        default = sa.text(f"nextval({sql_literal(sequence)})".replace(":", "\\:"))
        return sa.Column(name, sa.BigInteger(), server_default=default)

    def numbering_ddl(self, table: str, column: str, sequence: str, fill: str) -> list[str]:
        create, _ = self.sequence_ddl(sequence)
        return [
            create,
            # the rows there take numbers 1..n from it; the fill renumbers them in
            # order within 1..n, so the sequence's next number is above them all
            f"ALTER TABLE {table} ADD COLUMN {column} BIGINT "
            f"DEFAULT nextval({sql_literal(sequence)})",
            fill,
        ]

    def sequence_ddl(self, sequence: str) -> tuple[str, str]:
        return (
            f"CREATE SEQUENCE IF NOT EXISTS {sequence}",
            f"DROP SEQUENCE IF EXISTS {sequence}",
        )

    def insert(self, table: sa.Table) -> Any:
        return postgresql.insert(table)

    def summary_frame(self, conn: Connection, query: sa.Select[Any]) -> pd.DataFrame | None:
        sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        driver: Any = conn.connection.driver_connection
        return driver.execute(sql).df()

    def offline(self) -> sa.engine.Dialect:
        import duckdb_engine

        return duckdb_engine.Dialect()

    def json_column_type(self) -> sa.types.TypeEngine[Any]:
        return sa.JSON()

    def translate(self, exc: Exception, place: ErrorPlace) -> Exception | None:
        text = str(getattr(exc, "orig", exc))
        where = place.where
        if ("Could not set lock" in text or "Conflicting lock" in text) and place.read_only:
            return StorageLockedError(
                f"DuckDB file {where} is open for writing in another process, and "
                "DuckDB lets read-only connections in only while no process writes: close it "
                "there first"
            )
        if "Could not set lock" in text or "Conflicting lock" in text:
            return StorageLockedError(
                f"DuckDB file {where} is open for writing in another process "
                "(DuckDB allows one writer per file): close it there, or open it here with "
                "read_only=True to browse"
            )
        if "Conflict on" in text or "write-write conflict" in text:
            return StorageConflictError(
                f"DuckDB database {where} rolled this call back ({text.strip()[:200]}): "
                "a concurrent transaction changed the same rows first; nothing of it was saved"
            )
        missing = "database does not exist" in text or "No such file" in text
        if not missing and (
            "read-only mode" in text or ("read only" in text.lower() and "write" in text.lower())
        ):
            return AgnoNbError(
                f"DuckDB file {where} is open read-only: reopen it without read_only=True to write"
            )
        if missing and not place.read_only:
            return BackendUnavailableError(
                f"cannot create DuckDB file {where}: its folder does not exist; "
                "create it, or pass db_file= (which creates missing folders)"
            )
        if missing:
            return BackendUnavailableError(
                f"DuckDB file {where} does not exist: check the path, or open it "
                "without read_only=True to create it"
            )
        if "Catalog Error: Table with name" in text and "does not exist" in text:
            return self.table_gone(exc, place)
        if "No space left on device" in text or "disk is full" in text.lower():
            return StorageFullError(
                f"DuckDB database {where}: its disk is full; free space and "
                "retry (nothing of this call was saved)"
            )
        if isinstance(exc, sa.exc.OperationalError):
            first = text.strip().splitlines()
            return AgnoNbError(f"DuckDB database {where} failed: {first[0] if first else text}")
        return None
