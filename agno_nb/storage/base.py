"""The storage contract and the plumbing every backend and layout shares.

Two small axes fill it in. A backend module (``storage/<db>.py``) says what
differs per database: how to build its engine, its upsert statement, how a
write transaction begins; its Dialect (``agno_nb/dialects/``) says how its SQL
differs and how its driver errors read. A layout family
(``storage/layouts/``) says what differs per table layout: how sessions and
runs are read, listed and written. Here: the public API, the backend hooks,
connections, the statement cache, error translation and calls redone after a
layout change or a conflict (:func:`consistent`). Beside it, the modules the
public methods delegate to: ``stamps.py`` (the table's layout, version
stamps, creating and dropping) and ``upgrade.py`` (``upgrade_schema``);
``contract.py`` says what layouts may call (``StorageCore``). See
``docs/architecture.md``.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, ClassVar, Literal, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from agno_nb.codec import SessionSummary, check_run, check_session, encode_json
from agno_nb.dbapi import ForkAware, json_encoder, leave_parent_pool, track_fork
from agno_nb.dialects import Dialect, ErrorPlace
from agno_nb.errors import (
    AgnoNbError,
    BackendUnavailableError,
    InvalidArgumentError,
    InvalidSessionError,
    SessionNotFoundError,
    StorageConflictError,
    TableMissingError,
)
from agno_nb.migrations import TableRef, UpgradePlan, changes_nothing_from
from agno_nb.schema import (
    LATEST_VERSION,
    check_mode,
    check_page,
    check_table_name,
    runs_table,
    version_table,
)
from agno_nb.sessions import ENTITY_COLUMN, Session
from agno_nb.storage import labels as run_labels
from agno_nb.storage import stamps, upgrade
from agno_nb.storage.contract import CAPABILITIES, Layout, LayoutChanged, Listing, StorageStats
from agno_nb.storage.versioned import RunCache, VersionedDb
from agno_nb.urls import mask_url, remember_secrets

if TYPE_CHECKING:
    import pandas as pd

Progress = Callable[[int, int], None]


#: How one storage call runs: driver errors translated (:class:`Translating`, the
#: context every connection is used in), and the call redone when the table's layout
#: changed under it or the database rolled it back (:func:`consistent`).


class Translating:
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
        if isinstance(exc, sa.exc.StatementError) and isinstance(exc.orig, AgnoNbError):
            raise exc.orig from None  # refused by our JSON encoder, say: one line
        translated = self._translate(exc)
        if translated is None:
            return False
        raise translated from None


P = ParamSpec("P")
R = TypeVar("R")


#: How many times a call rolled back by a deadlock or serialization failure is redone.
CONFLICT_RETRIES = 5


def consistent(method: Callable[P, R]) -> Callable[P, R]:
    """Redo ``method`` when another process upgraded the table under it, so a
    storage opened before an upgrade never writes or reads the old layout; and
    when the database rolled its transaction back for a deadlock or a
    serialization failure (a bounded number of times, with a random backoff)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        conflicts = 0
        layout_changes = 0
        while True:
            try:
                return method(*args, **kwargs)
            except LayoutChanged:
                layout_changes += 1
                if layout_changes > LATEST_VERSION + 1:
                    raise AgnoNbError(
                        "the table's layout kept changing under this call: retry it"
                    ) from None
            except StorageConflictError as exc:
                # rolled back whole by the database: nothing was saved, so redo it
                conflicts += 1
                if conflicts > CONFLICT_RETRIES:
                    raise StorageConflictError(
                        f"{exc} (still conflicting after {conflicts} attempts: retry later)"
                    ) from None
                time.sleep(random.uniform(0, 0.005 * 2**conflicts))

    return wrapper


class BaseStorage(ForkAware):
    """Agent-session storage in one table (agno 1.x's API, done right).

    Subclasses: :class:`~agno_nb.storage.SqliteStorage`,
    :class:`~agno_nb.storage.DuckDbStorage`, :class:`~agno_nb.storage.PostgresStorage`.
    """

    backend: ClassVar[str] = ""
    #: what differs per database, as one object (``agno_nb/dialects/``)
    dialect: Dialect
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
        # any name the database takes quoted (agno 1.x's ``agent-sessions``, long
        # names): every statement quotes it; names derived from it stay in 63 bytes
        self.table_name = check_table_name(table_name)
        self.schema = None if schema is None else check_table_name(schema, what="schema name")
        self.mode = check_mode(mode or "agent")
        if schema_version is not None and schema_version not in range(LATEST_VERSION + 1):
            raise AgnoNbError(
                f"schema_version={schema_version!r} is not a layout this version knows: "
                f"use 1 (agno 1.x's table) or {LATEST_VERSION} (latest), or leave it unset"
            )
        self.schema_version = schema_version
        self.auto_upgrade_schema = auto_upgrade_schema
        remember_secrets(engine.url)
        self.db_engine = engine
        self.encodes_json = json_encoder(engine.dialect) is encode_json
        self._owns_engine = owns_engine
        #: set in a forked child that must not use this storage (see _after_fork_in_child)
        self._unusable: AgnoNbError | None = None
        track_fork(self)
        self.stats = StorageStats()
        #: A line to show the user about how this storage was opened (or None).
        self.opened_note: str | None = None
        self.cached_layout: Layout | None = None
        self.layout_known = False
        #: operation -> (layout, schema_version) that passed ``stamps.writable`` for it
        self._writes_checked: dict[str, tuple[Layout, int | None]] = {}
        self.tables_by_version: dict[int, sa.Table] = {}
        #: statements and column lists built once per table layout (cleared with it)
        self.statements: dict[tuple[Any, ...], Any] = {}
        self._translating = Translating(self._translate)  # stateless: one serves every call
        #: decoded runs of recent sessions, keyed by change token (see versioned.py)
        self.run_cache = RunCache()
        md = sa.MetaData()
        self.run_table = runs_table(md, self.table_name, backend=self.backend, schema=self.schema)
        self.versions_table = version_table(md, schema=self.schema)
        self.entity_column = ENTITY_COLUMN[self.mode]

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

    def _after_fork_in_child(self) -> None:
        """In a forked child: open new connections, never the parent's (a shared
        connection interleaves two processes' queries on one socket)."""
        leave_parent_pool(self.db_engine)

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
        ignored = cls.dialect.ignored_url_options(engine.url)
        if ignored:  # e.g. sqlite:///x.db?mode=ro: the engine would open x.db writable
            honoured = cls.dialect.engine_url(engine.url.render_as_string(hide_password=False))
            raise BackendUnavailableError(
                f"this engine's URL sets {', '.join(ignored)}, which SQLAlchemy never "
                f"hands to the driver, so the engine ignores it: create the engine from "
                f"{mask_url(honoured)}, or pass db_url= instead of db_engine="
            )
        return engine

    # -- backend hooks --------------------------------------------------------------------

    def _begin_write(self, conn: Connection) -> Connection:
        """Return ``conn`` prepared so its next transaction takes the write lock."""
        return conn

    def for_update(self, query: sa.Select[Any]) -> sa.Select[Any]:
        """``query`` made to lock the rows it reads until the write transaction
        ends (as the dialect does it): every read-modify-write reads through this."""
        return self.dialect.for_update(query)

    def lock_table(self, conn: Connection) -> None:
        """Serialise creators and upgraders of this table (inside a transaction)."""

    def hold_layout(self, conn: Connection) -> None:
        """Keep upgraders out until this transaction ends (where the backend can)."""

    def create_schema(self, conn: Connection) -> None:
        """Create the namespace the table lives in, where the backend has one."""

    def _translate(self, exc: Exception) -> Exception | None:
        """Turn a driver error into an AgnoNbError (as the dialect reads it), or
        None to let it through. A table found gone makes the next call look the
        table up again (and a write create it)."""
        translated = self.dialect.translate(exc, self.error_place(exc))
        if isinstance(translated, TableMissingError):
            self.forget_layout()
        return translated

    def error_place(self, exc: Exception) -> ErrorPlace:
        """What a message about the driver error ``exc`` names (asked only when
        one is raised); backends add what only their live storage knows."""
        return ErrorPlace(
            where=self.display_url,
            table=self.ref.qualified,
            database=self.db_engine.url.database,
        )

    def versioned(self, *, write: bool) -> AbstractContextManager[VersionedDb | None]:
        """A transaction that can tell each session's change token (see
        ``storage/versioned.py``), or None where the backend cannot: layouts then
        take their general path."""
        return nullcontext(None)

    # -- connections ----------------------------------------------------------------------

    def driver_errors(self) -> Translating:
        """A context in which driver errors come out as this backend's AgnoNbError.

        Raises:
            AgnoNbError: this storage cannot be used in this (forked) process.
        """
        if self._unusable is not None:
            raise self._unusable
        return self._translating

    @contextmanager
    def read_conn(self, *, check: bool = True) -> Iterator[Connection]:
        with self.driver_errors(), self.db_engine.connect() as conn:
            if check:
                stamps.recheck(self, conn)
            yield conn

    @contextmanager
    def write_conn(self, *, check: bool = True) -> Iterator[Connection]:
        with self.driver_errors(), self.db_engine.connect() as raw:
            conn = self._begin_write(raw)
            with conn.begin():
                if check:
                    stamps.recheck(self, conn)
                yield conn

    def fetch_all(self, conn: Connection, statement: sa.Executable) -> list[Any]:
        rows = list(conn.execute(statement).all())
        self.stats.queries += 1
        self.stats.rows += len(rows)
        return rows

    def run_statement(self, conn: Connection, statement: sa.Executable, params: Any = None) -> Any:
        self.stats.queries += 1
        return conn.execute(statement, params) if params is not None else conn.execute(statement)

    # -- tables and layout detection -----------------------------------------------------

    def table_at(self, version: int) -> sa.Table:
        """agno's session table (with agno_nb's summary columns from v2) at ``version``."""
        if version not in self.tables_by_version:
            self.tables_by_version[version] = self.ref.sessions_at(version)
        return self.tables_by_version[version]

    @property
    def ref(self) -> TableRef:
        return TableRef(self.backend, self.table_name, self.mode, self.schema)

    @property
    def _version(self) -> int | None:
        """The cached layout's agno_nb version (None: unknown, missing or not agno_nb's)."""
        return None if self.cached_layout is None else self.cached_layout.version

    def has_final_shape(self, version: int | None) -> bool:
        """Whether a table at ``version`` already has the latest layout's shape on
        this backend (the latest, or one whose remaining steps only record their
        version here, as v4 -> v5 does on SQLite): no upgrade can change it."""
        if version == LATEST_VERSION:
            return True
        if version is None or not 2 <= version < LATEST_VERSION:  # no runs table before v2
            return False
        known = self.statements.get(("final-shape", version))
        if known is None:
            known = changes_nothing_from(version, self.ref, self.db_engine.dialect)
            self.statements[("final-shape", version)] = known
        return bool(known)

    def has_table(self, conn: Connection, name: str) -> bool:
        """Whether table ``name`` exists, its name compared as the database compares
        names (a backend whose inspector compares otherwise overrides this)."""
        self.stats.queries += 1
        return bool(sa.inspect(conn).has_table(name, schema=self.schema))

    def forget_layout(self) -> None:
        """Forget the table's layout and everything built for it (its SQLAlchemy
        tables, cached statements): the next call looks the table up again."""
        self.tables_by_version.clear()
        self.statements.clear()
        self.cached_layout, self.layout_known = None, False

    def use_layout(self, layout: Layout | None) -> None:
        """Take ``layout`` as the table's (None: the table is missing; look again next call)."""
        self.cached_layout, self.layout_known = layout, layout is not None

    def _writable(self, operation: str) -> Layout:
        """The layout to do ``operation`` in (``stamps.writable``): on the warm
        path, the cached layout once it has passed those checks for ``operation``
        with this ``schema_version``."""
        layout = self.cached_layout
        if self.layout_known and not self.auto_upgrade_schema and layout is not None:
            checked = self._writes_checked.get(operation)
            if checked is not None and checked[0] is layout and checked[1] == self.schema_version:
                return layout
        layout = stamps.writable(self, operation)
        self._writes_checked[operation] = (layout, self.schema_version)
        return layout

    def _current(self) -> Layout | None:
        """The cached layout (None: table missing), detected on first use;
        upgrades it first with ``auto_upgrade_schema``."""
        layout = self.cached_layout
        if self.layout_known and not self.auto_upgrade_schema:
            return layout  # the warm path: no call into stamps
        return stamps.current(self)

    @property
    def current_version(self) -> int | None:
        """The table's layout version now (None when the table does not exist)."""
        return stamps.version_now(self)

    @property
    def capabilities(self) -> frozenset[str]:
        """What agno_nb does with this table (``read``, ``write``, ``rename``,
        ``delete``, ``upgrade``, ``drop``), as its layout family declares; every
        capability for a table that does not exist yet (a write creates it)."""
        layout = self._current()
        return frozenset(CAPABILITIES) if layout is None else layout.capabilities

    @property
    def layout_label(self) -> str | None:
        """What the table is (``layout v3``, ``agno 3.x tables ...``); None when missing."""
        layout = self._current()
        return None if layout is None else layout.label

    # -- agno 1.x API ---------------------------------------------------------------------

    def table_exists(self) -> bool:
        """Whether the sessions table exists."""
        with self.read_conn(check=False) as conn:
            self.stats.queries += 1
            return self.has_table(conn, self.table_name)

    def create(self) -> None:
        """Create the table (at ``schema_version``, default latest) if it is missing."""
        stamps.create(self)

    def drop(self) -> None:
        """Drop the table, its runs table and its version record.

        Raises:
            AgnoNbError: the table's family refuses it (agno 2.x/3.x's tables).
        """
        stamps.drop(self)
        run_labels.forget_table(self)

    @consistent
    def read(self, session_id: str, user_id: str | None = None) -> Session | None:
        """The session with ``session_id`` (and ``user_id``, when given), or None."""
        layout = self._current()
        if layout is None:
            return None
        return layout.read(session_id, user_id)

    def upsert(self, session: Session) -> Session:
        """Insert or replace ``session``; returns the same object (no re-read)."""
        check_session(session)
        self._upsert_sorted([session])  # upsert_many of one, without the batch work
        return session

    def upsert_many(self, sessions: Iterable[Session]) -> int:
        """Insert or replace many sessions in one transaction; returns how many
        distinct sessions were written.

        The bulk form of :meth:`upsert` (importing a batch of sessions, say):
        one statement per table for the whole batch, one commit. Rows are
        written in session-id order, so two batches sharing ids lock them in
        the same order and cannot deadlock each other. A session id given twice
        is written once, as its last occurrence (as if upserted one after the
        other), on every layout.

        Raises:
            InvalidSessionError: a session has a shape that would not read back as
                given (``memory`` not a dict, ``memory["runs"]`` not a list, ...);
                nothing was written.
        """
        # materialised once (a retried call must see the same batch)
        given = list(sessions)
        for session in given:
            check_session(session)
        # sorted by id; the sort is stable, so a repeated id keeps its last occurrence
        ordered = sorted(given, key=lambda s: s.session_id)
        batch = list({s.session_id: s for s in ordered}.values()) if len(given) > 1 else given
        written = self._upsert_sorted(batch)
        if written:
            now = batch[0].updated_at
            for session in given:  # the repeats too, as if each had been upserted
                session.updated_at = now
        return written

    @consistent
    def _upsert_sorted(self, batch: list[Session]) -> int:
        layout = self._writable("upsert")
        if not batch:
            return 0
        now_ms = int(time.time() * 1000)
        now = now_ms // 1000
        layout.write_sessions(batch, now_ms)
        for session in batch:
            session.updated_at = now
        return len(batch)

    @consistent
    def get_all_session_ids(
        self, user_id: str | None = None, entity_id: str | None = None
    ) -> list[str]:
        """Every session id, newest first, optionally for one user and/or entity."""
        layout = self._current()
        if layout is None:
            return []
        return layout.session_ids(user_id, entity_id)

    def get_all_sessions(
        self, user_id: str | None = None, entity_id: str | None = None
    ) -> list[Session]:
        """Every session (runs included), newest first, as a list (agno 1.x's API):
        the whole table is in memory at once. Read page by page with
        :meth:`iter_sessions` to keep memory bounded.

        A session whose row cannot be decoded is left out, and a
        :class:`~agno_nb.errors.CorruptSessionWarning` names it (with the error
        ``list_sessions()`` shows on its row): the others still load, and no
        half-read session is handed out to be written back (the same holds for
        each page of :meth:`iter_sessions`).
        """
        return list(self.iter_sessions(user_id, entity_id))

    def iter_sessions(
        self,
        user_id: str | None = None,
        entity_id: str | None = None,
        *,
        limit: int | None = None,
        page_size: int = 200,
    ) -> Iterator[Session]:
        """Every session (runs included), newest first, read ``page_size`` at a
        time: memory holds the session ids and one page of sessions.

        The ids are taken when iteration starts; a session deleted meanwhile is
        skipped, one created meanwhile is not included. The arguments are checked
        at the call, before iteration.

        Args:
            user_id: only this user's sessions.
            entity_id: only this agent's (team's, workflow's) sessions.
            limit: at most this many (the newest).
            page_size: sessions per query.

        Raises:
            InvalidArgumentError: ``limit`` is negative or ``page_size`` below 1.
        """
        check_page(limit)
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise InvalidArgumentError(
                f"page_size={page_size!r} is not a page size: pass a whole number 1 or more"
            )
        return self._iter_sessions(user_id, entity_id, limit, page_size)

    def _iter_sessions(
        self, user_id: str | None, entity_id: str | None, limit: int | None, page_size: int
    ) -> Iterator[Session]:
        ids = self.get_all_session_ids(user_id, entity_id)[:limit]
        for start in range(0, len(ids), page_size):
            yield from self._sessions_by_ids(ids[start : start + page_size])

    @consistent
    def _sessions_by_ids(self, session_ids: list[str]) -> list[Session]:
        layout = self._current()
        return [] if layout is None else layout.sessions_by_ids(session_ids)

    def get_recent_sessions(
        self, user_id: str | None = None, entity_id: str | None = None, limit: int | None = 2
    ) -> list[Session]:
        """The ``limit`` newest sessions (runs included); corrupt rows are left
        out with a warning, as in :meth:`get_all_sessions`."""
        return self._sessions(user_id, entity_id, limit)

    @consistent
    def _sessions(
        self, user_id: str | None, entity_id: str | None, limit: int | None
    ) -> list[Session]:
        check_page(limit)
        layout = self._current()
        if layout is None:
            return []
        return layout.sessions(user_id, entity_id, limit)

    @consistent
    def delete_session(self, session_id: str | None = None) -> None:
        """Delete a session and its runs (nothing happens if it does not exist)."""
        if session_id is None:
            raise AgnoNbError("delete_session() needs a session_id")
        layout = self._current()
        if layout is None:
            return
        layout.refuse("delete_session")
        layout.delete_session(session_id)
        run_labels.delete_session_labels(self, session_id)

    def upgrade_schema(
        self,
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
        skip_corrupt: bool = False,
    ) -> UpgradePlan:
        """Upgrade the table to the latest layout, or with ``dry_run`` only plan it.

        Each step runs in one transaction with its version stamp: an interrupted
        upgrade leaves the table at the old or the new version. A second process
        upgrading at the same time waits, then finds the work done.

        Every session's runs are moved, or the upgrade stops: a row whose JSON
        cannot be decoded (or whose ``memory`` holds no dict, or whose
        ``created_at`` is not a time) stops it with MigrationError naming the rows.
        With ``skip_corrupt=True`` those rows are left exactly as they were and
        listed in the result's ``skipped``; their runs stay in their JSON and are
        read from there, so fixing such a row later loses nothing, and the next
        ``append_run`` or ``upgrade_schema()`` moves them.

        Raises:
            MigrationError: rows cannot be moved, or a step failed; the table stays
                at the version before that step.
            SchemaTooNewError: the table is newer than this agno_nb.
            AgnoNbError: the table's family is not upgraded by agno_nb.
        """
        return upgrade.upgrade(self, dry_run=dry_run, progress=progress, skip_corrupt=skip_corrupt)

    def _running_upgrade(self) -> str | None:
        """A clause naming an upgrade of this table under way, or None."""
        return upgrade.running(self)

    # -- listing without payloads ---------------------------------------------------------

    @consistent
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
        (on agno's v1 layout only the page's rows are decoded).

        ``search`` keeps the sessions whose name, id, run ids or message content
        hold it, compared caselessly (Unicode NFKC + casefold; see
        ``agno_nb.summary``). On the latest layout the database matches stored
        folded text; on older layouts rows are decoded and matched in Python
        until the page is full, which reads the whole table for a rare term.

        Raises:
            InvalidArgumentError: ``limit`` or ``offset`` is negative.
        """
        check_page(limit, offset)
        layout = self._current()
        if layout is None:
            return []
        return layout.list_sessions(Listing(user_id, entity_id, search, limit, offset))

    @consistent
    def get_summary(self, session_id: str, *, user_id: str | None = None) -> SessionSummary | None:
        """The summary of the session with ``session_id`` (one lookup by key), or
        None when there is none, or when ``user_id`` is given and the session is
        another user's."""
        layout = self._current()
        if layout is None:
            return None
        return layout.get_summary(session_id, user_id)

    @consistent
    def count_sessions(
        self,
        *,
        user_id: str | None = None,
        entity_id: str | None = None,
        search: str | None = None,
    ) -> int:
        """How many sessions match the filters."""
        layout = self._current()
        if layout is None:
            return 0
        return layout.count_sessions(Listing(user_id, entity_id, search))

    @consistent
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
            InvalidArgumentError: ``limit`` or ``offset`` is negative.
        """
        check_page(limit, offset)
        layout = self._current()
        if layout is None:
            raise self.not_found(session_id)
        return layout.get_runs(session_id, limit, offset, newest_first)

    @consistent
    def count_runs(self, session_id: str) -> int:
        """How many runs a session has (SessionNotFoundError if it does not exist)."""
        layout = self._current()
        if layout is None:
            raise self.not_found(session_id)
        return layout.count_runs(session_id)

    # -- writes that touch one run or one field -------------------------------------------

    @consistent
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
        check_run(session_id, run)
        if session_data is not None and not isinstance(session_data, dict):
            raise InvalidSessionError(
                f"session {session_id!r}: session_data is a {type(session_data).__name__}, "
                "not a dict or None; nothing was written: pass a dict"
            )
        layout = self._writable("append_run")
        return layout.append_run(session_id, dict(run), session_data)

    @consistent
    def rename_session(self, session_id: str, name: str) -> None:
        """Set the session's name (``session_data["session_name"]``).

        Raises:
            SessionNotFoundError: no such session.
        """
        layout = self._writable("rename_session")
        layout.rename_session(session_id, name)

    def sessions_df(
        self,
        *,
        user_id: str | None = None,
        entity_id: str | None = None,
        search: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Session summaries as a pandas DataFrame (one row per session, newest first).

        Where the dialect builds frames itself (DuckDB) and the layout can say
        its summaries as one SELECT, the database makes the frame; else it is
        made from ``list_sessions``."""
        from agno_nb.storage.frames import summaries_frame

        check_page(limit)
        if type(self.dialect).summary_frame is not Dialect.summary_frame:
            frame = self._frame_in_database(user_id, entity_id, search, limit)
            if frame is not None:
                return frame
        return summaries_frame(
            self.list_sessions(user_id=user_id, entity_id=entity_id, search=search, limit=limit)
        )

    @consistent  # another process may upgrade the table under it
    def _frame_in_database(
        self,
        user_id: str | None,
        entity_id: str | None,
        search: str | None,
        limit: int | None,
    ) -> pd.DataFrame | None:
        """The summaries frame made by the database from the layout's summary
        SELECT; None when the layout has none or a session is stored as given
        (its summary is then computed in Python)."""
        from agno_nb.storage.frames import SUMMARY_COLUMNS, to_utc

        layout = self._current()
        query = (
            None
            if layout is None
            else layout.summary_select(Listing(user_id, entity_id, search, limit))
        )
        if query is None:
            return None
        with self.read_conn() as conn:
            frame = self.dialect.summary_frame(conn, query)
        if frame is None:
            return None
        self.stats.queries += 1
        self.stats.rows += len(frame)
        if frame["run_count"].isna().any():
            return None
        frame["error"] = None
        return to_utc(frame[list(SUMMARY_COLUMNS)])

    def messages_df(
        self,
        session_id: str | None = None,
        *,
        user_id: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Every message (history copies left out) as a DataFrame, one row each.

        ``session_id`` picks one session; otherwise the ``limit`` newest sessions
        (all by default), optionally of one user, read a page of sessions at a
        time (:meth:`iter_sessions`): memory holds the frame and one page.
        """
        from agno_nb.storage.frames import messages_frame

        if session_id is not None:
            return messages_frame([self._require(session_id)])
        return messages_frame(self.iter_sessions(user_id, limit=limit))

    # -- labels (storage/labels.py) ------------------------------------------------------

    # Labelling is storage/labels.py's: its functions, which take the storage first,
    # serve as these methods.
    label_run = run_labels.label_run
    labels = run_labels.labels
    labels_df = run_labels.labels_df
    delete_label = run_labels.delete_label

    # -- helpers --------------------------------------------------------------------------

    def insert_into(self, table: sa.Table) -> Any:
        """The dialect's INSERT construct for ``table``, with ``on_conflict_do_update``."""
        return self.dialect.insert(table)

    def upsert_statement(self, table: sa.Table, keys: tuple[str, ...]) -> Any:
        """INSERT of rows with ``keys`` ... ON CONFLICT (session_id) DO UPDATE of
        every key but the ones a session keeps (its id and creation times); built
        once, then executed with parameters (so compiled forms are cached)."""
        key = ("upsert", id(table), keys)
        statement = self.statements.get(key)
        if statement is None:
            insert = self.dialect.insert(table)
            kept = ("session_id", "created_at", "created_ms")
            statement = insert.on_conflict_do_update(
                index_elements=["session_id"],
                set_={c: insert.excluded[c] for c in keys if c not in kept},
            )
            self.statements[key] = statement
        return statement

    def write_steps(self, steps: Sequence[tuple[Any, list[dict[str, Any]]]]) -> None:
        """Execute each statement once per parameter row, all in one write
        transaction (a step without rows is skipped). A backend may run these
        fixed statements closer to its driver."""
        with self.write_conn() as conn:
            for statement, rows in steps:
                if rows:
                    self.run_statement(conn, statement, rows)

    def _require(self, session_id: str) -> Session:
        session = self.read(session_id)
        if session is None:
            raise self.not_found(session_id)
        return session

    def not_found(self, session_id: str) -> SessionNotFoundError:
        return SessionNotFoundError(
            f"no session {session_id!r} in {self.ref.qualified}: check the id "
            "(get_all_session_ids() lists them)"
        )
