"""The storage contract and the Core queries every backend shares.

A backend module only says what differs per database: how to build its
engine, its upsert statement, how a write transaction begins and how its
driver errors read. Everything else (reads, writes, listing, upgrades) is
here, written once in SQLAlchemy Core.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from agno_nb.errors import (
    AgnoNbError,
    BackendUnavailableError,
    SchemaTooNewError,
    SchemaTooOldError,
    SessionNotFoundError,
)
from agno_nb.migrations import MIGRATIONS, TableRef, UpgradePlan, plan
from agno_nb.schema import (
    LATEST_VERSION,
    RUNS_SUFFIX,
    V2_COLUMNS,
    check_identifier,
    check_mode,
    runs_table,
    session_table,
    version_table,
)
from agno_nb.sessions import ENTITY_COLUMN, SESSION_CLASSES, Session
from agno_nb.storage._codec import SessionSummary, decode_json, decode_row
from agno_nb.summary import first_question, new_message_count, summarize_runs
from agno_nb.urls import mask_url

if TYPE_CHECKING:
    import pandas as pd

Progress = Callable[[int, int], None]
_DATA_COLUMNS = (
    "memory",
    "session_data",
    "extra_data",
    "agent_data",
    "team_data",
    "workflow_data",
    "runs",
)


class _LayoutChanged(Exception):
    """Internal: another process changed the table's layout; the call is redone."""


class _Translating:
    """Context manager: an exception raised inside that ``translate`` turns into an
    AgnoNbError leaves as that error (without the driver's traceback chained)."""

    __slots__ = ("_translate",)

    def __init__(self, translate: Callable[[Exception], Exception | None]) -> None:
        self._translate = translate

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> Literal[False]:
        if not isinstance(exc, Exception) or isinstance(exc, AgnoNbError):
            return False
        translated = self._translate(exc)
        if translated is None:
            return False
        raise translated from None


P = ParamSpec("P")
R = TypeVar("R")


def _consistent(method: Callable[P, R]) -> Callable[P, R]:
    """Redo ``method`` when another process upgraded the table under it, so a
    storage opened before an upgrade never writes or reads the old layout."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for _ in range(LATEST_VERSION + 1):
            try:
                return method(*args, **kwargs)
            except _LayoutChanged:
                continue
        return method(*args, **kwargs)

    return wrapper


def _creation_ms(created_at: int | None, now_ms: int) -> int:
    """Creation time in ms for newest-first order: the clock's milliseconds for a
    session made just now (its created_at only has seconds), else created_at."""
    if created_at is None or abs(now_ms - created_at * 1000) <= 2000:
        return now_ms
    return int(created_at) * 1000


@dataclass
class StorageStats:
    """Counters of the work a storage did: queries run and rows fetched."""

    queries: int = 0
    rows: int = 0


class BaseStorage:
    """Agent-session storage in one table (agno 1.x's API, done right).

    Subclasses: :class:`~agno_nb.storage.SqliteStorage`,
    :class:`~agno_nb.storage.DuckDbStorage`, :class:`~agno_nb.storage.PostgresStorage`.
    """

    backend: ClassVar[str] = ""
    #: SQLAlchemy's name for the dialect of this backend's engines.
    dialect_name: ClassVar[str] = ""
    latest_version: ClassVar[int] = LATEST_VERSION

    def __init__(
        self,
        table_name: str,
        *,
        engine: Engine,
        owns_engine: bool,
        schema: str | None = None,
        mode: str | None = "agent",
        schema_version: int | None = None,
        auto_upgrade_schema: bool = False,
    ) -> None:
        self.table_name = check_identifier(table_name)
        self.schema = None if schema is None else check_identifier(schema, what="schema name")
        self.mode = check_mode(mode or "agent")
        if schema_version is not None and schema_version not in range(LATEST_VERSION + 1):
            raise AgnoNbError(
                f"schema_version={schema_version!r} is not a layout this version knows: "
                f"use 1 (agno 1.x's table) or {LATEST_VERSION} (latest), or leave it unset"
            )
        self.schema_version = schema_version
        self.auto_upgrade_schema = auto_upgrade_schema
        self.db_engine = engine
        self._owns_engine = owns_engine
        self.stats = StorageStats()
        self._layout: int | None = None
        self._layout_known = False
        self._tables: dict[int, sa.Table] = {}
        #: statements and column lists built once per table layout (cleared with it)
        self._statements: dict[tuple[Any, ...], Any] = {}
        self._translating = _Translating(self._translate)  # stateless: one serves every call
        md = sa.MetaData()
        self._runs = runs_table(md, self.table_name, backend=self.backend, schema=self.schema)
        self._versions = version_table(md, schema=self.schema)
        self._entity = ENTITY_COLUMN[self.mode]
        self._source = "runs" if self.mode == "workflow_v2" else "memory"

    # -- identity -------------------------------------------------------------------------

    @property
    def display_url(self) -> str:
        """The database URL with any password masked."""
        return mask_url(self.db_engine.url)

    def __repr__(self) -> str:
        where = f", schema={self.schema!r}" if self.schema else ""
        return (
            f"{type(self).__name__}(table_name={self.table_name!r}{where}, "
            f"url={self.display_url!r}, mode={self.mode!r})"
        )

    def __enter__(self) -> BaseStorage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connections (the storage can be used again; it reconnects)."""
        if self._owns_engine:
            self.db_engine.dispose()

    @classmethod
    def _check_engine(cls, engine: Engine) -> Engine:
        """``engine`` if it speaks this backend's dialect (checked before the backend
        tunes it), else a one-line error."""
        if engine.dialect.name != cls.dialect_name:
            raise BackendUnavailableError(
                f"{cls.__name__} needs a {cls.dialect_name} engine, got "
                f"{engine.dialect.name!r}: use open_storage(url) to pick the backend "
                "from the URL"
            )
        return engine

    # -- backend hooks --------------------------------------------------------------------

    #: The dialect's INSERT construct with ``on_conflict_do_update`` (set by each backend).
    _insert: Callable[[sa.Table], Any]

    def _begin_write(self, conn: Connection) -> Connection:
        """Return ``conn`` prepared so its next transaction takes the write lock."""
        return conn

    def _lock_table(self, conn: Connection) -> None:
        """Serialise creators and upgraders of this table (inside a transaction)."""

    def _create_schema(self, conn: Connection) -> None:
        """Create the namespace the table lives in, where the backend has one."""

    def _translate(self, exc: Exception) -> Exception | None:
        """Turn a driver error into an AgnoNbError, or None to let it through."""
        return None

    # -- connections ----------------------------------------------------------------------

    def _errors(self) -> _Translating:
        """A context in which driver errors come out as this backend's AgnoNbError."""
        return self._translating

    @contextmanager
    def _read(self, *, check: bool = True) -> Iterator[Connection]:
        with self._errors(), self.db_engine.connect() as conn:
            if check:
                self._check_layout(conn)
            yield conn

    @contextmanager
    def _write(self, *, check: bool = True) -> Iterator[Connection]:
        with self._errors(), self.db_engine.connect() as raw:
            conn = self._begin_write(raw)
            with conn.begin():
                if check:
                    self._check_layout(conn)
                yield conn

    def _hold_layout(self, conn: Connection) -> None:
        """Keep upgraders out until this transaction ends (where the backend can)."""

    def _check_layout(self, conn: Connection) -> None:
        """On an old layout, confirm inside this transaction that nobody upgraded
        the table since it was looked at; else refresh and redo the call."""
        known = self._layout
        if not self._layout_known or known is None or known >= LATEST_VERSION:
            return
        self._hold_layout(conn)
        self.stats.queries += 1
        if not sa.inspect(conn).has_table(self._versions.name, schema=self.schema):
            return
        v = self._versions
        stamp = self._run(
            conn, sa.select(v.c.layout_version).where(v.c.table_name == self.table_name)
        ).scalar()
        if stamp is not None and int(stamp) != known:
            self._layout = int(stamp)
            self._tables.clear()
            self._statements.clear()
            raise _LayoutChanged

    def _all(self, conn: Connection, statement: sa.Executable) -> list[Any]:
        rows = list(conn.execute(statement).all())
        self.stats.queries += 1
        self.stats.rows += len(rows)
        return rows

    def _run(self, conn: Connection, statement: sa.Executable, params: Any = None) -> Any:
        self.stats.queries += 1
        return conn.execute(statement, params) if params is not None else conn.execute(statement)

    # -- tables and layout versions -------------------------------------------------------

    def _table(self, version: int) -> sa.Table:
        if version not in self._tables:
            self._tables[version] = session_table(
                sa.MetaData(),
                self.table_name,
                mode=self.mode,
                version=version,
                backend=self.backend,
                schema=self.schema,
            )
        return self._tables[version]

    @property
    def _ref(self) -> TableRef:
        return TableRef(self.backend, self.table_name, self.mode, self.schema)

    def _detect(self, conn: Connection) -> int | None:
        """The table's layout version on ``conn``: None when it does not exist."""
        inspector = sa.inspect(conn)
        self.stats.queries += 1
        if not inspector.has_table(self.table_name, schema=self.schema):
            return None
        if inspector.has_table(self._versions.name, schema=self.schema):
            stamp = self._run(
                conn,
                sa.select(self._versions.c.layout_version).where(
                    self._versions.c.table_name == self.table_name
                ),
            ).scalar()
            if stamp is not None:
                return int(stamp)
        columns = self._columns(conn)
        if all(name in columns for name, _ in V2_COLUMNS) and inspector.has_table(
            self.table_name + RUNS_SUFFIX, schema=self.schema
        ):
            return 2
        if self.mode == "agent" and "team_session_id" not in columns:
            return 0
        return 1

    def _columns(self, conn: Connection) -> set[str]:
        """The table's column names (portable: DuckDB lacks Postgres' catalogs)."""
        probe = (
            sa.select(sa.text("*"))
            .select_from(sa.table(self.table_name, schema=self.schema))
            .limit(0)
        )
        return set(self._run(conn, probe).keys())

    def _stamp(self, conn: Connection, version: int) -> None:
        self._versions.create(conn, checkfirst=True)
        v = self._versions
        self._run(conn, v.delete().where(v.c.table_name == self.table_name))
        self._run(
            conn,
            v.insert().values(
                table_name=self.table_name,
                layout_version=version,
                mode=self.mode,
                updated_at=int(time.time()),
            ),
        )

    def _current(self) -> int | None:
        """The cached layout version (None: table missing), checking limits."""
        if not self._layout_known:
            with self._read(check=False) as conn:
                self._layout = self._detect(conn)
            self._layout_known = self._layout is not None
        version = self._layout
        if version is not None and version > LATEST_VERSION:
            raise SchemaTooNewError(
                f"table {self._ref.qualified} has layout v{version}, newer than this agno_nb "
                f"knows (v{LATEST_VERSION}): upgrade agno_nb (pip install -U agno_nb)"
            )
        if version is not None and version < LATEST_VERSION and self.auto_upgrade_schema:
            self.upgrade_schema()
            version = self._layout
        return version

    def _writable(self) -> int:
        """The layout to write in, creating the table if it is missing."""
        version = self._current()
        if version is None:
            self.create()
            version = self._current()
            assert version is not None
        wanted = self.schema_version
        if wanted is not None and wanted > version:
            raise SchemaTooOldError(
                f"table {self._ref.qualified} is at layout v{version} but schema_version="
                f"{wanted} was asked: run storage.upgrade_schema() first "
                "(or pass auto_upgrade_schema=True)"
            )
        return version

    @property
    def current_version(self) -> int | None:
        """The table's layout version now (None when the table does not exist)."""
        with self._read(check=False) as conn:
            return self._detect(conn)

    # -- agno 1.x API ---------------------------------------------------------------------

    def table_exists(self) -> bool:
        """Whether the sessions table exists."""
        with self._read(check=False) as conn:
            self.stats.queries += 1
            return bool(sa.inspect(conn).has_table(self.table_name, schema=self.schema))

    def create(self) -> None:
        """Create the table (at ``schema_version``, default latest) if it is missing."""
        version = LATEST_VERSION if self.schema_version is None else self.schema_version
        with self._write(check=False) as conn:
            self._create_schema(conn)
            self._lock_table(conn)
            existing = self._detect(conn)
            if existing is None:
                table = self._table(version)
                table.create(conn)
                if version >= 2:
                    self._runs.create(conn, checkfirst=True)
                self._stamp(conn, version)
                existing = version
        self._layout, self._layout_known = existing, True

    def drop(self) -> None:
        """Drop the table, its runs table and its version record."""
        with self._write(check=False) as conn:
            self._runs.drop(conn, checkfirst=True)
            self._table(1).drop(conn, checkfirst=True)
            if sa.inspect(conn).has_table(self._versions.name, schema=self.schema):
                v = self._versions
                self._run(conn, v.delete().where(v.c.table_name == self.table_name))
        self._layout, self._layout_known = None, False

    @_consistent
    def read(self, session_id: str, user_id: str | None = None) -> Session | None:
        """The session with ``session_id`` (and ``user_id``, when given), or None."""
        version = self._current()
        if version is None:
            return None
        table = self._table(version)
        query = sa.select(*self._row_columns(table)).where(table.c.session_id == session_id)
        if user_id:
            query = query.where(table.c.user_id == user_id)
        with self._read() as conn:
            rows = self._all(conn, query)
            if not rows:
                return None
            runs = self._runs_of(conn, [session_id]) if version >= 2 else None
        return self._session(rows[0]._mapping, runs)

    def upsert(self, session: Session) -> Session:
        """Insert or replace ``session``; returns the same object (no re-read)."""
        self.upsert_many([session])
        return session

    @_consistent
    def upsert_many(self, sessions: Iterable[Session]) -> int:
        """Insert or replace many sessions in one transaction; returns how many.

        The bulk form of :meth:`upsert` (importing a batch of sessions, say):
        one statement per table for the whole batch, one commit.
        """
        version = self._writable()
        table = self._table(version)
        batch = list(sessions)
        if not batch:
            return 0
        now_ms = int(time.time() * 1000)
        now = now_ms // 1000
        rows: list[dict[str, Any]] = []
        run_rows: list[dict[str, Any]] = []
        for session in batch:
            rows.append(self._session_values(session, table, version, now_ms, run_rows))
        steps = [(self._upsert_statement(table, tuple(rows[0])), rows)]
        if version >= 2:
            clear, insert = self._runs_statements()
            steps.append((clear, [{"sid": s.session_id} for s in batch]))
            steps.append((insert, run_rows))
        self._write_steps(steps)
        for session in batch:
            session.updated_at = now
        return len(batch)

    def _session_values(
        self,
        session: Session,
        table: sa.Table,
        version: int,
        now_ms: int,
        run_rows: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """The session row's INSERT parameters; on the latest layout its run rows
        are added to ``run_rows``."""
        values = {c: getattr(session, a) for c, a in self._field_columns(table, type(session))}
        now = now_ms // 1000
        values["updated_at"] = now
        values["created_at"] = session.created_at or now
        if version >= 2:
            run_list = self._take_runs(values)
            summary = summarize_runs(run_list)
            data = values.get("session_data")
            values["session_name"] = data.get("session_name") if isinstance(data, dict) else None
            values["run_count"] = len(run_list)
            values["message_count"] = summary.message_count
            values["preview"] = summary.preview
            values["active_ms"] = now_ms
            values["created_ms"] = _creation_ms(session.created_at, now_ms)
            session_id = session.session_id
            counts = summary.per_run_messages
            run_rows.extend(
                self._run_row(session_id, i, run, counts[i]) for i, run in enumerate(run_list)
            )
        return values

    @_consistent
    def get_all_session_ids(
        self, user_id: str | None = None, entity_id: str | None = None
    ) -> list[str]:
        """Every session id, newest first, optionally for one user and/or entity."""
        version = self._current()
        if version is None:
            return []
        table = self._table(version)
        query = self._filtered(sa.select(table.c.session_id), table, version, user_id, entity_id)
        with self._read() as conn:
            return [row[0] for row in self._all(conn, self._newest_first(query, table, version))]

    def get_all_sessions(
        self, user_id: str | None = None, entity_id: str | None = None
    ) -> list[Session]:
        """Every session (runs included), newest first."""
        return self._sessions(user_id, entity_id, None)

    def get_recent_sessions(
        self, user_id: str | None = None, entity_id: str | None = None, limit: int | None = 2
    ) -> list[Session]:
        """The ``limit`` newest sessions (runs included)."""
        return self._sessions(user_id, entity_id, limit)

    @_consistent
    def delete_session(self, session_id: str | None = None) -> None:
        """Delete a session and its runs (nothing happens if it does not exist)."""
        if session_id is None:
            raise AgnoNbError("delete_session() needs a session_id")
        version = self._current()
        if version is None:
            return
        table = self._table(version)
        with self._write() as conn:
            self._run(conn, table.delete().where(table.c.session_id == session_id))
            if version >= 2:
                runs = self._runs
                self._run(conn, runs.delete().where(runs.c.session_id == session_id))

    def upgrade_schema(
        self, *, dry_run: bool = False, progress: Progress | None = None
    ) -> UpgradePlan:
        """Upgrade the table to the latest layout, or with ``dry_run`` only plan it.

        Each step runs in one transaction with its version stamp: an interrupted
        upgrade leaves the table at the old or the new version. A second process
        upgrading at the same time waits, then finds the work done.

        Raises:
            SchemaTooNewError: the table is newer than this agno_nb.
        """
        with self._read(check=False) as conn:
            start = self._detect(conn)
        if start is not None and start > LATEST_VERSION:
            self._layout, self._layout_known = start, True
            self._current()  # raises SchemaTooNewError
        result = plan(self._ref, start)
        result.dry_run = dry_run
        if dry_run or not result.steps:
            return result
        for migration in MIGRATIONS[start or 0 : LATEST_VERSION]:
            with self._write(check=False) as conn:
                self._lock_table(conn)
                now = self._detect(conn)
                if now is None or now >= migration.version:
                    continue
                stats = migration.apply(conn, self._ref, progress)
                self._stamp(conn, migration.version)
            result.sessions_migrated += stats.sessions
            result.runs_moved += stats.runs
        self._tables.clear()
        self._statements.clear()
        self._layout, self._layout_known = LATEST_VERSION, True
        result.applied = True
        return result

    # -- listing without payloads ---------------------------------------------------------

    @_consistent
    def list_sessions(
        self,
        *,
        user_id: str | None = None,
        entity_id: str | None = None,
        search: str | None = None,
        limit: int | None = 50,
        offset: int = 0,
    ) -> list[SessionSummary]:
        """One page of session summaries, newest first; run payloads are not loaded
        (on agno's v1 layout only the page's rows are decoded)."""
        version = self._current()
        if version is None:
            return []
        query = self._summary_query(version, user_id, entity_id, search, limit, offset)
        with self._read() as conn:
            rows = self._all(conn, query)
        return [self._summary(row._mapping, version) for row in rows]

    def _summary_query(
        self,
        version: int,
        user_id: str | None,
        entity_id: str | None,
        search: str | None,
        limit: int | None,
        offset: int,
    ) -> sa.Select[Any]:
        table = self._table(version)
        cols: list[Any] = [
            table.c.session_id,
            table.c.user_id,
            table.c[self._entity].label("entity_id"),
            table.c.created_at,
            table.c.updated_at,
        ]
        if version >= 2:
            cols += [table.c.session_name, table.c.run_count, table.c.message_count]
            cols += [table.c.preview]
        else:
            cols += [sa.cast(table.c[c], sa.Text).label(c) for c in (self._source, "session_data")]
        query = self._filtered(sa.select(*cols), table, version, user_id, entity_id, search)
        query = self._newest_first(query, table, version).offset(offset)
        return query if limit is None else query.limit(limit)

    @_consistent
    def count_sessions(
        self,
        *,
        user_id: str | None = None,
        entity_id: str | None = None,
        search: str | None = None,
    ) -> int:
        """How many sessions match the filters."""
        version = self._current()
        if version is None:
            return 0
        table = self._table(version)
        query = self._filtered(
            sa.select(sa.func.count()).select_from(table),
            table,
            version,
            user_id,
            entity_id,
            search,
        )
        with self._read() as conn:
            return int(self._run(conn, query).scalar_one())

    @_consistent
    def get_runs(
        self,
        session_id: str,
        *,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = False,
    ) -> list[dict[str, Any]]:
        """A page of one session's runs (oldest first unless ``newest_first``).

        Raises:
            SessionNotFoundError: no such session.
        """
        version = self._current()
        if version is None or version < 2:
            runs = self._require(session_id).run_dicts
            ordered = list(reversed(runs)) if newest_first else runs
            return ordered[offset : None if limit is None else offset + limit]
        runs_t = self._runs
        order = runs_t.c.run_index.desc() if newest_first else runs_t.c.run_index
        query = (
            sa.select(sa.cast(runs_t.c.run, sa.Text))
            .where(runs_t.c.session_id == session_id)
            .order_by(order)
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            rows = self._all(conn, query)
            if not rows and not self._exists(conn, session_id):
                raise self._not_found(session_id)
        return [decode_json(r[0], session_id=session_id, column="run") for r in rows]

    @_consistent
    def count_runs(self, session_id: str) -> int:
        """How many runs a session has (SessionNotFoundError if it does not exist)."""
        version = self._current()
        if version is None or version < 2:
            return len(self._require(session_id).run_dicts)
        table = self._table(version)
        with self._read() as conn:
            count = self._run(
                conn, sa.select(table.c.run_count).where(table.c.session_id == session_id)
            ).first()
        if count is None:
            raise self._not_found(session_id)
        return int(count[0] or 0)

    # -- writes that touch one run or one field -------------------------------------------

    @_consistent
    def append_run(
        self, session_id: str, run: Mapping[str, Any], *, session_data: dict[str, Any] | None = None
    ) -> int:
        """Add one run to an existing session; returns its index.

        On the latest layout this inserts one row and updates the session's
        counters: its cost does not grow with the number of runs. On agno's
        layouts the session JSON is read, extended and written back.

        Raises:
            SessionNotFoundError: create the session first with ``upsert()``.
        """
        version = self._writable()
        table = self._table(version)
        now = int(time.time())
        run = dict(run)
        if version < 2:
            return self._append_to_json(table, session_id, run, session_data, now)
        count = new_message_count(run)
        values: dict[str, Any] = {
            "run_count": sa.func.coalesce(table.c.run_count, 0) + 1,
            "message_count": sa.func.coalesce(table.c.message_count, 0) + count,
            "preview": sa.func.coalesce(table.c.preview, first_question(run)),
            "active_ms": int(time.time() * 1000),
            "updated_at": now,
        }
        if session_data is not None:
            values["session_data"] = session_data
            values["session_name"] = session_data.get("session_name")
        statement = (
            table.update()
            .where(table.c.session_id == session_id)
            .values(**values)
            .returning(table.c.run_count)
        )
        with self._write() as conn:
            new_count = self._run(conn, statement).scalar()
            if new_count is None:
                raise self._not_found(session_id)
            index = int(new_count) - 1
            self._run(
                conn, self._runs.insert().values(**self._run_row(session_id, index, run, count))
            )
        return index

    @_consistent
    def rename_session(self, session_id: str, name: str) -> None:
        """Set the session's name (``session_data["session_name"]``).

        Raises:
            SessionNotFoundError: no such session.
        """
        version = self._writable()
        table = self._table(version)
        with self._write() as conn:
            row = self._run(
                conn,
                sa.select(sa.cast(table.c.session_data, sa.Text)).where(
                    table.c.session_id == session_id
                ),
            ).first()
            if row is None:
                raise self._not_found(session_id)
            data = decode_json(row[0], session_id=session_id, column="session_data") or {}
            data["session_name"] = name
            values: dict[str, Any] = {"session_data": data, "updated_at": int(time.time())}
            if version >= 2:
                values["session_name"] = name
            self._run(conn, table.update().where(table.c.session_id == session_id).values(**values))

    # -- DataFrames -----------------------------------------------------------------------

    def sessions_df(
        self,
        *,
        user_id: str | None = None,
        entity_id: str | None = None,
        search: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Session summaries as a pandas DataFrame (one row per session, newest first)."""
        from agno_nb.storage.frames import summaries_frame

        return summaries_frame(
            self.list_sessions(user_id=user_id, entity_id=entity_id, search=search, limit=limit)
        )

    def messages_df(
        self,
        session_id: str | None = None,
        *,
        user_id: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Every message (history copies left out) as a DataFrame, one row each.

        ``session_id`` picks one session; otherwise the ``limit`` newest sessions
        (all by default), optionally of one user.
        """
        from agno_nb.storage.frames import messages_frame

        if session_id is not None:
            sessions = [self._require(session_id)]
        else:
            sessions = self._sessions(user_id, None, limit)
        return messages_frame(sessions)

    # -- helpers --------------------------------------------------------------------------

    def _upsert_statement(self, table: sa.Table, keys: tuple[str, ...]) -> Any:
        """INSERT of rows with ``keys`` ... ON CONFLICT (session_id) DO UPDATE of
        every key but the ones a session keeps (its id and creation times); built
        once, then executed with parameters (so compiled forms are cached)."""
        key = ("upsert", id(table), keys)
        statement = self._statements.get(key)
        if statement is None:
            insert = self._insert(table)
            kept = ("session_id", "created_at", "created_ms")
            statement = insert.on_conflict_do_update(
                index_elements=["session_id"],
                set_={c: insert.excluded[c] for c in keys if c not in kept},
            )
            self._statements[key] = statement
        return statement

    def _field_columns(self, table: sa.Table, kind: type) -> tuple[tuple[str, str], ...]:
        """(column, attribute) of what an upsert takes from a session's own fields
        (the times and the summary columns are computed), for sessions of ``kind``."""
        key = ("fields", id(table), kind)
        pairs = self._statements.get(key)
        if pairs is None:
            attributes = {f.name: f.name for f in dataclasses.fields(kind)}
            if "runs_v2" in attributes:
                attributes["runs"] = attributes.pop("runs_v2")
            computed = {"created_at", "updated_at", *(n for n, _ in V2_COLUMNS)}
            pairs = tuple(
                (c.name, attributes[c.name])
                for c in table.columns
                if c.name not in computed and c.name in attributes
            )
            self._statements[key] = pairs
        return pairs

    def _runs_statements(self) -> tuple[Any, Any]:
        """DELETE of one session's runs (bound ``sid``) and INSERT of run rows."""
        statements = self._statements.get(("runs",))
        if statements is None:
            runs = self._runs
            clear = runs.delete().where(runs.c.session_id == sa.bindparam("sid"))
            statements = self._statements[("runs",)] = (clear, runs.insert())
        return statements

    def _write_steps(self, steps: Sequence[tuple[Any, list[dict[str, Any]]]]) -> None:
        """Execute each statement once per parameter row, all in one write
        transaction (a step without rows is skipped). A backend may run these
        fixed statements closer to its driver."""
        with self._write() as conn:
            for statement, rows in steps:
                if rows:
                    self._run(conn, statement, rows)

    def _json_columns(self, table: sa.Table) -> tuple[str, ...]:
        return tuple(c for c in _DATA_COLUMNS if c in table.c)

    def _row_columns(self, table: sa.Table) -> list[Any]:
        json_cols = set(self._json_columns(table))
        skip = {name for name, _ in V2_COLUMNS}
        return [
            sa.cast(c, sa.Text).label(c.name) if c.name in json_cols else c
            for c in table.columns
            if c.name not in skip
        ]

    def _session(self, row: Mapping[Any, Any], runs: dict[str, list[Any]] | None) -> Session:
        table_cols = self._json_columns(self._table(1))
        data = decode_row(row, table_cols)
        if runs is not None:
            run_list = runs.get(data["session_id"], [])
            if self._source == "runs":
                data["runs"] = run_list
            else:
                memory = data.get("memory")
                data["memory"] = (
                    dict(memory, runs=run_list) if isinstance(memory, dict) else {"runs": run_list}
                )
        session: Session = SESSION_CLASSES[self.mode].from_dict(data)
        return session

    def _runs_of(self, conn: Connection, session_ids: list[str]) -> dict[str, list[Any]]:
        runs = self._runs
        query = (
            sa.select(runs.c.session_id, sa.cast(runs.c.run, sa.Text))
            .where(runs.c.session_id.in_(session_ids))
            .order_by(runs.c.session_id, runs.c.run_index)
        )
        out: dict[str, list[Any]] = {sid: [] for sid in session_ids}
        for row in self._all(conn, query):
            sid, text = row[0], row[1]
            out[sid].append(decode_json(text, session_id=sid, column="run"))
        return out

    @_consistent
    def _sessions(
        self, user_id: str | None, entity_id: str | None, limit: int | None
    ) -> list[Session]:
        version = self._current()
        if version is None:
            return []
        table = self._table(version)
        query = self._filtered(
            sa.select(*self._row_columns(table)), table, version, user_id, entity_id
        )
        query = self._newest_first(query, table, version)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            rows = self._all(conn, query)
            ids = [row.session_id for row in rows]
            runs = self._runs_of(conn, ids) if version >= 2 and ids else None
        return [self._session(row._mapping, runs) for row in rows]

    def _filtered(
        self,
        query: sa.Select[Any],
        table: sa.Table,
        version: int,
        user_id: str | None,
        entity_id: str | None,
        search: str | None = None,
    ) -> sa.Select[Any]:
        if user_id is not None:
            query = query.where(table.c.user_id == user_id)
        if entity_id is not None:
            query = query.where(table.c[self._entity] == entity_id)
        if search:
            term = search.lower()

            def like(expr: Any) -> Any:
                return sa.func.lower(expr).contains(term, autoescape=True)

            if version >= 2:
                runs = self._runs
                in_runs = sa.exists().where(
                    runs.c.session_id == table.c.session_id, like(sa.cast(runs.c.run, sa.Text))
                )
                match = sa.or_(
                    like(table.c.session_name),
                    like(table.c.preview),
                    like(table.c.session_id),
                    in_runs,
                )
            else:
                match = sa.or_(
                    like(table.c.session_id),
                    like(sa.cast(table.c.session_data, sa.Text)),
                    like(sa.cast(table.c[self._source], sa.Text)),
                )
            query = query.where(match)
        return query

    def _newest_first(self, query: sa.Select[Any], table: sa.Table, version: int) -> sa.Select[Any]:
        key = table.c.created_ms if version >= 2 else table.c.created_at
        return query.order_by(key.desc(), table.c.session_id.desc())

    def _summary(self, row: Mapping[Any, Any], version: int) -> SessionSummary:
        summary = SessionSummary(
            session_id=row["session_id"],
            user_id=row["user_id"],
            entity_id=row["entity_id"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
        if version >= 2:
            summary.session_name = row["session_name"]
            summary.run_count = int(row["run_count"] or 0)
            summary.message_count = int(row["message_count"] or 0)
            summary.preview = row["preview"]
            return summary
        try:
            holder = decode_json(
                row[self._source], session_id=summary.session_id, column=self._source
            )
            data = decode_json(
                row["session_data"], session_id=summary.session_id, column="session_data"
            )
        except AgnoNbError as exc:
            summary.error = str(exc)
            return summary
        if self._source == "runs":
            run_list = holder if isinstance(holder, list) else []
        else:
            run_list = (holder.get("runs") if isinstance(holder, dict) else None) or []
        counts = summarize_runs(run_list)
        summary.run_count, summary.message_count = len(run_list), counts.message_count
        summary.preview = counts.preview
        summary.session_name = data.get("session_name") if isinstance(data, dict) else None
        return summary

    def _take_runs(self, values: dict[str, Any]) -> list[Any]:
        """Split the runs out of the session values (they go to the runs table)."""
        if self._source == "runs":
            run_list = values.get("runs") or []
            values["runs"] = None
            return list(run_list)
        memory = values.get("memory")
        if not isinstance(memory, dict):
            return []
        memory = dict(memory)
        run_list = memory.pop("runs", None) or []
        values["memory"] = memory
        return list(run_list)

    def _run_row(self, session_id: str, index: int, run: Any, messages: int) -> dict[str, Any]:
        is_dict = isinstance(run, (dict, Mapping))  # dict first: no ABC check for a dict
        return {
            "session_id": session_id,
            "run_index": index,
            "run_id": run.get("run_id") if is_dict else None,
            "created_at": run.get("created_at") if is_dict else None,
            "message_count": messages,
            "run": run,
        }

    def _append_to_json(
        self,
        table: sa.Table,
        session_id: str,
        run: dict[str, Any],
        session_data: dict[str, Any] | None,
        now: int,
    ) -> int:
        column = table.c[self._source]
        query = sa.select(sa.cast(column, sa.Text)).where(table.c.session_id == session_id)
        if self.backend == "postgres":
            query = query.with_for_update()
        with self._write() as conn:
            row = self._run(conn, query).first()
            if row is None:
                raise self._not_found(session_id)
            holder = decode_json(row[0], session_id=session_id, column=self._source)
            if self._source == "runs":
                run_list = list(holder or [])
                run_list.append(run)
                new_value: Any = run_list
            else:
                new_value = dict(holder or {})
                run_list = list(new_value.get("runs") or [])
                run_list.append(run)
                new_value["runs"] = run_list
            values: dict[str, Any] = {self._source: new_value, "updated_at": now}
            if session_data is not None:
                values["session_data"] = session_data
            self._run(conn, table.update().where(table.c.session_id == session_id).values(**values))
        return len(run_list) - 1

    def _exists(self, conn: Connection, session_id: str) -> bool:
        table = self._table(self._layout or 1)
        query = sa.select(table.c.session_id).where(table.c.session_id == session_id)
        return self._run(conn, query).first() is not None

    def _require(self, session_id: str) -> Session:
        session = self.read(session_id)
        if session is None:
            raise self._not_found(session_id)
        return session

    def _not_found(self, session_id: str) -> SessionNotFoundError:
        return SessionNotFoundError(
            f"no session {session_id!r} in {self._ref.qualified}: check the id "
            "(get_all_session_ids() lists them)"
        )
