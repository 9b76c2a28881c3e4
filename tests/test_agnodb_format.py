"""The shapes agno_nb writes into agno 3's tables (``_agnodb_format``), without agno:
agno_nb's own runs become agno 3.1.10's ``RunOutput.to_dict()`` layout (checked against a
run agno 3.1.10 wrote, from the pinned fixture). That agno itself reads them back the
same is proven in tests/agno3_live/test_agno3_writes.py.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from agno_nb.agent import Agent
from agno_nb.storage.layouts._agnodb_format import (
    add_run_metrics,
    agno_run,
    session_data,
)
from tests.agno3_fixtures import FIXTURES_DIR


def agno_written_tool_run() -> dict[str, Any]:
    """The run of ``s-tool`` agno 3.1.10 wrote (``add 2 40`` -> a tool call)."""
    con = sqlite3.connect(FIXTURES_DIR / "agno_3_1_10_sessions.db")
    try:
        [text] = con.execute(
            "SELECT run_data FROM agno_runs WHERE session_id = 's-tool' ORDER BY run_index"
        ).fetchone()
    finally:
        con.close()
    return dict(json.loads(text))


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def nb_tool_run() -> dict[str, Any]:
    """A run of agno_nb's Agent with history, a system message and a tool call."""
    agent = Agent(name="nb", tools=[add], instructions="be brief", add_history_to_messages=True)
    agent.run("hello")
    response = agent.run("use add with a=2 and b=40")
    return response.to_dict()


def test_an_agno_nb_run_has_agnos_keys_in_agnos_order() -> None:
    theirs = agno_written_tool_run()
    run = nb_tool_run()
    ours = agno_run(run, session_id="s", user_id="u", agent_id="a", session_state={}, now=1)
    assert list(ours) == list(theirs)  # run_id ... session_state, created_at, status, metrics ...
    assert ours["input"] == {"input_content": "use add with a=2 and b=40"}
    assert (ours["user_id"], ours["status"]) == ("u", "COMPLETED")  # filled in
    assert (ours["session_id"], ours["agent_id"]) == (run["session_id"], run["agent_id"])  # kept
    # the history copies are not stored, the system message is
    roles = [m["role"] for m in ours["messages"]]
    assert roles[0] == "system" and roles.count("user") == 1
    assert not any(m["from_history"] for m in ours["messages"])
    tool_message = next(m for m in ours["messages"] if m["role"] == "tool")
    their_tool_message = next(m for m in theirs["messages"] if m["role"] == "tool")
    assert list(tool_message) == list(their_tool_message)
    assert all(next(iter(m)) == "id" and list(m)[-1] == "created_at" for m in ours["messages"])
    assert [list(t) for t in ours["tools"]] == [list(t) for t in theirs["tools"]]
    assert set(ours["metrics"]) <= set(theirs["metrics"]) | {"time_to_first_token"}
    assert ours["metrics"]["total_tokens"] == sum(run["metrics"]["total_tokens"])
    assert ours["metrics"]["duration"] == sum(run["metrics"]["time"])
    [model] = ours["metrics"]["details"]["model"]
    assert (model["id"], model["provider"]) == (run["model"], run["model_provider"])


def test_an_agno_run_passes_through_unchanged() -> None:
    theirs = agno_written_tool_run()
    again = agno_run(theirs, session_id="x", user_id="y", agent_id="z", now=1)
    assert again == theirs and list(again) == list(theirs)


def test_session_metrics_accumulate_per_model_as_agno_does() -> None:
    first = {"input_tokens": 10, "total_tokens": 15, "output_tokens": 5}
    first["details"] = {"model": [{**first, "id": "m1", "provider": "p"}]}  # type: ignore[dict-item]
    second = {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}
    second["details"] = {"model": [{**second, "id": "m2", "provider": "p"}]}  # type: ignore[dict-item]
    total = add_run_metrics(add_run_metrics(add_run_metrics(None, first), second), first)
    assert total is not None
    assert (total["input_tokens"], total["output_tokens"], total["total_tokens"]) == (21, 12, 33)
    by_model = {m["id"]: m["total_tokens"] for m in total["details"]["model"]}
    assert by_model == {"m1": 30, "m2": 3}


def test_session_data_keeps_what_agno_nb_does_not_set() -> None:
    kept = {"session_state": {"a": 1}, "session_metrics": {"total_tokens": 5}, "session_name": "n"}
    merged = session_data({"session_state": {"a": 2}, "session_name": None}, kept=kept)
    assert merged == {
        "session_state": {"a": 2},
        "session_metrics": {"total_tokens": 5},
        "session_name": "n",
    }
    assert list(merged) == ["session_state", "session_metrics", "session_name"]
