"""Table-layout families: one module each, behind the :class:`Layout` interface.

A *family* is one way of keeping sessions in tables: agno 1.x's table with the
runs inside a JSON column (:mod:`.agno1`, layouts v0/v1), agno_nb's summary
columns plus a ``<table>_runs`` table (:mod:`.rows`, layouts v2 to v5), or agno
2.x/3.x's ``agno_sessions`` with its ``runs`` column and/or ``agno_runs`` table
(:mod:`.agnodb`, read in place, unstamped). The
backends (``storage/<db>.py``) say how a database differs; a family says how a
table layout differs. :class:`~agno_nb.storage.base.BaseStorage` owns the
public API, connections, error translation, layout detection, version stamps
and upgrades, and hands every session operation to the ``Layout`` object of
the table it found.

Adding a family (agno 2.x/3.x's ``agno_sessions``, say) is one new module here
plus one line at the bottom of this file that imports it:

1. Subclass :class:`Layout`, set ``family`` and ``priority`` (lower is asked
   first; agno 1.x is last), and leave ``versions`` empty unless agno_nb
   stamps tables of this family in its version table. ``expects`` and
   ``expected_columns()`` name the family and the columns it needs in the
   one line a table no family recognises gets.
2. ``recognise(storage, conn, inspector, columns)``: return a bound layout
   when the existing table (its ``columns``, other tables through the
   ``inspector``) is one of yours, else None. It is asked only for tables that
   have no agno_nb version stamp, in ``priority`` order, once per storage.
3. Build your SQLAlchemy tables in ``__init__`` (``storage.table_name``,
   ``storage.schema``, ``storage.mode``, ``storage.backend``).
4. Implement the abstract operations. Run SQL through the storage's plumbing:
   ``storage.read_conn()`` / ``storage.write_conn()`` (connections, error translation,
   the ``consistent`` re-check), ``storage.fetch_all()`` / ``storage.run_statement()``
   (which keep ``storage.stats``), ``storage.write_steps()`` for batched
   writes and ``storage.not_found(session_id)`` for a missing session.
5. A family that must not be written by agno_nb (or only partly) overrides
   :meth:`Layout.refuse`: it raises an ``AgnoNbError`` whose one line says what
   agno_nb does with these tables and what to use instead. The storage calls
   it before every write (``upsert``, ``append_run``, ``rename_session``,
   ``delete_session``, ``upgrade_schema``, ``drop``).
6. ``version`` (the instance attribute) is None for a family agno_nb does not
   stamp: the storage then never runs upgrades or the stamp re-check on it,
   and ``current_version`` reports None (``label`` says what the table is).

Left to the storage whatever the family: ``drop()`` drops ``<table>``,
``<table>_runs`` and the table's stamp, and ``sessions_df``/``messages_df``
are built from ``list_sessions``/``read`` (or ``summary_select`` on DuckDB).
``tests/test_layouts.py`` plugs in a stand-in family this way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Inspector

from agno_nb.errors import AgnoNbError, SchemaTooNewError
from agno_nb.migrations import StepStats
from agno_nb.schema import LATEST_VERSION

if TYPE_CHECKING:
    from agno_nb.codec import SessionSummary
    from agno_nb.sessions import Session
    from agno_nb.storage.base import BaseStorage

#: One batched write: a statement and the parameter rows it runs with.
WriteSteps = list[tuple[Any, list[dict[str, Any]]]]

__all__ = [
    "FAMILIES",
    "Layout",
    "WriteSteps",
    "layout_for_version",
    "recognise",
    "register",
]


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

    @classmethod
    def expected_columns(cls, storage: BaseStorage) -> tuple[str, ...]:
        """The columns a table of this family needs (for the "unknown table" message)."""
        return ()

    def __init__(self, storage: BaseStorage, version: int | None) -> None:
        self.storage = storage
        self.version = version

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.family} v{self.version}>"

    # -- recognition and life cycle ----------------------------------------------------

    @classmethod
    @abstractmethod
    def recognise(
        cls, storage: BaseStorage, conn: Connection, inspector: Inspector, columns: set[str]
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
        ``delete_session``, ``upgrade_schema``, ``drop``); the default allows all."""
        return None

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
    def list_sessions(
        self,
        user_id: str | None,
        entity_id: str | None,
        search: str | None,
        limit: int | None,
        offset: int,
    ) -> list[SessionSummary]:
        """One page of summaries, newest first, without decoding other rows."""

    def summary_select(
        self,
        user_id: str | None,
        entity_id: str | None,
        search: str | None,
        limit: int | None,
        offset: int,
    ) -> sa.Select[Any] | None:
        """A SELECT whose rows are finished summaries (the SessionSummary fields
        but ``error``), for backends that build frames in the database; None
        (the default) when summaries are computed in Python."""
        return None

    @abstractmethod
    def count_sessions(self, user_id: str | None, entity_id: str | None, search: str | None) -> int:
        """How many sessions match."""

    def get_summary(self, session_id: str, user_id: str | None) -> SessionSummary | None:
        """One session's summary (None if it is missing, or is not ``user_id``'s).

        The default pages through ``list_sessions``; a family overrides it with
        a lookup by key.
        """
        offset = 0
        while True:
            page = self.list_sessions(user_id, None, None, 500, offset)
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


FAMILIES: list[type[Layout]] = []


def register(family: type[Layout]) -> type[Layout]:
    """Add ``family`` to the registry (a class decorator), keeping priority order."""
    if family not in FAMILIES:
        FAMILIES.append(family)
        FAMILIES.sort(key=lambda f: f.priority)
    return family


def layout_for_version(storage: BaseStorage, version: int) -> Layout:
    """The layout of a table stamped (or to be created) at agno_nb ``version``.

    Raises:
        SchemaTooNewError: no family knows ``version`` (a newer agno_nb wrote it).
    """
    for family in FAMILIES:
        if version in family.versions:
            return family(storage, version)
    raise SchemaTooNewError(
        f"table {storage.ref.qualified} has layout v{version}, newer than this agno_nb "
        f"knows (v{LATEST_VERSION}): upgrade agno_nb (pip install -U agno_nb)"
    )


def recognise(
    storage: BaseStorage, conn: Connection, inspector: Inspector, columns: set[str]
) -> Layout | None:
    """The first family (by priority) that recognises an unstamped table.

    Raises:
        AgnoNbError: no family does; the line names the columns each expects.
    """
    for family in FAMILIES:
        layout = family.recognise(storage, conn, inspector, columns)
        if layout is not None:
            return layout
    expected = "; ".join(
        f"{f.expects} ({', '.join(f.expected_columns(storage))})" for f in FAMILIES if f.expects
    )
    raise AgnoNbError(
        f"table {storage.ref.qualified} is not a session table agno_nb knows (its columns: "
        f"{', '.join(sorted(columns))}): expected {expected}; pick another table (--table)"
    )


# Registration: importing a family's module registers it (keep this list last).
from agno_nb.storage.layouts import agno1, agnodb, rows  # noqa: E402, F401
