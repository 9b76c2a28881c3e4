"""The registry of table-layout families, and the lookups the storage makes in it.

A *family* is one way of keeping sessions in tables: agno 1.x's table with the
runs inside a JSON column (:mod:`.agno1`, layouts v0/v1), agno_nb's summary
columns plus a ``<table>_runs`` table (:mod:`.rows`, layouts v2 to v6), or agno
2.x/3.x's ``agno_sessions`` with its ``runs`` column and/or ``agno_runs`` table
(:mod:`.agnodb`, read in place, unstamped). Each implements
:class:`~agno_nb.storage.contract.Layout` using only the public calls of
:class:`~agno_nb.storage.contract.StorageCore`. How to add one:
``docs/architecture.md``, "Add a layout family".
"""

from __future__ import annotations

from sqlalchemy.engine import Connection, Inspector

from agno_nb.errors import AgnoNbError, SchemaTooNewError
from agno_nb.schema import LATEST_VERSION
from agno_nb.storage.contract import Layout, StorageCore, WriteSteps
from agno_nb.storage.layouts.agno1 import Agno1Layout
from agno_nb.storage.layouts.agnodb import AgnoDbLayout
from agno_nb.storage.layouts.rows import RowsLayout

__all__ = [
    "FAMILIES",
    "Layout",
    "WriteSteps",
    "layout_for_version",
    "recognise",
    "register",
]


FAMILIES: list[type[Layout]] = sorted(
    (Agno1Layout, RowsLayout, AgnoDbLayout), key=lambda family: family.priority
)


def register(family: type[Layout]) -> type[Layout]:
    """Add ``family`` to the registry (a class decorator), keeping priority order."""
    if family not in FAMILIES:
        FAMILIES.append(family)
        FAMILIES.sort(key=lambda f: f.priority)
    return family


def layout_for_version(storage: StorageCore, version: int) -> Layout:
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
    storage: StorageCore, conn: Connection, inspector: Inspector, columns: set[str]
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
