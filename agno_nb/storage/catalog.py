"""Which layout a session table has: the one detection, for the storage and for
``agno-nb migrate`` alike.

A table agno_nb created or upgraded is stamped in the version table
(``agno_nb_schema_versions``): the stamp decides. An unstamped table is agno
1.x's (v0: an agent table without ``team_session_id``; v1 otherwise) or an
agno_nb v2 table from before stamps (its summary columns plus a
``<table>_runs`` table). Table names are compared as the database compares
them: SQLite and DuckDB take ``Agent_Sessions`` and ``agent_sessions`` for one
table, Postgres tells them apart. Works on a plain connection, so a reader that
must not change the database (the migrate source) uses it as the storage does.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from agno_nb.dialects import dialect_of
from agno_nb.schema import LATEST_VERSION, V2_COLUMNS, version_table

__all__ = [
    "KNOWN_VERSIONS",
    "folds_names",
    "same_table",
    "stamp_query",
    "stamped_version",
    "unstamped_agno1_version",
    "unstamped_version",
    "v2_columns_present",
]

#: The layout versions this agno_nb reads (v0, v1: agno 1.x; v2..latest: agno_nb).
KNOWN_VERSIONS = range(LATEST_VERSION + 1)


def folds_names(backend: str) -> bool:
    """Whether ``backend`` takes table names that differ only in case for one table."""
    return dialect_of(backend).folds_names


def same_table(versions: sa.Table, table_name: str, backend: str) -> Any:
    """The version-table condition naming ``table_name`` the way ``backend`` names tables."""
    return dialect_of(backend).same_name(versions.c.table_name, table_name)


def stamp_query(versions: sa.Table, table_name: str, backend: str) -> sa.Select[Any]:
    """The table's version stamp (the highest, should case variants of its name
    have been stamped apart by an older agno_nb)."""
    return sa.select(sa.func.max(versions.c.layout_version)).where(
        same_table(versions, table_name, backend)
    )


def stamped_version(
    conn: Connection, table_name: str, backend: str, *, schema: str | None = None
) -> int | None:
    """The table's stamped layout version on ``conn``, or None when it has no stamp."""
    versions = version_table(sa.MetaData(), schema=schema)
    if not sa.inspect(conn).has_table(versions.name, schema=schema):
        return None
    found = conn.execute(stamp_query(versions, table_name, backend)).scalar()
    return None if found is None else int(found)


def unstamped_agno1_version(columns: set[str], mode: str) -> int:
    """The layout of an unstamped agno 1.x table: 0 for an agent table without
    ``team_session_id`` (agno before 1.2), else 1."""
    return 0 if mode == "agent" and "team_session_id" not in columns else 1


def v2_columns_present(columns: set[str]) -> bool:
    """Whether a table has agno_nb's summary columns (layout v2 and later)."""
    return all(name in columns for name, _ in V2_COLUMNS)


def unstamped_version(columns: set[str], mode: str, *, has_runs_table: bool) -> int:
    """The layout of an unstamped agno 1.x / agno_nb table from its ``columns``
    and whether ``<table>_runs`` exists (``RUNS_SUFFIX``)."""
    if v2_columns_present(columns) and has_runs_table:
        return 2
    return unstamped_agno1_version(columns, mode)
