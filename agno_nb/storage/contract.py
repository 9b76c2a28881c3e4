"""What the layers of the storage promise each other.

:class:`StorageCore` is the plumbing a storage offers the modules below its
façade (layouts, detection, upgrades): connections that translate driver
errors (``read_conn``/``write_conn``), statements that keep ``stats``
(``fetch_all``/``run_statement``), the table objects and the statement cache.
:class:`~agno_nb.storage.base.BaseStorage` fills it in; nothing here imports it.

:class:`Layout` is what a table-layout family implements (see
``docs/architecture.md``, "Add a layout family"): it names only public calls
of :class:`StorageCore`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Inspector

from agno_nb.errors import AgnoNbError
from agno_nb.migrations import StepStats, TableRef, UpgradePlan
from agno_nb.schema import LATEST_VERSION

if TYPE_CHECKING:
    from agno_nb.codec import SessionSummary
    from agno_nb.dialects import Dialect
    from agno_nb.errors import SessionNotFoundError
    from agno_nb.sessions import Session
    from agno_nb.storage.versioned import RunCache, VersionedDb

#: Everything a family can let agno_nb do with its tables: ``read`` (every read),
#: ``write`` (upsert, append_run), ``rename``, ``delete`` (delete_session), ``upgrade``
#: (upgrade_schema) and ``drop``.
CAPABILITIES = ("read", "write", "rename", "delete", "upgrade", "drop")

#: The capability each storage operation needs (what :meth:`Layout.refuse` is asked about).
OPERATION_NEEDS = {
    "upsert": "write",
    "append_run": "write",
    "rename_session": "rename",
    "delete_session": "delete",
    "upgrade_schema": "upgrade",
    "drop": "drop",
}

__all__ = [
    "CAPABILITIES",
    "OPERATION_NEEDS",
    "Layout",
    "LayoutChanged",
    "Listing",
    "StorageCore",
    "StorageStats",
    "WriteSteps",
]

#: One batched write: a statement and the parameter rows it runs with.
WriteSteps = list[tuple[Any, list[dict[str, Any]]]]


@dataclass(frozen=True, slots=True)
class Listing:
    """Which sessions a listing wants: the filters (a user, an entity, a search
    term), then the page (``limit`` None: all). Counting reads only the filters."""

    user_id: str | None = None
    entity_id: str | None = None
    search: str | None = None
    limit: int | None = None
    offset: int = 0


@dataclass
class StorageStats:
    """Counters of the work a storage did: queries run and rows fetched."""

    queries: int = 0
    rows: int = 0


class LayoutChanged(Exception):
    """Raised inside a call when another process changed the table's layout under
    it: ``base.consistent`` redoes the call."""


class StorageCore(Protocol):
    """The storage as its layouts, its layout detection and its upgrades see it."""

    table_name: str
    schema: str | None
    mode: str
    schema_version: int | None
    auto_upgrade_schema: bool
    db_engine: Engine
    stats: StorageStats
    #: statements and column lists built once per table layout (cleared with it)
    statements: dict[tuple[Any, ...], Any]
    #: SQLAlchemy tables of this storage's table, by layout version
    tables_by_version: dict[int, sa.Table]
    run_cache: RunCache
    #: whether the engine encodes JSON with ``codec.encode_json`` (which writes a
    #: ``StoredRun`` as its stored text)
    encodes_json: bool
    #: the layout found (None: not looked up yet, or the table is missing)
    cached_layout: Layout | None
    layout_known: bool
    run_table: sa.Table
    versions_table: sa.Table
    entity_column: str

    #: what differs per database (upsert construct, row locks, JSON, search...)
    dialect: Dialect

    @property
    def backend(self) -> str: ...

    @property
    def ref(self) -> TableRef: ...

    def read_conn(self, *, check: bool = True) -> AbstractContextManager[Connection]: ...

    def write_conn(self, *, check: bool = True) -> AbstractContextManager[Connection]: ...

    def fetch_all(self, conn: Connection, statement: sa.Executable) -> list[Any]: ...

    def run_statement(
        self, conn: Connection, statement: sa.Executable, params: Any = None
    ) -> Any: ...

    def table_at(self, version: int) -> sa.Table: ...

    def has_table(self, conn: Connection, name: str) -> bool: ...

    def for_update(self, query: sa.Select[Any]) -> sa.Select[Any]: ...

    def lock_table(self, conn: Connection) -> None: ...

    def hold_layout(self, conn: Connection) -> None: ...

    def create_schema(self, conn: Connection) -> None: ...

    def versioned(self, *, write: bool) -> AbstractContextManager[VersionedDb | None]: ...

    def upsert_statement(self, table: sa.Table, keys: tuple[str, ...]) -> Any: ...

    def insert_into(self, table: sa.Table) -> Any: ...

    def write_steps(self, steps: Sequence[tuple[Any, list[dict[str, Any]]]]) -> None: ...

    def not_found(self, session_id: str) -> SessionNotFoundError: ...

    def forget_layout(self) -> None: ...

    def use_layout(self, layout: Layout | None) -> None: ...

    def create(self) -> None: ...

    def upgrade_schema(
        self, *, dry_run: bool = False, progress: Any = None, skip_corrupt: bool = False
    ) -> UpgradePlan: ...


class Layout(ABC):
    """One table-layout family, bound to one storage (and one layout version).

    Instances are made by the storage once it knows the table's layout; they
    hold the family's SQLAlchemy tables and run every session operation.
    """

    #: Short name of the family (shown in messages and reprs).
    family: ClassVar[str] = ""
    #: agno_nb layout versions (version-table stamps) this family serves.
    versions: ClassVar[tuple[int, ...]] = ()
    #: Order in which families are asked to recognise an unstamped table.
    priority: ClassVar[int] = 50
    #: What the family's tables are, for the "unknown table" message ("" = not listed).
    expects: ClassVar[str] = ""
    #: What agno_nb does with this family's tables (a subset of :data:`CAPABILITIES`);
    #: :meth:`refuse` raises for the operations of a capability left out. A family may
    #: narrow it per table (an instance attribute), e.g. by the table's session type.
    capabilities: frozenset[str] = frozenset(CAPABILITIES)

    @classmethod
    def expected_columns(cls, storage: StorageCore) -> tuple[str, ...]:
        """The columns a table of this family needs (for the "unknown table" message)."""
        return ()

    def __init__(self, storage: StorageCore, version: int | None) -> None:
        self.storage = storage
        self.version = version

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.family} v{self.version}>"

    # -- recognition and life cycle ----------------------------------------------------

    @classmethod
    @abstractmethod
    def recognise(
        cls, storage: StorageCore, conn: Connection, inspector: Inspector, columns: set[str]
    ) -> Layout | None:
        """A layout bound to ``storage`` if its existing, unstamped table (whose
        column names are ``columns``) belongs to this family, else None."""

    @abstractmethod
    def create(self, conn: Connection) -> None:
        """Create this family's tables for a new, empty storage table."""

    @property
    def label(self) -> str:
        """What the table is, for messages (``layout v3``)."""
        return f"layout v{self.version}"

    def refuse(self, operation: str) -> None:
        """Raise an AgnoNbError if this family does not let agno_nb do
        ``operation`` (``upsert``, ``append_run``, ``rename_session``,
        ``delete_session``, ``upgrade_schema``, ``drop``: see
        :data:`OPERATION_NEEDS`). The default raises for an operation whose
        capability the family does not declare; a family overrides it to say
        what to use instead."""
        needed = OPERATION_NEEDS.get(operation)
        if needed is not None and needed not in self.capabilities:
            raise AgnoNbError(
                f"{operation} refused: agno_nb does not {needed} tables of the "
                f"{self.family} family ({self.label})"
            )

    def move_held(self, conn: Connection) -> StepStats:
        """Finish what an earlier upgrade left (in the caller's transaction): move
        the runs of rows it could not move and that have been fixed since; rows
        still unreadable are reported in ``unmoved``. The default has none."""
        return StepStats()

    @property
    def needs_upgrade(self) -> bool:
        """Whether ``upgrade_schema()`` has migrations to apply to this table."""
        return self.version is not None and self.version < LATEST_VERSION

    # -- reads --------------------------------------------------------------------------

    @abstractmethod
    def read(self, session_id: str, user_id: str | None) -> Session | None:
        """One whole session (runs included), or None."""

    @abstractmethod
    def sessions(
        self, user_id: str | None, entity_id: str | None, limit: int | None
    ) -> list[Session]:
        """Whole sessions, newest first, at most ``limit``."""

    @abstractmethod
    def session_ids(self, user_id: str | None, entity_id: str | None) -> list[str]:
        """Session ids, newest first."""

    @abstractmethod
    def list_sessions(self, want: Listing) -> list[SessionSummary]:
        """One page of summaries, newest first, without decoding other rows."""

    def summary_select(self, want: Listing) -> sa.Select[Any] | None:
        """A SELECT whose rows are finished summaries (the SessionSummary fields
        but ``error``), for backends that build frames in the database; None
        (the default) when summaries are computed in Python."""
        return None

    @abstractmethod
    def count_sessions(self, want: Listing) -> int:
        """How many sessions match ``want``'s filters (its page is not read)."""

    def get_summary(self, session_id: str, user_id: str | None) -> SessionSummary | None:
        """One session's summary (None if it is missing, or is not ``user_id``'s).

        The default pages through ``list_sessions``; a family overrides it with
        a lookup by key.
        """
        offset = 0
        while True:
            page = self.list_sessions(Listing(user_id, limit=500, offset=offset))
            for summary in page:
                if summary.session_id == session_id:
                    return summary
            if len(page) < 500:
                return None
            offset += len(page)

    def sessions_by_ids(self, session_ids: Sequence[str]) -> list[Session]:
        """Whole sessions for ``session_ids``, in that order (missing ones left
        out). The default reads them one by one; a family overrides it with one
        query per page."""
        found = (self.read(sid, None) for sid in session_ids)
        return [session for session in found if session is not None]

    @abstractmethod
    def get_runs(
        self, session_id: str, limit: int | None, offset: int, newest_first: bool
    ) -> list[dict[str, Any]]:
        """A page of one session's runs (SessionNotFoundError if it is missing)."""

    @abstractmethod
    def count_runs(self, session_id: str) -> int:
        """How many runs a session has (SessionNotFoundError if it is missing)."""

    # -- writes -------------------------------------------------------------------------

    @abstractmethod
    def upsert_steps(self, batch: Sequence[Session], now_ms: int) -> WriteSteps:
        """The statements (and parameter rows) that insert or replace ``batch``;
        the storage runs them in one transaction."""

    def write_sessions(self, batch: Sequence[Session], now_ms: int) -> None:
        """Insert or replace ``batch`` in one transaction: by default the
        statements of :meth:`upsert_steps`; a family may write less when it can
        prove what is already stored."""
        self.storage.write_steps(self.upsert_steps(batch, now_ms))

    @abstractmethod
    def append_run(
        self, session_id: str, run: dict[str, Any], session_data: Mapping[str, Any] | None
    ) -> int:
        """Add one run to an existing session; its index."""

    @abstractmethod
    def rename_session(self, session_id: str, name: str) -> None:
        """Set the session's name (SessionNotFoundError if it is missing)."""

    @abstractmethod
    def delete_session(self, session_id: str) -> None:
        """Delete a session and its runs (no error if it is missing)."""
