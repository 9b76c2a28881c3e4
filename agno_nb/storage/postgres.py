"""Postgres (psycopg 3): upsert with ON CONFLICT, pooled connections with
pre-ping, a schema created on first use, and an advisory lock around table
creation and upgrades. Constructing a storage never connects."""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from agno_nb.codec import encode_json
from agno_nb.errors import (
    AgnoNbError,
    BackendUnavailableError,
    InvalidSessionError,
    StorageConflictError,
)
from agno_nb.storage._dbapi import compile_select
from agno_nb.storage.base import BaseStorage
from agno_nb.storage.dialects import POSTGRES
from agno_nb.storage.versioned import VersionedDb
from agno_nb.urls import mask_url, remember_secrets, secret_keys

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


def postgres_engine(db_url: str) -> Engine:
    """A pooled engine for ``db_url`` (``postgresql://`` is taken as psycopg 3).

    Secret query parameters (``?password=``, ``sslpassword=``, ...) are moved out
    of the engine's URL into its connect arguments, so that no repr of the engine
    or its URL shows them (SQLAlchemy masks only the URL's password field).
    """
    remember_secrets(db_url)
    try:
        url = make_url(db_url)
    except Exception:
        raise AgnoNbError(
            f"malformed Postgres URL {mask_url(db_url)!r}: use "
            "postgresql+psycopg://user:password@host:5432/dbname"
        ) from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    connect_args: dict[str, Any] = {"connect_timeout": 10}
    hidden = secret_keys(url.query)
    for key in hidden:
        value = url.query[key]
        connect_args[key] = value if isinstance(value, str) else value[-1]
    url = url.difference_update_query(hidden)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise BackendUnavailableError(
            "Postgres storage needs psycopg 3: pip install 'agno_nb[postgres]'"
        ) from None
    try:
        return sa.create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=5,
            connect_args=connect_args,
            json_serializer=encode_json,
        )
    except (ImportError, sa.exc.NoSuchModuleError):  # e.g. postgresql+psycopg2:// without it
        raise BackendUnavailableError(
            f"Postgres driver {url.drivername!r} is not available: use "
            "postgresql+psycopg://... (psycopg 3), or install that driver"
        ) from None


class PostgresStorage(BaseStorage):
    """Sessions in a Postgres table (agno 1.x's ``PostgresStorage`` API).

    Args:
        table_name: the sessions table.
        db_url: a ``postgresql+psycopg://`` URL.
        db_engine: an engine to use as is.
        schema: the Postgres schema of the table (created if missing), default ``ai``.
        mode, schema_version, auto_upgrade_schema: as for SqliteStorage.
    """

    dialect = POSTGRES
    backend = "postgres"
    dialect_name = "postgresql"

    def __init__(
        self,
        table_name: str = "agent_sessions",
        *,
        db_url: str | None = None,
        db_engine: Engine | None = None,
        schema: str | None = "ai",
        mode: str | None = "agent",
        schema_version: int | None = None,
        auto_upgrade_schema: bool = False,
    ) -> None:
        if db_engine is None and db_url is None:
            raise AgnoNbError("PostgresStorage needs db_url= or db_engine=")
        engine = self._check_engine(db_engine or postgres_engine(str(db_url)))
        super().__init__(
            table_name,
            engine=engine,
            owns_engine=db_engine is None,
            schema=schema,
            mode=mode,
            schema_version=schema_version,
            auto_upgrade_schema=auto_upgrade_schema,
        )

    @property
    def db_url(self) -> str:
        """The URL with its password masked (the real one stays in the engine)."""
        return self.display_url

    def create_schema(self, conn: Connection) -> None:
        if self.schema:
            quoted = conn.dialect.identifier_preparer.quote_schema(self.schema)
            self._lock(conn, "schema:" + self.schema)
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quoted}")

    def lock_table(self, conn: Connection) -> None:
        # the schema first (as create() does): every table of a schema shares its
        # version table, which concurrent upgraders would otherwise both create
        self._lock(conn, f"schema:{self.schema}")
        self._lock(conn, f"table:{self.schema}.{self.table_name}")

    def hold_layout(self, conn: Connection) -> None:
        self._lock(conn, f"table:{self.schema}.{self.table_name}", shared=True)

    def _lock(self, conn: Connection, key: str, *, shared: bool = False) -> None:
        lock_id = zlib.crc32(f"agno_nb:{key}".encode())
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        conn.execute(sa.text(f"SELECT {function}(:id)"), {"id": lock_id})

    @contextmanager
    def versioned(self, *, write: bool) -> Iterator[VersionedDb | None]:
        """A transaction whose change tokens are session rows' ``xmin`` (the
        transaction that last wrote the row)."""
        with self.write_conn() if write else self.read_conn() as conn:
            tx = _XminTransaction(self, conn)
            yield tx
        for callback in tx.committed:
            callback()

    def _translate(self, exc: Exception) -> Exception | None:
        orig = getattr(exc, "orig", exc)
        sqlstate = getattr(orig, "sqlstate", None)
        first = str(orig).strip().splitlines()
        detail = mask_url(first[0] if first else type(exc).__name__)
        where = self.display_url
        if sqlstate == "25006" or "read-only transaction" in str(orig):
            return AgnoNbError(
                f"Postgres storage at {where} is read-only: open it without "
                "read-only to create or change sessions"
            )
        if sqlstate == "42P01":  # undefined_table
            return self._table_gone(exc)
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


def _select_sql_of(storage: PostgresStorage, statement: Any) -> str | None:
    """``statement``'s driver SQL (see ``compile_select``), compiled once."""
    key = ("select-sql", id(statement))
    found: str | None = storage.statements.get(key, _MISSING)
    if found is _MISSING:
        found = storage.statements[key] = compile_select(statement, storage.db_engine.dialect)
    return found


_MISSING: Any = object()


class _XminTransaction:
    """:class:`~agno_nb.storage.versioned.VersionedDb` on a SQLAlchemy connection."""

    __slots__ = ("_conn", "_storage", "committed")

    def __init__(self, storage: PostgresStorage, conn: Connection) -> None:
        self._storage = storage
        self._conn = conn
        self.committed: list[Callable[[], None]] = []

    def on_commit(self, callback: Callable[[], None]) -> None:
        self.committed.append(callback)

    def rows(self, statement: Any, params: dict[str, Any]) -> list[Sequence[Any]]:
        sql = _select_sql_of(self._storage, statement)
        if sql is None:
            rows = list(self._storage.run_statement(self._conn, statement, params).all())
        else:  # straight on psycopg's cursor: no result objects for 1,000 run rows
            self._storage.stats.queries += 1
            driver_error = self._conn.dialect.loaded_dbapi.Error
            try:
                with self._conn.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
                    rows = cursor.execute(sql, params).fetchall()
            except driver_error as exc:  # raised as SQLAlchemy would, for _translate
                raise sa.exc.DBAPIError.instance(sql, params, exc, driver_error) from None
        self._storage.stats.rows += len(rows)
        return rows

    def scalar(self, statement: Any, params: dict[str, Any]) -> Any:
        return self._storage.run_statement(self._conn, statement, params).scalar()

    def execute(self, statement: Any, rows: list[dict[str, Any]]) -> None:
        if rows:
            self._storage.run_statement(self._conn, statement, rows)

    def token_column(self, table: Any) -> Any:
        return sa.literal_column("xmin::text")

    def token(self, table: Any, session_id: str, *, lock: bool = False) -> Hashable | None:
        key = ("xmin", id(table), lock)
        query = self._storage.statements.get(key)
        if query is None:
            query = (
                sa.select(self.token_column(table))
                .select_from(table)
                .where(table.c.session_id == sa.bindparam("sid"))
            )
            if lock:
                query = query.with_for_update()
            self._storage.statements[key] = query
        row = self._storage.run_statement(self._conn, query, {"sid": session_id}).first()
        return None if row is None else str(row[0])
