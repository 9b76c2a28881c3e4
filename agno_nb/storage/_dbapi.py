"""Fixed Core statements executed straight on the DBAPI cursor.

SQLAlchemy still writes the SQL: each statement is compiled once by the
engine's dialect, and each parameter goes through its column type's bind
processor (JSON encoding included), exactly as ``Connection.execute`` would.
What is skipped is the per-call work around the driver (cache keys, parameter
dictionaries, result objects, event dispatch), which on SQLite cost more than
the database itself for a small write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect


class NotDriverReady(Exception):
    """This statement or parameter set needs SQLAlchemy's full execution path."""


@dataclass(frozen=True)
class DriverStatement:
    """A compiled statement: its SQL and how to turn a row into positional params."""

    sql: str
    keys: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]

    def params(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        """The positional parameters for one row of named values."""
        return tuple(
            row[key] if process is None else process(row[key])
            for key, process in zip(self.keys, self.processors, strict=True)
        )


def compile_for_driver(statement: Any, dialect: Dialect, keys: Sequence[str]) -> DriverStatement:
    """Compile ``statement`` for rows with exactly ``keys``.

    Raises:
        NotDriverReady: the statement needs SQLAlchemy at execution time (a
            named paramstyle, Python-side defaults for missing keys, expanding
            IN parameters, or bound names not among ``keys``).
    """
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    names = compiled.positiontup
    if (
        names is None
        or compiled.insert_prefetch
        or compiled.update_prefetch
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or not set(names) <= set(keys)
    ):
        raise NotDriverReady(compiled.string)
    processors = tuple(
        compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    )
    return DriverStatement(compiled.string, tuple(names), processors)
