"""agno 1.8.4's own Agent keeping its sessions in agno_nb storage (and the reverse)."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("agno")
os.environ.setdefault("AGNO_TELEMETRY", "false")

from agno.agent import Agent as AgnoAgent
from agno.models.base import Model as AgnoModel
from agno.models.response import ModelResponse as AgnoModelResponse
from agno.run.response import RunResponse as AgnoRunResponse
from agno.storage.base import Storage as AgnoStorage

from agno_nb.agent import Agent
from agno_nb.errors import AgnoNbError
from agno_nb.integrations.agno import as_agno_storage
from agno_nb.models import OfflineModel


@dataclass
class EchoModel(AgnoModel):
    """A fake agno model: echoes the prompt and lists the user messages it was shown."""

    id: str = "echo-1"
    name: str = "EchoModel"
    provider: str = "tests"

    def invoke(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        users = [m.get_content_string() for m in kwargs["messages"] if m.role == "user"]
        return {
            "content": f"echo: {users[-1]} | seen: {' / '.join(users[:-1]) or '-'}",
            "usage": {"input_tokens": len(users), "output_tokens": 3},
        }

    async def ainvoke(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.invoke(*args, **kwargs)

    def invoke_stream(self, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield self.invoke(*args, **kwargs)

    async def ainvoke_stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[dict[str, Any]]:
        yield self.invoke(*args, **kwargs)

    def parse_provider_response(self, response: Any, **kwargs: Any) -> AgnoModelResponse:
        return AgnoModelResponse(
            role="assistant", content=response["content"], response_usage=response["usage"]
        )

    def parse_provider_response_delta(self, response: Any) -> AgnoModelResponse:
        return self.parse_provider_response(response)


def agno_agent(storage: Any, session_id: str, **kw: Any) -> AgnoAgent:
    return AgnoAgent(
        model=EchoModel(),
        storage=as_agno_storage(storage),
        session_id=session_id,
        add_history_to_messages=True,
        num_history_runs=5,
        telemetry=False,
        monitoring=False,
        **kw,
    )


def test_adapter_is_an_agno_storage(storage: Any) -> None:
    adapter = as_agno_storage(storage)
    assert isinstance(adapter, AgnoStorage)
    assert adapter.mode == "agent"
    assert storage.table_name in repr(adapter)


def test_agno_agent_keeps_its_sessions_in_our_storage(storage: Any) -> None:
    first = agno_agent(storage, "agno-1", user_id="ann", name="agno bot")
    assert first.run("q1").content == "echo: q1 | seen: -"
    assert first.run("q2").content == "echo: q2 | seen: q1"

    [summary] = storage.list_sessions()
    assert (summary.session_id, summary.user_id, summary.run_count) == ("agno-1", "ann", 2)
    assert summary.preview == "q1"
    stored = storage.read("agno-1")
    assert stored.agent_data["model"]["id"] == "echo-1"
    assert stored.agent_data["name"] == "agno bot"
    assert [m.text for m in stored.messages() if m.role == "user"] == ["q1", "q2"]
    assert stored.runs[1].metrics["input_tokens"] == [2]

    # a new agno Agent (think: a new process) reads the session back through the adapter
    again = agno_agent(storage, "agno-1")
    assert again.run("q3").content == "echo: q3 | seen: q1 / q2"
    assert storage.count_runs("agno-1") == 3
    assert again.user_id == "ann"  # agno adopted the stored session's user


def test_adapter_lists_and_deletes_like_agno(storage: Any) -> None:
    agno_agent(storage, "a").run("one")
    agno_agent(storage, "b", user_id="bob").run("two")
    adapter = as_agno_storage(storage)
    assert set(adapter.get_all_session_ids()) == {"a", "b"}
    assert adapter.get_all_session_ids(user_id="bob") == ["b"]
    recent = adapter.get_recent_sessions(limit=1)
    assert len(recent) == 1 and type(recent[0]).__module__ == "agno.storage.session.agent"
    assert {s.session_id for s in adapter.get_all_sessions()} == {"a", "b"}
    session = adapter.read("a")
    assert session.memory["runs"][0]["messages"][0]["content"] == "one"
    adapter.delete_session("a")
    assert adapter.read("a") is None
    assert storage.get_all_session_ids() == ["b"]


def test_agno_continues_a_session_our_agent_wrote(storage: Any) -> None:
    ours = Agent(model=OfflineModel(), session_id="mixed", user_id="alice", storage=storage)
    ours.run("What is the capital of France?")
    run_dict = storage.get_runs("mixed")[0]
    # every key we store is a field agno's RunResponse knows (it drops runs it can't load)
    assert set(run_dict) <= {f.name for f in dataclasses.fields(AgnoRunResponse)}
    parsed = AgnoRunResponse.from_dict(dict(run_dict))
    assert parsed.run_id == run_dict["run_id"]
    assert [m.role for m in parsed.messages or []] == ["user", "assistant"]

    theirs = agno_agent(storage, "mixed")
    assert theirs.run("next").content == "echo: next | seen: What is the capital of France?"
    back = Agent(
        model=OfflineModel(), session_id="mixed", storage=storage, add_history_to_messages=True
    )
    assert back.run("What was my last question?").content == 'Your last question was: "next"'
    assert storage.count_runs("mixed") == 3
    assert [m["content"] for m in back.get_messages_for_session() if m["role"] == "user"] == [
        "What is the capital of France?",
        "next",
        "What was my last question?",
    ]


def test_mode_mismatch_is_a_clear_error(make_storage: Any) -> None:
    team_storage = make_storage("team_sessions", mode="team")
    agent = agno_agent(team_storage, "t")
    with pytest.raises(AgnoNbError, match=r"mode='team'.*mode='agent'"):
        agent.run("hi")


def test_missing_agno_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "agno.storage.base", None)  # import now fails
    with pytest.raises(AgnoNbError, match=r"needs agno 1\.x: pip install"):
        as_agno_storage(object())
