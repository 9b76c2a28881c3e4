"""SQLite writes that go straight to the sqlite3 connection (``agno_nb/dbapi.py``)
must write exactly what SQLAlchemy's general path writes, roll back on failure
and report a locked database like the general path does."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

import agno_nb.storage.sqlite as sqlite_backend
from agno_nb.codec import encode_json
from agno_nb.errors import StorageLockedError
from agno_nb.storage import SqliteStorage
from tests.session_factory import make_run, make_session

TIMES = {"created_at", "updated_at", "created_ms", "active_ms"}


def table_rows(db: Path, table: str) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        cursor = conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2")
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    return [{k: v for k, v in zip(names, row, strict=True) if k not in TIMES} for row in rows]


def write_everything(storage: SqliteStorage) -> None:
    storage.upsert(make_session("s1", runs=3, name="first"))
    storage.upsert(make_session("s2", runs=0, user=None, agent=None))
    storage.upsert_many([make_session(f"b{i}", runs=i) for i in range(4)])
    storage.upsert(make_session("s1", runs=1, name="replaced"))  # fewer runs than before
    storage.append_run("s2", make_run(7))


def test_driver_path_writes_what_sqlalchemy_writes(tmp_path: Path) -> None:
    fast = SqliteStorage("t", db_file=tmp_path / "fast.db")
    general = SqliteStorage("t", db_file=tmp_path / "general.db")
    seen: list[str] = []
    event.listen(general.db_engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    write_everything(fast)
    write_everything(general)

    assert any(s.startswith("INSERT INTO t ") for s in seen)  # the listener forced SQLAlchemy
    assert fast._compiled and not general._compiled  # and the other storage used the driver
    for table in ("t", "t_runs"):
        assert table_rows(tmp_path / "fast.db", table) == table_rows(tmp_path / "general.db", table)
    counts = {r.session_id: r.run_count for r in fast.list_sessions()}
    assert counts == {"s1": 1, "s2": 1, "b0": 0, "b1": 1, "b2": 2, "b3": 3}
    assert fast.read("s1").memory["runs"] == [make_run(0)]  # type: ignore[union-attr]


def test_failed_upsert_changes_nothing(tmp_path: Path) -> None:
    storage = SqliteStorage("t", db_file=tmp_path / "x.db")
    storage.upsert(make_session("s1", runs=2, name="kept"))
    broken = make_session("s1", runs=3, name="lost")
    broken.memory["runs"][2]["content"] = object()  # not JSON: fails after the session row

    with pytest.raises(TypeError):
        storage.upsert(broken)

    session = storage.read("s1")
    assert session is not None and session.session_data["session_name"] == "kept"
    assert storage.get_runs("s1") == [make_run(0), make_run(1)]
    storage.upsert(make_session("s2"))  # the connection went back to the pool clean
    assert storage.count_sessions() == 2


def test_locked_database_is_one_clear_error(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(sqlite_backend, "BUSY_TIMEOUT_S", 0.2)
    db = tmp_path / "x.db"
    storage = SqliteStorage("t", db_file=db)
    storage.upsert(make_session("s1"))
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageLockedError) as info:
            storage.upsert(make_session("s2"))
        assert "\n" not in str(info.value) and "another writer" in str(info.value)
    finally:
        other.execute("ROLLBACK")
        other.close()
    storage.upsert(make_session("s2"))
    assert storage.get_all_session_ids() == ["s2", "s1"]


def test_engine_json_serializer_is_honoured(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    engine = sa.create_engine(f"sqlite:///{db}", json_serializer=lambda o: json.dumps(o, indent=1))
    storage = SqliteStorage("t", db_engine=engine)
    storage.upsert(make_session("s1"))
    assert storage._compiled
    with sqlite3.connect(db) as conn:
        (text,) = conn.execute("SELECT agent_data FROM t").fetchone()
    assert text == json.dumps({"name": "helper", "model": {"id": "offline"}}, indent=1)


@pytest.mark.parametrize(
    "value",
    [
        make_session("s1", runs=3).memory,  # no null anywhere: orjson's text
        {"n": float("nan"), "inf": float("inf"), "big": 2**70, "keys": {1: "a", None: "b"}},
        {"text": 'é€😀 </script> "quoted" \\ \x00', "lone": "\ud800", "nested": [[], {}, (1,)]},
        [0.1, 1 / 3, 1e16, -0.0, 5e-324, True, None],
        {"nan_beside_null": float("nan"), "none": None, "neg_inf": -float("inf")},
        {"lone_with_null": "\udfff", "none": None},
    ],
)
def test_encode_json_reads_back_as_json_dumps_wrote(value: Any) -> None:
    text = encode_json(value)
    text.encode("utf-8")  # storable as SQLite TEXT (lone surrogates come out escaped)
    # json.dumps of both readings compares structure, NaN and -0.0 exactly
    assert json.dumps(json.loads(text)) == json.dumps(json.loads(json.dumps(value)))


def test_encode_json_keeps_nan_and_infinity_that_orjson_would_write_as_null() -> None:
    import math

    again = json.loads(encode_json({"loss": float("nan"), "best": float("inf"), "n": 2}))
    assert math.isnan(again["loss"]) and again["best"] == float("inf") and again["n"] == 2


def test_encode_json_writes_compact_text() -> None:
    value = {"a": [1, 2.5, "x/y"], "b": {"c": True}}
    assert encode_json(value) == '{"a":[1,2.5,"x/y"],"b":{"c":true}}'
    assert encode_json({"a": None, "b": [1, 2]}) == '{"a":null,"b":[1,2]}'  # through ujson


def test_encode_json_writes_uuids_and_plain_enums_as_their_value() -> None:
    import enum
    import uuid

    class Colour(enum.Enum):
        RED = "red"

    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert json.loads(encode_json({"id": ident, "c": Colour.RED})) == {"id": str(ident), "c": "red"}


def test_encode_json_refuses_what_json_refuses() -> None:
    import datetime

    with pytest.raises(TypeError, match="not JSON serializable"):
        encode_json({"when": object()})
    with pytest.raises(TypeError, match="datetime is not JSON serializable"):
        encode_json({"when": datetime.datetime(2026, 1, 1)})
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular"):
        encode_json(loop)


def test_threads_writing_through_one_storage_lose_nothing(tmp_path: Path) -> None:
    import threading

    storage = SqliteStorage("t", db_file=tmp_path / "x.db")
    storage.create()
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(40):  # one thread holds the kept connection, the rest use the pool
                storage.upsert(make_session(f"w{n}-{i}", runs=2))
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert storage.count_sessions() == 160
    assert sum(s.run_count for s in storage.list_sessions(limit=200)) == 320


def test_close_gives_the_kept_connection_back(tmp_path: Path) -> None:
    storage = SqliteStorage("t", db_file=tmp_path / "x.db")
    storage.upsert(make_session("s1"))
    assert storage.db_engine.pool.checkedout() == 1  # kept for the next write
    storage.close()
    assert storage.db_engine.pool.checkedout() == 0
    storage.upsert(make_session("s2"))  # reconnects
    assert storage.get_all_session_ids() == ["s2", "s1"]


def test_a_connection_that_failed_to_roll_back_is_not_reused(tmp_path: Path) -> None:
    from agno_nb.dbapi import HeldConnection

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    held = HeldConnection(engine)
    driver, proxy = held.take()
    assert proxy is None  # the kept one
    held.give_back(proxy, broken=True)
    again, _ = held.take()
    assert again is not driver
    with pytest.raises(sqlite3.ProgrammingError):  # the broken one was closed
        driver.execute("SELECT 1")
    held.give_back(None)
    held.release()
    assert engine.pool.checkedout() == 0


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork (POSIX)")
def test_a_forked_child_opens_its_own_connection(tmp_path: Path) -> None:
    import multiprocessing

    storage = SqliteStorage("t", db_file=tmp_path / "x.db")
    storage.upsert(make_session("parent-1"))  # the parent now keeps a connection

    def child() -> None:
        assert storage._held._driver is None  # the parent's connection was forgotten
        storage.upsert(make_session("child"))

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(60)
    assert process.exitcode == 0
    storage.upsert(make_session("parent-2"))  # the parent's connection still works
    assert sorted(storage.get_all_session_ids()) == ["child", "parent-1", "parent-2"]


def test_new_files_get_small_pages_and_existing_files_keep_theirs(tmp_path: Path) -> None:
    new = SqliteStorage("t", db_file=tmp_path / "new.db")
    new.upsert(make_session("s1", runs=2))
    existing = tmp_path / "agno.db"
    with sqlite3.connect(existing) as conn:  # a file made elsewhere, SQLite's default pages
        conn.execute("CREATE TABLE other (x)")
        conn.execute("INSERT INTO other VALUES (1)")
    old = SqliteStorage("t", db_file=existing)
    old.upsert(make_session("s1", runs=2))

    def pragmas(db: Path) -> tuple[int, str]:
        with sqlite3.connect(db) as conn:
            size = conn.execute("PRAGMA page_size").fetchone()[0]
            return size, conn.execute("PRAGMA journal_mode").fetchone()[0]

    assert pragmas(tmp_path / "new.db") == (sqlite_backend.NEW_FILE_PAGE_SIZE, "wal")
    assert pragmas(existing) == (4096, "wal")
    assert new.get_runs("s1") == old.get_runs("s1") == [make_run(0), make_run(1)]
    with sqlite3.connect(existing) as conn:
        assert conn.execute("SELECT x FROM other").fetchall() == [(1,)]


def test_compile_select_hands_over_only_what_needs_no_sqlalchemy() -> None:
    """A SELECT goes to the driver as plain SQL only when no column needs
    SQLAlchemy to convert its values, in either direction."""
    from sqlalchemy.dialects import postgresql

    from agno_nb.dbapi import compile_select

    dialect = postgresql.dialect()
    table = sa.Table(
        "t",
        sa.MetaData(),
        sa.Column("session_id", sa.String),
        sa.Column("pickled", sa.PickleType),
    )
    plain = sa.select(table.c.session_id).where(table.c.session_id == sa.bindparam("sid"))
    sql = compile_select(plain, dialect)
    assert sql is not None and "%(sid)s" in sql
    # PickleType converts what it reads: SQLAlchemy must run that statement
    assert compile_select(sa.select(table.c.pickled), dialect) is None
    where_pickled = sa.select(table.c.session_id).where(table.c.pickled == sa.bindparam("p"))
    assert compile_select(where_pickled, dialect) is None
