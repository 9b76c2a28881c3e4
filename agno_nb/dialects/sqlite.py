"""SQLite: JSON as text, one writer at a time (``BEGIN IMMEDIATE``), LIKE
patterns of limited size, and what its driver errors mean."""

from __future__ import annotations

import os
import re
import sqlite3
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection

from agno_nb.dialects.base import Dialect, ErrorPlace
from agno_nb.errors import (
    AgnoNbError,
    BackendUnavailableError,
    CorruptSessionError,
    StorageFullError,
    StorageLockedError,
)
from agno_nb.urls import mask_url

#: Longest term (UTF-8 bytes) SQLite searches with LIKE (its pattern limit is
#: 50,000 bytes, escapes and wildcards included); longer ones use instr(), which
#: is slower on long text but has no limit.
LIKE_LIMIT = 20_000


def affinity(declared: str) -> str:
    """SQLite's column affinity of a declared column type (its rules, in their order)."""
    name = declared.upper()
    if "INT" in name:
        return "INTEGER"
    if "CHAR" in name or "CLOB" in name or "TEXT" in name:
        return "TEXT"
    if "BLOB" in name or not name:
        return "BLOB"
    if "REAL" in name or "FLOA" in name or "DOUB" in name:
        return "REAL"
    return "NUMERIC"


_INT64 = (-(2**63), 2**63 - 1)
_TEXT_TYPES = frozenset((str, type(None)))
_INT_TYPES = frozenset((int, str, type(None)))
#: first characters of text that no numeric affinity turns into a number (JSON
#: objects, arrays and strings), and JSON's words
_NOT_NUMBER_START = frozenset('{["')
_NOT_NUMBER_WORDS = frozenset(("null", "true", "false"))


def _texts_kept(values: Sequence[Any]) -> bool:
    """TEXT and BLOB affinity: text is stored as text, NULL as NULL."""
    return set(map(type, values)) <= _TEXT_TYPES


def _no_number_text(values: Sequence[Any]) -> bool:
    return all(
        v[:1] in _NOT_NUMBER_START or v in _NOT_NUMBER_WORDS for v in values if type(v) is str
    )


def _numbers_kept(values: Sequence[Any]) -> bool:
    """INTEGER and NUMERIC affinity: a 64-bit int is stored as that integer; text
    only where it cannot read as a number (JSON that is not a number)."""
    if not set(map(type, values)) <= _INT_TYPES:  # bool, float, bytes...: not certain
        return False
    ints = [v for v in values if type(v) is int]
    if ints and (min(ints) < _INT64[0] or max(ints) > _INT64[1]):
        return False
    return _no_number_text(values)


def _reals_kept(values: Sequence[Any]) -> bool:
    """REAL affinity: an int becomes a float; text as for NUMERIC."""
    return set(map(type, values)) <= _TEXT_TYPES and _no_number_text(values)


_KEPT: dict[str, Callable[[Sequence[Any]], bool]] = {
    "TEXT": _texts_kept,
    "BLOB": _texts_kept,
    "INTEGER": _numbers_kept,
    "NUMERIC": _numbers_kept,
    "REAL": _reals_kept,
}


def why_unopenable(database: str | None) -> str:
    """What SQLite's "unable to open database file" means for this path, and what to do.

    The path is looked at on disk: a folder, a missing folder, a folder without write
    permission; anything else gets the general hint."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return "check the path in the URL"
    path = Path(database)
    if path.is_dir():
        return f"{path} is a folder; name a file in it, e.g. {path / 'data.db'}"
    parent = path.parent
    if not parent.is_dir():
        return f"the folder {parent} does not exist; create it, or name a file in an existing one"
    if not os.access(parent, os.W_OK):
        return f"the folder {parent} is not writable by this user; pick a writable folder"
    return "check that this user may read and write the file"


#: The URL query options pysqlite takes itself (as SQLAlchemy reads a SQLite URL);
#: any other (``mode``, ``immutable``, ``cache``, ``nolock``, ``vfs``...) is a
#: SQLite URI parameter, which SQLite sees only in a ``file:`` URI with ``uri=true``.
DRIVER_URL_OPTIONS = frozenset(
    {"uri", "timeout", "isolation_level", "detect_types", "check_same_thread", "cached_statements"}
)


def _pairs(query: Any) -> list[tuple[str, str]]:
    """A URL's query as (name, value) pairs, a repeated name once per value."""
    return [
        (key, item)
        for key, value in query.items()
        for item in ((value,) if isinstance(value, str) else value)
    ]


def read_as_uri(url: sa.engine.URL) -> bool:
    """Whether SQLAlchemy hands this URL's database to SQLite as a URI (``uri=true``)."""
    value = url.query.get("uri", "")
    return str(value).strip().lower() in ("true", "yes", "on", "y", "t", "1")


def uri_url(file: str, query: Sequence[tuple[str, str]], *, drivername: str = "sqlite") -> str:
    """A SQLAlchemy URL that opens ``file`` (a path, made absolute, or a
    ``file:`` URI) as a SQLite URI with ``query`` and ``uri=true``."""
    if file.startswith("file:"):
        uri = file
    else:
        path = file if file == ":memory:" else os.path.abspath(file)
        # SQLite decodes the URI's %-escapes (a path may hold ?, # or %)
        uri = "file:" + urllib.parse.quote(path, safe="/:")
    # ... and SQLAlchemy decodes the URL's path once before that
    return f"{drivername}:///{urllib.parse.quote(uri, safe='/:')}?" + urllib.parse.urlencode(
        [*query, ("uri", "true")], safe="/:"
    )


#: quotes SQLite table names (as the SQLite dialect of any engine would)
_NAMES = sqlite.dialect().identifier_preparer


class SqliteDialect(Dialect):
    """SQLite: JSON as text, one writer at a time, LIKE patterns of limited size."""

    name = "sqlite"
    sqlalchemy_name = "sqlite"
    explicit_begin = True
    keeps_insertion_order = True  # the rowid

    def insertion_order(self, table: sa.Table) -> Any | None:
        # a new row's rowid is above every live row's (the largest plus one); ON
        # CONFLICT DO UPDATE keeps a row's rowid, and VACUUM keeps rowids' order.
        # Every index ends with the rowid, so it orders ties at no cost.
        return sa.literal_column(f"{_NAMES.format_table(table)}.rowid", sa.Integer())

    @contextmanager
    def bulk_cache(self, conn: Connection, kib: int) -> Iterator[None]:
        """With SQLite's default 2 MB cache, a big move writes changed pages to
        the WAL before its commit to make room, and again when it changes them
        again (the b-tree's last pages, the free-page list): about 6% more WAL for
        5,000 sessions, and more CPU. The pages live in the process' memory only
        until the transaction ends."""
        driver: Any = conn.connection.driver_connection
        own = driver.execute("PRAGMA cache_size").fetchone()[0]
        page = driver.execute("PRAGMA page_size").fetchone()[0]
        if (-own if own < 0 else own * page // 1024) >= kib:
            yield
            return
        driver.execute(f"PRAGMA cache_size = -{int(kib)}")
        try:
            yield
        finally:  # on the driver: it works in a transaction that failed too
            driver.execute(f"PRAGMA cache_size = {int(own)}")

    def kept_as_bound(
        self, conn: Connection, table: sa.Table
    ) -> dict[str, Callable[[Sequence[Any]], bool]] | None:
        # SQLite keeps a value as bound unless the column's affinity converts it
        # (https://sqlite.org/datatype3.html): text in a TEXT column, a 64-bit int
        # in an INTEGER one, JSON text that is not a number anywhere. A trigger
        # could rewrite a row, a collation reorder or merge keys: then read back.
        if table.schema is not None:  # an attached database: not looked into here
            return None
        name = table.name
        found = conn.exec_driver_sql(
            "SELECT type, sql FROM sqlite_master WHERE tbl_name = ? COLLATE NOCASE "
            "UNION ALL SELECT type, sql FROM sqlite_temp_master WHERE tbl_name = ? "
            "COLLATE NOCASE",
            (name, name),
        ).all()
        kinds = [kind for kind, _ in found]
        if kinds.count("table") != 1 or "trigger" in kinds:
            return None
        if any(kind == "table" and "COLLATE" in (sql or "").upper() for kind, sql in found):
            return None
        declared = {
            row[1]: row[2]
            for row in conn.exec_driver_sql(f"PRAGMA table_info({_NAMES.quote(name)})")
        }
        if any(c.name not in declared for c in table.columns):
            return None
        return {c.name: _KEPT[affinity(declared[c.name])] for c in table.columns}

    def contains(self, column: Any, term: str) -> Any:
        if len(term.encode()) > LIKE_LIMIT:  # lower(): ASCII text may be stored unfolded
            return sa.func.instr(sa.func.lower(column), term) > 0
        return super().contains(column, term)

    def json_column_type(self) -> sa.types.TypeEngine[Any]:
        return sqlite.JSON()

    def epoch_type(self) -> sa.types.TypeEngine[int]:
        return sqlite.INTEGER()

    def json_as_text(self, column: Any) -> Any:
        # as stored: CAST(... AS TEXT) of a BLOB holding bytes that are not UTF-8
        # would fail the whole query, while the bytes themselves fail only that
        # row's decode
        return sa.type_coerce(column, sa.Text)

    def agno_engine_options(self) -> dict[str, Any]:
        import json

        return {"json_serializer": json.dumps, "connect_args": {"timeout": 30}}

    def engine_url(self, url: str) -> str:
        """``url`` with its SQLite URI parameters honoured.

        SQLAlchemy hands ``mode=ro``, ``immutable=1``, ``cache=shared`` and the
        like to SQLite only in a ``file:`` URI with ``uri=true``; otherwise it drops
        them with a warning, so ``sqlite:///x.db?mode=ro`` would open x.db writable.
        Such a URL becomes the URI that says the same
        (``sqlite:///file:/abs/x.db?mode=ro&uri=true``); any other is kept as given.
        """
        parsed = sa.engine.make_url(url)
        if not self.ignored_url_options(parsed):
            return url
        return uri_url(
            parsed.database or ":memory:", _pairs(parsed.query), drivername=parsed.drivername
        )

    def ignored_url_options(self, url: sa.engine.URL) -> list[str]:
        if read_as_uri(url):
            return []
        return sorted(set(url.query) - DRIVER_URL_OPTIONS)

    def is_lock_timeout(self, exc: Exception) -> bool:
        text = str(getattr(exc, "orig", exc))
        return "database is locked" in text or "database table is locked" in text

    def translate(self, exc: Exception, place: ErrorPlace) -> Exception | None:
        text = str(getattr(exc, "orig", exc))
        where = place.where
        if self.is_lock_timeout(exc):
            if place.upgrade is not None:
                return StorageLockedError(
                    f"SQLite database {where} stayed locked for over {place.waited_s} s: "
                    f"{place.upgrade}; retry when it is done (an upgrade's dry run states "
                    "how long it holds the lock)"
                )
            return StorageLockedError(
                f"SQLite database {where} stayed locked by another writer for over "
                f"{place.waited_s} s: retry, or close the other writer"
            )
        if "readonly database" in text:
            return AgnoNbError(
                f"SQLite database {where} is read-only here: open it writable "
                "(check the file's permissions, or drop mode=ro from the URL) to change it"
            )
        if "unable to open database file" in text:
            return BackendUnavailableError(
                f"cannot open SQLite database {where}: " + why_unopenable(place.database)
            )
        if "Could not decode to UTF-8" in text:  # a text column holding other bytes
            found = re.search(r"column '([^']*)'", text)
            column = found.group(1) if found else "?"
            return CorruptSessionError(
                f"a row of {place.table} holds bytes that are not UTF-8 text in column "
                f"{column!r} (written outside agno_nb): find it with WHERE typeof({column}) = "
                "'blob', then fix or delete that row"
            )
        if "file is not a database" in text:
            return BackendUnavailableError(
                f"{mask_url(where)} is not a SQLite database: point db_file at "
                "a SQLite file or a new path"
            )
        if "database or disk is full" in text:  # SQLITE_FULL
            return StorageFullError(
                f"SQLite database {where} is full (its disk, or the file's "
                "max_page_count): free space and retry; nothing of this call was saved"
            )
        if "disk I/O error" in text:
            return AgnoNbError(
                f"SQLite database {where} hit a disk I/O error: check the disk "
                "and the file's folder; nothing of this call was saved"
            )
        if "no such table" in text:
            return self.table_gone(exc, place)
        # the storage's fast write path raises sqlite3's own errors
        if isinstance(exc, sa.exc.OperationalError | sqlite3.OperationalError):
            first = text.strip().splitlines()
            detail = mask_url(first[0] if first else type(exc).__name__)
            return AgnoNbError(f"SQLite database {where} failed: {detail}")
        return None
