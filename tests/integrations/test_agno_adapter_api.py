"""``as_agno_storage()`` offers agno 1.8.4's whole storage API, method by
method, and an agno 1.x Agent and agno_nb's Agent can take turns on one session."""

from __future__ import annotations

import copy
import inspect
import os
from typing import Any

import pytest

pytest.importorskip("agno")
os.environ.setdefault("AGNO_TELEMETRY", "false")

from agno.storage.postgres import PostgresStorage as AgnoPostgresStorage
from agno.storage.session.agent import AgentSession as AgnoAgentSession
from agno.storage.sqlite import SqliteStorage as AgnoSqliteStorage

from agno_nb.agent import Agent
from agno_nb.integrations.agno import as_agno_storage
from agno_nb.models import OfflineModel
from tests.conftest import require_postgres
from tests.integrations.test_interop_agno import agno_agent


def _public(cls: type) -> set[str]:
    names = {n for n in dir(cls) if not n.startswith("_")}
    return names | {"__deepcopy__"}


def _attributes(storage: Any) -> set[str]:
    """The instance attributes agno's own storages set in ``__init__``."""
    return {n for n in vars(storage) if not n.startswith("_")}


def test_every_agno_method_and_attribute_is_there(tmp_path: Any) -> None:
    agno_sqlite = AgnoSqliteStorage(table_name="x", db_file=str(tmp_path / "agno.db"))
    agno_pg = AgnoPostgresStorage(table_name="x", db_url=require_postgres())  # connects
    from agno_nb.storage import SqliteStorage

    adapter = as_agno_storage(SqliteStorage("x", db_file=str(tmp_path / "ours.db")))
    wanted = _public(AgnoSqliteStorage) | _public(AgnoPostgresStorage)
    wanted |= _attributes(agno_sqlite) | _attributes(agno_pg)
    missing = sorted(n for n in wanted if not hasattr(adapter, n))
    assert missing == []
    for name in _public(AgnoSqliteStorage) - {"mode", "__deepcopy__"}:
        theirs = inspect.signature(getattr(AgnoSqliteStorage, name))
        ours = inspect.signature(getattr(type(adapter), name))
        assert list(ours.parameters) == list(theirs.parameters), name


def _agno_session(sid: str, user: str = "ann", runs: int = 2) -> Any:
    return AgnoAgentSession(
        session_id=sid,
        user_id=user,
        agent_id="agent-1",
        memory={"runs": [{"run_id": f"{sid}-{i}", "content": f"c{i}"} for i in range(runs)]},
        session_data={"session_name": sid},
    )


def test_each_method_works_like_agnos(make_storage: Any) -> None:
    storage = make_storage()
    adapter = as_agno_storage(storage)
    assert adapter.table_exists() is False
    assert adapter.read("nothing") is None
    adapter.create()
    assert adapter.table_exists() is True
    assert adapter.table_name == storage.table_name and adapter.db_engine is storage.db_engine
    assert adapter.schema == storage.schema and adapter.mode == "agent"
    assert adapter.schema_version == storage.latest_version
    assert "session_id" in adapter.get_table().c and "run_count" in adapter.table.c
    assert "run_count" not in adapter.get_table_v1().c  # agno 1.x's own columns
    assert adapter.metadata is adapter.get_table().metadata
    assert adapter.inspector.has_table(storage.table_name, schema=storage.schema)
    with adapter.SqlSession() as orm:
        assert orm.bind is storage.db_engine
    assert adapter.Session().bind is storage.db_engine

    first = _agno_session("a")
    assert adapter.upsert(first) is first
    assert adapter.upsert(session=_agno_session("b", user="bob"), create_and_retry=False)
    got = adapter.read("a")
    assert isinstance(got, AgnoAgentSession) and got.memory["runs"][1]["content"] == "c1"
    assert adapter.read("a", user_id="bob") is None
    assert set(adapter.get_all_session_ids()) == {"a", "b"}
    assert adapter.get_all_session_ids(user_id="bob") == ["b"]
    assert adapter.get_all_session_ids(entity_id="agent-1", user_id="ann") == ["a"]
    assert {s.session_id for s in adapter.get_all_sessions()} == {"a", "b"}
    assert [s.session_id for s in adapter.get_all_sessions(user_id="ann")] == ["a"]
    assert len(adapter.get_recent_sessions(limit=1)) == 1
    assert [s.session_id for s in adapter.get_recent_sessions(user_id="bob")] == ["b"]

    adapter.delete_session()  # agno: no id, nothing happens
    adapter.delete_session("a")
    assert adapter.read("a") is None and adapter.get_all_session_ids() == ["b"]
    adapter.auto_upgrade_schema = True
    assert storage.auto_upgrade_schema is True
    adapter.upgrade_schema()
    assert storage.current_version == storage.latest_version

    twin = copy.deepcopy(adapter)  # agno's Agent.deep_copy() does this
    assert twin is not adapter and twin.storage is storage and twin.read("b") is not None
    adapter.drop()
    assert adapter.table_exists() is False and twin.table_exists() is False


def test_agno_and_our_agent_take_turns_on_one_session(make_storage: Any) -> None:
    storage = make_storage()
    ours_first = Agent(model=OfflineModel(), session_id="both", user_id="ann", storage=storage)
    ours_first.run("What is the capital of France?")
    for turn in range(3):
        theirs = agno_agent(storage, "both")
        answer = theirs.run(f"agno question {turn}").content
        assert answer.startswith(f"echo: agno question {turn} | seen: ")
        ours = Agent(
            model=OfflineModel(), session_id="both", storage=storage, add_history_to_messages=True
        )
        reply = ours.run("What was my last question?").content
        assert reply == f'Your last question was: "agno question {turn}"'
    assert storage.count_runs("both") == 7
    questions = [m["content"] for m in ours.get_messages_for_session() if m["role"] == "user"]
    assert questions == [
        "What is the capital of France?",
        "agno question 0",
        "What was my last question?",
        "agno question 1",
        "What was my last question?",
        "agno question 2",
        "What was my last question?",
    ]
    fresh = make_storage(storage.table_name.removeprefix(make_storage.prefix))
    assert [r["run_id"] for r in fresh.get_runs("both")] == [
        r["run_id"] for r in storage.read("both").memory["runs"]
    ]
