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

Runs handed to callers are the cache's own objects (so a warm read of a
1,000-run session copies nothing), which a caller may change in place. Each
entry therefore keeps every run's *fingerprint*, its orjson text: a warm read
re-encodes the runs and re-decodes any whose text no longer matches, and a
write compares the caller's runs with the fingerprints to find the first run
that changed. Both are single C-speed passes; no run whose fingerprint cannot
be trusted (``null``, integers beyond 64 bits: see ``_codec.trusted``) is
ever taken as unchanged.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from agno_nb.storage._codec import fingerprint, trusted

__all__ = [
    "CachedRuns",
    "RunCache",
    "VersionedDb",
    "fingerprints",
    "references",
]


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


def fingerprints(runs: Sequence[Any]) -> list[bytes | None]:
    """Each run's fingerprint (None where orjson refuses it)."""
    return [fingerprint(run) for run in runs]


def references(
    runs: Sequence[Any], prints: Sequence[bytes | None] | None = None
) -> list[bytes | None]:
    """Each run's fingerprint as a trusted reference (None: never taken as unchanged)."""
    return [trusted(p) for p in (fingerprints(runs) if prints is None else prints)]


@dataclass
class CachedRuns:
    """What one storage knows about one session's stored runs."""

    token: Hashable
    #: the run objects last handed out or written (callers may hold them)
    runs: list[Any]
    #: each stored run's fingerprint (None: unknown, never taken as unchanged)
    refs: list[bytes | None]
    #: new messages per stored run
    counts: list[int]
    #: the stored preview and the index of the run it comes from (None: no run has one)
    preview: str | None
    preview_index: int | None
    size: int = 0

    def verified_runs(self) -> list[Any] | None:
        """The runs as stored (a new list; runs a caller changed in place are
        decoded again from their fingerprints), or None if one cannot be."""
        runs = self.runs
        if len(runs) != len(self.refs):
            return None
        current = fingerprints(runs)
        if current != self.refs:
            for i, (now, ref) in enumerate(zip(current, self.refs, strict=True)):
                if now != ref or ref is None:
                    if ref is None:
                        return None
                    runs[i] = orjson.loads(ref)
        return list(runs)

    def unchanged_prefix(self, prints: Sequence[bytes | None]) -> int:
        """How many leading runs of a new list (given by their fingerprints)
        equal the stored ones."""
        refs = self.refs
        limit = min(len(refs), len(prints))
        if prints[:limit] == refs[:limit] and None not in refs[:limit]:
            return limit
        for i in range(limit):
            if refs[i] is None or prints[i] != refs[i]:
                return i
        return limit  # pragma: no cover - the fast check above found this


class RunCache:
    """Decoded runs of recently read or written sessions, keyed by change token.

    Bounded by the bytes of the fingerprints it holds (least recently used
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
        entry.size = sum(map(len, filter(None, entry.refs))) + 64 * len(entry.refs)
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
