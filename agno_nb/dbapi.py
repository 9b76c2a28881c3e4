"""The DB-API driver level, below the storage and the migrations (it imports
only SQLAlchemy): fixed Core statements executed straight on the driver's
cursor, and the DB-API connections a storage holds.

SQLAlchemy still writes the SQL: each statement is compiled once by the
engine's dialect (writes: :func:`compile_for_driver`, shared by the SQLite
storage's writes and the upgrade's bulk moves, ``migrations.sql.ManyRows``;
reads: :func:`compile_select`). What is skipped is
the per-call work around the driver (cache keys, parameter dictionaries,
result objects, event dispatch), which on SQLite cost more than the database
itself for a small write.
"""

from __future__ import annotations

import itertools
import operator
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect, Engine


def compile_select(statement: Any, dialect: Dialect) -> str | None:
    """The SQL of a SELECT whose named parameters go to the driver as given and
    whose columns come back as the driver returns them (no bind or result
    processing); None when it needs SQLAlchemy at execution time."""
    compiled = statement.compile(dialect=dialect)
    if (
        compiled.positiontup is not None  # a positional paramstyle
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or any(
            bind.type.dialect_impl(dialect).bind_processor(dialect) is not None
            for bind in compiled.binds.values()
        )
        or any(
            column.type.dialect_impl(dialect).result_processor(dialect, None) is not None
            for column in statement.selected_columns
        )
    ):
        return None
    return str(compiled.string)


class NotDriverReady(Exception):
    """This statement or parameter set needs SQLAlchemy's full execution path."""


class DriverStatement:
    """A statement compiled once for the DB-API driver: its SQL and how rows of
    named values become its positional parameters (each through its column
    type's bind processor, as ``Connection.execute`` would pass it)."""

    __slots__ = ("_pick", "_typed", "keys", "processors", "sql")

    def __init__(
        self, sql: str, keys: tuple[str, ...], processors: tuple[Callable[[Any], Any] | None, ...]
    ) -> None:
        self.sql = sql
        self.keys = keys
        #: each parameter's bind processor (None: bound as given), in ``keys``' order
        self.processors = processors
        pick = operator.itemgetter(*keys)
        #: a row's values as the statement's tuple (itemgetter of one name gives no tuple)
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

    def many(self, rows: Sequence[Mapping[str, Any]]) -> list[Sequence[Any]]:
        """:meth:`params` of every row, built column by column (C-level loops
        but for the processors' own calls)."""
        if not self._typed:
            return list(map(self._pick, rows))
        typed = dict(self._typed)
        columns = []
        for index, key in enumerate(self.keys):
            column: Iterable[Any] = map(operator.itemgetter(key), rows)
            process = typed.get(index)
            columns.append(column if process is None else map(process, column))
        return list(zip(*columns, strict=True))


def compile_for_driver(
    statement: Any,
    dialect: Dialect,
    keys: Sequence[str],
    *,
    encoder: Callable[[Any], str] | None = None,
) -> DriverStatement:
    """Compile ``statement`` for rows with exactly ``keys``.

    ``encoder``: the function the engine encodes JSON with (see
    :func:`json_encoder`), called directly for JSON parameters instead of
    through SQLAlchemy's processor, which only wraps it.

    Raises:
        NotDriverReady: the statement needs SQLAlchemy at execution time (a
            named paramstyle, Python-side defaults for missing keys, expanding
            IN parameters, or bound names not among ``keys``).
    """
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    names = compiled.positiontup
    if (
        not names
        or compiled.insert_prefetch
        or compiled.update_prefetch
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or not set(names) <= set(keys)
    ):
        raise NotDriverReady(compiled.string)
    processors = tuple(
        bind_processor(compiled.binds[name].type, dialect, encoder) for name in names
    )
    return DriverStatement(compiled.string, tuple(names), processors)


def json_encoder(dialect: Dialect) -> Callable[[Any], str] | None:
    """The function an engine of ``dialect`` encodes JSON values with (its
    ``create_engine(json_serializer=...)``), None when it keeps SQLAlchemy's."""
    return getattr(dialect, "_json_serializer", None)


def bind_processor(
    type_: Any, dialect: Dialect, encoder: Callable[[Any], str] | None = None
) -> Callable[[Any], Any] | None:
    """The bind processor of ``type_``. For a plain JSON column whose engine
    encodes with ``encoder``: ``encoder`` itself, which is what SQLAlchemy's
    JSON processor calls for every value but its NULL markers (which agno_nb
    never binds), without a wrapper call per value."""
    impl = type_.dialect_impl(dialect)
    if (
        encoder is not None
        and isinstance(impl, sa.JSON)
        and type(impl).bind_processor is sa.JSON.bind_processor  # not a driver's own
        and not impl.none_as_null
        and json_encoder(dialect) is encoder
        # the processor passes the encoded text through a String's, when it has one
        and sa.String().bind_processor(dialect) is None
    ):
        return encoder
    return impl.bind_processor(dialect)


class HeldConnection:
    """One pooled connection kept checked out for a storage's driver-level writes.

    Taking a connection from SQLAlchemy's pool and handing it back (with the
    pool's reset) costs about a tenth of a small SQLite write, and keeping one
    connection also keeps its page cache warm. One thread at a time uses it; a
    thread that finds it busy takes a connection from the pool instead, and a
    child process forgets the parent's (SQLite connections must not cross a
    fork) and opens its own.
    """

    __slots__ = ("__weakref__", "_driver", "_engine", "_lock", "_proxy", "generation")

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._proxy: Any = None
        self._driver: Any = None
        #: which driver connection is held: (process, count), new on every connect
        self.generation: tuple[int, int] = (0, 0)
        _HELD.add(self)

    def take(self) -> tuple[Any, Any]:
        """``(driver connection, pool proxy)``; hand both back with :meth:`give_back`.
        The proxy is None when the held connection was taken."""
        if self._lock.acquire(blocking=False):
            if self._driver is None:
                try:
                    self._proxy = self._engine.raw_connection()
                    self._driver = self._proxy.driver_connection
                    self.generation = (os.getpid(), next(_CONNECTS))
                except BaseException:
                    self._proxy = self._driver = None
                    self._lock.release()
                    raise
            return self._driver, None
        proxy = self._engine.raw_connection()
        return proxy.driver_connection, proxy

    def give_back(self, proxy: Any, *, broken: bool = False) -> None:
        """Return what :meth:`take` gave; ``broken``: its connection failed to roll
        back, so it is invalidated rather than reused."""
        if proxy is not None:
            if broken:
                proxy.invalidate()
            proxy.close()
            return
        if broken:
            self._proxy.invalidate()
            self._proxy = self._driver = None
        self._lock.release()

    def release(self) -> None:
        """Give the held connection back to the pool (it is taken again on next use)."""
        with self._lock:
            proxy, self._proxy, self._driver = self._proxy, None, None
            if proxy is not None:
                proxy.close()

    def _forget(self) -> None:
        """In a forked child: drop the parent's connection unclosed, with a new lock."""
        self._lock = threading.Lock()
        _INHERITED.append(self._proxy)
        self._proxy = self._driver = None


class ForkAware:
    """What a storage does in a child process forked after the storage was made:
    it must never use (nor close) a connection of its parent's. Called once in
    the child, right after the fork."""

    def _after_fork_in_child(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


def leave_parent_pool(engine: Engine) -> None:
    """In a forked child: give ``engine`` a new, empty pool, keeping the parent's
    connections referenced but untouched (as SQLAlchemy's ``dispose(close=False)``
    does, for use with multiprocessing), so that neither a query nor a garbage
    collected driver object (libpq's goodbye message) reaches the parent's
    sessions."""
    _INHERITED.append(engine.pool)
    engine.dispose(close=False)


def pool_holds_connections(engine: Engine) -> bool:
    """Whether ``engine``'s pool holds open connections (True when it cannot tell)."""
    pool: Any = engine.pool
    try:
        return bool(pool.checkedin() + pool.checkedout() > 0)
    except (AttributeError, NotImplementedError):
        return True


_HELD: weakref.WeakSet[HeldConnection] = weakref.WeakSet()
_FORK_AWARE: weakref.WeakSet[ForkAware] = weakref.WeakSet()
#: In a forked child: the parent's connections and pools, kept alive untouched
_INHERITED: list[Any] = []


def track_fork(item: ForkAware) -> None:
    """Call ``item._after_fork_in_child()`` in every child forked from now on."""
    _FORK_AWARE.add(item)


_CONNECTS = itertools.count(1)


def _after_fork_in_child() -> None:
    for held in list(_HELD):
        held._forget()
    for item in list(_FORK_AWARE):
        item._after_fork_in_child()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_after_fork_in_child)
