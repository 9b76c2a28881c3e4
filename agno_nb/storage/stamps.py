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

import contextlib
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from agno_nb.errors import AgnoNbError, SchemaTooNewError, SchemaTooOldError
from agno_nb.schema import LATEST_VERSION
from agno_nb.storage import catalog
from agno_nb.storage.contract import Layout, LayoutChanged, StorageCore
from agno_nb.storage.layouts import layout_for_version, recognise

# -- detection -------------------------------------------------------------------------


def detect(storage: StorageCore, conn: Connection) -> Layout | None:
    """The table's layout on ``conn``: None when it does not exist. A version
    stamp decides; an unstamped table is recognised by a family from its
    columns (see ``storage/layouts``).

    Raises:
        SchemaTooNewError: the stamp is newer than this agno_nb knows.
    """
    inspector = sa.inspect(conn)
    storage.stats.queries += 1
    if not storage.has_table(conn, storage.table_name):
        return None
    if inspector.has_table(storage.versions_table.name, schema=storage.schema):
        found = storage.run_statement(conn, stamp_query(storage)).scalar()
        if found is not None:
            return layout_for_version(storage, int(found))
    layout = recognise(storage, conn, inspector, _columns(storage, conn))
    if layout is None:  # pragma: no cover - agno 1.x's family takes any table
        raise AgnoNbError(f"table {storage.ref.qualified} has a layout agno_nb does not know")
    return layout


def _columns(storage: StorageCore, conn: Connection) -> set[str]:
    """The table's column names (portable: DuckDB lacks Postgres' catalogs)."""
    probe = (
        sa.select(sa.text("*"))
        .select_from(sa.table(storage.table_name, schema=storage.schema))
        .limit(0)
    )
    return set(storage.run_statement(conn, probe).keys())


def recheck(storage: StorageCore, conn: Connection) -> None:
    """On an old layout, confirm inside this transaction that nobody upgraded
    the table since it was looked at; else refresh and redo the call."""
    known = storage.cached_layout
    if not storage.layout_known or known is None or not known.needs_upgrade:
        return
    storage.hold_layout(conn)
    storage.stats.queries += 1
    if not sa.inspect(conn).has_table(storage.versions_table.name, schema=storage.schema):
        return
    found = storage.run_statement(conn, stamp_query(storage)).scalar()
    if found is not None and int(found) != known.version:
        storage.forget_layout()
        with contextlib.suppress(SchemaTooNewError):  # if so, the redone call detects and says so
            storage.use_layout(layout_for_version(storage, int(found)))
        raise LayoutChanged


# -- the cached layout -----------------------------------------------------------------


def current(storage: StorageCore) -> Layout | None:
    """The cached layout (None: table missing), detected on first use;
    upgrades it first with ``auto_upgrade_schema``."""
    if not storage.layout_known:
        with storage.read_conn(check=False) as conn:
            storage.use_layout(detect(storage, conn))
    layout = storage.cached_layout
    if layout is not None and layout.needs_upgrade and storage.auto_upgrade_schema:
        storage.upgrade_schema()
        layout = storage.cached_layout
    return layout


def writable(storage: StorageCore, operation: str) -> Layout:
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
            f"table {storage.ref.qualified} is at layout v{version} but schema_version="
            f"{wanted} was asked: run storage.upgrade_schema() first "
            "(or pass auto_upgrade_schema=True)"
        )
    return layout


def version_now(storage: StorageCore) -> int | None:
    """The table's layout version now (None when the table does not exist)."""
    with storage.read_conn(check=False) as conn:
        try:
            layout = detect(storage, conn)
        except SchemaTooNewError:  # report the number all the same
            return int(storage.run_statement(conn, stamp_query(storage)).scalar_one())
    return None if layout is None else layout.version


# -- creating and dropping -------------------------------------------------------------


def create(storage: StorageCore) -> None:
    """Create the table at ``schema_version`` (default latest), stamped, if it is missing."""
    version = LATEST_VERSION if storage.schema_version is None else storage.schema_version
    with storage.write_conn(check=False) as conn:
        storage.create_schema(conn)
        storage.lock_table(conn)
        existing = detect(storage, conn)
        if existing is None:
            existing = layout_for_version(storage, version)
            existing.create(conn)
            stamp(storage, conn, version)
    storage.use_layout(existing)


def drop(storage: StorageCore) -> None:
    """Drop the table, its runs table and its stamp (unless its family refuses)."""
    with storage.read_conn(check=False) as conn:
        try:
            found = detect(storage, conn)
        except SchemaTooNewError:  # a newer agno_nb's table: ours to drop all the same
            found = None
    if found is not None:
        found.refuse("drop")
    with storage.write_conn(check=False) as conn:
        # the latest layout's table: dropping it drops what it owns (DuckDB's sequence)
        for table in (storage.run_table, storage.table_at(LATEST_VERSION)):
            if storage.has_table(conn, table.name):
                table.drop(conn)
        if sa.inspect(conn).has_table(storage.versions_table.name, schema=storage.schema):
            storage.run_statement(conn, storage.versions_table.delete().where(same_table(storage)))
    storage.forget_layout()


# -- the version table -----------------------------------------------------------------


def same_table(storage: StorageCore) -> Any:
    """The version-table condition naming this storage's table (see ``catalog``)."""
    return catalog.same_table(storage.versions_table, storage.table_name, storage.backend)


def stamp_query(storage: StorageCore) -> sa.Select[Any]:
    """This storage's table's version stamp (see ``catalog.stamp_query``)."""
    return catalog.stamp_query(storage.versions_table, storage.table_name, storage.backend)


def stamp(storage: StorageCore, conn: Connection, version: int) -> None:
    """Record in ``conn``'s transaction that the table is at layout ``version``."""
    storage.versions_table.create(conn, checkfirst=True)
    v = storage.versions_table
    storage.run_statement(conn, v.delete().where(same_table(storage)))
    storage.run_statement(
        conn,
        v.insert().values(
            table_name=storage.table_name,
            layout_version=version,
            mode=storage.mode,
            updated_at=int(time.time()),
        ),
    )
