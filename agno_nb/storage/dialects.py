"""What differs per database, as one small object per database.

Layouts and the storage's plumbing ask ``storage.dialect`` instead of
comparing ``storage.backend`` with a name: the upsert construct, row locks, how agno's JSON
cells are typed and bound, substring search, where NULLs sort, and the
database-only extras (compressed columns on Postgres, frames built by DuckDB).
A new database is one more subclass here plus its backend module; nothing in
``layouts/`` changes.

This module imports nothing of the storage (only the migrations' DDL helper),
so every module of the storage may use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from agno_nb.migrations.v5_json_runs import lz4_ddl

if TYPE_CHECKING:
    import pandas as pd

#: Longest term (UTF-8 bytes) SQLite searches with LIKE (its pattern limit is
#: 50,000 bytes, escapes and wildcards included); longer ones use instr(), which
#: is slower on long text but has no limit.
LIKE_LIMIT = 20_000


class Dialect:
    """The SQL that differs per database. The defaults are SQLite's choices where
    a database has nothing special to say (no row locks, JSON kept as text)."""

    #: the backend's short name (``sqlite``, ``postgres``, ``duckdb``)
    name: ClassVar[str] = ""
    #: agno's JSON cells are a native JSON type (jsonb): values bind as they are,
    #: encoded once; else they are text.
    native_json: ClassVar[bool] = False
    #: a descending ORDER BY puts NULLs first (so a range on the key misses them)
    nulls_first_descending: ClassVar[bool] = False
    #: agno 2.x/3.x keep sessions in this database (DuckDB: never)
    holds_agno_tables: ClassVar[bool] = True
    #: the database lives in a file (a missing file means no tables yet)
    file_based: ClassVar[bool] = True

    def insert(self, table: sa.Table) -> Any:
        """The INSERT construct for ``table`` that has ``on_conflict_do_update``."""
        return sqlite.insert(table)

    def for_update(self, query: sa.Select[Any]) -> sa.Select[Any]:
        """``query`` made to lock the rows it reads until the write transaction
        ends. The default suits databases whose write transactions already
        exclude each other (SQLite's ``BEGIN IMMEDIATE``; DuckDB's one writer)."""
        return query

    def json_type(self) -> sa.types.TypeEngine[Any]:
        """The column type of agno's JSON cells (as agno creates them)."""
        return sa.Text()

    def as_text(self, column: Any) -> Any:
        """A JSON cell read as its text."""
        return column

    def json_value(self, value: Any, text: str) -> Any:
        """The bind value of a JSON cell whose document is ``value`` and whose
        agno text encoding is ``text``."""
        return text

    def contains(self, column: Any, term: str) -> Any:
        """``column`` contains ``term`` (a plain substring, no wildcards)."""
        return column.contains(term, autoescape=True)

    def with_nulls(self, inside: Any, key: Any) -> Any:
        """``inside`` (a range test on ``key`` taken from a descending order)
        widened to the NULL keys that order puts inside the range."""
        return sa.or_(inside, key.is_(None)) if self.nulls_first_descending else inside

    def compressed_runs_ddl(self, runs: str, columns: list[str]) -> str | None:
        """DDL that compresses ``columns`` of the quoted table ``runs`` as the
        latest layout expects, or None where the database has no such option."""
        return None

    def summary_frame(self, conn: Connection, query: sa.Select[Any]) -> pd.DataFrame | None:
        """The rows of ``query`` as a DataFrame built by the database itself, or
        None where it cannot (then frames are built in Python)."""
        return None


class SqliteDialect(Dialect):
    """SQLite: JSON as text, one writer at a time, LIKE patterns of limited size."""

    name = "sqlite"

    def contains(self, column: Any, term: str) -> Any:
        if len(term.encode()) > LIKE_LIMIT:
            return sa.func.instr(column, term) > 0
        return super().contains(column, term)


class PostgresDialect(Dialect):
    """Postgres: jsonb, row locks, NULLs first when descending, lz4 columns."""

    name = "postgres"
    native_json = True
    nulls_first_descending = True
    file_based = False

    def insert(self, table: sa.Table) -> Any:
        return postgresql.insert(table)

    def for_update(self, query: sa.Select[Any]) -> sa.Select[Any]:
        return query.with_for_update()

    def json_type(self) -> sa.types.TypeEngine[Any]:
        return postgresql.JSONB()

    def as_text(self, column: Any) -> Any:
        return sa.cast(column, sa.Text)

    def json_value(self, value: Any, text: str) -> Any:
        return sa.cast(sa.literal(text, sa.Text), postgresql.JSONB)

    def compressed_runs_ddl(self, runs: str, columns: list[str]) -> str | None:
        return lz4_ddl(runs, columns)


class DuckDbDialect(Dialect):
    """DuckDB: Postgres's INSERT syntax, no agno tables, frames built natively."""

    name = "duckdb"
    holds_agno_tables = False

    def insert(self, table: sa.Table) -> Any:
        return postgresql.insert(table)

    def summary_frame(self, conn: Connection, query: sa.Select[Any]) -> pd.DataFrame | None:
        sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        driver: Any = conn.connection.driver_connection
        return driver.execute(sql).df()


SQLITE = SqliteDialect()
POSTGRES = PostgresDialect()
DUCKDB = DuckDbDialect()
#: one Dialect per backend name
DIALECTS: dict[str, Dialect] = {d.name: d for d in (SQLITE, POSTGRES, DUCKDB)}


def dialect_of(backend: str) -> Dialect:
    """The Dialect of ``backend`` (``sqlite``, ``postgres`` or ``duckdb``)."""
    return DIALECTS[backend]
