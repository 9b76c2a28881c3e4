"""Fixed Core statements executed straight on the DBAPI cursor, and the
DB-API connections a storage holds.

SQLAlchemy still writes the SQL: each statement is compiled once by the
engine's dialect (writes: ``migrations.sql.compile_for_driver``, shared with
the upgrade's bulk moves; reads: :func:`compile_select`). What is skipped is
the per-call work around the driver (cache keys, parameter dictionaries,
result objects, event dispatch), which on SQLite cost more than the database
itself for a small write.
"""

from __future__ import annotations

import itertools
import os
import threading
import weakref
from typing import Any

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
            column[3].dialect_impl(dialect).result_processor(dialect, None) is not None
            for column in compiled._result_columns
        )
    ):
        return None
    return str(compiled.string)


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
