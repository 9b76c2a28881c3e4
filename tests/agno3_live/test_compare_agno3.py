"""``compare()`` with agno 3.1.10's own Agent in this interpreter (nox's agno3 session):
fresh, marked evaluation sessions in agno's ``agno_sessions``, the answers, tokens and
tool calls read from agno's RunOutput, and picks stored as labels beside agno's tables
without changing them."""

from __future__ import annotations

import sqlite3
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest


def _agno3() -> None:
    try:
        if not version("agno").startswith("3."):
            pytest.skip("needs agno 3.x in this interpreter (nox -s agno3)")
    except PackageNotFoundError:
        pytest.skip("needs agno 3.x in this interpreter (nox -s agno3)")


def _agno_rows(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return [line for line in con.iterdump() if "agno_nb_" not in line]
    finally:
        con.close()


def test_compare_agno3_agent_and_pick(tmp_path: Path) -> None:
    _agno3()
    from agno.agent import Agent as AgnoAgent
    from agno.db.sqlite import SqliteDb

    from agno_nb.agent import Agent
    from agno_nb.evaluate import EVAL_STATE_KEY, compare, is_evaluation_session
    from agno_nb.storage import SqliteStorage
    from tests.agno3_fixtures import _model_class, add

    path = tmp_path / "agno3.db"
    agno_agent = AgnoAgent(
        model=_model_class()(),
        db=SqliteDb(db_file=str(path)),
        tools=[add],
        telemetry=False,
        session_id="home",
    )
    ours = Agent(storage=SqliteStorage("agent_sessions", db_file=path))
    result = compare({"agno3": agno_agent, "agno_nb": ours}, ["hello", "add 2 3"], progress=False)
    assert agno_agent.session_id == "home"  # back on its own session
    frame = result.df
    assert list(frame["agno3_answer"]) == ["echo: hello", "The tool said: 5"]
    assert list(frame["agno3_tokens"]) == [15, 30]
    assert list(frame["agno3_tool_calls"]) == [0, 1]
    assert frame["agno3_error"].isna().all()

    storage = SqliteStorage("agno_sessions", db_file=path)
    for i in range(2):
        sid = frame.loc[i, "agno3_session_id"]
        session = storage.read(sid)
        assert session is not None and len(session.runs) == 1
        assert is_evaluation_session(storage.get_summary(sid))
        assert session.session_state[EVAL_STATE_KEY]["variant"] == "agno3"

    before = _agno_rows(path)
    stored = result.pick(1, "agno3")
    assert [x.rating for x in stored] == ["good", "bad"]
    assert _agno_rows(path) == before  # agno's own tables are not touched by labels
    (label,) = storage.labels(frame.loc[1, "agno3_session_id"])
    assert (label.run_id, label.rating) == (frame.loc[1, "agno3_run_id"], "good")
    storage.close()
