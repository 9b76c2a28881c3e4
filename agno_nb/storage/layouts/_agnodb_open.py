"""Which table to open when none is named: agno 2.x/3.x's ``agno_sessions``
when a database has it and not agno_nb's default table (used by
``open_storage`` and ``connect``; re-exported by
:mod:`agno_nb.storage.layouts.agnodb`, where callers import them from).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from agno_nb.storage.contract import StorageCore

AGNO_TABLE = "agno_sessions"


def default_table(storage: StorageCore) -> str | None:
    """``agno_sessions`` when the storage's database has it but not the storage's
    own table (``agent_sessions`` when none was named), else None.

    Looks only at a database that exists (a missing SQLite file is not created;
    DuckDB, where agno keeps no sessions, is not asked) and never raises: a
    database that cannot be reached keeps the default and says so on first use.
    """
    if not storage.dialect.holds_agno_tables:
        return None
    database = storage.db_engine.url.database or ""
    if database.startswith("file:"):  # a URI filename (read-only opens use one)
        database = database[5:].split("?", 1)[0]
    if storage.dialect.file_based and (
        not database or database == ":memory:" or not Path(database).exists()
    ):
        return None
    try:
        with storage.read_conn(check=False) as conn:
            inspector = sa.inspect(conn)
            if inspector.has_table(storage.table_name, schema=storage.schema):
                return None
            if inspector.has_table(AGNO_TABLE, schema=storage.schema):
                return AGNO_TABLE
    except Exception:  # the first real call reports it properly
        return None
    return None


def opened_note(storage: StorageCore, default: str) -> str:
    """The line that says agno_nb opened agno's table because none was named."""
    return (
        f"opened {storage.ref.qualified}: this database has agno 2.x/3.x sessions and no "
        f"{default} table (name one with --table / table_name= to open another)"
    )
