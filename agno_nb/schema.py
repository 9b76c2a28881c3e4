"""Every table agno_nb uses, per layout version and backend.

Layout v0 is agno's older agent table (no ``team_session_id``); v1 is exactly
agno 1.x's table (same columns, types, JSON encoding and index names); v2 adds
summary columns, listing indexes and a companion ``<table>_runs`` table that
holds one row per run; v3 drops agno's single-column indexes, which the
listing indexes cover or nothing queries, so a new session updates three
indexes instead of six; v4 adds the folded text that search matches
(``search_name`` on the sessions table, ``search_text`` on each run row; see
``agno_nb.summary``); v5 stores each run on Postgres as ``json`` (the text as
written, only validated) instead of ``jsonb``, so reading runs back hands out
that text instead of rebuilding it from jsonb's binary form (SQLite and DuckDB
are unchanged); v6 breaks ties in the newest-first order by insertion order:
on Postgres and DuckDB an ``insert_seq`` column the database numbers (an
identity column, a sequence), which the listing indexes end with on Postgres;
SQLite's tables already have that order in their ``rowid``, so its v6 is v5. A
version table records each storage table's layout.

Names: a storage table may have any name the database takes quoted (see
:func:`check_table_name`); names derived from it (``<table>_runs``, the
listing indexes, DuckDB's sequence) that would pass the 63-byte identifier
limit are cut short and end with a hash of the whole name (:func:`derived_name`).
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeEngine

from agno_nb.dialects import dialect_of
from agno_nb.errors import InvalidArgumentError, InvalidNameError
from agno_nb.sessions import ENTITY_COLUMN, MODES

LATEST_VERSION = 6
VERSION_TABLE = "agno_nb_schema_versions"
RUNS_SUFFIX = "_runs"
#: v6: the insertion number that breaks ties in the newest-first order (Postgres, DuckDB)
INSERT_SEQ = "insert_seq"
#: Postgres' identifier limit (NAMEDATALEN - 1): a longer name is cut, naming another object
MAX_NAME_BYTES = 63

#: agno 1.x's session fields that hold a JSON object (or nothing), every mode's.
DICT_FIELDS: tuple[str, ...] = (
    "memory",
    "session_data",
    "extra_data",
    "agent_data",
    "team_data",
    "workflow_data",
)
#: Its JSON columns: those fields, plus workflow_v2's ``runs`` (a list).
JSON_COLUMNS: tuple[str, ...] = (*DICT_FIELDS, "runs")

#: Columns the latest layout adds to agno's v1 table.
V2_COLUMNS: tuple[tuple[str, str], ...] = (
    ("session_name", "string"),
    ("run_count", "int"),
    ("message_count", "int"),
    ("preview", "string"),
    ("created_ms", "bigint"),
    ("active_ms", "bigint"),
)

#: Every column agno_nb adds to agno 1.x's session table (v2's summary columns,
#: v4's search text, v6's insertion number): none of them is a session field.
OWN_COLUMNS: frozenset[str] = frozenset(
    {*(name for name, _ in V2_COLUMNS), "search_name", INSERT_SEQ}
)

#: A plain SQL identifier of at most 45 characters (names of agno 3.x's schema in a
#: migration target; storage tables take any safe name, see :func:`check_table_name`).
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,44}")  # used with fullmatch: no "\n"


def check_identifier(name: object, *, what: str = "table name") -> str:
    """Return ``name`` if it is a plain SQL identifier, else raise InvalidNameError."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        shown = repr(name) if len(repr(name)) < 60 else repr(name)[:57] + "...'"
        raise InvalidNameError(
            f"invalid {what} {shown}: use letters, digits and underscores only, "
            "starting with a letter or underscore (at most 45 characters)"
        )
    return name


#: characters no table name of ours may hold, quoted or not: control and format
#: characters (a line break in a message, invisible text) and those the drivers'
#: SQL text treats specially (``"`` ends a quoted name, ``%`` starts a parameter).
_UNSAFE_IN_NAME = re.compile(r'["%\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]')


def check_table_name(name: object, *, what: str = "table name") -> str:
    """Return ``name`` if a database takes it as a quoted name and it is safe to
    pass around: any text of 1 to 63 bytes (Postgres' limit; a longer name would
    be cut and name another table) without control characters, ``"`` or ``%``,
    and without spaces around it. agno 1.x accepts ``agent-sessions`` and long
    names; agno_nb quotes every name in the SQL it writes.

    Raises:
        InvalidNameError: the name is empty, too long or holds such a character.
    """
    if (
        not isinstance(name, str)
        or not name
        or name != name.strip()
        or len(name.encode()) > MAX_NAME_BYTES
        or _UNSAFE_IN_NAME.search(name)
    ):
        shown = repr(name) if len(repr(name)) < 60 else repr(name)[:57] + "...'"
        raise InvalidNameError(
            f"invalid {what} {shown}: give the name as the database has it (1 to 63 "
            'bytes, no control characters, no " or %, no spaces around it)'
        )
    return name


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def derived_name(table: str, *, backend: str, prefix: str = "", suffix: str = "") -> str:
    """The name of an object belonging to ``table``: ``prefix + table + suffix``
    (``<table>_runs``, ``ix_<table>_created_ms``), or, where that passes 63 bytes,
    the table's name cut short, ``_`` and 10 hex digits of a hash of the whole
    name, then ``suffix``. Stable (the same table always derives the same name,
    however its name is spelled where the database folds case) and distinct for
    distinct tables; names of up to 63 bytes are kept as they are, so tables
    made before long names were taken keep theirs."""
    plain = prefix + table + suffix
    if len(plain.encode()) <= MAX_NAME_BYTES:
        return plain
    # SQLite and DuckDB fold ASCII letters only: "Ä" and "ä" are two tables there
    key = table.translate(_ASCII_LOWER) if dialect_of(backend).folds_names else table
    tag = "_" + hashlib.sha256(key.encode()).hexdigest()[:10]
    room = MAX_NAME_BYTES - len((prefix + tag + suffix).encode())
    cut = table.encode()[:room].decode("utf-8", "ignore")  # whole characters only
    return prefix + cut + tag + suffix


def runs_name(table: str, backend: str) -> str:
    """The name of ``table``'s runs table (layouts v2+): ``<table>_runs``."""
    return derived_name(table, backend=backend, suffix=RUNS_SUFFIX)


def insert_seq_name(table: str, backend: str) -> str:
    """DuckDB's sequence numbering ``table``'s rows (v6): ``<table>_insert_seq``."""
    return derived_name(table, backend=backend, suffix="_" + INSERT_SEQ)


def check_page(limit: object, offset: object = 0) -> None:
    """Check a page request: ``limit`` None (no limit) or a whole number 0 or more,
    ``offset`` a whole number 0 or more.

    Raises:
        InvalidArgumentError: either is negative or not a whole number.
    """
    for name, value, allow_none in (("limit", limit, True), ("offset", offset, False)):
        if value is None and allow_none:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            more = ", or None for no limit" if allow_none else ""
            raise InvalidArgumentError(
                f"{name}={value!r} is not a page {name}: pass a whole number 0 or more{more}"
            )


def check_mode(mode: object) -> str:
    if mode not in MODES:
        raise InvalidNameError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    return str(mode)


def json_type(backend: str) -> TypeEngine[object]:
    """The JSON column type agno 1.x uses on each backend (ours for DuckDB)."""
    return dialect_of(backend).json_column_type()


def run_json_type(backend: str, version: int) -> TypeEngine[object]:
    """The type of the runs table's ``run`` column at layout ``version``: from v5,
    a JSON type that keeps the text as written where the database has one beside
    :func:`json_type` (Postgres' ``json``, whose ``run::text`` costs the server
    nothing, where earlier layouts use ``jsonb``); elsewhere :func:`json_type` at
    every version."""
    keeps_text = dialect_of(backend).text_json_type() if version >= 5 else None
    return keeps_text if keeps_text is not None else json_type(backend)


def json_text(column: Any, backend: str) -> Any:
    """``column``'s stored JSON as text, for our own decoding (SQLite keeps it as
    stored, see ``Dialect.json_as_text``)."""
    return dialect_of(backend).json_as_text(column)


def _epoch_type(backend: str) -> TypeEngine[int]:
    return dialect_of(backend).epoch_type()


def _now() -> int:
    return int(time.time())


def quiet_update(table: sa.Table) -> Any:
    """``table.update()`` that fires no column's ``onupdate`` default: each such
    column (``updated_at`` on SQLite and DuckDB) is set to itself. For writes that
    are not the user's (upgrade steps, moving runs), which must change no value
    the user wrote."""
    keep = {c.name: c for c in table.columns if c.onupdate is not None}
    return table.update().values(**keep)


def session_table(
    metadata: sa.MetaData,
    name: str,
    *,
    mode: str,
    version: int,
    backend: str,
    schema: str | None = None,
) -> sa.Table:
    """The sessions table at layout ``version`` (0 to 6; v5 changes only the runs
    table, so its sessions table is v4's, and on SQLite v6's is too) for ``mode``."""
    js = json_type(backend)
    ix = version < 3  # agno's single-column indexes, dropped by v3
    epoch = _epoch_type(backend)
    if dialect_of(backend).epoch_default_on_server:
        now_sql = sa.text("(extract(epoch from now()))::bigint")
        created = sa.Column("created_at", epoch, server_default=now_sql)
        updated = sa.Column("updated_at", epoch)
    else:
        created = sa.Column("created_at", epoch, default=_now)
        updated = sa.Column("updated_at", epoch, onupdate=_now)
    columns: list[sa.Column[Any]] = [
        sa.Column("session_id", sa.String, primary_key=True),
        sa.Column("user_id", sa.String, index=ix),
        sa.Column("memory", js),
        sa.Column("session_data", js),
        sa.Column("extra_data", js),
        created,
        updated,
    ]
    if mode == "agent":
        columns += [sa.Column("agent_id", sa.String, index=ix), sa.Column("agent_data", js)]
        if version >= 1:
            columns.append(sa.Column("team_session_id", sa.String, index=ix, nullable=True))
    elif mode == "team":
        columns += [
            sa.Column("team_id", sa.String, index=ix),
            sa.Column("team_data", js),
            sa.Column("team_session_id", sa.String, index=ix, nullable=True),
        ]
    elif mode == "workflow":
        columns += [sa.Column("workflow_id", sa.String, index=ix), sa.Column("workflow_data", js)]
    else:
        columns += [
            sa.Column("workflow_id", sa.String, index=ix),
            sa.Column("workflow_name", sa.String, index=ix),
            sa.Column("workflow_data", js),
            sa.Column("runs", js),
        ]
    if version >= 2:
        types: dict[str, TypeEngine[Any]] = {
            "string": sa.String(),
            "int": sa.Integer(),
            "bigint": sa.BigInteger(),
        }
        for col_name, kind in V2_COLUMNS:
            default = sa.text("0") if kind == "int" else None
            columns.append(sa.Column(col_name, types[kind], server_default=default))
    if version >= 4:
        columns.append(sa.Column("search_name", sa.Text()))
    facts = dialect_of(backend)
    # v6's insert_seq (where the database keeps no insertion order of its own): the
    # number the database gives each new row, which breaks ties of created_ms; an
    # upsert of an existing session leaves it as it is
    sequence = quoted_name(insert_seq_name(name, backend), schema)
    numbering = facts.numbering_column(INSERT_SEQ, sequence) if version >= 6 else None
    if numbering is not None:
        columns.append(numbering)
    table = sa.Table(name, metadata, *columns, schema=schema)
    if ix:
        _name_agno_indexes(table, backend)
    if version >= 2:
        for index_name, cols in v2_index_specs(name, mode, backend=backend, version=version):
            sa.Index(index_name, *(table.c[c] for c in cols))
    separate = facts.sequence_ddl(sequence.replace("%", "%%"))  # DDL() formats with %
    if numbering is not None and separate is not None:  # a sequence of the table's own
        sa.event.listen(table, "before_create", sa.DDL(separate[0]))
        sa.event.listen(table, "after_drop", sa.DDL(separate[1]))
    return table


def _name_agno_indexes(table: sa.Table, backend: str) -> None:
    """agno's single-column indexes keep SQLAlchemy's name for them (``ix_<schema>_
    <table>_<column>``, cut to 63 characters with a hash when longer), which is the
    name agno 1.x's tables have. Only where that name is over 63 *bytes* (a name
    with letters beyond ASCII), which Postgres would cut again into one name for
    every column (agno 1.x cannot create such a table there), it is derived
    instead (:func:`derived_name`)."""
    label = f"{table.schema}_{table.name}" if table.schema else table.name
    for index in table.indexes:
        (column,) = index.columns
        conventional = f"ix_{label}_{column.name}"
        if len(conventional.encode()) > MAX_NAME_BYTES and not conventional.isascii():
            derived = derived_name(label, backend=backend, prefix="ix_", suffix="_" + column.name)
            index.name = sa.sql.quoted_name(derived, None)


def quoted_name(name: str, schema: str | None = None) -> str:
    """``"schema"."name"``, each part quoted (``"`` never occurs in a checked name)."""
    parts = [name] if schema is None else [schema, name]
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


def v2_index_specs(
    name: str, mode: str, *, backend: str, version: int = 2
) -> list[tuple[str, tuple[str, ...]]]:
    """Name and columns of each listing index (v2 on); from v6 they end with
    ``insert_seq`` where the table has it and indexes serve an ORDER BY (Postgres),
    so a page in newest-first order is read off the index (DuckDB's indexes serve
    no ORDER BY; SQLite's end with the rowid anyway)."""
    entity = ENTITY_COLUMN[mode]
    facts = dialect_of(backend)
    numbered = not facts.keeps_insertion_order and facts.indexes_serve_order
    tie = (INSERT_SEQ,) if version >= 6 and numbered else ()

    def ix(what: str) -> str:
        return derived_name(name, backend=backend, prefix="ix_", suffix="_" + what)

    return [
        (ix("created_ms"), ("created_ms", *tie)),
        (ix("user_created"), ("user_id", "created_ms", *tie)),
        (ix("entity_created"), (entity, "created_ms", *tie)),
    ]


def runs_table(
    metadata: sa.MetaData,
    name: str,
    *,
    backend: str,
    schema: str | None = None,
    version: int = 2,
) -> sa.Table:
    """The companion table of layouts v2+: one row per run (from ``version`` 4
    with the run's folded ``search_text``; from 5, on Postgres, ``run`` is
    ``json``, see :func:`run_json_type`). The default stays v2's shape, which
    the released v1 -> v2 step creates."""
    extra = [sa.Column("search_text", sa.Text())] if version >= 4 else []
    return sa.Table(
        runs_name(name, backend),
        metadata,
        sa.Column("session_id", sa.String, primary_key=True),
        sa.Column("run_index", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("run_id", sa.String),
        sa.Column("created_at", _epoch_type(backend)),
        sa.Column("message_count", sa.Integer),
        sa.Column("run", run_json_type(backend, version)),
        *extra,
        schema=schema,
    )


def version_table(metadata: sa.MetaData, *, schema: str | None = None) -> sa.Table:
    """One row per storage table: its layout version and mode."""
    return sa.Table(
        VERSION_TABLE,
        metadata,
        sa.Column("table_name", sa.String, primary_key=True),
        sa.Column("layout_version", sa.Integer, nullable=False),
        sa.Column("mode", sa.String),
        sa.Column("updated_at", sa.BigInteger),
        schema=schema,
    )
