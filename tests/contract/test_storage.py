"""The storage conformance suite: every test runs on SQLite, DuckDB and Postgres."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa

from agno_nb.errors import SessionNotFoundError
from agno_nb.schema import LATEST_VERSION
from agno_nb.sessions import TeamSession, WorkflowSession
from tests.session_factory import make_run, make_session


def test_create_exists_drop(make_storage: Any) -> None:
    storage = make_storage()
    assert not storage.table_exists()
    assert storage.current_version is None
    storage.create()
    assert storage.table_exists()
    assert storage.current_version == LATEST_VERSION
    storage.create()  # idempotent
    storage.drop()
    assert not storage.table_exists()
    assert storage.read("nope") is None
    assert storage.get_all_session_ids() == []


def test_upsert_read_roundtrip(storage: Any) -> None:
    session = make_session("s1", runs=3, name="first", team_session_id="team-9")
    returned = storage.upsert(session)
    assert returned is session
    got = storage.read("s1")
    assert got is not None
    assert got.memory == session.memory
    for field in (
        "user_id",
        "agent_id",
        "session_data",
        "agent_data",
        "extra_data",
        "team_session_id",
    ):
        assert getattr(got, field) == getattr(session, field), field
    assert isinstance(got.created_at, int) and isinstance(got.updated_at, int)
    assert storage.read("s1", user_id="alice") is not None
    assert storage.read("s1", user_id="bob") is None
    assert storage.read("missing") is None


def test_upsert_does_not_read_back(storage: Any) -> None:
    storage.upsert(make_session("warm"))
    before = storage.stats.rows
    storage.upsert(make_session("s1"))
    assert storage.stats.rows == before  # no read-after-write


def test_upsert_replaces_runs_and_fields(storage: Any) -> None:
    storage.upsert(make_session("s1", runs=4))
    storage.upsert(make_session("s1", runs=1, user="bob"))
    got = storage.read("s1")
    assert got.user_id == "bob"
    assert [r["run_id"] for r in got.memory["runs"]] == ["run-0"]
    assert storage.count_runs("s1") == 1


def test_sessions_created_in_the_same_second_keep_their_order(storage: Any) -> None:
    for i in range(5):
        storage.upsert(make_session(f"z{i}"))
        time.sleep(0.002)
    assert storage.get_all_session_ids() == [f"z{i}" for i in reversed(range(5))]


def test_append_run(storage: Any) -> None:
    storage.upsert(make_session("s1", runs=2))
    index = storage.append_run(
        "s1",
        make_run(2, question="third?"),
        session_data={"session_name": "renamed", "session_state": {"k": 1}},
    )
    assert index == 2
    got = storage.read("s1")
    assert [r["run_id"] for r in got.memory["runs"]] == ["run-0", "run-1", "run-2"]
    assert got.memory["summary"] == {"x": 1}
    assert got.session_data["session_state"] == {"k": 1}
    summary = storage.list_sessions()[0]
    assert (summary.run_count, summary.message_count, summary.session_name) == (3, 9, "renamed")
    with pytest.raises(SessionNotFoundError, match="nope"):
        storage.append_run("nope", make_run(0))


def test_append_run_cost_does_not_grow(storage: Any) -> None:
    storage.upsert(make_session("big", runs=300))
    storage.upsert(make_session("small", runs=3))
    for sid in ("big", "small"):
        before = (storage.stats.queries, storage.stats.rows)
        storage.append_run(sid, make_run(999))
        assert (storage.stats.queries, storage.stats.rows) == (before[0] + 2, before[1])


@pytest.mark.parametrize("mode", ["team", "workflow", "workflow_v2"])
def test_other_modes(make_storage: Any, mode: str) -> None:
    storage = make_storage(f"{mode}_sessions", mode=mode)
    if mode == "team":
        session: Any = TeamSession(
            session_id="t1",
            team_id="team-a",
            user_id="u",
            memory={"runs": [make_run(0)]},
            team_data={"name": "T"},
        )
    elif mode == "workflow":
        session = WorkflowSession(
            session_id="t1",
            workflow_id="team-a",
            user_id="u",
            memory={"runs": [make_run(0)]},
            workflow_data={"w": 1},
        )
    else:
        session = WorkflowSession(
            session_id="t1",
            workflow_id="team-a",
            workflow_name="wf",
            user_id="u",
            runs_v2=[make_run(0)],
            workflow_data={"w": 1},
        )
    storage.upsert(session)
    got = storage.read("t1")
    assert type(got) is type(session)
    assert got.entity_id == "team-a"
    assert got.run_dicts == [make_run(0)]
    assert storage.get_all_session_ids(entity_id="team-a") == ["t1"]
    storage.append_run("t1", make_run(1))
    assert [r["run_id"] for r in storage.read("t1").run_dicts] == ["run-0", "run-1"]
    assert storage.list_sessions()[0].run_count == 2


def test_v1_table_is_agno_layout_and_stays_v1(make_storage: Any) -> None:
    storage = make_storage(schema_version=1)
    storage.upsert(make_session("s1", runs=2))
    assert storage.current_version == 1
    assert storage.append_run("s1", make_run(2)) == 2
    with storage.db_engine.connect() as conn:
        table = sa.table(storage.table_name, schema=storage.schema)
        columns = set(conn.execute(sa.select(sa.text("*")).select_from(table).limit(0)).keys())
        has_runs_table = sa.inspect(conn).has_table(
            storage.table_name + "_runs", schema=storage.schema
        )
    assert columns == {
        "session_id",
        "user_id",
        "memory",
        "session_data",
        "extra_data",
        "created_at",
        "updated_at",
        "agent_id",
        "agent_data",
        "team_session_id",
    }
    assert not has_runs_table
    got = storage.read("s1")
    assert [r["run_id"] for r in got.memory["runs"]] == ["run-0", "run-1", "run-2"]
    summary = storage.list_sessions()[0]
    assert (summary.run_count, summary.preview) == (3, "question 0")
    assert storage.count_sessions(search="question 2") == 1


def test_storage_is_a_context_manager(make_storage: Any) -> None:
    with make_storage() as storage:
        storage.upsert(make_session("s1"))
    assert storage.read("s1") is not None  # reconnects after close()


def test_repr_names_backend_and_table(storage: Any) -> None:
    text = repr(storage)
    assert storage.table_name in text and type(storage).__name__ in text


def test_sqlite_read_only_file_refuses_writes_in_one_line(tmp_path: Any) -> None:
    from agno_nb.errors import AgnoNbError
    from agno_nb.storage import SqliteStorage

    path = tmp_path / "ro.db"
    with SqliteStorage("t", db_file=path) as writer:
        writer.upsert(make_session("s1"))
    reader = SqliteStorage("t", db_url=f"sqlite:///file:{path}?mode=ro&uri=true")
    assert reader.read("s1") is not None
    with pytest.raises(AgnoNbError, match="read-only") as caught:
        reader.upsert(make_session("s2"))
    assert "\n" not in str(caught.value)
    reader.close()


def test_sessions_stamped_with_whole_seconds_keep_creation_order(
    storage: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sessions made now, stamped with the same second, list by the clock's
    milliseconds. (The clock is the test's: on a loaded machine two seconds could
    pass between the stamp and the writes, and the stamp then decides.)"""
    from types import SimpleNamespace

    import agno_nb.storage.base as base

    now = 1_800_000_000
    ticks = iter(range(1, 100))
    clock = SimpleNamespace(time=lambda: now + next(ticks) / 1000, sleep=time.sleep)
    monkeypatch.setattr(base, "time", clock)  # 1 ms later at every write
    for i in range(4):
        storage.upsert(make_session(f"{'zyxw'[i]}-session", created_at=now))  # same second
    assert storage.get_all_session_ids() == ["w-session", "x-session", "y-session", "z-session"]


def test_upsert_many_writes_a_batch_in_one_transaction(storage: Any) -> None:
    storage.upsert(make_session("s0", runs=5))
    before = storage.stats.queries
    count = storage.upsert_many([make_session(f"s{i}", runs=i % 3) for i in range(6)])
    assert count == 6
    assert storage.stats.queries - before <= 4  # session rows, runs cleared, runs inserted
    assert storage.count_sessions() == 6
    assert storage.count_runs("s0") == 0  # replaced, like upsert
    assert [r["run_id"] for r in storage.read("s5").memory["runs"]] == ["run-0", "run-1"]
    assert storage.upsert_many([]) == 0


# -- ties of the creation time: insertion order (issue 21) ------------------------------

#: inserted in this order: neither the ids' order nor its reverse
TIES = ["q3", "q1", "q5", "q0", "q4", "q2"]


def frozen_clock(monkeypatch: pytest.MonkeyPatch, at: float = 1_800_000_000.123) -> None:
    """Every write of the storage sees the same instant (one millisecond)."""
    from types import SimpleNamespace

    import agno_nb.storage.base as base

    monkeypatch.setattr(base, "time", SimpleNamespace(time=lambda: at, sleep=time.sleep))


def listed(storage: Any, size: int = 4) -> list[str]:
    """Every session id, read page by page with list_sessions(limit, offset)."""
    out: list[str] = []
    while True:
        page = [s.session_id for s in storage.list_sessions(limit=size, offset=len(out))]
        out += page
        if len(page) < size:
            return out


def test_sessions_made_in_the_same_millisecond_list_in_insertion_order(
    storage: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The repro of issue 21: sessions created in one millisecond listed in a
    scrambled order (by id). The later inserted is listed first, on every page."""
    frozen_clock(monkeypatch)
    for sid in TIES:
        storage.upsert(make_session(sid))
    assert {s.created_at for s in storage.get_all_sessions()} == {1_800_000_000}
    newest_first = TIES[::-1]
    assert storage.get_all_session_ids() == newest_first
    assert listed(storage) == listed(storage, size=1) == newest_first
    assert [s.session_id for s in storage.get_recent_sessions(limit=3)] == newest_first[:3]
    assert [s.session_id for s in storage.iter_sessions(page_size=4)] == newest_first
    page2 = storage.list_sessions(search="question", limit=2, offset=2)
    assert [s.session_id for s in page2] == newest_first[2:4]


def test_writes_to_tied_sessions_keep_their_place(
    storage: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upsert of an existing session (whole, or one more run), a rename or an
    appended run is no new insertion: the session keeps its place among sessions
    of the same millisecond. A session deleted and created again is a new one."""
    frozen_clock(monkeypatch)
    for sid in TIES:
        storage.upsert(make_session(sid))
    before = storage.get_all_session_ids()
    storage.upsert(make_session("q5", runs=4, user="bob"))  # rewritten whole
    session = storage.read("q1")
    session.memory["runs"].append(make_run(7))
    storage.upsert(session)  # one more run, through the run cache
    storage.append_run("q0", make_run(8))
    storage.rename_session("q3", "renamed")
    storage.upsert_many([make_session("q4", runs=1), make_session("q2", runs=3)])
    assert storage.get_all_session_ids() == before == TIES[::-1]
    assert listed(storage, size=4) == before
    storage.delete_session("q1")
    storage.upsert(make_session("q1"))
    assert storage.get_all_session_ids() == ["q1", *(s for s in before if s != "q1")]


def test_a_batch_of_tied_sessions_is_inserted_in_id_order(
    storage: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """upsert_many writes its batch in session-id order (two batches sharing ids
    lock them in one order): that is their insertion order."""
    frozen_clock(monkeypatch)
    storage.upsert(make_session("first"))
    storage.upsert_many([make_session(sid) for sid in TIES])
    assert storage.get_all_session_ids() == [*sorted(TIES, reverse=True), "first"]


@pytest.mark.parametrize("version", [1, 5])
def test_older_layouts_break_ties_by_rowid_on_sqlite_and_by_id_elsewhere(
    make_storage: Any, version: int
) -> None:
    """agno 1.x's layout (v1) and agno_nb's v2..v5 have no insertion number:
    SQLite's rowid still gives insertion order; on Postgres and DuckDB ties are
    in a stable order (by id, descending) until the table is upgraded to v6."""
    storage = make_storage(schema_version=version)
    for sid in TIES:
        storage.upsert(make_session(sid, created_at=3_000))
    expected = TIES[::-1] if storage.backend == "sqlite" else sorted(TIES, reverse=True)
    assert storage.current_version == version
    assert storage.get_all_session_ids() == expected
    assert listed(storage, size=4) == expected
    assert [s.session_id for s in storage.get_recent_sessions(limit=2)] == expected[:2]
