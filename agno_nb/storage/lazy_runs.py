"""A session's runs as read from a runs table, each decoded when first taken.

``read()`` of a session on agno_nb's own layouts hands out its runs as a
:class:`RunList`: a ``list`` whose items start out as each run's stored JSON
text (a :class:`StoredRun`). Taking an item (``runs[i]``, a slice, iterating,
``pop()``, ``sort()``...) decodes it into a plain ``dict``, exactly as
``json.loads`` reads it, and keeps that dict in the list, so a caller edits the
runs as any list of dicts. Runs nobody takes are never decoded: a first read of
a 1,000-run session costs the row fetch alone, and a turn of an agno Agent
(read, append one run, upsert) leaves the 1,000 stored runs as they are, which
the write recognises by identity (``rows_cached.py``) instead of comparing them.

A :class:`StoredRun` is immutable and shared between reads of the same stored
session: nothing a caller does to one read's runs can reach another's. It is a
read-only mapping that decodes afresh on each use, so code that walks a list's
items without calling its methods (``orjson.dumps(runs)`` refuses it with a
``TypeError``; pydantic validates it as a mapping) never meets an empty or
wrong run. ``json.dumps`` and agno_nb's own encoder write the runs as stored;
``list(runs)`` or ``session.to_dict()`` gives plain dicts throughout.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import Any, SupportsIndex, overload

import orjson

from agno_nb.codec import StoredRun, has_long_number, loads_many

__all__ = ["RunList", "StoredRun", "decode_stored"]


def decode_stored(items: Sequence[StoredRun]) -> list[Any]:
    """The values of stored runs, in order, exactly as ``json.loads`` reads them.

    Their texts are joined into one JSON array and decoded by one orjson call
    when that gives ``json.loads``' values (no run of 19 or more digits, see
    ``has_long_number``; orjson refuses NaN, infinities and lone surrogates
    itself); otherwise run by run, so a corrupt run raises naming its session.

    Raises:
        CorruptSessionError: a run's stored text is not JSON.
    """
    texts = [item.encoded() for item in items]
    if texts and None not in texts:
        data = b"[" + b",".join(texts) + b"]"  # type: ignore[arg-type]
        try:
            values = loads_many(data)
        except orjson.JSONDecodeError:
            values = None
        if values is not None and len(values) == len(texts) and not has_long_number(data):
            return list(values)
    return [item.decode() for item in items]


class RunList(list):
    """A list of runs whose stored items are decoded when first taken.

    Behaves as a ``list`` of the runs' values; see the module docstring.
    """

    __slots__ = ()

    def _take(self, index: SupportsIndex) -> Any:
        item = list.__getitem__(self, index)
        if type(item) is StoredRun:
            item = item.decode()
            list.__setitem__(self, index, item)
        return item

    def take_all(self) -> None:
        """Decode every item still stored (in one pass), in place."""
        items = list.copy(self)
        where = [i for i, item in enumerate(items) if type(item) is StoredRun]
        if where:
            values = decode_stored([items[i] for i in where])
            for i, value in zip(where, values, strict=True):
                list.__setitem__(self, i, value)

    def stored_count(self) -> int:
        """How many items are still undecoded stored runs."""
        return sum(type(item) is StoredRun for item in list.copy(self))

    @overload
    def __getitem__(self, index: SupportsIndex) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> Any:
        if isinstance(index, slice):
            for i in range(*index.indices(len(self))):
                self._take(i)
            return list.__getitem__(self, index)
        return self._take(index)

    def __iter__(self) -> Iterator[Any]:
        self.take_all()
        return list.__iter__(self)

    def __reversed__(self) -> Iterator[Any]:
        self.take_all()
        return list.__reversed__(self)

    def pop(self, index: SupportsIndex = -1) -> Any:
        self._take(index)
        return list.pop(self, index)

    def sort(self, *args: Any, **kwargs: Any) -> None:
        self.take_all()
        list.sort(self, *args, **kwargs)

    def copy(self) -> RunList:
        """A shallow copy that is still lazy (stored items are immutable)."""
        return RunList(list.copy(self))

    def __copy__(self) -> RunList:
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> RunList:
        return RunList(
            item.decode() if type(item) is StoredRun else copy.deepcopy(item, memo)
            for item in list.copy(self)
        )

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        self.take_all()  # pickled as a plain list of plain values
        return list, (list.copy(self),)

    def __add__(self, other: Any) -> RunList:
        return RunList(list.__add__(self, other))

    def __mul__(self, count: SupportsIndex) -> RunList:
        return RunList(list.__mul__(self, count))

    __rmul__ = __mul__
