"""Give agno 2.x/3.x's own ``Agent``, ``Team`` and ``Workflow`` agno's own db on the
database an agno_nb storage has open.

agno >= 2 keeps sessions through ``agno.db`` (``SqliteDb``, ``PostgresDb`` and their
async twins), in its ``agno_sessions`` + ``agno_runs`` tables. agno_nb reads those
tables in place (:mod:`agno_nb.storage.layouts.agnodb`), so the notebook loop is:
open a storage on ``agno_sessions``, hand every agno agent a db on the same file /
URL / schema / table, and read back what agno wrote.

The rule is agno_nb's own (see :mod:`agno_nb.attachments`): an agno object that has
a db keeps it; one without gets the db of the storage opened for it; ``attach(...,
only_unattached=False)`` moves them. One db object is made per storage and kind
(sync or async) and shared, so agents share one engine.

No IPython here: the magics call these functions with the notebook's namespace.
agno is imported only when an agno object is already in the namespace or a db is
asked for.
"""

from __future__ import annotations

import os
import sys
import weakref
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from agno_nb.errors import AgnoNbError

__all__ = [
    "AGNO_TABLE",
    "agno_major",
    "attach",
    "db_for",
    "db_label",
    "ensure_tables",
    "entities_in",
    "run_dict",
    "runs_table_for",
    "users_of",
    "uses",
]

#: agno 2.x/3.x's default session table.
AGNO_TABLE = "agno_sessions"
#: (module, class) of the agno >= 2 objects that take a db.
_KINDS = (
    ("agno.agent", "Agent"),
    ("agno.team", "Team"),
    ("agno.workflow", "Workflow"),
)

#: storage -> {is_async: agno db}; weak, so a closed and dropped storage frees its dbs.
_DBS: weakref.WeakKeyDictionary[Any, dict[bool, Any]] = weakref.WeakKeyDictionary()


@lru_cache(maxsize=1)
def agno_major() -> int | None:
    """The installed agno's major version (None when agno is not installed).

    Read from the package metadata: agno itself is not imported.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        text = version("agno")
    except PackageNotFoundError:
        return None
    head = text.split(".", 1)[0]
    return int(head) if head.isdigit() else None


def _kinds() -> tuple[type, ...]:
    """The agno >= 2 classes already imported (none when agno 1.x is installed)."""
    if (agno_major() or 0) < 2:
        return ()
    kinds = []
    for module_name, name in _KINDS:
        module = sys.modules.get(module_name)
        kind = getattr(module, name, None) if module is not None else None
        if isinstance(kind, type):
            kinds.append(kind)
    return tuple(kinds)


def entities_in(namespace: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(variable name, object) for every agno >= 2 Agent, Team or Workflow in ``namespace``."""
    kinds = _kinds()
    if not kinds:
        return []
    return [
        (name, value)
        for name, value in list(namespace.items())
        if not name.startswith("_") and isinstance(value, kinds)
    ]


def runs_table_for(table: str) -> str:
    """The runs table agno_nb reads beside session table ``table`` (agno's ``agno_runs``)."""
    return "agno_runs" if table == AGNO_TABLE else f"{table}_runs"


def _sqlite_file(storage: Any) -> str:
    database = storage.db_engine.url.database or ""
    if database.startswith("file:"):  # a URI filename (read-only opens use one)
        database = database[5:].split("?", 1)[0]
    if not database or database == ":memory:":
        raise AgnoNbError(
            "agno agents need a database file: open %agno_storage sqlite PATH (an in-memory "
            "SQLite database is private to agno_nb's connection)"
        )
    return database


def _postgres_url(storage: Any, *, is_async: bool) -> str:
    url = storage.db_engine.url
    driver = "postgresql+psycopg_async" if is_async else "postgresql+psycopg"
    return str(url.set(drivername=driver).render_as_string(hide_password=False))


def db_for(storage: Any, *, is_async: bool = False) -> Any:
    """agno's own db on ``storage``'s database and table (made once, then shared).

    Args:
        storage: an agno_nb SQLite or Postgres storage on agno's session table.
        is_async: ``AsyncSqliteDb`` / ``AsyncPostgresDb`` (for ``await agent.arun``)
            instead of ``SqliteDb`` / ``PostgresDb``.

    Returns:
        The agno db object (``session_table`` and ``runs_table`` are the storage's).

    Raises:
        AgnoNbError: agno >= 2 is not installed, the backend has no agno db (DuckDB),
            the async driver is missing, or the SQLite database is in memory.
    """
    cached = _DBS.get(storage, {})
    if is_async in cached:
        return cached[is_async]
    if (agno_major() or 0) < 2:
        raise AgnoNbError("agno's own db needs agno 2.x or 3.x: pip install 'agno>=2'")
    tables = {
        "session_table": storage.table_name,
        "runs_table": runs_table_for(storage.table_name),
    }
    db: Any
    dialect = storage.dialect
    try:
        if not dialect.holds_agno_tables:
            raise AgnoNbError(
                f"agno has no {storage.backend} db: for agno agents use %agno_storage "
                "sqlite PATH or %agno_storage postgres URL"
            )
        if dialect.file_based:  # agno's SqliteDb on the same file
            path = _sqlite_file(storage)
            if is_async:
                from agno.db.sqlite import AsyncSqliteDb

                db = AsyncSqliteDb(db_file=path, **tables)
            else:
                from agno.db.sqlite import SqliteDb

                db = SqliteDb(db_file=path, **tables)
        else:  # agno's PostgresDb on the same server, schema and table
            url = _postgres_url(storage, is_async=is_async)
            schema = storage.schema or "public"
            if is_async:
                from agno.db.postgres import AsyncPostgresDb

                db = AsyncPostgresDb(db_url=url, db_schema=schema, **tables)
            else:
                from agno.db.postgres import PostgresDb

                db = PostgresDb(db_url=url, db_schema=schema, **tables)
    except ImportError as exc:
        missing = "aiosqlite" if dialect.file_based else "psycopg[binary]"
        raise AgnoNbError(
            f"agno's {'async ' if is_async else ''}{storage.backend} db cannot be made "
            f"({exc.name or exc}): pip install {missing}"
        ) from None
    _DBS.setdefault(storage, {})[is_async] = db
    return db


def ensure_tables(storage: Any) -> bool:
    """Create agno's session and runs tables for ``storage`` when missing (agno's own DDL).

    Returns True when the session table was created. Uses agno's sync db, so the
    tables have exactly the columns, indexes and version stamps agno makes.
    """
    if storage.table_exists():
        return False
    db = db_for(storage)
    db._get_table("sessions", create_table_if_not_found=True)  # agno's own create path
    db._get_table("runs", create_table_if_not_found=True)
    return True


def _place(db: Any) -> tuple[Any, ...] | None:
    """Where an agno db keeps sessions: (kind, database, schema, session table)."""
    table = getattr(db, "session_table_name", None)
    engine = getattr(db, "db_engine", None)
    url = getattr(engine, "url", None)
    if table is None or url is None:
        return None
    from agno_nb.dialects import dialect_named

    dialect = dialect_named(url.get_backend_name())
    if dialect is None or not dialect.holds_agno_tables:
        return None
    if dialect.file_based:
        return (dialect.name, os.path.realpath(url.database or ""), None, table)
    where = (url.host, url.port, url.database)
    return (dialect.name, where, getattr(db, "db_schema", None), table)


def _storage_place(storage: Any) -> tuple[Any, ...] | None:
    url = storage.db_engine.url
    dialect = storage.dialect
    if not dialect.holds_agno_tables:
        return None
    if dialect.file_based:
        try:
            path = _sqlite_file(storage)
        except AgnoNbError:
            return None
        return (dialect.name, os.path.realpath(path), None, storage.table_name)
    where = (url.host, url.port, url.database)
    return (dialect.name, where, storage.schema or "public", storage.table_name)


def uses(entity: Any, storage: Any) -> bool:
    """True when ``entity``'s db keeps its sessions in ``storage``'s table."""
    db = getattr(entity, "db", None)
    if db is None:
        return False
    if any(db is known for known in _DBS.get(storage, {}).values()):
        return True
    mine = _storage_place(storage)
    return mine is not None and _place(db) == mine


def users_of(storage: Any, entities: Iterable[tuple[str, Any]]) -> list[str]:
    """Names of the agno objects among ``entities`` whose db is ``storage``'s table."""
    return [name for name, entity in entities if uses(entity, storage)]


def db_label(entity: Any) -> str:
    """The class name of ``entity``'s db (``SqliteDb``, ``AsyncPostgresDb``...), '' if none."""
    db = getattr(entity, "db", None)
    return type(db).__name__ if db is not None else ""


def attach(
    storage: Any,
    entities: Iterable[tuple[str, Any]],
    *,
    only_unattached: bool,
    is_async: bool = False,
) -> list[str]:
    """Give agno's db on ``storage`` to ``entities``; returns the names that changed db.

    Args:
        storage: an agno_nb SQLite or Postgres storage on agno's session table.
        entities: (name, agno Agent/Team/Workflow) pairs, e.g. from :func:`entities_in`.
        only_unattached: leave objects that have a db as they are (opening a
            storage); False moves them too (``--attach``).
        is_async: give the async db (``AsyncSqliteDb`` / ``AsyncPostgresDb``).

    Raises:
        AgnoNbError: as :func:`db_for`.
    """
    pending = list(entities)
    if not pending:
        return []
    db = db_for(storage, is_async=is_async)
    changed = []
    for name, entity in pending:
        current = getattr(entity, "db", None)
        if current is db or (current is not None and only_unattached):
            continue
        entity.db = db
        changed.append(name)
    return changed


def run_dict(response: Any) -> dict[str, Any]:
    """What ``agent.run()`` returned (agno's ``RunOutput``) as the run dict agno_nb renders."""
    from agno_nb.storage.layouts.agnodb import run_from_agno

    data = response.to_dict() if hasattr(response, "to_dict") else {"content": response}
    return run_from_agno(data)
