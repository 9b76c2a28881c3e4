"""An upgrade holds the write lock (issue 14, item 16): the dry run says for how long,
and a writer that gives up waiting is told which upgrade holds it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import agno_nb.storage.sqlite as sqlite_backend
from agno_nb.errors import StorageLockedError
from agno_nb.schema import LATEST_VERSION
from agno_nb.storage import SqliteStorage
from tests.session_factory import make_session


def test_dry_run_states_the_expected_lock_time(make_storage: Any) -> None:
    storage = make_storage(schema_version=1)
    storage.upsert_many(make_session(f"d{i}", runs=1) for i in range(30))
    dry = storage.upgrade_schema(dry_run=True)
    assert dry.sessions == 30 and dry.expected_lock_s is not None and dry.expected_lock_s > 0
    assert "expected write lock: about" in str(dry) and "for 30 sessions;" in str(dry)
    done = storage.upgrade_schema()
    assert "expected write lock" not in str(done)  # applied: nothing left to wait for


def test_writer_that_times_out_names_the_running_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "locked.db"
    old = SqliteStorage("chats", db_file=db, schema_version=1)
    old.upsert_many(make_session(f"s{i:03d}", runs=1) for i in range(600))
    started, release = threading.Event(), threading.Event()

    def progress(done: int, total: int) -> None:  # called inside the step's transaction
        started.set()
        release.wait(60)

    upgrader = threading.Thread(target=old.upgrade_schema, kwargs={"progress": progress})
    upgrader.start()
    try:
        assert started.wait(60)
        monkeypatch.setattr(sqlite_backend, "BUSY_TIMEOUT_S", 1)
        writer = SqliteStorage("chats", db_file=db)
        with pytest.raises(StorageLockedError) as caught:
            writer.upsert(make_session("new"))
        message = str(caught.value)
        assert f"upgrade of table chats to layout v{LATEST_VERSION}" in message
        assert "pid " in message and "\n" not in message
    finally:
        release.set()
        upgrader.join(60)
    assert old.current_version == LATEST_VERSION
    writer.upsert(make_session("new"))  # the lock is free, the marker gone
    assert writer._running_upgrade() is None
    assert writer.count_sessions() == 601
    old.close()
    writer.close()


def test_lock_estimate_counts_the_fused_step_once() -> None:
    """From v1 the plan's lock estimate is one pass at the fused step's rate, not
    v2's and v4's (and Postgres' v5) passes added up; from v2 the steps' own."""
    from agno_nb.migrations import plan
    from agno_nb.migrations.plan import FUSED_SESSIONS_PER_S, sessions_per_s
    from agno_nb.migrations.sql import TableRef

    for backend in ("sqlite", "postgres", "duckdb"):
        ref = TableRef(backend=backend, table="t")
        from_v1 = plan(ref, 1)
        from_v1.sessions = 14_000
        later = 14_000 / sessions_per_s(6, backend)  # v6 runs on its own after the fused step
        assert from_v1.expected_lock_s == pytest.approx(14_000 / FUSED_SESSIONS_PER_S + later)
        from_v2 = plan(ref, 2)
        from_v2.sessions = 14_000
        steps = [4, 5, 6]
        assert from_v2.expected_lock_s == pytest.approx(
            sum(14_000 / sessions_per_s(v, backend) for v in steps)
        )
