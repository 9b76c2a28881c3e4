"""Which layout a storage's table has, and keeping that answer right.

A version stamp in agno_nb's version table decides (:func:`detect`); a table
without one is recognised by a layout family from its columns
(``storage/layouts``). The storage caches the answer (:func:`current`, with
its ``auto_upgrade_schema``); on an old layout each transaction first checks
that nobody upgraded the table since (:func:`recheck`), else the call is
redone on the new layout. :func:`stamp` writes a table's stamp, in the
transaction that creates (:func:`create`) or upgrades it; :func:`drop`
removes the table with its stamp. ``BaseStorage`` delegates ``create()``,
``drop()``, ``current_version`` and ``_current()`` here.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from agno_nb.errors import AgnoNbError, SchemaTooNewError, SchemaTooOldError
from agno_nb.schema import LATEST_VERSION
from agno_nb.storage._calls import _LayoutChanged
from agno_nb.storage.layouts import Layout, layout_for_version, recognise

if TYPE_CHECKING:
    from agno_nb.storage.base import BaseStorage


# -- detection -------------------------------------------------------------------------


def detect(storage: BaseStorage, conn: Connection) -> Layout | None:
    """The table's layout on ``conn``: None when it does not exist. A version
    stamp decides; an unstamped table is recognised by a family from its
    columns (see ``storage/layouts``).

    Raises:
        SchemaTooNewError: the stamp is newer than this agno_nb knows.
    """
    inspector = sa.inspect(conn)
    storage.stats.queries += 1
    if not storage._has_table(conn, storage.table_name):
        return None
    if inspector.has_table(storage._versions.name, schema=storage.schema):
        found = storage._run(conn, stamp_query(storage)).scalar()
        if found is not None:
            return layout_for_version(storage, int(found))
    layout = recognise(storage, conn, inspector, _columns(storage, conn))
    if layout is None:  # pragma: no cover - agno 1.x's family takes any table
        raise AgnoNbError(f"table {storage._ref.qualified} has a layout agno_nb does not know")
    return layout


def _columns(storage: BaseStorage, conn: Connection) -> set[str]:
    """The table's column names (portable: DuckDB lacks Postgres' catalogs)."""
    probe = (
        sa.select(sa.text("*"))
        .select_from(sa.table(storage.table_name, schema=storage.schema))
        .limit(0)
    )
    return set(storage._run(conn, probe).keys())


def recheck(storage: BaseStorage, conn: Connection) -> None:
    """On an old layout, confirm inside this transaction that nobody upgraded
    the table since it was looked at; else refresh and redo the call."""
    known = storage._layout
    if not storage._layout_known or known is None or not known.needs_upgrade:
        return
    storage._hold_layout(conn)
    storage.stats.queries += 1
    if not sa.inspect(conn).has_table(storage._versions.name, schema=storage.schema):
        return
    found = storage._run(conn, stamp_query(storage)).scalar()
    if found is not None and int(found) != known.version:
        storage._tables.clear()
        storage._statements.clear()
        try:
            storage._layout = layout_for_version(storage, int(found))
        except SchemaTooNewError:
            storage._layout_known = False  # the redone call detects again, and says so
        raise _LayoutChanged


# -- the cached layout -----------------------------------------------------------------


def current(storage: BaseStorage) -> Layout | None:
    """The cached layout (None: table missing), detected on first use;
    upgrades it first with ``auto_upgrade_schema``."""
    if not storage._layout_known:
        with storage._read(check=False) as conn:
            storage._layout = detect(storage, conn)
        storage._layout_known = storage._layout is not None
    layout = storage._layout
    if layout is not None and layout.needs_upgrade and storage.auto_upgrade_schema:
        storage.upgrade_schema()
        layout = storage._layout
    return layout


def writable(storage: BaseStorage, operation: str) -> Layout:
    """The layout to do ``operation`` in, creating the table if it is missing.

    Raises:
        SchemaTooOldError: ``schema_version`` asks for more than the table has.
        AgnoNbError: the table's family refuses ``operation``.
    """
    layout = current(storage)
    if layout is None:
        storage.create()
        layout = current(storage)
        assert layout is not None
    layout.refuse(operation)
    wanted, version = storage.schema_version, layout.version
    if wanted is not None and version is not None and wanted > version:
        raise SchemaTooOldError(
            f"table {storage._ref.qualified} is at layout v{version} but schema_version="
            f"{wanted} was asked: run storage.upgrade_schema() first "
            "(or pass auto_upgrade_schema=True)"
        )
    return layout


def version_now(storage: BaseStorage) -> int | None:
    """The table's layout version now (None when the table does not exist)."""
    with storage._read(check=False) as conn:
        try:
            layout = detect(storage, conn)
        except SchemaTooNewError:  # report the number all the same
            return int(storage._run(conn, stamp_query(storage)).scalar_one())
    return None if layout is None else layout.version


# -- creating and dropping -------------------------------------------------------------


def create(storage: BaseStorage) -> None:
    """Create the table at ``schema_version`` (default latest), stamped, if it is missing."""
    version = LATEST_VERSION if storage.schema_version is None else storage.schema_version
    with storage._write(check=False) as conn:
        storage._create_schema(conn)
        storage._lock_table(conn)
        existing = detect(storage, conn)
        if existing is None:
            existing = layout_for_version(storage, version)
            existing.create(conn)
            stamp(storage, conn, version)
    storage._layout, storage._layout_known = existing, True


def drop(storage: BaseStorage) -> None:
    """Drop the table, its runs table and its stamp (unless its family refuses)."""
    with storage._read(check=False) as conn:
        try:
            found = detect(storage, conn)
        except SchemaTooNewError:  # a newer agno_nb's table: ours to drop all the same
            found = None
    if found is not None:
        found.refuse("drop")
    with storage._write(check=False) as conn:
        for table in (storage._runs, storage._table(1)):
            if storage._has_table(conn, table.name):
                table.drop(conn)
        if sa.inspect(conn).has_table(storage._versions.name, schema=storage.schema):
            storage._run(conn, storage._versions.delete().where(same_table(storage)))
    storage._layout, storage._layout_known = None, False


# -- the version table -----------------------------------------------------------------


def same_table(storage: BaseStorage) -> Any:
    """The version-table condition naming this table the way the database
    names tables: SQLite and DuckDB take ``Agent_Sessions`` and
    ``agent_sessions`` for one table; Postgres tells them apart (SQLAlchemy
    quotes a name with capitals there)."""
    column = storage._versions.c.table_name
    if storage.backend in ("sqlite", "duckdb"):
        return sa.func.lower(column) == storage.table_name.lower()
    return column == storage.table_name


def stamp_query(storage: BaseStorage) -> sa.Select[Any]:
    """The table's version stamp (the highest, should case variants of its
    name have been stamped apart by an older agno_nb)."""
    v = storage._versions
    return sa.select(sa.func.max(v.c.layout_version)).where(same_table(storage))


def stamp(storage: BaseStorage, conn: Connection, version: int) -> None:
    """Record in ``conn``'s transaction that the table is at layout ``version``."""
    storage._versions.create(conn, checkfirst=True)
    v = storage._versions
    storage._run(conn, v.delete().where(same_table(storage)))
    storage._run(
        conn,
        v.insert().values(
            table_name=storage.table_name,
            layout_version=version,
            mode=storage.mode,
            updated_at=int(time.time()),
        ),
    )
