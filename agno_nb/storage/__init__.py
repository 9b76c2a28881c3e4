"""Agent-session storage on SQLite, DuckDB and Postgres.

``open_storage(url)`` picks the backend from a SQLAlchemy URL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agno_nb.codec import SessionSummary
from agno_nb.errors import AgnoNbError, BackendUnavailableError
from agno_nb.migrations import PlannedStep, UpgradePlan
from agno_nb.storage.base import BaseStorage, StorageStats
from agno_nb.storage.duckdb import DuckDbStorage
from agno_nb.storage.postgres import PostgresStorage
from agno_nb.storage.sqlite import SqliteStorage
from agno_nb.urls import mask_url, remember_secrets

__all__ = [
    "BaseStorage",
    "DuckDbStorage",
    "PlannedStep",
    "PostgresStorage",
    "SessionSummary",
    "SqliteStorage",
    "StorageStats",
    "UpgradePlan",
    "open_storage",
]

DEFAULT_TABLE = "agent_sessions"


def _agno_table_if_alone(storage: BaseStorage, reopen: Callable[[str], BaseStorage]) -> BaseStorage:
    """``storage``, or (with a warning) one on agno's ``agno_sessions`` when the
    database has that table and not the default one."""
    import warnings

    from agno_nb.storage.layouts.agnodb import default_table, opened_note

    other = default_table(storage)
    if other is None:
        return storage
    storage.close()
    chosen = reopen(other)
    chosen.opened_note = opened_note(chosen, storage.table_name)
    warnings.warn(chosen.opened_note, stacklevel=3)
    return chosen


_BACKENDS: dict[str, type[BaseStorage]] = {
    "sqlite": SqliteStorage,
    "duckdb": DuckDbStorage,
    "postgresql": PostgresStorage,
    "postgres": PostgresStorage,
}


def open_storage(url: str, *, table_name: str | None = None, **kw: Any) -> BaseStorage:
    """Open the storage a SQLAlchemy URL names.

    ``sqlite:///path.db``, ``duckdb:///path.duckdb`` and
    ``postgresql+psycopg://user:pw@host/db`` are understood; ``kw`` goes to the
    backend class (``mode``, ``schema``, ``auto_upgrade_schema``...).
    ``table_name`` defaults to ``agent_sessions``; when it is not given and the
    database has agno 2.x/3.x's ``agno_sessions`` but no ``agent_sessions``,
    that table is opened and a warning says so (``storage.opened_note``).

    Raises:
        BackendUnavailableError: the URL names no backend agno_nb has.
        AgnoNbError: the URL is malformed.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import NoSuchModuleError

    remember_secrets(url)
    try:
        parsed = make_url(url)
    except Exception:
        raise AgnoNbError(
            f"malformed database URL {mask_url(url)!r}: use e.g. sqlite:///tmp/data.db, "
            "duckdb:///tmp/data.duckdb or postgresql+psycopg://user:pw@host:5432/db"
        ) from None
    name = parsed.get_backend_name()
    cls = _BACKENDS.get(name)
    if cls is None:
        raise BackendUnavailableError(
            f"unknown backend {name!r} in {mask_url(url)!r}: use sqlite, duckdb or postgresql"
        )
    try:
        storage = cls(DEFAULT_TABLE if table_name is None else table_name, db_url=url, **kw)  # type: ignore[call-arg]
        if table_name is None:
            storage = _agno_table_if_alone(storage, lambda t: cls(t, db_url=url, **kw))  # type: ignore[call-arg]
        return storage
    except (ImportError, NoSuchModuleError):  # a driver SQLAlchemy or Python lacks
        raise BackendUnavailableError(
            f"no driver {parsed.drivername!r} for {mask_url(url)!r}: install it, or use "
            "sqlite:///..., duckdb:///... or postgresql+psycopg://..."
        ) from None
