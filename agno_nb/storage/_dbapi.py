"""Fixed Core statements executed straight on the DBAPI cursor.

SQLAlchemy still writes the SQL: each statement is compiled once by the
engine's dialect, and each parameter goes through its column type's bind
processor (JSON encoding included), exactly as ``Connection.execute`` would.
What is skipped is the per-call work around the driver (cache keys, parameter
dictionaries, result objects, event dispatch), which on SQLite cost more than
the database itself for a small write.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Dialect


class NotDriverReady(Exception):
    """This statement or parameter set needs SQLAlchemy's full execution path."""


class DriverStatement:
    """A compiled statement: its SQL and how to turn a row into positional params."""

    __slots__ = ("_pick", "_typed", "keys", "sql")

    def __init__(
        self, sql: str, keys: tuple[str, ...], processors: tuple[Callable[[Any], Any] | None, ...]
    ) -> None:
        self.sql = sql
        self.keys = keys
        pick = operator.itemgetter(*keys)
        self._pick: Callable[[Mapping[str, Any]], Any] = (
            pick if len(keys) > 1 else lambda row: (pick(row),)
        )
        #: (position, bind processor) of the parameters whose type converts them
        self._typed = tuple((i, p) for i, p in enumerate(processors) if p is not None)

    def params(self, row: Mapping[str, Any]) -> Sequence[Any]:
        """The positional parameters for one row of named values."""
        values = self._pick(row)
        if not self._typed:
            return values
        values = list(values)
        for index, process in self._typed:
            values[index] = process(values[index])
        return values


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
