"""What every migration step is written with: the table a step works on
(:class:`TableRef`), the SQL helpers that compile for a backend offline, and
what a step did to the data (:class:`StepStats`). The bottom of ``migrations/``:
of agno_nb it imports only the dialects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from agno_nb.dialects import dialect_of


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
