"""How one storage call runs: driver errors translated, and the call redone
when the table's layout changed under it or the database rolled it back.

:class:`Translating` is the context every connection of a storage is used
in (``BaseStorage._errors()``); :func:`consistent` wraps the public methods
that read or write sessions; :class:`LayoutChanged` is what the layout
re-check raises (``_stamps.recheck``) to have the call redone;
:func:`table_gone` is the error a backend's ``_translate`` gives for a table
dropped under an open storage.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import Any, Literal, ParamSpec, TypeVar

import sqlalchemy as sa

from agno_nb.errors import AgnoNbError, StorageConflictError, TableMissingError
from agno_nb.schema import LATEST_VERSION
from agno_nb.storage.contract import StorageCore
from agno_nb.urls import mask_url


class LayoutChanged(Exception):
    """Internal: another process changed the table's layout; the call is redone."""


class Translating:
    """Context manager: an exception raised inside that ``translate`` turns into an
    AgnoNbError leaves as that error (without the driver's traceback chained)."""

    __slots__ = ("_translate",)

    def __init__(self, translate: Callable[[Exception], Exception | None]) -> None:
        self._translate = translate

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> Literal[False]:
        if not isinstance(exc, Exception) or isinstance(exc, AgnoNbError):
            return False
        if isinstance(exc, sa.exc.StatementError) and isinstance(exc.orig, AgnoNbError):
            raise exc.orig from None  # refused by our JSON encoder, say: one line
        translated = self._translate(exc)
        if translated is None:
            return False
        raise translated from None


def table_gone(storage: StorageCore, exc: Exception) -> TableMissingError:
    """The error for a table dropped under this open storage; the next call
    looks the table up again (and a write creates it)."""
    storage.forget_layout()
    first = str(getattr(exc, "orig", exc)).strip().splitlines()
    detail = mask_url(first[0] if first else type(exc).__name__)
    return TableMissingError(
        f"a table of {storage.ref.qualified} is gone ({detail}): another process dropped "
        "it; retry the call (reads find no sessions, a write creates the table again)"
    )


P = ParamSpec("P")
R = TypeVar("R")


#: How many times a call rolled back by a deadlock or serialization failure is redone.
CONFLICT_RETRIES = 5


def consistent(method: Callable[P, R]) -> Callable[P, R]:
    """Redo ``method`` when another process upgraded the table under it, so a
    storage opened before an upgrade never writes or reads the old layout; and
    when the database rolled its transaction back for a deadlock or a
    serialization failure (a bounded number of times, with a random backoff)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        conflicts = 0
        layout_changes = 0
        while True:
            try:
                return method(*args, **kwargs)
            except LayoutChanged:
                layout_changes += 1
                if layout_changes > LATEST_VERSION + 1:
                    raise AgnoNbError(
                        "the table's layout kept changing under this call: retry it"
                    ) from None
            except StorageConflictError as exc:
                # rolled back whole by the database: nothing was saved, so redo it
                conflicts += 1
                if conflicts > CONFLICT_RETRIES:
                    raise StorageConflictError(
                        f"{exc} (still conflicting after {conflicts} attempts: retry later)"
                    ) from None
                time.sleep(random.uniform(0, 0.005 * 2**conflicts))

    return wrapper
