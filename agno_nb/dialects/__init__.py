"""What differs per database, one :class:`Dialect` object each (alembic's
``Impl`` idea): facts (``native_json``, ``file_based``, ``folds_names``,
``has_schemas``...), the few SQL constructs that differ (upsert, row and named
locks, JSON types and text, substring search, NULL order, compressed columns)
and what a driver error means (:meth:`Dialect.translate`).

Every layer asks ``dialect_of(backend)`` (or ``storage.dialect``) instead of
comparing a backend's name: ``schema.py``'s column types, the migration steps,
``connect.py``, the storage and its layouts, ``agno3/`` and ``integrations/``.
A new database is one more module here plus its storage backend.

This package sits beside ``schema.py`` and imports nothing of agno_nb but
``errors`` and ``urls``.
"""

from __future__ import annotations

from agno_nb.dialects.base import Dialect, ErrorPlace, first_line, sql_literal
from agno_nb.dialects.duckdb import DuckDbDialect
from agno_nb.dialects.postgres import PostgresDialect
from agno_nb.dialects.sqlite import SqliteDialect

__all__ = [
    "DIALECTS",
    "DUCKDB",
    "POSTGRES",
    "SQLITE",
    "Dialect",
    "ErrorPlace",
    "dialect_named",
    "dialect_of",
    "first_line",
    "sql_literal",
]

SQLITE = SqliteDialect()
POSTGRES = PostgresDialect()
DUCKDB = DuckDbDialect()
#: one Dialect per backend name
DIALECTS: dict[str, Dialect] = {d.name: d for d in (SQLITE, POSTGRES, DUCKDB)}
_BY_SQLALCHEMY_NAME: dict[str, Dialect] = {d.sqlalchemy_name: d for d in DIALECTS.values()}


def dialect_of(backend: str) -> Dialect:
    """The Dialect of ``backend`` (``sqlite``, ``postgres`` or ``duckdb``).

    Raises:
        KeyError: no such backend.
    """
    return DIALECTS[backend]


def dialect_named(sqlalchemy_name: str) -> Dialect | None:
    """The Dialect of an engine whose ``dialect.name`` is ``sqlalchemy_name``
    (``sqlite``, ``postgresql``, ``duckdb``), or None for another database."""
    return _BY_SQLALCHEMY_NAME.get(sqlalchemy_name)
