"""Transactions that know each session's *change token*, and the per-storage
cache of decoded runs keyed by it.

A change token is something the database itself changes on every committed
write of a session, whoever writes it: on Postgres the session row's ``xmin``
(the id of the transaction that last wrote the row; every agno_nb write of a
session's runs also writes its row), on SQLite the held connection's
``PRAGMA data_version`` (it changes whenever any other connection, in this
process or another, commits to the file) together with that connection's
identity. A cached entry whose token equals the token read inside the current
transaction describes exactly what is stored.

An entry keeps each stored run as an immutable ``StoredRun`` (its stored text),
and reads hand out a new ``RunList`` of those same objects, so a warm read of a
1,000-run session copies a list of references and decodes nothing. A caller
that takes a run gets its own decoded dict; a run nobody took is still the
entry's object when the session comes back to be written, which is how a write
knows, by identity, that it is unchanged. A run the caller did take (or built)
is compared with the stored text by its orjson encoding; no run whose text
could hide a difference (``null``: None, NaN and infinities all encode to it)
is ever taken as unchanged that way.
"""

from __future__ import annotations

import operator
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from agno_nb.codec import StoredRun, fingerprint, trusted
from agno_nb.errors import CorruptSessionError

__all__ = ["CachedRuns", "RunCache", "VersionedDb"]


class VersionedDb(Protocol):
    """One open transaction on a backend that can read change tokens."""

    def rows(self, statement: Any, params: dict[str, Any]) -> list[Sequence[Any]]:
        """The rows of a SELECT (or an UPDATE ... RETURNING) run with ``params``."""

    def scalar(self, statement: Any, params: dict[str, Any]) -> Any:
        """The first column of the first row (None: no row), not counted as fetched."""

    def execute(self, statement: Any, rows: list[dict[str, Any]]) -> None:
        """Run ``statement`` once per parameter row (nothing for no rows)."""

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once this transaction has committed, before anyone
        else can use its connection (never if it rolls back)."""

    def token_column(self, table: Any) -> Any | None:
        """A column expression whose value in a session's row (selected, or
        returned by a write) is that row's token; None when the token is not a
        value of the row."""

    def token(self, table: Any, session_id: str, *, lock: bool = False) -> Hashable | None:
        """The session's change token as of this transaction (None: no such
        session, or no token to trust); ``lock`` holds the row until commit."""


@dataclass
class CachedRuns:
    """What one storage knows about one session's stored runs."""

    #: the change token it is current at (None while a write has not read it yet)
    token: Hashable | None
    #: each stored run, in order (immutable; shared with the reads handed out)
    stored: list[StoredRun]
    #: new messages per stored run
    counts: list[int]
    #: the stored preview (the first question among the runs)
    preview: str | None
    #: bytes of stored run text (for the cache's bound)
    size: int = 0

    def unchanged_prefix(self, items: Sequence[Any]) -> int:
        """How many leading items of a session's new run list (its items as
        stored in the list: ``StoredRun`` or values) equal the stored runs."""
        stored = self.stored
        limit = min(len(stored), len(items))
        same = list(map(operator.is_, items[:limit], stored[:limit]))
        keep = same.index(False) if False in same else limit
        while keep < limit and _same_run(items[keep], stored[keep]):
            keep += 1
        return keep


def _same_run(item: Any, stored: StoredRun) -> bool:
    """Whether ``item`` (a run of a new list) equals ``stored``, decided without
    decoding when it can: the same stored text, or a value whose orjson
    encoding holds no ``null`` and is the stored text or the stored value's
    encoding. Anything else counts as changed."""
    if type(item) is StoredRun:
        return item.text == stored.text or item.encoded() == stored.encoded()
    mine = trusted(fingerprint(item))
    if mine is None:
        return False
    if mine == stored.encoded():
        return True
    # stored in another writer's form (Postgres jsonb, agno's json.dumps): compare
    # the encodings of the values, never the values (1 == 1.0 == True)
    try:
        return fingerprint(stored.decode()) == mine
    except CorruptSessionError:  # changed, then (the write decides what that means)
        return False


class RunCache:
    """Decoded runs of recently read or written sessions, keyed by change token.

    Bounded by the bytes of stored run text it holds (least recently used
    sessions go first). Safe to share between threads.
    """

    def __init__(self, *, max_bytes: int = 64 << 20) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, CachedRuns] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, session_id: str, token: Hashable | None) -> CachedRuns | None:
        """The entry for ``session_id`` if it is current at ``token``."""
        if token is None:
            return None
        with self._lock:
            entry = self._entries.get(session_id)
            if entry is None or entry.token != token:
                return None
            self._entries.move_to_end(session_id)
            return entry

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._entries

    def put(self, session_id: str, entry: CachedRuns) -> None:
        """Remember ``entry`` (replacing any older one)."""
        with self._lock:
            old = self._entries.pop(session_id, None)
            if old is not None:
                self._bytes -= old.size
            if entry.size > self.max_bytes:
                return
            self._entries[session_id] = entry
            self._bytes += entry.size
            while self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= dropped.size

    def discard(self, session_ids: Sequence[str]) -> None:
        """Forget these sessions (their stored runs changed in a way not cached)."""
        with self._lock:
            for session_id in session_ids:
                old = self._entries.pop(session_id, None)
                if old is not None:
                    self._bytes -= old.size

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)
