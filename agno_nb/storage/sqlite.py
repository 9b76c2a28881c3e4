"""SQLite: WAL, a busy timeout, synchronous=NORMAL, and write transactions that
take the write lock up front (``BEGIN IMMEDIATE``) so concurrent writers wait
instead of failing with "database is locked"."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from agno_nb.codec import encode_json
from agno_nb.dbapi import DriverStatement, HeldConnection, NotDriverReady, compile_for_driver
from agno_nb.dialects import SQLITE, ErrorPlace
from agno_nb.storage.sqlite_files import (
    FileStorage,
    PendingFile,
    display_sqlite_url,
    pending_file,
)
from agno_nb.storage.versioned import VersionedDb

BUSY_TIMEOUT_S = 30
#: Page size of the database files agno_nb creates (existing files keep theirs).
#: A new session changes a few hundred bytes on each of some ten pages (its row,
#: the primary key and listing indexes, the header, interior pages) besides its
#: runs; every changed page is copied whole to the WAL, fsynced at checkpoint and
#: copied again into the file, so 2 KB pages move about 40% fewer bytes a write
#: than SQLite's default 4 KB (bench/README.md has the measurements).
NEW_FILE_PAGE_SIZE = 2048
#: Bytes of a file SQLite may map into memory to read pages (a ceiling, not an allocation).
MMAP_BYTES = 256 << 20
_BEGIN_OPTION = "agno_nb_begin"


def _set_wal(cursor: Any) -> None:
    """Switch to WAL. SQLite answers "database is locked" at once, without waiting
    for the busy timeout, while another connection writes in rollback-journal mode
    (agno 1.x's default, or a new file several processes open together): retry."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _tune(engine: Engine) -> Engine:
    """Install our connection settings on ``engine`` once."""
    if getattr(engine, "_agno_nb_tuned", False):
        return engine
    in_memory = engine.url.database in (None, "", ":memory:")
    # a read-only open (mode=ro) cannot switch the journal; it reads the file as it is
    read_only = engine.url.query.get("mode") == "ro"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _on_begin)
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        if not in_memory and not read_only:
            if cursor.execute("PRAGMA page_count").fetchone()[0] == 0:  # a new, empty file
                cursor.execute(f"PRAGMA page_size = {NEW_FILE_PAGE_SIZE}")
            _set_wal(cursor)
            # pages read through a memory map, not one read() call each: a cold
            # read of a 1,000-run session touches over a thousand pages
            cursor.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        kind = conn.get_execution_options().get(_BEGIN_OPTION, "")
        conn.exec_driver_sql(f"BEGIN {kind}".strip())

    engine._agno_nb_tuned = True  # type: ignore[attr-defined]
    return engine


def sqlite_engine(
    db_file: str | Path | None, db_url: str | None, *, pending: PendingFile | None = None
) -> Engine:
    """An engine for a file, a URL, or (neither) a private in-memory database.
    Nothing is created here: a ``pending`` file is created by the first write."""
    args: dict[str, Any] = {"timeout": BUSY_TIMEOUT_S}
    extra: dict[str, Any] = {}
    url: str | sa.engine.URL
    if db_url is not None:
        url = db_url
    elif db_file is not None:
        path = Path(db_file).expanduser().resolve()
        url = sa.engine.URL.create("sqlite", database=str(path))  # ?, # and % as named
    else:
        url = "sqlite://"
        args["check_same_thread"] = False
        extra["poolclass"] = StaticPool
    engine = sa.create_engine(url, connect_args=args, json_serializer=encode_json, **extra)
    return engine if pending is None else pending.install(engine)


class SqliteStorage(FileStorage):
    """Sessions in a SQLite table (agno 1.x's ``SqliteStorage`` API).

    Args:
        table_name: the sessions table.
        db_file: a database file; opening creates nothing, the first write
            creates the file and its missing folders.
        db_url: a ``sqlite:///...`` URL.
        db_engine: an engine to use as is (it gets WAL and a busy timeout).
        mode: ``agent``, ``team``, ``workflow`` or ``workflow_v2``.
        schema_version: layout for a new table (1 = agno 1.x's, default latest);
            asking for a newer layout than an existing table has is an error
            until ``upgrade_schema()`` is run.
        auto_upgrade_schema: upgrade an older table on first use.

    With no db_file, db_url or db_engine the database is in memory.
    """

    dialect = SQLITE
    backend = "sqlite"
    dialect_name = "sqlite"

    def __init__(
        self,
        table_name: str = "agent_sessions",
        *,
        db_file: str | Path | None = None,
        db_url: str | None = None,
        db_engine: Engine | None = None,
        mode: str | None = "agent",
        schema_version: int | None = None,
        auto_upgrade_schema: bool = False,
    ) -> None:
        if db_engine is not None:
            engine = self._check_engine(db_engine)
            pending = None
        else:
            # sqlite:///x.db?mode=ro opens x.db read-only, as it says (see engine_url)
            url = None if db_url is None else self.dialect.engine_url(db_url)
            #: a file that does not exist yet: created by the first write, not by opening
            pending = pending_file(db_file, url)
            engine = sqlite_engine(db_file, url, pending=pending)
        super().__init__(
            table_name,
            engine=_tune(engine),
            owns_engine=db_engine is None,
            mode=mode,
            schema_version=schema_version,
            auto_upgrade_schema=auto_upgrade_schema,
        )
        self.file_pending = pending
        self.db_file = None if db_file is None else str(db_file)
        self._compiled: dict[tuple[Any, tuple[str, ...]], DriverStatement] = {}
        self._held = HeldConnection(self.db_engine)
        self.db_url = db_url

    def _begin_write(self, conn: Connection) -> Connection:
        return conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})

    @property
    def display_url(self) -> str:
        """The URL, a read-only URI shown as its file (and how it is opened)."""
        return display_sqlite_url(self.db_engine.url)

    @contextmanager
    def write_conn(self, *, check: bool = True) -> Iterator[Connection]:
        if self.file_pending is not None:
            self.file_pending.before_write(self._held.release)
        with super().write_conn(check=check) as conn:
            yield conn

    def write_steps(self, steps: Sequence[tuple[Any, list[dict[str, Any]]]]) -> None:
        """On the latest layout, run the statements on a held sqlite3 connection
        itself (compiled once, see ``agno_nb.dbapi``): a small upsert costs about a third
        of what it does through ``Connection.execute``. Older layouts, echoing
        engines and cursor-event listeners take the general path."""
        if not self._driver_ready():
            return super().write_steps(steps)
        try:
            work = [(self._driver_statement(st, rows[0]), rows) for st, rows in steps if rows]
        except NotDriverReady:
            return super().write_steps(steps)
        with self.driver_errors():
            driver, proxy = self._held.take()
            broken = False
            try:
                driver.execute("BEGIN IMMEDIATE")
                for compiled, rows in work:
                    if len(rows) == 1:
                        driver.execute(compiled.sql, compiled.params(rows[0]))
                    else:
                        driver.executemany(compiled.sql, [compiled.params(r) for r in rows])
                    self.stats.queries += 1
                driver.execute("COMMIT")
                # this connection's own commits move no token: forget what the
                # cache held before anyone can read through it again
                self.run_cache.clear()
            except BaseException:
                try:
                    driver.rollback()
                except BaseException:
                    broken = True  # not reused: its state is unknown
                raise
            finally:
                self._held.give_back(proxy, broken=broken)

    def _driver_ready(self) -> bool:
        """Whether statements may run on the held sqlite3 connection: a layout
        no upgrade can change under us (the latest, or one whose remaining steps
        only record their version here, as v4 -> v5 does on SQLite), no echo, no
        cursor listeners."""
        engine = self.db_engine
        return not (
            not self.has_final_shape(self._version)
            or engine.echo
            or engine.dispatch.before_cursor_execute
            or engine.dispatch.after_cursor_execute
        )

    def versioned(self, *, write: bool) -> _Versioned:
        """A transaction on the held sqlite3 connection (``BEGIN IMMEDIATE`` to
        write); its change token is ``PRAGMA data_version``, which moves whenever
        another connection commits. None when the held connection is busy in
        another thread or the general path is needed."""
        return _Versioned(self, write)

    def close(self) -> None:
        self._held.release()
        super().close()

    def _driver_statement(self, statement: Any, row: dict[str, Any]) -> DriverStatement:
        key = (statement, tuple(row))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = compile_for_driver(
                statement, self.db_engine.dialect, tuple(row), encoder=encode_json
            )
            self._compiled[key] = compiled
        return compiled

    def error_place(self, exc: Exception) -> ErrorPlace:
        """Adds how long a writer waits, and an upgrade holding the lock now."""
        upgrade = self._running_upgrade() if SQLITE.is_lock_timeout(exc) else None
        return replace(super().error_place(exc), waited_s=BUSY_TIMEOUT_S, upgrade=upgrade)


class _Versioned:
    """The context of :meth:`SqliteStorage.versioned` (a class, not a generator:
    it is entered on every read and write of the row layouts). Driver errors
    inside it, the caller's included, leave translated, as in ``_errors()``."""

    __slots__ = ("_broken", "_driver", "_storage", "_tx", "_write")

    def __init__(self, storage: SqliteStorage, write: bool) -> None:
        self._storage = storage
        self._write = write
        self._tx: _DriverTransaction | None = None

    def __enter__(self) -> VersionedDb | None:
        s = self._storage
        if not s._driver_ready():
            return None
        with s.driver_errors():
            driver, proxy = s._held.take()
            if proxy is not None:  # another thread holds it: a pooled connection has no
                s._held.give_back(proxy)  # token this storage's cache knows
                return None
            try:
                driver.execute("BEGIN IMMEDIATE" if self._write else "BEGIN")
            except BaseException:
                s._held.give_back(None)
                raise
        self._driver = driver
        self._tx = _DriverTransaction(s, driver, s._held.generation)
        return self._tx

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> bool:
        tx = self._tx
        if tx is None:
            return False
        s, driver = self._storage, self._driver
        errors = s.driver_errors()
        broken = False
        try:
            if exc is None:
                try:
                    driver.execute("COMMIT")
                except BaseException as failed:
                    exc = failed
            if exc is not None:
                try:
                    driver.rollback()
                except BaseException:
                    broken = True
        finally:
            s._held.give_back(None, broken=broken)
        if exc is None:
            for callback in tx.committed:  # still ours: nobody wrote in between
                callback()
            return False
        if errors.__exit__(type(exc), exc, exc.__traceback__):
            return True  # (Translating never swallows: it raises or returns False)
        if kind is None:  # the COMMIT failed: raise what it raised
            raise exc
        return False


class _DriverTransaction:
    """:class:`~agno_nb.storage.versioned.VersionedDb` on a sqlite3 connection."""

    __slots__ = ("_driver", "_generation", "_storage", "committed")

    def __init__(self, storage: SqliteStorage, driver: Any, generation: tuple[int, int]) -> None:
        self._storage = storage
        self._driver = driver
        self._generation = generation
        self.committed: list[Callable[[], None]] = []

    def on_commit(self, callback: Callable[[], None]) -> None:
        self.committed.append(callback)

    def rows(self, statement: Any, params: dict[str, Any]) -> list[Sequence[Any]]:
        compiled = self._storage._driver_statement(statement, params)
        self._storage.stats.queries += 1
        rows: list[Sequence[Any]] = self._driver.execute(
            compiled.sql, compiled.params(params)
        ).fetchall()
        self._storage.stats.rows += len(rows)
        return rows

    def scalar(self, statement: Any, params: dict[str, Any]) -> Any:
        compiled = self._storage._driver_statement(statement, params)
        self._storage.stats.queries += 1
        row = self._driver.execute(compiled.sql, compiled.params(params)).fetchone()
        return None if row is None else row[0]

    def execute(self, statement: Any, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        compiled = self._storage._driver_statement(statement, rows[0])
        if len(rows) == 1:
            self._driver.execute(compiled.sql, compiled.params(rows[0]))
        else:
            self._driver.executemany(compiled.sql, [compiled.params(r) for r in rows])
        self._storage.stats.queries += 1

    def token_column(self, table: Any) -> Any | None:
        return None

    def token(self, table: Any, session_id: str, *, lock: bool = False) -> Hashable | None:
        # one value for the whole file: any other connection's commit moves it
        # (this connection's own do not), so it is only trusted on this connection
        version = self._driver.execute("PRAGMA data_version").fetchone()[0]
        return (self._generation, version)
