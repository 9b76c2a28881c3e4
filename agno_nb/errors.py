"""Errors raised by agno_nb.

Every message is one line that says what went wrong and what to do next.
URLs in messages are always masked (see :func:`agno_nb.urls.mask_url`).
"""

from __future__ import annotations


class AgnoNbError(Exception):
    """Base class of every error agno_nb raises on purpose."""


class InvalidNameError(AgnoNbError, ValueError):
    """A table or schema name is not a plain SQL identifier."""


class InvalidArgumentError(AgnoNbError, ValueError):
    """An argument is out of range (a negative ``limit`` or ``offset``, say)."""


class BackendUnavailableError(AgnoNbError):
    """The backend is unknown, its driver is missing or its server cannot be reached."""


class StorageLockedError(AgnoNbError):
    """Another process holds the database (DuckDB's one-writer rule, or a lock timeout)."""


class StorageConflictError(StorageLockedError):
    """A transaction was rolled back by the database because it conflicted with a
    concurrent one (a deadlock, a serialization failure, DuckDB's write-write
    conflict); nothing of it was saved. agno_nb retries these a few times."""


class StorageFullError(AgnoNbError):
    """The database's disk (or its size limit) is full; nothing of the call was saved."""


class TableMissingError(AgnoNbError):
    """The storage table does not exist and this operation will not create it."""


class SchemaTooOldError(AgnoNbError):
    """The table's layout is older than the one the caller asked for."""


class SchemaTooNewError(AgnoNbError):
    """The table was written by a newer agno_nb than this one."""


class SessionNotFoundError(AgnoNbError, KeyError):
    """No session with that id exists in the table."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "session not found"


class CorruptSessionError(AgnoNbError):
    """A stored row cannot be decoded (bad JSON); other rows are unaffected."""


class InvalidSessionError(AgnoNbError, ValueError):
    """A session given to a write has a shape agno_nb would not read back as given
    (``memory`` that is not a dict, ``memory["runs"]`` that is not a list, JSON
    nested too deeply); nothing was written."""


class CorruptSessionWarning(UserWarning):
    """Sessions left out of a bulk read because their rows cannot be decoded."""


class MigrationError(AgnoNbError):
    """A schema upgrade step failed; the table stays at its previous version."""


class ModelError(AgnoNbError):
    """A model client failed (missing key, unreachable endpoint, HTTP error)."""
