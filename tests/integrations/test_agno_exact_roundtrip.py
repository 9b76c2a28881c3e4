"""Every field of an agent and a workflow session reads back exactly as it was
upserted (nothing added, nothing lost), through ``as_agno_storage()`` and through
agno_nb's own API, on every backend, across create / upsert / read / delete /
drop; and agno 1.8.4's Agent still loads a session stored without runs."""

from __future__ import annotations

import copy
import os
import pickle
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("agno")
os.environ.setdefault("AGNO_TELEMETRY", "false")

from agno.storage.session.agent import AgentSession as AgnoAgentSession
from agno.storage.session.workflow import WorkflowSession as AgnoWorkflowSession

from agno_nb.integrations.agno import AgnoMemory, as_agno_storage
from agno_nb.sessions import AgentSession, WorkflowSession
from tests.integrations.test_interop_agno import agno_agent

_RUN = {"run_id": "r1", "session_id": "s1", "content": "hi", "created_at": 1_700_000_000}

#: memory values as agno 1.x code stores them: without runs, with runs, nested,
#: unicode, big integers and floats, empty
MEMORIES: list[dict[str, Any] | None] = [
    {"key": "value"},
    {},
    None,
    {"runs": [_RUN], "summaries": {"s1": {"summary": "short"}}, "memories": {}},
    {"nested": {"a": [1, 2.5, True, None, "é\u00df\u2603"]}, "big": 2**70, "f": 0.1},
    {"runs": []},
]


def _agent_fields(memory: Any, n: int = 0) -> dict[str, Any]:
    return {
        "session_id": f"agent-{n}",
        "agent_id": "agent-a",
        "user_id": "ann",
        "team_session_id": "team-1",
        "memory": copy.deepcopy(memory),
        "agent_data": {"name": "bot", "model": {"id": "m", "provider": "p"}},
        "session_data": {"session_name": "first", "session_state": {"k": [1, 2]}},
        "extra_data": {"tags": ["x", "y"], "n": 3},
    }


def _workflow_fields(memory: Any, n: int = 0) -> dict[str, Any]:
    return {
        "session_id": f"wf-{n}",
        "workflow_id": "flow-a",
        "user_id": "bob",
        "memory": copy.deepcopy(memory),
        "workflow_data": {"name": "flow", "steps": ["a", "b"]},
        "session_data": {"session_name": "w", "session_state": {}},
        "extra_data": None,
    }


def _same(got: Any, want: dict[str, Any]) -> None:
    """Every given field of ``got`` equals ``want``'s, with the same JSON shape."""
    assert got is not None
    for name, value in want.items():
        mine = getattr(got, name)
        if name == "memory" and mine is not None:
            mine = {k: list(v) if k == "runs" else v for k, v in mine.items()}
        assert mine == value, name
        assert type(mine) is type(value) or isinstance(mine, dict), name
    if want["memory"] is not None:
        assert set(got.memory) == set(want["memory"])  # no "runs" added
    assert isinstance(got.created_at, int) and isinstance(got.updated_at, int)


@pytest.mark.parametrize("memory", MEMORIES, ids=lambda m: "none" if m is None else str(len(m)))
def test_agent_session_exact_through_adapter(make_storage: Callable[..., Any], memory: Any) -> None:
    adapter = as_agno_storage(make_storage("ad_agent"))
    adapter.create()
    assert adapter.table_exists()
    want = _agent_fields(memory)
    returned = adapter.upsert(AgnoAgentSession(**_agent_fields(memory)))
    assert returned.memory == want["memory"]
    got = adapter.read(want["session_id"])
    assert isinstance(got, AgnoAgentSession)
    _same(got, want)
    [listed] = adapter.get_all_sessions()
    _same(listed, want)
    [recent] = adapter.get_recent_sessions(limit=5)
    _same(recent, want)
    # a second upsert of what was read changes nothing
    adapter.upsert(got)
    _same(adapter.read(want["session_id"]), want)
    adapter.delete_session(want["session_id"])
    assert adapter.read(want["session_id"]) is None
    adapter.drop()
    assert not adapter.table_exists()


@pytest.mark.parametrize("memory", MEMORIES, ids=lambda m: "none" if m is None else str(len(m)))
def test_workflow_session_exact_through_adapter(
    make_storage: Callable[..., Any], memory: Any
) -> None:
    adapter = as_agno_storage(make_storage("ad_flow", mode="workflow"))
    adapter.create()
    want = _workflow_fields(memory)
    adapter.upsert(AgnoWorkflowSession(**_workflow_fields(memory)))
    got = adapter.read(want["session_id"])
    assert isinstance(got, AgnoWorkflowSession)
    _same(got, want)
    [listed] = adapter.get_all_sessions()
    _same(listed, want)
    adapter.delete_session(want["session_id"])
    assert adapter.read(want["session_id"]) is None
    adapter.drop()
    assert not adapter.table_exists()


@pytest.mark.parametrize("memory", MEMORIES, ids=lambda m: "none" if m is None else str(len(m)))
def test_sessions_exact_natively(make_storage: Callable[..., Any], memory: Any) -> None:
    agents = make_storage("nat_agent")
    flows = make_storage("nat_flow", mode="workflow")
    for storage, cls, fields in (
        (agents, AgentSession, _agent_fields),
        (flows, WorkflowSession, _workflow_fields),
    ):
        storage.create()
        want = fields(memory)
        storage.upsert(cls(**fields(memory)))
        _same(storage.read(want["session_id"]), want)
        [listed] = storage.get_all_sessions()
        _same(listed, want)
        storage.delete_session(want["session_id"])
        assert storage.read(want["session_id"]) is None
        storage.drop()
        assert not storage.table_exists()


def test_adapter_adds_no_runs_to_a_session_without_them(storage: Any) -> None:
    adapter = as_agno_storage(storage)
    adapter.upsert(AgnoAgentSession(session_id="k", memory={"key": "value"}))
    got = adapter.read("k")
    assert got.memory == {"key": "value"}
    assert "runs" not in got.memory and len(got.memory) == 1
    assert got.to_dict()["memory"] == {"key": "value"}


def test_agno_agent_loads_and_extends_a_session_stored_without_runs(storage: Any) -> None:
    adapter = as_agno_storage(storage)
    adapter.upsert(
        AgnoAgentSession(session_id="plain", user_id="ann", memory={}, session_data={"a": 1})
    )
    agent = agno_agent(storage, "plain", user_id="ann")
    assert agent.run("q1").content == "echo: q1 | seen: -"
    assert agent.run("q2").content == "echo: q2 | seen: q1"
    stored = storage.read("plain")
    assert [r["run_id"] for r in stored.memory["runs"]] != []
    assert storage.count_runs("plain") == 2
    # a fresh agno Agent picks the conversation up from the stored runs
    again = agno_agent(storage, "plain", user_id="ann")
    assert again.run("q3").content == "echo: q3 | seen: q1 / q2"


def test_agno_memory_is_a_plain_dict_but_for_a_missing_runs_pop() -> None:
    memory = AgnoMemory({"key": "value"})
    assert memory == {"key": "value"} and isinstance(memory, dict)
    assert memory.pop("runs") is None  # what agno's Agent calls
    with pytest.raises(KeyError):
        memory.pop("other")
    assert memory.pop("other", 5) == 5
    assert AgnoMemory({"runs": [1]}).pop("runs") == [1]
    assert type(pickle.loads(pickle.dumps(memory))) is dict
    assert type(copy.deepcopy(memory)) is dict
