"""Opening a SQLite (or DuckDB) file creates nothing: no file, no folder (issue 21, item 11).

``sqlite3.connect(path)`` creates an empty file, and agno_nb used to create the
missing folders too, so a read of a mistyped path left an empty database behind
and answered "0 sessions". Here a file that does not exist yet is a
:class:`PendingFile`: until the first write, connections go to a private empty
in-memory database (every read sees no table), and the first write creates the
folders and the file, as agno's own storage does when it first saves. A file
another process creates meanwhile is read from then on.

Read-only opens (issue 21, item 12) never write the file or create side files:
:func:`read_only_url` builds the ``mode=ro`` URI, or ``immutable=1`` for media
no process can write (a read-only mount, a snapshot), where SQLite then takes no
lock and needs no ``-wal``/``-shm`` file.
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url

from agno_nb.dialects import dialect_named
from agno_nb.dialects.sqlite import read_as_uri, uri_url
from agno_nb.storage.base import BaseStorage

__all__ = [
    "FileStorage",
    "PendingFile",
    "display_sqlite_url",
    "file_of_url",
    "no_writer_can_exist",
    "open_read_only_url",
    "pending_file",
    "read_only_url",
    "reading_through",
]


class PendingFile:
    """A SQLite (or DuckDB) file that does not exist yet: the storage's reads see
    an empty stand-in; anything else (its writes, or code using its ``db_engine``
    directly) creates the folders and the file, as before."""

    _INFO = "agno_nb_stand_in"

    def __init__(self, path: Path, *, make_folders: bool = True) -> None:
        self.path = path
        #: whether the first write creates missing folders (for ``db_file``; a URL
        #: naming a missing folder fails at the first write, saying so)
        self.make_folders = make_folders
        #: whether connections go to the file (it exists, or a write created it)
        self.real = False
        self.engine: Engine | None = None
        self._local = threading.local()

    @property
    def pending(self) -> bool:
        """True while the file does not exist and nothing was written."""
        return not self.real and not self.path.exists()

    def _stand_in_wanted(self) -> bool:
        return bool(getattr(self._local, "reading", False)) and self.pending

    def install(self, engine: Engine) -> Engine:
        """Make ``engine`` connect to an empty in-memory database for the storage's
        reads while the file does not exist (the drivers would create it)."""
        self.engine = engine
        engine._agno_nb_pending = self  # type: ignore[attr-defined]

        @event.listens_for(engine, "do_connect")
        def _stand_in(
            _dialect: Any, record: Any, cargs: list[Any], cparams: dict[str, Any]
        ) -> None:
            stand_in = self._stand_in_wanted()
            record.info[self._INFO] = stand_in
            if not stand_in:
                if not self.real:  # a connection that may write: the file is due
                    if self.make_folders:
                        self.path.parent.mkdir(parents=True, exist_ok=True)
                    self.real = True
                return
            if "database" in cparams:  # duckdb
                cparams["database"] = ":memory:"
            elif cargs:  # sqlite3
                cargs[0] = ":memory:"

        @event.listens_for(engine, "checkout")
        def _no_stale_stand_in(_dbapi: Any, record: Any, _proxy: Any) -> None:
            # a pooled stand-in serves only reads of a file still missing
            if record.info.get(self._INFO) and not self._stand_in_wanted():
                raise sa.exc.DisconnectionError("stand-in for a file that exists now")

        return engine

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Around one of the storage's reads: while the file is missing, its
        connections go to the stand-in."""
        before = getattr(self._local, "reading", False)
        self._local.reading = True
        try:
            yield
        finally:
            self._local.reading = before

    def before_write(self, release: Any) -> None:
        """Create the missing folders; the file follows at the next connect."""
        if not self.real:
            if self.make_folders:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.real = True
            release()  # a held stand-in connection goes back (and is dropped at checkout)


def pending_file(db_file: str | Path | None, db_url: str | None) -> PendingFile | None:
    """A :class:`PendingFile` for ``db_file`` (or a plain file URL) that does not
    exist yet; None when it exists, or for memory."""
    if db_file is not None:
        if str(db_file) in ("", ":memory:"):
            return None
        path: Path | None = Path(db_file).expanduser().resolve()
    else:
        path = file_of_url(db_url) if db_url is not None else None
    if path is None or path.exists():
        return None
    return PendingFile(path, make_folders=db_file is not None)


def file_of_url(url: str) -> Path | None:
    """The file a ``sqlite:///`` (or ``duckdb:///``) URL opens, ``file:`` URIs
    included; None for memory or anything else."""
    parsed = make_url(url)
    dialect = dialect_named(parsed.get_backend_name())
    if dialect is None or not dialect.file_based:
        return None
    database = str(parsed.database or "")
    if database.startswith("file:"):
        if not read_as_uri(parsed):
            return None  # not read as a URI: SQLite would open a file named "file:..."
        database = urllib.parse.unquote(database[len("file:") :].split("?", 1)[0])
        if parsed.query.get("mode") == "memory":
            return None
    if database in ("", ":memory:"):
        return None
    return Path(database).expanduser().resolve()


def read_only_url(path: str | Path, *, immutable: bool = False) -> str:
    """A SQLAlchemy URL opening ``path`` read-only as a SQLite URI.

    ``mode=ro`` reads a file other processes may be writing (it still needs its
    folder writable when the file is in WAL mode, for the ``-shm`` index).
    ``immutable=True`` tells SQLite the file cannot change while open: no lock,
    no side file, so it reads from a read-only mount; only use it where no
    process writes the file, or reads may see a torn state.
    """
    resolved = Path(path).expanduser().resolve()
    flags = [("mode", "ro"), *([("immutable", "1")] if immutable else [])]
    return uri_url(str(resolved), flags)


def display_sqlite_url(url: Any) -> str:
    """How a SQLite URL is shown: a ``file:`` URI as ``sqlite:///<path>`` plus how
    it is opened (``(read-only)``, ``(read-only, immutable)``), never percent-encoded."""
    from agno_nb.urls import mask_url

    parsed = make_url(str(url)) if not hasattr(url, "database") else url
    database = str(parsed.database or "")
    if not database.startswith("file:"):
        return mask_url(parsed)
    path = urllib.parse.unquote(database[len("file:") :])
    query = parsed.query
    how = []
    if query.get("mode") == "ro":
        how.append("read-only")
    if query.get("immutable") == "1":
        how.append("immutable")
    return f"sqlite:///{path}" + (f" ({', '.join(how)})" if how else "")


def no_writer_can_exist(path: str | Path) -> bool:
    """Whether ``path`` is on a read-only mount: nobody can write it there, so
    SQLite may read it as ``immutable`` (no lock, no side file)."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows): not known
        return False


def _in_wal_mode(path: Path) -> bool:
    """Whether the file's header says WAL (bytes 18-19 are 2 in a WAL database)."""
    try:
        with path.open("rb") as f:
            header = f.read(20)
    except OSError:
        return False
    return len(header) == 20 and header[18] == 2 and header[19] == 2


def open_read_only_url(path: str | Path, *, immutable: bool = False) -> str:
    """The URL that reads ``path`` read-only: ``immutable`` when asked or on a
    read-only mount, else ``mode=ro``.

    Raises:
        BackendUnavailableError: the file is missing, or SQLite could only read it
            by creating its ``-shm`` index in a folder this process cannot write
            (a WAL file that no process has open): the message says to use immutable.
    """
    from agno_nb.errors import BackendUnavailableError

    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise BackendUnavailableError(
            f"SQLite file {file} does not exist: check the path (a read-only open creates nothing)"
        )
    if immutable or no_writer_can_exist(file):
        return read_only_url(file, immutable=True)
    shm = file.with_name(file.name + "-shm")
    if _in_wal_mode(file) and not shm.exists() and not os.access(file.parent, os.W_OK):
        raise BackendUnavailableError(
            f"cannot read {file} read-only: it is in WAL mode and SQLite needs its -shm "
            "file, which this folder does not let it create; if no process writes it, "
            "open it immutable (--immutable, immutable=True)"
        )
    return read_only_url(file)


@contextmanager
def reading_through(pending: PendingFile | None) -> Iterator[None]:
    """Around a storage's read: through the stand-in while ``pending``'s file is
    still missing, straight to the file otherwise (the one read path of the SQLite
    and DuckDB storages)."""
    if pending is None or not pending.pending:
        yield
        return
    with pending.reading():
        yield


class FileStorage(BaseStorage):
    """A storage of one database file that opening does not create (SQLite and
    DuckDB): reads go through :func:`reading_through` while the file is missing."""

    #: the database file while it does not exist yet (None: it exists, or the
    #: database is in memory or an engine given as is)
    file_pending: PendingFile | None = None

    @property
    def pending_file(self) -> Path | None:
        """The database file when it does not exist yet (the first write creates
        it, with its folders); None once it exists, or for memory and engines."""
        pending = self.file_pending
        return pending.path if pending is not None and pending.pending else None

    @contextmanager
    def read_conn(self, *, check: bool = True) -> Iterator[Connection]:
        with reading_through(self.file_pending), super().read_conn(check=check) as conn:
            yield conn
