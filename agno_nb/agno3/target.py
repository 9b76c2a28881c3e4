"""Where a migration writes: the engine, agno 3.x's tables and which of them exist."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from agno_nb.agno3.tables import TargetTables, bookkeeping_columns
from agno_nb.dialects import dialect_named, dialect_of
from agno_nb.errors import AgnoNbError, BackendUnavailableError
from agno_nb.urls import mask_url

_BACKENDS = {
    "sqlite": "sqlite",
    "postgresql": "postgres",
    "postgres": "postgres",
    "duckdb": "duckdb",
}


@dataclass
class Target:
    """The target database: its engine, tables, and which tables exist."""

    engine: Engine
    tables: TargetTables
    exists: bool
    #: names of the target tables that exist
    present: set[str] = dataclasses.field(default_factory=set)
    #: whether the bookkeeping table has this version's columns (or is still to create)
    bookkeeping_current: bool = True

    def has(self, table: sa.Table) -> bool:
        """Whether ``table`` exists in the target."""
        return table.name in self.present


def backend_of(url: str) -> str:
    """``sqlite``, ``postgres`` or ``duckdb`` for a URL; one clear line for anything else."""
    try:
        name = make_url(url).get_backend_name()
    except Exception:
        raise AgnoNbError(
            f"malformed database URL {mask_url(url)!r}: use e.g. sqlite:///tmp/data.db or "
            "postgresql+psycopg://user:pw@host:5432/db"
        ) from None
    backend = _BACKENDS.get(name)
    if backend is None:
        raise BackendUnavailableError(
            f"unknown backend {name!r} in {mask_url(url)!r}: use sqlite or postgresql"
        )
    return backend


#: SQLite page cache of a migration's connections, in KiB (SQLite's default is
#: 2,000): a batch changes pages of agno_runs and its nine indexes all over the
#: file, and with the default cache many were read again from the OS for each
#: batch (a quarter of the bytes read for 5,000 sessions)
CACHE_KIB = 32_768


def _c_encoder() -> Any:
    """The C encoder ``json.dumps`` builds on every call, built once with its
    settings (None where the interpreter has none, or it does not write what
    ``json.dumps`` writes)."""
    try:
        from json.encoder import c_make_encoder  # type: ignore[attr-defined]

        encode = c_make_encoder(
            None, json.JSONEncoder().default, json.encoder.encode_basestring_ascii,
            None, ": ", ", ", False, False, True,
        )  # fmt: skip
        probe = {"a": [1.5e-07, None, True, "\u00e9\x7f\n", {}], "b": 10**30}
        return encode if "".join(encode(probe, 0)) == json.dumps(probe) else None
    except (ImportError, TypeError):  # pragma: no cover - another interpreter
        return None


_ENCODE = _c_encoder()


def agno_json(value: Any) -> str:
    """``json.dumps(value)``, the text agno's engine writes, character for character.

    The same C encoder with the same settings, built once instead of on every call
    (``json.dumps`` makes a new one each time, which costs about as much as
    encoding a small dict), and without the check for circular references, which
    a value decoded from JSON cannot have (one would raise RecursionError instead
    of ValueError).
    """
    if _ENCODE is None:  # pragma: no cover
        return json.dumps(value)
    return "".join(_ENCODE(value, 0))


#: Execution option naming the kind of SQLite transaction (``IMMEDIATE`` for writes).
BEGIN_OPTION = "agno_nb_begin"


def write_transaction(engine: Engine) -> Any:
    """A transaction that takes SQLite's write lock at BEGIN, so what it reads
    cannot change before it writes (elsewhere a plain transaction)."""
    dialect = dialect_named(engine.dialect.name)
    if dialect is not None and dialect.explicit_begin:
        return engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"}).begin()
    return engine.begin()


def engine_for(url: str, backend: str) -> Engine:
    """An engine that encodes JSON as agno's does (``json.dumps``); on SQLite its
    transactions BEGIN themselves, so DDL is transactional too."""
    dialect = dialect_of(backend)
    engine = sa.create_engine(dialect.engine_url(url), **dialect.agno_engine_options())
    if dialect.explicit_begin:
        # pysqlite opens transactions only before DML; DDL would commit on its own.
        # BEGIN ourselves, so creating the tables and stamping them is one transaction.
        @sa.event.listens_for(engine, "connect")
        def _no_implicit(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            dbapi_conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get(BEGIN_OPTION, '')}")

    return engine


def sqlite_file(url: str) -> Path | None:
    """The absolute path of a file database's URL (None in memory)."""
    database = make_url(url).database
    return None if database in (None, "", ":memory:") else Path(str(database)).resolve()


def open_target(url: str, backend: str, schema: str | None, engine: Engine | None) -> Target:
    """The target of a migration (a SQLite file that does not exist is not created)."""
    tables = TargetTables.build(backend, schema)
    if tables.dialect.file_based:
        path = sqlite_file(url)
        if path is not None and not path.exists():  # a dry run must not create the file
            return Target(engine or engine_for(url, backend), tables, exists=False)
    return Target(engine or engine_for(url, backend), tables, exists=True)


def missing_tables(target: Target, *, memories: bool) -> list[sa.Table]:
    """The target tables still to create (and notes which exist)."""
    t = target.tables
    wanted = [t.versions, *t.agno_tables(memories=memories), t.rows, t.progress]
    if not target.exists:
        return wanted
    with target.engine.connect() as conn:
        missing = t.missing(conn, memories=memories)
        if t.rows not in missing:
            inspector = sa.inspect(conn)
            have = {c["name"] for c in inspector.get_columns(t.rows.name, schema=t.schema)}
            target.bookkeeping_current = all(c.name in have for c in bookkeeping_columns())
    target.present = {x.name for x in wanted if x not in missing}
    return missing
