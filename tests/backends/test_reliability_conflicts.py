"""Deadlocks, serialization failures and other operational errors (issue 14, defect 5).

- ``upsert_many`` writes rows in id order: two batches with the same ids in
  opposite orders cannot deadlock (Postgres' own deadlock counter stays put);
- a call Postgres rolls back for a deadlock is redone and succeeds;
- an operational error that is not a connection failure says what it is (a
  lock timeout is not "cannot reach Postgres").
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from agno_nb.errors import AgnoNbError, BackendUnavailableError
from agno_nb.sessions import AgentSession

SHARED: dict[str, Any] = {}
BATCHES = 60
IDS = [f"s{i:02d}" for i in range(12)]


def _deadlocks(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        query = "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        return int(conn.execute(sa.text(query)).scalar_one())


def _wait_for_lock_waiter(engine: sa.Engine, worker: threading.Thread) -> None:
    deadline = time.monotonic() + 60
    query = (
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    while worker.is_alive():
        with engine.connect() as conn:
            if conn.execute(sa.text(query)).scalar_one():
                return
        assert time.monotonic() < deadline, "the call never waited for the row lock"
        time.sleep(0.01)


def _batches(direction: int) -> str:
    storage = SHARED["storage"]
    try:
        for b in range(BATCHES):
            ids = IDS if direction > 0 else list(reversed(IDS))
            storage.upsert_many(
                AgentSession(session_id=i, session_data={"by": direction, "batch": b}) for i in ids
            )
    except Exception as exc:  # reported to the parent
        return f"{type(exc).__name__}: {exc}"
    return "ok"


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
@pytest.mark.parametrize("schema_version", [1, None])
def test_opposite_batches_never_deadlock(
    make_storage: Callable[..., Any], schema_version: int | None
) -> None:
    storage = make_storage(schema_version=schema_version)
    storage.upsert_many(AgentSession(session_id=i) for i in IDS)
    before = _deadlocks(storage.db_engine)
    SHARED["storage"] = storage
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.map(_batches, [1, -1], chunksize=1)
    assert results == ["ok", "ok"], results
    assert _deadlocks(storage.db_engine) == before  # none happened, none was retried
    assert storage.count_sessions() == len(IDS)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_deadlocked_call_is_retried_and_succeeds(make_storage: Callable[..., Any]) -> None:
    storage = make_storage()
    storage.upsert_many([AgentSession(session_id="a"), AgentSession(session_id="b")])
    table = f'"{storage.schema}"."{storage.table_name}"'
    other = storage.db_engine.connect()
    tx = other.begin()
    # this session waits long before looking for deadlocks: the storage's call is
    # the one Postgres rolls back
    other.execute(sa.text("SET LOCAL deadlock_timeout = '60s'"))
    other.execute(sa.text(f"UPDATE {table} SET user_id = 'other' WHERE session_id = 'b'"))
    outcome: list[Any] = []

    def call() -> None:
        try:
            outcome.append(
                storage.upsert_many(
                    [AgentSession(session_id="b", user_id="mine"), AgentSession(session_id="a")]
                )
            )
        except Exception as exc:  # reported below
            outcome.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    _wait_for_lock_waiter(storage.db_engine, worker)  # it holds "a", waits for "b"
    before = _deadlocks(storage.db_engine)
    other.execute(sa.text(f"UPDATE {table} SET user_id = 'other' WHERE session_id = 'a'"))
    tx.commit()
    other.close()
    worker.join(60)
    assert _deadlocks(storage.db_engine) == before + 1  # a real deadlock happened
    assert outcome == [2], outcome  # ... and the call was redone
    session = storage.read("b")
    assert session is not None and session.user_id == "mine"


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_lock_timeout_is_not_reported_as_unreachable(
    make_storage: Callable[..., Any], pg_schema: str
) -> None:
    from agno_nb.storage import PostgresStorage

    storage = make_storage()
    storage.upsert(AgentSession(session_id="s"))
    url = make_url(str(storage.db_engine.url.render_as_string(hide_password=False)))
    impatient = PostgresStorage(
        storage.table_name,
        db_url=url.update_query_dict({"options": "-c lock_timeout=200"}).render_as_string(
            hide_password=False
        ),
        schema=pg_schema,
    )
    table = f'"{storage.schema}"."{storage.table_name}"'
    try:
        with storage.db_engine.connect() as other, other.begin():
            other.execute(sa.text(f"UPDATE {table} SET user_id = 'x' WHERE session_id = 's'"))
            with pytest.raises(AgnoNbError) as info:
                impatient.rename_session("s", "n")
    finally:
        impatient.close()
    message = str(info.value)
    assert not isinstance(info.value, BackendUnavailableError)
    assert "cannot reach" not in message and "start the server" not in message
    assert "55P03" in message and "lock_timeout" in message and "\n" not in message
    impatient = PostgresStorage(storage.table_name, db_url=str(url), schema=pg_schema)
    assert impatient.read("s") is not None and impatient.read("s").session_name is None


def test_connection_limit_is_not_reported_as_unreachable() -> None:
    """A server that is up but refuses more connections says so (53300)."""
    import uuid

    from agno_nb.storage import PostgresStorage
    from tests.conftest import require_postgres

    base = make_url(require_postgres())
    role = f"agno_nb_limited_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0'))
    try:
        url = base.set(username=role).render_as_string(hide_password=False)
        storage = PostgresStorage("t", db_url=url)
        with pytest.raises(AgnoNbError) as info:
            storage.table_exists()
        storage.close()
        message = str(info.value)
        assert "cannot reach" not in message and "start the server" not in message
        assert "too many connections" in message and "max_connections" in message
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP ROLE "{role}"'))
        admin.dispose()
