"""Read-modify-writes lock the row (issue 14, defect 4).

``rename_session`` reads ``session_data``, changes it and writes it back; so
does ``append_run`` on agno 1.x's layouts. A concurrent writer's update must
never be lost in between. The deterministic test holds an uncommitted update
of the row in another Postgres connection, starts the read-modify-write, waits
until Postgres shows it waiting for the row, then commits: the result must
hold both writes. The stress test runs writer processes against each other
and checks that the counter ends exact.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from agno_nb.sessions import AgentSession

SHARED: dict[str, Any] = {}
APPENDS = 40


def _blocked_backends(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar_one()
        )


def _qualified(storage: Any) -> str:
    return f'"{storage.schema}"."{storage.table_name}"'


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
@pytest.mark.parametrize("schema_version", [1, None])
@pytest.mark.parametrize("operation", ["rename", "append"])
def test_read_modify_write_waits_for_a_concurrent_update(
    make_storage: Callable[..., Any], schema_version: int | None, operation: str
) -> None:
    storage = make_storage(schema_version=schema_version)
    storage.upsert(AgentSession(session_id="s", session_data={"counter": 1}))
    engine = storage.db_engine
    other = engine.connect()
    blocker = other.begin()
    # another writer's update, not yet committed: it holds the row
    other.execute(
        sa.text(
            f"UPDATE {_qualified(storage)} SET session_data = CAST(:d AS jsonb) "
            "WHERE session_id = 's'"
        ),
        {"d": json.dumps({"counter": 1000})},
    )
    errors: list[BaseException] = []

    def rmw() -> None:
        try:
            if operation == "rename":
                storage.rename_session("s", "renamed")
            else:
                storage.append_run("s", {"run_id": "r", "messages": []})
        except BaseException as exc:  # reported below
            errors.append(exc)

    worker = threading.Thread(target=rmw)
    worker.start()
    deadline = time.monotonic() + 60
    while _blocked_backends(engine) == 0 and worker.is_alive():
        assert time.monotonic() < deadline, "the read-modify-write never reached the row lock"
        time.sleep(0.01)
    blocker.commit()
    other.close()
    worker.join(60)
    assert not errors, errors
    session = storage.read("s")
    assert session is not None
    assert session.session_data["counter"] == 1000  # the other writer's update survived
    if operation == "rename":
        assert session.session_data["session_name"] == "renamed"
    else:
        assert [r["run_id"] for r in storage.get_runs("s")] == ["r"]


def _appender(results: Any) -> None:
    storage = SHARED["storage"]
    lost = []
    try:
        for i in range(1, APPENDS + 1):
            # only this process changes the counter: it must read back what it wrote last
            session = storage.read("s")
            if session.session_data.get("counter", 0) != i - 1:
                lost.append(i - 1)
            run = {"run_id": f"r{i}", "messages": []}
            storage.append_run("s", run, session_data={"counter": i})
        results.put(f"lost updates {lost}" if lost else "appended")
    except Exception as exc:  # reported to the parent
        results.put(f"{type(exc).__name__}: {exc}")
    finally:
        SHARED["done"].set()


def _renamer(n: int, results: Any) -> None:
    storage = SHARED["storage"]
    count = 0
    try:
        while not SHARED["done"].is_set():
            storage.rename_session("s", f"name-{n}-{count}")
            count += 1
        results.put("renamed")
    except Exception as exc:  # reported to the parent
        results.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.parametrize("backend", ["postgres", "sqlite"], indirect=True)
@pytest.mark.parametrize("schema_version", [1, None])
def test_concurrent_renames_lose_no_appended_session_data(
    make_storage: Callable[..., Any], schema_version: int | None
) -> None:
    storage = make_storage(schema_version=schema_version)
    storage.upsert(AgentSession(session_id="s"))
    storage.rename_session("s", "first")
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    SHARED["storage"], SHARED["done"] = storage, ctx.Event()
    workers = [ctx.Process(target=_appender, args=(results,))]
    workers += [ctx.Process(target=_renamer, args=(n, results)) for n in (1, 2)]
    for worker in workers:
        worker.start()
    outcomes = sorted(results.get(timeout=300) for _ in workers)
    for worker in workers:
        worker.join(60)
    assert outcomes == ["appended", "renamed", "renamed"], outcomes
    session = storage.read("s")
    assert session is not None
    assert session.session_data["counter"] == APPENDS
    assert storage.count_runs("s") == APPENDS


@pytest.mark.parametrize("backend", ["duckdb", "sqlite", "postgres"], indirect=True)
def test_concurrent_threads_lose_nothing(make_storage: Callable[..., Any]) -> None:
    """Threads sharing one storage (DuckDB: one process per file): its write
    conflicts are retried, never lost and never raised."""
    import queue

    storage = make_storage(schema_version=1)
    storage.upsert(AgentSession(session_id="s", session_data={}))
    results: queue.Queue[str] = queue.Queue()
    SHARED["storage"], SHARED["done"] = storage, threading.Event()
    workers = [threading.Thread(target=_appender, args=(results,))]
    workers += [threading.Thread(target=_renamer, args=(n, results)) for n in (1, 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(300)
    outcomes = sorted(results.get_nowait() for _ in workers)
    assert outcomes == ["appended", "renamed", "renamed"], outcomes
    session = storage.read("s")
    assert session is not None and session.session_data["counter"] == APPENDS
    assert storage.count_runs("s") == APPENDS
