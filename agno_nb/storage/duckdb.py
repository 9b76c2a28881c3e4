"""DuckDB: one writer per file is DuckDB's rule; read_only=True browses a file
another process is writing to."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from agno_nb.codec import encode_json
from agno_nb.dbapi import leave_parent_pool, pool_holds_connections
from agno_nb.dialects import DUCKDB, ErrorPlace
from agno_nb.errors import (
    BackendUnavailableError,
    StorageLockedError,
)
from agno_nb.storage.sqlite_files import FileStorage, PendingFile, pending_file
from agno_nb.urls import remember_secrets, secret_keys

if TYPE_CHECKING:
    pass


def duckdb_engine(db_file: str | Path | None, db_url: str | None, *, read_only: bool) -> Engine:
    """An engine for a DuckDB file, URL or (neither) an in-memory database."""
    try:
        import duckdb_engine as _  # noqa: F401  (registers the duckdb:// dialect)
    except ImportError:  # pragma: no cover - duckdb-engine is a core dependency
        raise BackendUnavailableError(
            "DuckDB storage needs duckdb-engine: pip install duckdb duckdb-engine"
        ) from None
    args: dict[str, Any] = {"read_only": read_only} if read_only else {}
    extra: dict[str, Any] = {}
    url: Any
    if db_url is not None:
        remember_secrets(db_url)
        url = make_url(db_url)
        hidden = secret_keys(url.query)
        if hidden:  # (a MotherDuck token, say) kept out of the engine's URL and repr
            args["config"] = {k: url.query[k] for k in hidden}
            url = url.difference_update_query(hidden)
    elif db_file is not None:
        path = Path(db_file).expanduser().resolve()  # created by the first write
        url = sa.engine.URL.create("duckdb", database=str(path))  # ?, # and % as named
    else:
        url, args, extra = "duckdb:///:memory:", {}, {"poolclass": StaticPool}
    engine = sa.create_engine(url, connect_args=args, json_serializer=encode_json, **extra)
    pending = None if read_only else pending_file(db_file, db_url)
    return engine if pending is None else pending.install(engine)


#: One write transaction at a time per database in this process (DuckDB allows one
#: process per file): writers wait for each other, as on SQLite, instead of
#: failing DuckDB's optimistic conflict check over and over.
_WRITERS: dict[str, threading.RLock] = {}
_WRITERS_LOCK = threading.Lock()


def _writer_lock(engine: Engine) -> threading.RLock:
    key = str(engine.url.database or ":memory:") + f"#{id(engine)}" * (
        engine.url.database in (None, "", ":memory:")
    )
    with _WRITERS_LOCK:
        return _WRITERS.setdefault(key, threading.RLock())


def _reset_writers_after_fork() -> None:
    global _WRITERS_LOCK
    _WRITERS_LOCK = threading.Lock()
    _WRITERS.clear()


if hasattr(os, "register_at_fork"):  # a parent thread may hold one at the fork
    os.register_at_fork(after_in_child=_reset_writers_after_fork)


class DuckDbStorage(FileStorage):
    """Sessions in a DuckDB table (agno 1.x has no DuckDB storage; this is ours).

    Args:
        table_name: the sessions table.
        db_file: a database file; opening creates nothing, the first write
            creates the file and its missing folders.
        db_url: a ``duckdb:///...`` URL.
        db_engine: an engine to use as is.
        read_only: open the file read-only, to browse while another process writes.
        mode, schema_version, auto_upgrade_schema: as for SqliteStorage.
    """

    dialect = DUCKDB
    backend = "duckdb"
    dialect_name = "duckdb"

    def __init__(
        self,
        table_name: str = "agent_sessions",
        *,
        db_file: str | Path | None = None,
        db_url: str | None = None,
        db_engine: Engine | None = None,
        read_only: bool = False,
        mode: str | None = "agent",
        schema_version: int | None = None,
        auto_upgrade_schema: bool = False,
    ) -> None:
        engine = self._check_engine(
            db_engine or duckdb_engine(db_file, db_url, read_only=read_only)
        )
        super().__init__(
            table_name,
            engine=engine,
            owns_engine=db_engine is None,
            mode=mode,
            schema_version=schema_version,
            auto_upgrade_schema=auto_upgrade_schema,
        )
        self.db_file = None if db_file is None else str(db_file)
        self.read_only = read_only
        self.file_pending: PendingFile | None = getattr(engine, "_agno_nb_pending", None)

    @contextmanager
    def write_conn(self, *, check: bool = True) -> Iterator[Connection]:
        if self.file_pending is not None:
            self.file_pending.before_write(lambda: None)
        with _writer_lock(self.db_engine), super().write_conn(check=check) as conn:
            yield conn

    def _after_fork_in_child(self) -> None:
        """A DuckDB database lives inside the process that opened it: a forked
        child's copy writes to nothing the parent (or the file) keeps. A child
        therefore refuses a storage whose database was open at the fork, and opens
        its own when it was not (the parent closed it, or never used it)."""
        was_open = pool_holds_connections(self.db_engine)
        leave_parent_pool(self.db_engine)
        if was_open:
            self._unusable = StorageLockedError(
                f"DuckDB database {self.display_url} was open in the parent process when "
                "this process was forked, and DuckDB lets one process use a database: "
                "close() the storage in the parent before starting workers, or open it "
                "only in the workers"
            )

    def has_table(self, conn: Connection, name: str) -> bool:
        """DuckDB takes ``Agent_Sessions`` and ``agent_sessions`` (quoted or not) for
        one table; its SQLAlchemy inspector compares them exactly."""
        self.stats.queries += 1
        query = sa.text(
            "SELECT count(*) FROM information_schema.tables WHERE lower(table_name) = "
            "lower(:name) AND table_schema = coalesce(:schema, current_schema()) "
            "AND table_catalog = current_database()"
        )
        return bool(conn.execute(query, {"name": name, "schema": self.schema}).scalar())

    def error_place(self, exc: Exception) -> ErrorPlace:
        return replace(super().error_place(exc), read_only=self.read_only)
