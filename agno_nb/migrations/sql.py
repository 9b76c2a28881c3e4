"""What every migration step is written with: the table a step works on
(:class:`TableRef`), the SQL helpers that compile for a backend offline, and
what a step did to the data (:class:`StepStats`). The bottom of ``migrations/``:
of agno_nb it imports only the dialects."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from agno_nb.dbapi import DriverStatement, NotDriverReady, compile_for_driver
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

    def shape_at(self, version: int) -> sa.Table:
        """:meth:`sessions_at` ``version``, built once per table and version and
        shared: for reading only (DDL, index lists, statements), never to change.
        An upgrade's plan and steps ask for the same few several times each."""
        return _shape_at(self, version)

    def runs_at(self, version: int, metadata: sa.MetaData | None = None) -> sa.Table:
        """Its runs table as ``schema.runs_table`` describes it at layout ``version``."""
        md = sa.MetaData() if metadata is None else metadata
        return runs_table(md, self.table, backend=self.backend, schema=self.schema, version=version)


@functools.lru_cache(maxsize=32)
def _shape_at(ref: TableRef, version: int) -> sa.Table:
    return ref.sessions_at(version)


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
    rows)`` runs it, but where the driver takes tuples (SQLite) handed to it directly.

    SQLAlchemy builds each row's parameters in Python (a few microseconds a row,
    about a tenth of an upgrade's CPU time); on SQLite (positional parameters,
    no casts) the statement is compiled once (:func:`compile_for_driver`) and
    the rows become tuples column by column, JSON values through the engine's
    encoder as SQLAlchemy would call it. Elsewhere ``conn.execute`` does it all
    as usual.
    """

    def __init__(
        self,
        conn: Connection,
        statement: Any,
        keys: list[str],
        *,
        encoder: Callable[[Any], str] | None = None,
        text_keys: Sequence[str] = (),
    ) -> None:
        """``encoder``: the function agno_nb's engines encode JSON with; where
        the engine's is that one and the statement goes to the driver, the JSON
        values of ``text_keys`` may be given as ``encoder``'s text instead
        (:attr:`takes_text`), so a caller can drop each decoded value as soon as
        it is encoded."""
        self.conn = conn
        self.statement = statement
        self.compiled: DriverStatement | None = None
        #: whether rows give the values of ``text_keys`` as ``encoder``'s JSON text
        self.takes_text = False
        facts = dialect_named(conn.dialect.name)
        if facts is None or not facts.binds_tuples:
            return
        try:
            compiled = compile_for_driver(statement, conn.dialect, keys, encoder=encoder)
        except NotDriverReady:
            return
        if sorted(compiled.keys) != sorted(keys):  # a parameter bound twice
            return
        processors = dict(zip(compiled.keys, compiled.processors, strict=True))
        if text_keys and all(processors[k] is encoder for k in text_keys):
            processors.update(dict.fromkeys(text_keys))
            compiled = DriverStatement(compiled.sql, compiled.keys, tuple(processors.values()))
            self.takes_text = True
        self.compiled = compiled

    @property
    def sql(self) -> str | None:
        """The SQL handed to the driver, None when SQLAlchemy runs the statement."""
        return None if self.compiled is None else self.compiled.sql

    def run(self, rows: list[dict[str, Any]]) -> None:
        """Run the statement once per row (each row: a value for every key; for
        ``text_keys``, their JSON text when :attr:`takes_text`)."""
        if not rows:
            return
        if self.compiled is None:
            self.conn.execute(self.statement, rows)
            return
        self.conn.exec_driver_sql(self.compiled.sql, self.compiled.many(rows))
