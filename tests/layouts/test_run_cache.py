"""The row layouts' fast paths: whole-session upserts that write only changed
runs, the run cache and its change tokens, and exact fast decoding.

Each test would fail if its fast path were wrong: run-row versions (SQLite
rowid, Postgres xmin) show which runs a write touched, and every read-back is
compared with what was written, through a fresh storage (nothing cached).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from agno_nb.codec import StoredRun, loads_exact
from agno_nb.sessions import AgentSession
from agno_nb.storage.lazy_runs import decode_stored
from tests.conftest import postgres_url, require_postgres

REPO_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgres"])
def tokened(
    request: pytest.FixtureRequest, tmp_path: Path, pg_schema: str
) -> Iterator[Callable[..., Any]]:
    """Factory of storages on one table of a backend with change tokens; every
    call opens a new storage object (its own connections and cache)."""
    from agno_nb.storage import PostgresStorage, SqliteStorage

    made: list[Any] = []
    if request.param == "postgres":
        require_postgres()
    table = f"t{os.urandom(4).hex()}_sessions"

    def factory() -> Any:
        if request.param == "sqlite":
            storage: Any = SqliteStorage(table, db_file=str(tmp_path / "s.db"))
        else:
            storage = PostgresStorage(table, db_url=postgres_url(), schema=pg_schema)
        made.append(storage)
        return storage

    factory.backend = request.param  # type: ignore[attr-defined]
    yield factory
    for storage in made:
        storage.close()


def make_run(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "run_id": f"run-{n}",
        "content": f"answer {n}",
        "created_at": 1_700_000_000 + n,
        "messages": [
            {"role": "user", "content": f"question {n} é 東京"},
            {"role": "assistant", "content": f"answer {n}", "metrics": {"tokens": [n]}},
        ],
        **extra,
    }


def make_session(sid: str = "s1", runs: int = 5) -> AgentSession:
    return AgentSession(
        session_id=sid,
        user_id="alice",
        agent_id="agent-1",
        memory={"runs": [make_run(i) for i in range(runs)], "summary": "kept"},
        session_data={"session_name": "named"},
    )


def rewritten(storage: Any, sid: str, write: Callable[[], object]) -> list[int]:
    """The run indexes whose rows ``write()`` inserted (a run row deleted and
    inserted again counts): on SQLite a trigger logs inserts, on Postgres the
    rows' ``xmin`` changes."""
    runs = storage.run_table
    if storage.backend == "sqlite":  # the log was set up by log_inserts() (a commit
        log = f"SELECT rowid, i FROM {runs.name}_log"  # here would void the cache)
        with storage.db_engine.connect() as conn:
            seen = max((r[0] for r in conn.exec_driver_sql(log)), default=0)
        write()
        with storage.db_engine.connect() as conn:
            return sorted(r[1] for r in conn.exec_driver_sql(log) if r[0] > seen)
    query = (
        sa.select(runs.c.run_index, sa.literal_column("xmin::text"))
        .where(runs.c.session_id == sid)
        .order_by(runs.c.run_index)
    )
    with storage.db_engine.connect() as conn:
        before = dict(conn.execute(query).all())
    write()
    with storage.db_engine.connect() as conn:
        after = dict(conn.execute(query).all())
    return sorted(i for i, version in after.items() if before.get(i) != version)


def log_inserts(storage: Any) -> None:
    """On SQLite, log every insert into the runs table (for :func:`rewritten`)."""
    if storage.backend == "sqlite":
        name = storage.run_table.name
        with storage.db_engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE TABLE {name}_log (i INTEGER)")
            conn.exec_driver_sql(
                f"CREATE TRIGGER {name}_logged AFTER INSERT ON {name} "
                f"BEGIN INSERT INTO {name}_log VALUES (NEW.run_index); END"
            )


def stored_runs(factory: Callable[..., Any], sid: str) -> list[Any]:
    """The runs as a storage that never saw the session reads them."""
    return factory().read(sid).memory["runs"]


def test_one_more_run_writes_only_that_run(tokened: Callable[..., Any]) -> None:
    storage = tokened()
    storage.upsert(make_session())
    log_inserts(storage)
    session = storage.read("s1")
    session.memory["runs"].append(make_run(5))
    assert rewritten(storage, "s1", lambda: storage.upsert(session)) == [5]
    session = storage.read("s1")
    assert rewritten(storage, "s1", lambda: storage.upsert(session)) == []  # unchanged
    assert stored_runs(tokened, "s1") == [make_run(i) for i in range(6)]
    summary = storage.list_sessions()[0]
    assert (summary.run_count, summary.message_count, summary.preview) == (
        6,
        12,
        "question 0 é 東京",
    )


def test_runs_changed_in_place_are_rewritten(tokened: Callable[..., Any]) -> None:
    storage = tokened()
    storage.upsert(make_session())
    log_inserts(storage)
    session = storage.read("s1")
    session.memory["runs"][3]["messages"][1]["content"] = "edited deep inside"
    assert rewritten(storage, "s1", lambda: storage.upsert(session)) == [3, 4]
    expected = [make_run(i) for i in range(5)]
    expected[3]["messages"][1]["content"] = "edited deep inside"
    assert stored_runs(tokened, "s1") == expected
    assert storage.read("s1").memory["runs"] == expected


def test_a_run_changed_then_not_written_does_not_leak_into_reads(
    tokened: Callable[..., Any],
) -> None:
    storage = tokened()
    storage.upsert(make_session())
    first = storage.read("s1")
    first.memory["runs"][0]["content"] = "changed, never upserted"
    first.memory["runs"][1]["messages"].append({"role": "user", "content": "nor this"})
    first.memory["runs"].pop()
    assert storage.read("s1").memory["runs"] == [make_run(i) for i in range(5)]


def test_fewer_and_reordered_runs(tokened: Callable[..., Any]) -> None:
    storage = tokened()
    storage.upsert(make_session())
    session = storage.read("s1")
    del session.memory["runs"][3:]
    storage.upsert(session)
    assert stored_runs(tokened, "s1") == [make_run(i) for i in range(3)]
    session = storage.read("s1")
    session.memory["runs"].reverse()
    storage.upsert(session)
    assert stored_runs(tokened, "s1") == [make_run(i) for i in (2, 1, 0)]
    assert storage.count_runs("s1") == 3


def test_another_writer_is_replaced_never_merged(tokened: Callable[..., Any]) -> None:
    mine, theirs = tokened(), tokened()
    mine.upsert(make_session())
    session = mine.read("s1")  # cached in ``mine``
    other = theirs.read("s1")
    other.memory["runs"].append(make_run(100))
    other.memory["runs"][0]["content"] = "theirs"
    theirs.upsert(other)
    session.memory["runs"].append(make_run(5))
    mine.upsert(session)  # upsert replaces: exactly my session, none of theirs
    assert stored_runs(tokened, "s1") == [make_run(i) for i in range(6)]
    assert theirs.read("s1").memory["runs"] == [make_run(i) for i in range(6)]
    assert mine.count_runs("s1") == 6


def test_append_run_and_rename_are_seen_by_cached_readers(tokened: Callable[..., Any]) -> None:
    storage, other = tokened(), tokened()
    storage.upsert(make_session())
    storage.read("s1")
    other.read("s1")
    storage.append_run("s1", make_run(5))
    other.append_run("s1", make_run(6))
    storage.rename_session("s1", "renamed")
    expected = [make_run(i) for i in range(7)]
    for reader in (storage, other):
        got = reader.read("s1")
        assert got.memory["runs"] == expected and got.session_name == "renamed"
    storage.delete_session("s1")
    assert other.read("s1") is None and storage.read("s1") is None


_WRITER = """
import sys
from agno_nb.storage import SqliteStorage, PostgresStorage
backend, where, table, schema = sys.argv[1:5]
if backend == "sqlite":
    storage = SqliteStorage(table, db_file=where)
else:
    storage = PostgresStorage(table, db_url=where, schema=schema)
session = storage.read("s1")
session.memory["runs"][1]["content"] = "from another process"
session.memory["runs"].append({"run_id": "child", "content": "child run"})
storage.upsert(session)
storage.close()
"""


def test_another_process_invalidates_the_cache(
    tokened: Callable[..., Any], tmp_path: Path, pg_schema: str
) -> None:
    storage = tokened()
    storage.upsert(make_session())
    cached = storage.read("s1")
    backend = tokened.backend  # type: ignore[attr-defined]
    where = str(tmp_path / "s.db") if backend == "sqlite" else postgres_url()
    subprocess.run(
        [sys.executable, "-c", _WRITER, backend, where, storage.table_name, pg_schema],
        check=True,
        cwd=REPO_DIR,
        timeout=120,
    )
    expected = [make_run(i) for i in range(5)]
    expected[1]["content"] = "from another process"
    expected.append({"run_id": "child", "content": "child run"})
    assert storage.read("s1").memory["runs"] == expected
    cached.memory["runs"].append(make_run(9))  # mine was read before theirs: replaces it
    storage.upsert(cached)
    assert stored_runs(tokened, "s1") == [make_run(i) for i in (0, 1, 2, 3, 4, 9)]


def _same_json(a: Any, b: Any) -> bool:
    """Equal as json.dumps writes them (NaN equals NaN, 1 differs from 1.0; key
    order aside, which Postgres' JSONB does not keep, for agno 1.x either)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_big_integers_round_trip_exactly(tokened: Callable[..., Any]) -> None:
    storage = tokened()
    session = make_session(runs=3)
    big = {"u64": 2**64 - 1, "beyond": 2**70, "negative": -(2**65), "digits": "1" * 40}
    session.memory["runs"][1]["metrics"] = big
    session.memory["runs"].append(make_run(3, note="12345678901234567890123 in a string"))
    storage.upsert(session)
    for reader in (storage, tokened()):  # warm (cached) and cold
        runs = reader.read("s1").memory["runs"]
        assert runs[1]["metrics"] == big and isinstance(runs[1]["metrics"]["beyond"], int)
        assert _same_json(runs, session.memory["runs"])
    again = storage.read("s1")
    again.memory["runs"][1]["metrics"]["beyond"] = 2**70 + 1  # changed beyond 64 bits
    storage.upsert(again)
    assert stored_runs(tokened, "s1")[1]["metrics"]["beyond"] == 2**70 + 1


@pytest.mark.parametrize("backend", ["sqlite"])  # Postgres json/jsonb cannot hold NaN (nor agno's)
def test_nan_and_none_are_told_apart(make_storage: Any, backend: str) -> None:
    storage = make_storage()
    session = make_session(runs=3)
    session.memory["runs"][0]["score"] = None
    session.memory["runs"][1]["score"] = float("nan")
    session.memory["runs"][2]["score"] = float("inf")
    storage.upsert(session)
    runs = storage.read("s1").memory["runs"]
    assert runs[0]["score"] is None and math.isnan(runs[1]["score"])
    assert runs[2]["score"] == float("inf")
    session = storage.read("s1")
    session.memory["runs"][0]["score"] = float("nan")  # None -> NaN: same orjson text
    session.memory["runs"][1]["score"] = None  # NaN -> None
    storage.upsert(session)
    runs = make_storage().read("s1").memory["runs"]
    assert math.isnan(runs[0]["score"]) and runs[1]["score"] is None


@pytest.mark.parametrize(
    "text",
    [
        "[1, 2.5, -0.0, 1e5]",
        "[123456789012345678901234567890, -98765432109876543210]",
        "[18446744073709551615, 9223372036854775807, -9223372036854775808]",
        '{"a": NaN, "b": Infinity, "c": -Infinity}',
        "[1e400]",
        '["\\ud800 lone surrogate"]',
        '{"a": 1, "a": 2}',
        '"1234567890123456789012 in a string"',
    ],
)
def test_loads_exact_matches_json_loads(text: str) -> None:
    assert _same_json(loads_exact(text), json.loads(text))
    assert _same_json(loads_exact(text.encode()), json.loads(text))


def test_decode_stored_matches_json_loads() -> None:
    import orjson

    plain = [orjson.dumps(make_run(i)).decode() for i in range(3)]
    assert decode_stored([StoredRun(t, "s") for t in plain]) == [json.loads(t) for t in plain]
    spaced = [json.dumps(make_run(i)) for i in range(2)] + ['{"n": 123456789012345678901}']
    runs = decode_stored([StoredRun(t, "s") for t in spaced])
    assert runs == [json.loads(t) for t in spaced] and isinstance(runs[2]["n"], int)
    odd = decode_stored([StoredRun('{"x": NaN}', "s"), StoredRun(b'{"y": null}', "s")])
    assert math.isnan(odd[0]["x"]) and odd[1] == {"y": None}


def test_threads_sharing_one_storage_see_every_turn(tokened: Callable[..., Any]) -> None:
    """Threads take turns on one session through one storage (whose held
    connection is often busy, so some calls take the general path); a lock
    orders the turns, so the session must end up with every run in order."""
    import threading

    storage = tokened()
    storage.upsert(make_session(runs=0))
    turn_lock = threading.Lock()
    order: list[int] = []
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        try:
            for i in range(15):
                n = offset + i
                with turn_lock:
                    session = storage.read("s1")
                    session.memory["runs"].append(make_run(n))
                    storage.upsert(session)
                    order.append(n)
                storage.read("s1")  # reads race the other thread's writes
                storage.list_sessions()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k * 100,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    expected = [make_run(n) for n in order]
    assert storage.read("s1").memory["runs"] == expected
    assert stored_runs(tokened, "s1") == expected
    assert storage.count_runs("s1") == 45
