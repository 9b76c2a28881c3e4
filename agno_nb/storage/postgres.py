"""Postgres (psycopg 3): upsert with ON CONFLICT, pooled connections with
pre-ping, a schema created on first use, and an advisory lock around table
creation and upgrades. Constructing a storage never connects."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from agno_nb.codec import encode_json
from agno_nb.dbapi import compile_select
from agno_nb.dialects import POSTGRES
from agno_nb.errors import AgnoNbError, BackendUnavailableError
from agno_nb.storage.base import BaseStorage
from agno_nb.storage.versioned import VersionedDb
from agno_nb.urls import mask_url, remember_secrets, secret_keys


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
