"""agno 3.1.10, in this very process, writes a session; agno_nb reads it in place."""

from __future__ import annotations

from tests.agno3_fixtures import COUNT_PROMPT, fake_model_class
from tests.agno3_live.conftest import Agno3Place


def test_agno_nb_reads_what_an_in_process_agno3_agent_wrote(agno3_place: Agno3Place) -> None:
    from agno.agent import Agent

    agent = Agent(
        model=fake_model_class()(),
        id="live-agent",
        db=agno3_place.agno_db(),
        session_id="s-live",
        user_id="alice",
        add_history_to_context=True,
        telemetry=False,
    )
    agent.run("hello from agno 3")
    answer = agent.run(COUNT_PROMPT)
    assert answer.content == "I see 2 user messages"

    storage = agno3_place.storage()
    try:
        session = storage.read("s-live")
        assert session is not None and session.user_id == "alice"
        runs = session.run_dicts
        assert [r["content"] for r in runs] == ["echo: hello from agno 3", answer.content]
        assert storage.count_runs("s-live") == 2
    finally:
        storage.close()
