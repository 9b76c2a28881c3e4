"""Sessions and runs shaped as agno writes them, for tests of every folder."""

from __future__ import annotations

from typing import Any

from agno_nb.sessions import AgentSession


def make_run(n: int, *, question: str | None = None, history: int = 0) -> dict[str, Any]:
    """An agno-shaped run dict: system, optional history copies, user, assistant."""
    question = question or f"question {n}"
    messages: list[dict[str, Any]] = [{"role": "system", "content": "be brief"}]
    messages += [
        {"role": "user", "content": f"old {i}", "from_history": True} for i in range(history)
    ]
    messages += [
        {"role": "user", "content": question, "created_at": 1_700_000_000 + n},
        {
            "role": "assistant",
            "content": f"answer {n}",
            "metrics": {"input_tokens": 10, "output_tokens": 3, "total_tokens": 13},
        },
    ]
    return {
        "run_id": f"run-{n}",
        "content": f"answer {n}",
        "messages": messages,
        "created_at": 1_700_000_000 + n,
        "metrics": {"total_tokens": [13]},
    }


def make_session(
    sid: str, *, runs: int = 2, user: str | None = "alice", agent: str | None = "agent-1", **kw: Any
) -> AgentSession:
    return AgentSession(
        session_id=sid,
        user_id=user,
        agent_id=agent,
        memory={"runs": [make_run(i) for i in range(runs)], "summary": {"x": 1}},
        session_data={"session_name": kw.pop("name", None), "session_state": {"n": runs}},
        agent_data={"name": "helper", "model": {"id": "offline"}},
        extra_data={"tag": "t"},
        **kw,
    )
