"""The read half of the storage contract, on every backend and every layout
family that declares ``read``: agno_nb's own tables (SQLite, DuckDB, Postgres)
and agno 2.x/3.x's (SQLite, Postgres; see ``families.py``). A test that also
needs a capability (``rename``, ``delete``) says so with ``needs``; a family
that does not declare it must refuse the operation instead."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from agno_nb.errors import AgnoNbError, SessionNotFoundError
from agno_nb.schema import LATEST_VERSION
from agno_nb.storage.contract import CAPABILITIES, OPERATION_NEEDS
from tests.contract.families import AGNO_BACKENDS, FAMILIES, agno_storage
from tests.session_factory import make_run, make_session


@pytest.fixture(params=FAMILIES, ids=[family for family, _ in FAMILIES])
def storage(
    request: pytest.FixtureRequest,
    backend: str,
    make_storage: Any,
    tmp_path: Path,
    pg_schema: str,
) -> Iterator[Any]:
    """A storage on ``backend`` whose table belongs to the family of this param."""
    _, kind = request.param
    if kind is None:
        yield make_storage()
        return
    assert backend in AGNO_BACKENDS  # the other cases are not collected (conftest.py)
    wrapped = agno_storage(kind, backend, tmp_path, pg_schema)
    yield wrapped
    wrapped.close()


def test_the_family_in_use_is_the_one_filled(storage: Any, request: pytest.FixtureRequest) -> None:
    family = request.node.callspec.params["storage"][0]
    if family == "agno_nb":
        storage.create()
        assert storage.current_version == LATEST_VERSION
        assert storage.capabilities == frozenset(CAPABILITIES)
    else:
        assert storage.current_version is None  # agno's tables: not stamped by agno_nb
        assert storage.layout_label.startswith(("agno 2.x", "agno 3.x"))
        writes = {"write"} if storage.mode == "agent" else set()
        assert storage.capabilities == {"read", "rename", "delete", *writes}


def test_what_a_family_does_not_declare_is_refused(storage: Any) -> None:
    """Every family reads; an operation whose capability it leaves out is refused
    with one line, before anything is written."""
    declared = storage.capabilities
    assert "read" in declared
    storage.upsert(make_session("s1"))
    if "write" not in declared:
        with pytest.raises(AgnoNbError, match="refused"):
            storage.append_run("s1", make_run(9))
    if "upgrade" not in declared:
        with pytest.raises(AgnoNbError, match="refused"):
            storage.upgrade_schema()
    if "drop" not in declared:
        with pytest.raises(AgnoNbError, match="refused"):
            storage.drop()
    assert storage.count_runs("s1") == 2
    assert {OPERATION_NEEDS[op] for op in OPERATION_NEEDS} <= set(CAPABILITIES)


def test_newest_first_and_filters(storage: Any) -> None:
    for i, (user, agent) in enumerate([("alice", "a1"), ("bob", "a1"), ("alice", "a2")]):
        storage.upsert(make_session(f"s{i}", user=user, agent=agent, created_at=1_000 + i))
    assert storage.get_all_session_ids() == ["s2", "s1", "s0"]
    assert storage.get_all_session_ids(user_id="alice") == ["s2", "s0"]
    assert storage.get_all_session_ids(entity_id="a1") == ["s1", "s0"]
    assert storage.get_all_session_ids(user_id="alice", entity_id="a1") == ["s0"]
    recent = storage.get_recent_sessions(limit=2)
    assert [s.session_id for s in recent] == ["s2", "s1"]
    assert all(len(s.memory["runs"]) == 2 for s in recent)
    assert [s.session_id for s in storage.get_all_sessions(user_id="bob")] == ["s1"]


#: Sessions inserted in this order, created at the same time: neither their ids'
#: order nor its reverse, so a list ordered by id cannot pass for insertion order.
TIES = ["q3", "q1", "q5", "q0", "q4", "q2"]


def tie_order(family: str, backend: str) -> list[str]:
    """TIES newest first: the later inserted first, where the table keeps the
    insertion order: agno_nb's tables on every backend, agno's on SQLite (its
    rowid). agno's tables on Postgres keep none and get no column of agno_nb's:
    there ties are in a stable order, by id descending (docs/reliability.md)."""
    if family != "agno_nb" and backend == "postgres":
        return sorted(TIES, reverse=True)
    return TIES[::-1]


def test_sessions_created_at_the_same_time_list_newest_inserted_first(
    storage: Any, backend: str, request: pytest.FixtureRequest
) -> None:
    """Issue 21: ties of the creation time were listed in a scrambled order (by
    id); every listing now breaks them by insertion order, across page edges."""
    for sid in TIES:
        storage.upsert(make_session(sid, created_at=3_000, runs=1))
    storage.upsert(make_session("older", created_at=2_999, runs=1))
    storage.upsert(make_session("newer", created_at=3_001, runs=1))
    family = request.node.callspec.params["storage"][0]
    expected = ["newer", *tie_order(family, backend), "older"]

    def ids(items: Any) -> list[str]:
        return [item.session_id for item in items]

    assert storage.get_all_session_ids() == expected
    assert storage.get_all_session_ids(user_id="alice", entity_id="agent-1") == expected
    pages = [ids(storage.list_sessions(limit=3, offset=start)) for start in range(0, 9, 3)]
    assert pages == [expected[0:3], expected[3:6], expected[6:8]]
    assert ids(storage.list_sessions(limit=2, offset=3, user_id="alice")) == expected[3:5]
    searched = [ids(storage.list_sessions(search="answer 0", limit=4, offset=o)) for o in (0, 4)]
    assert searched == [expected[0:4], expected[4:8]]
    assert ids(storage.get_recent_sessions(limit=4)) == expected[:4]
    assert ids(storage.iter_sessions(page_size=3)) == expected
    assert ids(storage.get_all_sessions()) == expected
    assert list(storage.sessions_df(limit=5)["session_id"]) == expected[:5]
    assert list(storage.sessions_df()["session_id"]) == expected
    assert storage.get_all_session_ids() == expected  # the same on every call


def test_delete_session(storage: Any) -> None:
    storage.upsert(make_session("s1"))
    storage.upsert(make_session("s2"))
    storage.delete_session("s1")
    assert storage.read("s1") is None
    assert storage.get_all_session_ids() == ["s2"]
    storage.delete_session("never-existed")
    with pytest.raises(SessionNotFoundError):
        storage.get_runs("s1")


def test_rename(storage: Any) -> None:
    storage.upsert(make_session("s1"))
    storage.rename_session("s1", "My chat")
    got = storage.read("s1")
    assert got.session_name == "My chat"
    assert got.session_data["session_state"] == {"n": 2}
    assert storage.list_sessions()[0].session_name == "My chat"
    with pytest.raises(SessionNotFoundError):
        storage.rename_session("nope", "x")


def test_list_sessions_pages_and_search(storage: Any) -> None:
    for i in range(7):
        storage.upsert(
            make_session(
                f"s{i}",
                runs=i % 3,
                created_at=2_000 + i,
                user="alice" if i % 2 else "bob",
                name="Weather talk" if i == 3 else None,
            )
        )
    page = storage.list_sessions(limit=3)
    assert [s.session_id for s in page] == ["s6", "s5", "s4"]
    assert [s.session_id for s in storage.list_sessions(limit=3, offset=3)] == ["s3", "s2", "s1"]
    assert storage.count_sessions() == 7
    assert storage.count_sessions(user_id="alice") == 3
    s4 = next(s for s in page if s.session_id == "s4")
    assert (s4.run_count, s4.message_count, s4.preview) == (1, 3, "question 0")
    assert s4.entity_id == "agent-1"
    assert [s.session_id for s in storage.list_sessions(search="weather")] == ["s3"]
    assert storage.count_sessions(search="WEATHER") == 1
    assert storage.count_sessions(search="answer 1") == 2  # s2 and s5 have two runs
    assert storage.list_sessions(search="100%_") == []


def test_get_runs_pages(storage: Any) -> None:
    storage.upsert(make_session("s1", runs=5))
    assert [r["run_id"] for r in storage.get_runs("s1")] == [f"run-{i}" for i in range(5)]
    newest = storage.get_runs("s1", newest_first=True, limit=2)
    assert [r["run_id"] for r in newest] == ["run-4", "run-3"]
    older = storage.get_runs("s1", newest_first=True, limit=2, offset=2)
    assert [r["run_id"] for r in older] == ["run-2", "run-1"]
    assert storage.count_runs("s1") == 5
    storage.upsert(make_session("empty", runs=0))
    assert storage.get_runs("empty") == []
    with pytest.raises(SessionNotFoundError):
        storage.count_runs("nope")


def test_dataframes(storage: Any) -> None:
    storage.upsert(make_session("s1", runs=2))
    storage.upsert(make_session("s2", runs=1, user="bob"))
    sessions = storage.sessions_df()
    assert isinstance(sessions, pd.DataFrame)
    assert set(sessions["session_id"]) == {"s1", "s2"}
    assert {"run_count", "message_count", "preview", "created_at"} <= set(sessions.columns)
    messages = storage.messages_df("s1")
    assert list(messages["role"]) == ["system", "user", "assistant"] * 2
    assert messages["output_tokens"].dropna().tolist() == [3, 3]
    assert len(storage.messages_df(user_id="bob")) == 3
    assert len(storage.messages_df()) == 9


def test_history_copies_are_not_counted(storage: Any) -> None:
    session = make_session("h", runs=0)
    session.memory["runs"] = [make_run(0), make_run(1, history=2)]
    storage.upsert(session)
    summary = storage.list_sessions()[0]
    assert summary.message_count == 6
    assert len(storage.read("h").messages()) == 6
