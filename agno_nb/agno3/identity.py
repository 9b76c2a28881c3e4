"""Which source a migration reads, independent of how its URL or table is spelled.

The bookkeeping (``agno_nb_migrate_rows``, ``agno_nb_migrate_progress``) keys each
migrated session by the *table it came from*, its name folded as its database
folds names (SQLite and DuckDB: case-insensitive; Postgres: the quoted name as
given, in its schema). Where the table lives (file path, host, port, database) is
recorded beside it, as the location, and a rerun that reads the same table from
another location (``localhost`` after ``127.0.0.1``, a moved or copied file) is
told so in one line of the report: its sessions are the same data (same table,
same session ids), synced as such.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url

from agno_nb.agno3.source import SourceTable
from agno_nb.agno3.target import sqlite_file
from agno_nb.dialects import dialect_named, dialect_of
from agno_nb.urls import mask_url

__all__ = ["same_identity", "source_identity", "source_location"]

_LOCAL = {"localhost", "127.0.0.1", "::1", "[::1]", ""}


def source_identity(source: SourceTable) -> str:
    """The bookkeeping key of a source table: ``<kind>#<schema.table>`` with the
    name folded as the database folds it."""
    dialect = dialect_of(source.backend)
    kind = "file" if dialect.file_based else "postgres"
    name = source.qualified
    if dialect.folds_names:
        name = name.lower()
    return f"{kind}#{name}"


def same_identity(recorded: str, identity: str) -> bool:
    """Whether a key in the bookkeeping names the table ``identity`` names; keys
    written by earlier versions (``sqlite:/path#table``, ``postgresql://...#t``)
    are compared by their table part, folded the same way."""
    if recorded == identity:
        return True
    head, _, table = recorded.rpartition("#")
    dialect = dialect_named(head.split(":", 1)[0])
    kind = "file" if dialect is not None and dialect.file_based else "postgres"
    if dialect is not None and dialect.folds_names:
        table = table.lower()
    return f"{kind}#{table}" == identity


def source_location(url: str, source: SourceTable) -> str:
    """Where the table was read, for the report: the file's real path, or the
    server (local host names as ``localhost``, the default port, no password)."""
    if dialect_of(source.backend).file_based:
        path = sqlite_file(url)
        return f"{source.backend}:{path.resolve() if path is not None else ':memory:'}"
    parsed = make_url(url)
    host = (parsed.host or "").lower()
    host = "localhost" if host in _LOCAL else host
    port = parsed.port or 5432
    where = parsed.set(password=None, drivername="postgresql", host=host, port=port)
    return mask_url(where)
