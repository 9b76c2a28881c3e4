"""Cold reads of long sessions: the runs fetched as stored text (bytes on
SQLite) and decoded when taken, many at once in one orjson call, proven exact
by a chunked long-number guard.

Every read-back goes through a fresh storage (nothing cached) and is compared
with ``json.loads`` of the same texts or with what was written.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agno_nb.codec import _CHUNK, StoredRun, has_long_number
from agno_nb.errors import CorruptSessionError
from agno_nb.integrations.agno import as_agno_storage
from agno_nb.storage.lazy_runs import decode_stored
from tests.layouts import test_run_cache
from tests.layouts.test_run_cache import _same_json, make_run, make_session

tokened = test_run_cache.tokened  # the same fixture: storages of one table, nothing shared


def _runs(count: int) -> list[dict[str, Any]]:
    return [make_run(i, text=f'run {i} ✓ 🙂 "quoted" \\ back', none=None) for i in range(count)]


def _decoded(texts: list[bytes], session_id: str = "s") -> list[Any]:
    return decode_stored([StoredRun(t, session_id) for t in texts])


def test_decode_stored_bytes_equals_json_loads() -> None:
    stored = [orjson.dumps(run) for run in _runs(1000)]
    assert _decoded(stored) == [json.loads(b) for b in stored]


@pytest.mark.parametrize(
    "texts",
    [
        [b'{"n": 123456789012345678901234567890}', b'{"m": -98765432109876543210}'],
        [b'{"x": NaN, "y": Infinity}', b'{"z": -Infinity}'],
        [b'{"s": "\\u00e9\\ud83d\\ude42 \xc3\xa9"}', b'["\\ud800 lone"]'],
        [b'{"id": "12345678901234567890 in a string"}'],
    ],
)
def test_decode_stored_falls_back_exactly(texts: list[bytes]) -> None:
    runs = _decoded(texts)
    assert _same_json(runs, [json.loads(t) for t in texts])
    if b"NaN" in texts[0]:
        assert math.isnan(runs[0]["x"])


def test_decode_stored_of_an_empty_session() -> None:
    assert _decoded([]) == []


def test_decode_stored_names_the_session_of_undecodable_bytes() -> None:
    with pytest.raises(CorruptSessionError, match=r"'s9'.*'run'"):
        _decoded([b'{"a": 1}', b'{"b": "\xff\xfe"}'], "s9")


def test_long_number_guard_sees_digits_across_chunk_boundaries() -> None:
    for offset in range(_CHUNK - 19, _CHUNK + 1):
        data = b" " * offset + b"1" * 19 + b" " * (2 * _CHUNK)
        assert has_long_number(data), offset
    assert not has_long_number(b"1" * 18 + (b" " + b"2" * 18) * 5000)
    assert has_long_number(b"9" * 19) and not has_long_number(b"")


@given(st.binary(max_size=200), st.lists(st.integers(0, 30), max_size=4))
def test_long_number_guard_finds_exactly_the_runs_of_19_digits(
    noise: bytes, runs: list[int]
) -> None:
    """The sampled first look never hides a run: the answer is always that of a
    search for 19 digits in a row, whatever the run's length and offset."""
    data = noise
    for length in runs:
        data += b"x" + b"5" * length + noise[: length % 7]
    assert has_long_number(data) == (re.search(rb"[0-9]{19}", data) is not None)


def test_long_number_guard_at_every_offset_of_its_sampling() -> None:
    for before in range(13):
        for length in range(14, 26):
            data = b"a" * before + b"1" * length + b"b" * 3
            assert has_long_number(data) == (length >= 19), (before, length)
    timestamps = b",".join(b"%d" % (1_700_000_000 + i) for i in range(500))
    assert not has_long_number(timestamps)


def test_cold_read_of_1000_runs_is_exact(tokened: Callable[..., Any]) -> None:
    session = make_session(runs=0)
    session.memory["runs"] = _runs(1000)
    session.memory["runs"][500]["metrics"] = {"beyond": 2**70, "u64": 2**64 - 1}
    session.memory["runs"][999]["note"] = "東京 " + "7" * 25
    tokened().upsert(session)
    fresh = tokened()
    for reader in (fresh, as_agno_storage(tokened())):
        runs = reader.read("s1").memory["runs"]
        assert _same_json(runs, session.memory["runs"])
        assert isinstance(runs[500]["metrics"]["beyond"], int)
    assert fresh.stats.rows >= 1  # the counters still see the fetch


def test_cold_read_of_an_empty_session(tokened: Callable[..., Any]) -> None:
    tokened().upsert(make_session(runs=0))
    assert tokened().read("s1").memory["runs"] == []


@pytest.mark.parametrize("backend", ["sqlite"])  # only SQLite stores non-UTF-8 bytes as text
def test_undecodable_run_bytes_name_the_session(make_storage: Any, backend: str) -> None:
    """A corrupt run fails when taken, naming the session; the others read, and
    an upsert that would replace it unseen (agno's Agent logs the error and
    goes on with the runs it read) is refused, losing nothing."""
    storage = make_storage()
    storage.upsert(make_session(runs=3))
    path = storage.db_engine.url.database
    with sqlite3.connect(path) as conn:
        table = storage.table_name + "_runs"
        conn.execute(
            f"UPDATE {table} SET run = CAST(x'7b2261223a22ff22' AS TEXT) WHERE run_index = 1"
        )
    reader = make_storage()
    session = reader.read("s1")
    runs = session.memory["runs"]
    assert runs[0] == make_run(0) and runs[2] == make_run(2)
    with pytest.raises(CorruptSessionError, match="'s1'"):
        runs[1]
    with pytest.raises(CorruptSessionError, match="'s1'"):
        list(runs)
    session.memory["runs"] = [make_run(0), make_run(7)]  # what agno would write back
    with pytest.raises(CorruptSessionError, match="run 1 could not be decoded"):
        reader.upsert(session)
    with sqlite3.connect(path) as conn:  # nothing was written
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 3


@pytest.mark.parametrize("backend", ["sqlite"])  # a SQLite pragma
def test_sqlite_connections_read_pages_through_a_memory_map(
    make_storage: Any, backend: str
) -> None:
    storage = make_storage()
    with storage.db_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA mmap_size").scalar() > 0
