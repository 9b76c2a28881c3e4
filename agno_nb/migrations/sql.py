"""What every migration step is written with: the table a step works on
(:class:`TableRef`), the SQL helpers that compile for a backend offline, and
what a step did to the data (:class:`StepStats`). The bottom of ``migrations/``:
of agno_nb it imports only the dialects."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from agno_nb.dialects import dialect_named, dialect_of
from agno_nb.schema import runs_table, session_table


@dataclass(frozen=True)
class TableRef:
    """Which table a migration works on."""

    backend: str
    table: str
    mode: str = "agent"
    schema: str | None = None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}" if self.schema else self.table

    def sessions_at(self, version: int, metadata: sa.MetaData | None = None) -> sa.Table:
        """This table as ``schema.session_table`` describes it at layout ``version``."""
        return session_table(
            sa.MetaData() if metadata is None else metadata,
            self.table,
            mode=self.mode,
            version=version,
            backend=self.backend,
            schema=self.schema,
        )

    def runs_at(self, version: int, metadata: sa.MetaData | None = None) -> sa.Table:
        """Its runs table as ``schema.runs_table`` describes it at layout ``version``."""
        md = sa.MetaData() if metadata is None else metadata
        return runs_table(md, self.table, backend=self.backend, schema=self.schema, version=version)


@dataclass
class StepStats:
    """What a step did to the data."""

    sessions: int = 0
    runs: int = 0
    #: (session_id, why) of each row the step could not move; it left them as they
    #: were, marked (``run_count`` NULL) so that reads take their runs from their
    #: JSON. The storage refuses the step (rolls it back) unless told to skip them.
    unmoved: list[tuple[str, str]] = field(default_factory=list)


def dialect_for(backend: str) -> Dialect:
    """A SQLAlchemy dialect to compile a backend's SQL offline."""
    return dialect_of(backend).offline()


def quoted(ref: TableRef, dialect: Dialect, name: str | None = None) -> str:
    """The quoted, schema-qualified name of ``name`` (default: the table)."""
    prep = dialect.identifier_preparer
    table = prep.quote(name or ref.table)
    return f"{prep.quote_schema(ref.schema)}.{table}" if ref.schema else table


def compile_type(type_: sa.types.TypeEngine[Any], dialect: Dialect) -> str:
    """``type_`` as ``dialect`` spells it in DDL."""
    return type_.compile(dialect=dialect)


class ManyRows:
    """One statement run with many rows of parameters, as ``conn.execute(statement,
    rows)`` runs it, but on SQLite handed to the driver directly.

    SQLAlchemy builds each row's parameters in Python (a few microseconds a row,
    about a tenth of an upgrade's CPU time); on SQLite (positional parameters,
    no casts) the statement is compiled once and each row becomes a tuple by one
    C-level ``itemgetter``, after the bind processors of the columns that have
    one (JSON: the engine's encoder, as SQLAlchemy would call it). Elsewhere
    ``conn.execute`` does it all as usual.
    """

    def __init__(self, conn: Connection, statement: Any, keys: list[str]) -> None:
        self.conn = conn
        self.statement = statement
        dialect = conn.dialect
        self.sql: str | None = None
        facts = dialect_named(dialect.name)
        if facts is None or not facts.binds_tuples:
            return
        compiled = statement.compile(dialect=dialect, column_keys=keys)
        names = list(compiled.positiontup or ())
        if not names or sorted(names) != sorted(keys):  # a parameter bound twice, or one not given
            return
        self.sql = compiled.string
        one = names[0] if len(names) == 1 else None
        #: a row's values as the statement's tuple (itemgetter of one name gives no tuple)
        self.take: Any = operator.itemgetter(*names) if one is None else lambda row: (row[one],)
        self.processors = []
        for name in names:
            processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors.append((name, processor))

    def run(self, rows: list[dict[str, Any]]) -> None:
        """Run the statement once per row (each row: a value for every key; on
        SQLite its JSON values are replaced by their text as they are bound)."""
        if not rows:
            return
        if self.sql is None:
            self.conn.execute(self.statement, rows)
            return
        for name, processor in self.processors:
            for row in rows:
                row[name] = processor(row[name])
        self.conn.exec_driver_sql(self.sql, list(map(self.take, rows)))
