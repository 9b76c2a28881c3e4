"""The Dialect contract: what differs per database, as facts and small SQL
builders that every layer asks instead of comparing a backend's name.

One subclass per database (``sqlite.py``, ``postgres.py``, ``duckdb.py``); the
defaults here are the choices of a database with nothing special to say (no
row locks, JSON kept as text, no schemas). A driver error is read here too
(:meth:`Dialect.translate`): which agno_nb error, with which one-line message,
given the facts of the storage it came from (:class:`ErrorPlace`). This module
imports nothing of agno_nb but its errors and URL masking, so every layer
(``schema.py``, ``migrations/``, ``connect.py``, the storage, ``agno3/``,
``integrations/``) may use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection

from agno_nb.errors import TableMissingError
from agno_nb.urls import mask_url

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class ErrorPlace:
    """What a driver error's message names: facts of the storage it came from,
    gathered by the storage when an error needs translating (never before)."""

    #: the database's URL as shown (password masked)
    where: str
    #: the sessions table, schema-qualified
    table: str
    #: the engine URL's database part (a file path for SQLite and DuckDB)
    database: str | None = None
    #: the storage was opened read-only
    read_only: bool = False
    #: seconds a writer waits for a lock before the driver gives up
    waited_s: float = 0
    #: an upgrade of the table running now, as a phrase ("upgrade of table t to
    #: layout v5, pid 12 on host"), when the error is a lock timeout and one runs
    upgrade: str | None = None


def sql_literal(text: str) -> str:
    """``text`` as an SQL string literal (its quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def first_line(exc: BaseException) -> str:
    """The first line of a driver error's own message (masked), or its type's name."""
    lines = str(getattr(exc, "orig", exc)).strip().splitlines()
    return mask_url(lines[0] if lines else type(exc).__name__)


class Dialect:
    """The SQL and facts that differ per database."""

    #: the backend's short name (``sqlite``, ``postgres``, ``duckdb``)
    name: ClassVar[str] = ""
    #: SQLAlchemy's name for the database (``engine.dialect.name``)
    sqlalchemy_name: ClassVar[str] = ""
    #: agno's JSON cells are a native JSON type (jsonb): values bind as they are,
    #: encoded once; else they are text.
    native_json: ClassVar[bool] = False
    #: a descending ORDER BY puts NULLs first (so a range on the key misses them)
    nulls_first_descending: ClassVar[bool] = False
    #: agno 2.x/3.x keep sessions in this database (DuckDB: never)
    holds_agno_tables: ClassVar[bool] = True
    #: the database lives in a file (a missing file means no tables yet)
    file_based: ClassVar[bool] = True
    #: table names that differ only in case name one table
    folds_names: ClassVar[bool] = True
    #: ``CREATE INDEX`` may follow updates of the same table in one transaction
    #: (DuckDB refuses it)
    indexes_after_updates: ClassVar[bool] = True
    #: the driver takes each row's parameters as a plain tuple in statement order
    #: (sqlite3: positional, no casts), so a bulk write may hand rows to it directly
    binds_tuples: ClassVar[bool] = True
    #: a CAST to BLOB hands a text's stored bytes over as they are (SQLite), so
    #: run texts are read as bytes, with no str to decode and encode again
    blob_is_stored_bytes: ClassVar[bool] = True
    #: ``LIKE`` ignores the case of ASCII letters (and only theirs), so search
    #: text that is all ASCII may be stored as written: folding would only
    #: lower-case it
    like_ignores_ascii_case: ClassVar[bool] = True
    #: tables live in named schemas (``schema=`` means something)
    has_schemas: ClassVar[bool] = False
    #: JSON columns take NaN and infinities (as ``json.dumps`` writes them)
    json_allows_nan: ClassVar[bool] = True
    #: JSON columns take the ``\\u0000`` escape
    json_allows_nul: ClassVar[bool] = True
    #: ``created_at`` is filled by the server (else by agno's Python default,
    #: ``updated_at`` with an ``onupdate``), as agno 1.x's table has it
    epoch_default_on_server: ClassVar[bool] = False
    #: the driver opens transactions only before DML, so a transaction that
    #: creates tables must BEGIN itself (pysqlite)
    explicit_begin: ClassVar[bool] = False
    #: agno 3.1.10's memories table has ``feedback`` right after ``memory`` here
    #: (elsewhere after ``topics``)
    agno_memory_feedback_early: ClassVar[bool] = False

    @contextmanager
    def bulk_cache(self, conn: Connection, kib: int) -> Iterator[None]:
        """At least ``kib`` KiB of page cache on ``conn`` while a bulk move runs,
        then the connection's own setting again. Nothing where the server sizes
        its own cache (Postgres, DuckDB)."""
        yield

    # -- statements -------------------------------------------------------------------------

    def insert(self, table: sa.Table) -> Any:
        """The INSERT construct for ``table`` that has ``on_conflict_do_update``."""
        return sqlite.insert(table)

    def for_update(self, query: sa.Select[Any], *, of: Any = None) -> sa.Select[Any]:
        """``query`` made to lock the rows it reads (of the tables ``of``, default
        all) until the write transaction ends. The default suits databases whose
        write transactions already exclude each other (SQLite's ``BEGIN
        IMMEDIATE``; DuckDB's one writer)."""
        return query

    def named_lock(self, name: str) -> sa.Executable | None:
        """A statement holding a lock called ``name`` until the transaction ends
        (so two transactions of the same kind take turns), or None where write
        transactions already take turns."""
        return None

    def same_name(self, column: Any, name: str) -> Any:
        """``column`` (a table name stored as text) names the table ``name``, as
        this database compares table names (:attr:`folds_names`). Both sides are
        folded by the database's own ``lower()``: SQLite's folds ASCII letters
        only, as its names do, where Python's ``str.lower()`` would also fold
        ``Ä`` and miss the version stamp of a table named ``Sessions_Ä``."""
        if self.folds_names:
            return sa.func.lower(column) == sa.func.lower(sa.literal(name, sa.String()))
        return column == name

    def contains(self, column: Any, term: str) -> Any:
        """``column`` contains ``term`` (a plain substring, no wildcards)."""
        return column.contains(term, autoescape=True)

    # -- insertion order (layout v6) ---------------------------------------------------------

    #: every table keeps its rows' insertion order (:meth:`insertion_order`), so
    #: agno_nb's layouts need no number of their own
    keeps_insertion_order: ClassVar[bool] = False
    #: the listing indexes serve an ORDER BY (so v6's end with the insertion number)
    indexes_serve_order: ClassVar[bool] = True

    def insertion_order(self, table: sa.Table) -> Any | None:
        """An expression of ``table``'s rows that grows in the order they were
        inserted and that updates (an upsert of an existing row included) keep, on
        any table of the database; None where the database keeps no such order
        (agno_nb's layouts then number rows themselves, see :meth:`numbering_column`)."""
        return None

    def numbering_column(self, name: str, sequence: str) -> sa.Column[Any] | None:
        """A column ``name`` the database fills with a number growing with each new
        row (no value from Python), drawn from ``sequence`` (quoted) where the
        database needs one; None where :meth:`insertion_order` makes it needless."""
        return None

    def numbering_ddl(self, table: str, column: str, sequence: str, fill: str) -> list[str]:
        """DDL adding :meth:`numbering_column` ``column`` to the quoted ``table``,
        whose rows already there are numbered by the statement ``fill``; new rows
        are numbered above them. Empty where no column is needed."""
        return []

    def sequence_ddl(self, sequence: str) -> tuple[str, str] | None:
        """(create, drop) of the quoted ``sequence`` a numbering column draws from,
        where it is a separate object; None where the database keeps it itself."""
        return None

    def with_nulls(self, inside: Any, key: Any) -> Any:
        """``inside`` (a range test on ``key`` taken from a descending order)
        widened to the NULL keys that order puts inside the range."""
        return sa.or_(inside, key.is_(None)) if self.nulls_first_descending else inside

    def summary_frame(self, conn: Connection, query: sa.Select[Any]) -> pd.DataFrame | None:
        """The rows of ``query`` as a DataFrame built by the database itself, or
        None where it cannot (then frames are built in Python)."""
        return None

    def offline(self) -> sa.engine.Dialect:
        """A SQLAlchemy dialect to compile this database's SQL without a connection."""
        return sqlite.dialect()

    def kept_as_bound(
        self, conn: Connection, table: sa.Table
    ) -> dict[str, Callable[[Sequence[Any]], bool]] | None:
        """Per column of ``table`` as it is in the database now, a test of values
        bound to that column: True when the database stores every one of them as
        given, so that reading the row back (a JSON column read as its text)
        returns exactly the value bound (the same type, the same text). None
        where only reading the rows back tells what they hold: a JSON type that
        rewrites its text (Postgres' jsonb), a table whose triggers or
        collations may change or reorder what is written, a missing table."""
        return None

    # -- types and JSON ---------------------------------------------------------------------

    def json_column_type(self) -> sa.types.TypeEngine[Any]:
        """The type of a JSON column agno 1.x creates here (and agno_nb's layouts,
        and agno 3.x's tables where agno_nb creates them)."""
        return sqlite.JSON()

    def text_json_type(self) -> sa.types.TypeEngine[Any] | None:
        """A JSON type that keeps the text as written, where the usual one does
        not (Postgres' ``json`` beside ``jsonb``); None where JSON is text already."""
        return None

    def epoch_type(self) -> sa.types.TypeEngine[int]:
        """The type of agno 1.x's epoch-seconds columns."""
        return sa.BigInteger()

    def json_as_text(self, column: Any) -> Any:
        """A JSON column of agno_nb's tables read as its stored text."""
        return sa.cast(column, sa.Text)

    def json_type(self) -> sa.types.TypeEngine[Any]:
        """The column type of agno 2.x/3.x's JSON cells, read in place."""
        return sa.Text()

    def as_text(self, column: Any) -> Any:
        """One of agno 2.x/3.x's JSON cells read as its text."""
        return column

    def json_value(self, value: Any, text: str) -> Any:
        """The bind value of an agno 2.x/3.x JSON cell whose document is ``value``
        and whose agno text encoding is ``text``."""
        return text

    def agno_text_type(self) -> type[sa.types.TypeEngine[Any]]:
        """The type agno 3.1.10 gives free-text columns here."""
        return sa.String

    def agno_engine_options(self) -> dict[str, Any]:
        """``create_engine`` options of an engine that writes as agno does."""
        return {}

    # -- URLs -------------------------------------------------------------------------------

    def engine_url(self, url: str) -> str:
        """The URL to create an engine from so that it opens what ``url`` asks for
        (here: ``url`` itself)."""
        return url

    def ignored_url_options(self, url: sa.engine.URL) -> list[str]:
        """Options in an engine's URL that its driver never sees (so the engine
        does not do what they ask); none here."""
        return []

    # -- DDL --------------------------------------------------------------------------------

    def compressed_runs_ddl(
        self, runs: str, columns: list[str], change: str | None = None
    ) -> str | None:
        """DDL that applies ``change`` (an ``ALTER TABLE`` clause, if any) to the
        quoted table ``runs`` and compresses ``columns`` as the latest layout
        expects, as one statement; None where the database has no such option
        (then the caller applies ``change`` itself)."""
        return None

    # -- driver errors ----------------------------------------------------------------------

    def translate(self, exc: Exception, place: ErrorPlace) -> Exception | None:
        """The agno_nb error a driver error ``exc`` means, its message naming
        ``place``; None to let ``exc`` through. A :class:`TableMissingError`
        tells the storage to forget the table's layout."""
        return None

    def is_lock_timeout(self, exc: Exception) -> bool:
        """Whether ``exc`` says a lock was waited for in vain (the storage then
        looks for an upgrade holding it, see :attr:`ErrorPlace.upgrade`)."""
        return False

    def table_gone(self, exc: Exception, place: ErrorPlace) -> TableMissingError:
        """The error for a table dropped under an open storage."""
        return TableMissingError(
            f"a table of {place.table} is gone ({first_line(exc)}): another process dropped "
            "it; retry the call (reads find no sessions, a write creates the table again)"
        )
