"""Postgres: jsonb, row locks, named (advisory) locks, schemas, NULLs first when
descending, lz4-compressed runs, and what its SQLSTATEs mean."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from agno_nb.dialects.base import Dialect, ErrorPlace, first_line
from agno_nb.errors import (
    AgnoNbError,
    BackendUnavailableError,
    InvalidSessionError,
    StorageConflictError,
)

#: SQLSTATEs of a transaction rolled back for a conflict with a concurrent one
#: (retried by the storage, see ``StorageConflictError``)
_CONFLICTS = {
    "40P01": "it deadlocked with a concurrent transaction",
    "40001": "it conflicted with a concurrent transaction (serialization failure)",
}
#: SQLSTATEs (or their class) saying the server ended the session
_GONE = ("57P01", "57P02", "57P03")
_CONNECT_FAILURE = re.compile(
    r"connection (?:failed|refused)|could not (?:connect|translate host)|timeout expired|"
    r"Name or service not known",
    re.I,
)
_MISSING_DATABASE = re.compile(r'database "([^"]+)" does not exist')
#: what to do about other operational errors, by SQLSTATE or SQLSTATE class
_HINTS = {
    "53100": "the server's disk is full: free space there, then retry (nothing was saved)",
    "53200": "the server ran out of memory: retry later, or page the call (limit=)",
    "53300": "the server (or this role) has too many connections: close other clients, "
    "or raise max_connections (or the role's CONNECTION LIMIT)",
    "57014": "the statement was canceled (statement_timeout or a cancel request); "
    "nothing was saved",
    "55P03": "a lock was not available in time (lock_timeout): retry",
    "54": "a server limit was exceeded: make the call smaller (fewer sessions, limit=)",
    "58": "the server had a system error (see its log); nothing was saved",
    "XX": "the server had an internal error (see its log); nothing was saved",
}


def lz4_ddl(table: str, columns: list[str], change: str | None = None) -> str:
    """``ALTER TABLE table change`` (if any) that also makes ``columns`` compress
    new values with lz4 when the server has it (Postgres 14+ built with lz4),
    as one statement; without lz4 the change alone (or nothing)."""
    compress = [f"ALTER COLUMN {c} SET COMPRESSION lz4" for c in columns]
    with_lz4 = _execute(
        f"ALTER TABLE {table} " + ", ".join([change, *compress] if change else compress)
    )
    otherwise = f"ELSE {_execute(f'ALTER TABLE {table} {change}')} " if change else ""
    return (
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_settings WHERE name = "
        f"'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN {with_lz4} "
        f"{otherwise}END IF; END $$"
    )


def _execute(statement: str) -> str:
    """PL/pgSQL that runs ``statement`` (quoted as a string literal)."""
    quoted_statement = statement.replace("'", "''")
    return f"EXECUTE '{quoted_statement}';"


class PostgresDialect(Dialect):
    """Postgres: jsonb, row locks, NULLs first when descending, lz4 columns."""

    name = "postgres"
    sqlalchemy_name = "postgresql"
    native_json = True
    nulls_first_descending = True
    file_based = False
    folds_names = False
    binds_tuples = False
    blob_is_stored_bytes = False
    like_ignores_ascii_case = False
    has_schemas = True
    json_allows_nan = False
    json_allows_nul = False
    epoch_default_on_server = True
    agno_memory_feedback_early = True

    def insert(self, table: sa.Table) -> Any:
        return postgresql.insert(table)

    def for_update(self, query: sa.Select[Any], *, of: Any = None) -> sa.Select[Any]:
        return query.with_for_update(of=of)

    def named_lock(self, name: str) -> sa.Executable | None:
        return sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(name)))

    def offline(self) -> sa.engine.Dialect:
        from sqlalchemy.dialects.postgresql import psycopg

        return psycopg.dialect()

    def json_column_type(self) -> sa.types.TypeEngine[Any]:
        return postgresql.JSONB()

    def text_json_type(self) -> sa.types.TypeEngine[Any] | None:
        return postgresql.JSON()

    def json_type(self) -> sa.types.TypeEngine[Any]:
        return postgresql.JSONB()

    def as_text(self, column: Any) -> Any:
        return sa.cast(column, sa.Text)

    def json_value(self, value: Any, text: str) -> Any:
        return sa.cast(sa.literal(text, sa.Text), postgresql.JSONB)

    def agno_text_type(self) -> type[sa.types.TypeEngine[Any]]:
        return sa.Text

    def agno_engine_options(self) -> dict[str, Any]:
        import json

        return {"json_serializer": json.dumps, "pool_pre_ping": True}

    def compressed_runs_ddl(
        self, runs: str, columns: list[str], change: str | None = None
    ) -> str | None:
        return lz4_ddl(runs, columns, change)

    def translate(self, exc: Exception, place: ErrorPlace) -> Exception | None:
        orig = getattr(exc, "orig", exc)
        sqlstate = getattr(orig, "sqlstate", None)
        detail = first_line(exc)
        where = place.where
        if sqlstate == "25006" or "read-only transaction" in str(orig):
            return AgnoNbError(
                f"Postgres storage at {where} is read-only: open it without "
                "read-only to create or change sessions"
            )
        if sqlstate == "42P01":  # undefined_table
            return self.table_gone(exc, place)
        if "cannot contain NUL (0x00) bytes" in str(orig):  # psycopg refuses it itself
            return InvalidSessionError(
                f"Postgres at {where} cannot store this session: its text holds a NUL "
                "character (\\x00), which Postgres text cannot hold; nothing was saved: "
                "remove it and write again"
            )
        if sqlstate in ("22P02", "22P05") and "json" in str(orig).lower():
            # jsonb and json refuse NaN and infinities (which Python's json
            # writes), jsonb also \u0000: name the value, not the SQL
            token = re.search(r"Token \"([^\"]*)\" is invalid", str(orig))
            what = f"the token {token.group(1)}" if token else detail
            return InvalidSessionError(
                f"Postgres at {where} cannot store this session's JSON ({what}): Postgres "
                "JSON holds no NaN, Infinity or \\u0000; nothing was saved: replace such "
                "values (with None or a string) and write again"
            )
        if sqlstate in _CONFLICTS:
            return StorageConflictError(
                f"Postgres at {where} rolled this call back ({detail}): {_CONFLICTS[sqlstate]}; "
                "nothing of it was saved"
            )
        if not isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
            return None
        if re.search(r"too many (?:clients|connections)|remaining connection slots", str(orig)):
            sqlstate = "53300"  # at connect time psycopg gives no SQLSTATE; the server is up
        elif missing := _MISSING_DATABASE.search(str(orig)):  # the server runs
            return BackendUnavailableError(
                f"Postgres at {where} runs but has no database {missing.group(1)!r}: create it "
                f"(createdb {missing.group(1)}) or name an existing database in the URL"
            )
        elif _CONNECT_FAILURE.search(str(orig)):
            return BackendUnavailableError(
                f"cannot reach Postgres at {where} ({detail}): start the server or check the URL"
            )
        lost = getattr(exc, "connection_invalidated", False)
        if lost or (sqlstate or "").startswith("08") or sqlstate in _GONE:
            return BackendUnavailableError(
                f"lost the connection to Postgres at {where} ({detail}): the call's "
                "transaction was rolled back, unless the connection broke while it "
                "committed; check before retrying a write"
            )
        if sqlstate is None:
            return AgnoNbError(f"Postgres at {where} failed ({detail})")
        hint = _HINTS.get(sqlstate, _HINTS.get(sqlstate[:2], "its transaction was rolled back"))
        return AgnoNbError(f"Postgres at {where} failed ({detail}, SQLSTATE {sqlstate}): {hint}")
