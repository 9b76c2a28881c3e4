"""agno_nb's Agent writes agno 3's format: it continues a session an agno 3.1.10 agent
started, and a fresh agno 3.1.10 process reads every run back in order and answers from
that history (its model sees the earlier messages). On SQLite and on Postgres.

agno runs here in-process (this environment has agno 3.1.10 beside agno_nb) with the
offline ``FakeModel`` of tests/agno3_fixtures.py; the fresh process is
``tests/agno3/continue_session.py`` run by ``run_agno3``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from agno_nb.agent import Agent as NbAgent
from agno_nb.errors import AgnoNbError, SessionNotFoundError
from agno_nb.models.base import ModelResponse, TokenMetrics
from tests.agno3_fixtures import add, copy_fixture, fake_model_class
from tests.agno3_live.conftest import Agno3Place
from tests.conftest import run_agno3

AGENT = "live-agent"
CONTINUE = (Path(__file__).parent.parent / "agno3" / "continue_session.py").read_text()


class Recording:
    """agno_nb model that answers with how many user messages it was shown."""

    id = "recording-1"
    name = "Recording"
    provider = "agno_nb-tests"

    def __init__(self) -> None:
        self.calls: list[list[dict[str, Any]]] = []

    def response(
        self, messages: list[dict[str, Any]], *, tools: list[dict[str, Any]] | None = None
    ) -> ModelResponse:
        self.calls.append(messages)
        users = sum(1 for m in messages if m["role"] == "user")
        return ModelResponse(content=f"nb saw {users} user messages", metrics=TokenMetrics(3, 4))


def agno_agent(place: Agno3Place, session_id: str, **kw: Any) -> Any:
    """agno 3.1.10's own Agent on agno's own db at ``place``."""
    from agno.agent import Agent

    return Agent(
        model=fake_model_class()(),
        id=AGENT,
        name="Live Agent",
        db=place.agno_db(),
        session_id=session_id,
        user_id="alice",
        tools=[add],
        add_history_to_context=True,
        telemetry=False,
        **kw,
    )


def rows(place: Agno3Place, sql: str, **params: Any) -> list[dict[str, Any]]:
    engine = place.engine()
    try:
        with engine.connect() as conn:
            found = conn.execute(sa.text(sql), params).mappings().all()
            return [dict(row) for row in found]
    finally:
        engine.dispose()


def test_agno_nb_continues_an_agno3_session_and_agno3_answers_from_all_of_it(
    agno3_place: Agno3Place,
) -> None:
    agno = agno_agent(agno3_place, "s-cont")
    agno.run("hello from agno")
    agno.run("add 2 40")
    started = rows(agno3_place, f"SELECT * FROM {agno3_place.table('agno_sessions')}")[0]

    storage = agno3_place.storage()
    model = Recording()
    nb = NbAgent(
        session_id="s-cont",
        storage=storage,
        model=model,
        add_history_to_messages=True,
        num_history_runs=None,
    )
    first = nb.run("first from agno_nb")
    nb.run("second from agno_nb")
    # agno_nb's model saw agno's turns, and the agent took the session's agent and user
    shown = [m["content"] for m in model.calls[0] if m["role"] == "user"]
    assert shown == ["hello from agno", "add 2 40", "first from agno_nb"]
    assert first.content == "nb saw 3 user messages"
    assert (nb.agent_id, nb.user_id) == (AGENT, "alice")
    assert storage.count_runs("s-cont") == 4
    storage.close()

    # the rows are agno's: run_index after agno's, the columns agno fills, times in seconds
    runs = rows(
        agno3_place,
        f"SELECT * FROM {agno3_place.table('agno_runs')} ORDER BY run_index",
    )
    assert [r["run_index"] for r in runs] == [0, 1, 2, 3]
    for row in runs[2:]:
        data = row["run_data"] if isinstance(row["run_data"], dict) else json.loads(row["run_data"])
        assert (row["run_type"], row["agent_id"], row["user_id"]) == ("agent", AGENT, "alice")
        assert (row["status"], row["parent_run_id"], row["team_id"]) == ("COMPLETED", None, None)
        assert row["run_id"] == data["run_id"] and row["created_at"] == data["created_at"]
        assert isinstance(row["updated_at"], int) and row["updated_at"] >= row["created_at"]
    session = rows(agno3_place, f"SELECT * FROM {agno3_place.table('agno_sessions')}")[0]
    assert session["created_at"] == started["created_at"]
    assert session["updated_at"] >= started["updated_at"]
    data = session["session_data"]
    data = data if isinstance(data, dict) else json.loads(data)
    # agno's session metrics grew by agno_nb's two runs (3 + 4 tokens each)
    assert data["session_metrics"]["total_tokens"] == 2 * 15 + 2 * 7 + 15  # agno's add: 2 calls

    seen = run_agno3(CONTINUE, *agno3_place.args(), "s-cont", AGENT)
    assert [r[0] for r in seen["runs"]] == [
        "hello from agno",
        "add 2 40",
        "first from agno_nb",
        "second from agno_nb",
    ]
    assert seen["runs"][2] == ["first from agno_nb", "nb saw 3 user messages", AGENT, "COMPLETED"]
    assert seen["not_canonical"] == []  # each run is what agno's RunOutput.to_dict() gives
    assert seen["message_keys"][2] == seen["message_keys"][0]  # same keys as agno's text run
    assert seen["answer"] == "I see 5 user messages"  # agno's model saw all four turns
    assert seen["sqlite_cells_not_agnos"] == []


def test_a_new_session_agno_nb_starts_in_agnos_table_is_agnos(agno3_place: Agno3Place) -> None:
    agno_agent(agno3_place, "s-other").run("agno made the tables")
    storage = agno3_place.storage()
    nb = NbAgent(
        name="Notebook Agent",
        agent_id="nb-agent",
        session_id="s-new",
        user_id="bob",
        storage=storage,
        model=Recording(),
        add_history_to_messages=True,
        session_state={"topic": "tests"},
    )
    nb.run("one")
    nb.rename_session("Grüße <b>named</b>")
    nb.run("two")
    storage.close()
    [session] = rows(
        agno3_place,
        f"SELECT * FROM {agno3_place.table('agno_sessions')} WHERE session_id = 's-new'",
    )

    def value(cell: Any) -> Any:
        return cell if not isinstance(cell, str) else json.loads(cell)

    assert (session["session_type"], session["agent_id"], session["user_id"]) == (
        "agent",
        "nb-agent",
        "bob",
    )
    assert session["team_data"] is None and session["workflow_data"] is None
    assert value(session["metadata"]) is None and value(session["summary"]) is None
    assert value(session["agent_data"]) == {
        "name": "Notebook Agent",
        "agent_id": "nb-agent",
        "model": {"name": "Recording", "id": "recording-1", "provider": "agno_nb-tests"},
    }
    data = value(session["session_data"])
    if agno3_place.backend == "sqlite":  # (jsonb keeps its own key order)
        assert list(data) == ["session_state", "session_metrics", "session_name"]
    assert data["session_state"] == {"topic": "tests"}
    assert data["session_name"] == "Grüße <b>named</b>"
    assert data["session_metrics"]["total_tokens"] == 14

    seen = run_agno3(CONTINUE, *agno3_place.args(), "s-new", "nb-agent")
    assert seen["runs"] == [
        ["one", "nb saw 1 user messages", "nb-agent", "COMPLETED"],
        ["two", "nb saw 2 user messages", "nb-agent", "COMPLETED"],
    ]
    assert seen["not_canonical"] == [] and seen["sqlite_cells_not_agnos"] == []
    assert seen["answer"] == "I see 3 user messages"


def test_concurrent_writes_with_an_agno3_app_lose_nothing(agno3_place: Agno3Place) -> None:
    agno_agent(agno3_place, "s-busy").run("seed")
    storage = agno3_place.storage()
    turns = 6
    errors: list[BaseException] = []
    ids: dict[str, list[str]] = {"agno": [], "nb": []}

    def agno_side() -> None:
        try:
            agent = agno_agent(agno3_place, "s-busy")
            for i in range(turns):
                ids["agno"].append(agent.run(f"agno {i}").run_id)
        except BaseException as exc:  # reported below
            errors.append(exc)

    def nb_side() -> None:
        try:
            agent = NbAgent(session_id="s-busy", storage=storage, model=Recording())
            for i in range(turns):
                ids["nb"].append(agent.run(f"nb {i}").run_id)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=agno_side), threading.Thread(target=nb_side)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    stored = [
        r["run_id"]
        for r in rows(
            agno3_place,
            f"SELECT run_id FROM {agno3_place.table('agno_runs')} WHERE session_id = 's-busy'",
        )
    ]
    assert len(stored) == 1 + 2 * turns
    assert set(ids["agno"]) | set(ids["nb"]) <= set(stored)
    from agno.db.base import SessionType

    session = agno3_place.agno_db().get_session("s-busy", session_type=SessionType.AGENT)
    inputs = [r.input.input_content for r in session.runs]
    assert sorted(inputs) == sorted(
        ["seed", *(f"agno {i}" for i in range(turns))] + [f"nb {i}" for i in range(turns)]
    )
    # each side's own runs keep their order
    for side in ("agno", "nb"):
        mine = [x for x in inputs if x.startswith(side + " ")]
        assert mine == [f"{side} {i}" for i in range(turns)]
    storage.close()


def test_upsert_replaces_the_sessions_runs_and_respects_its_owner(agno3_place: Agno3Place) -> None:
    agent = agno_agent(agno3_place, "s-up")
    for text in ("a", "b", "c"):
        agent.run(text)
    storage = agno3_place.storage()
    session = storage.read("s-up")
    runs = session.run_dicts
    session.memory = {**session.memory, "runs": [runs[2], runs[0]]}
    storage.upsert(session)
    assert [r["input"]["input_content"] for r in storage.read("s-up").run_dicts] == ["c", "a"]
    left = rows(
        agno3_place,
        f"SELECT run_index FROM {agno3_place.table('agno_runs')} WHERE session_id='s-up' "
        "ORDER BY run_index",
    )
    assert [r["run_index"] for r in left] == [0, 1]
    seen = run_agno3(CONTINUE, *agno3_place.args(), "s-up", AGENT)
    assert [r[0] for r in seen["runs"]] == ["c", "a"] and seen["not_canonical"] == []
    session.user_id = "mallory"
    with pytest.raises(AgnoNbError, match="belongs to user 'alice'"):
        storage.upsert(session)
    storage.close()


def test_a_team_session_is_not_taken_for_an_agent_session(agno3_place: Agno3Place) -> None:
    from agno.team import Team

    team = Team(
        members=[agno_agent(agno3_place, "t-1")],
        model=fake_model_class()(),
        id="live-team",
        db=agno3_place.agno_db(),
        session_id="t-1",
        telemetry=False,
    )
    team.run("hello team")
    storage = agno3_place.storage()
    with pytest.raises(SessionNotFoundError):
        storage.append_run("t-1", {"run_id": "r-x", "content": "x"})
    nb = NbAgent(session_id="t-1", storage=storage, model=Recording())
    with pytest.raises(AgnoNbError, match=r"'t-1' in .* is a team session, not an agent"):
        nb.run("hi")
    storage.close()
    [row] = rows(agno3_place, f"SELECT * FROM {agno3_place.table('agno_sessions')}")
    assert (row["session_type"], row["team_id"], row["agent_id"]) == ("team", "live-team", None)


def test_a_runs_table_agno_has_not_made_yet_is_made_as_agno_makes_it(
    agno3_place: Agno3Place, tmp_path: Path
) -> None:
    from agno.session import AgentSession as AgnoSession

    db = agno3_place.agno_db()
    bare = AgnoSession(session_id="s-bare", agent_id=AGENT, user_id="alice", created_at=1_750_000)
    db.upsert_session(bare)
    assert not rows(
        agno3_place,
        "SELECT 1 FROM information_schema.tables WHERE table_schema = :s AND table_name = "
        "'agno_runs'"
        if agno3_place.backend == "postgres"
        else "SELECT 1 FROM sqlite_master WHERE name = 'agno_runs'",
        s=agno3_place.schema,
    )
    storage = agno3_place.storage()
    assert storage.append_run("s-bare", {"run_id": "r1", "content": "hi", "messages": []}) == 0
    storage.close()
    seen = run_agno3(CONTINUE, *agno3_place.args(), "s-bare", AGENT)
    assert seen["runs"][0][1] == "hi" and seen["not_canonical"] == []
    stamps = rows(
        agno3_place,
        f"SELECT table_name, version FROM {agno3_place.table('agno_schema_versions')}",
    )
    assert {"table_name": "agno_runs", "version": "3.0.0"} in stamps
    if agno3_place.backend != "sqlite":
        return
    # the same DDL, index by index, as agno's own first run makes
    theirs = tmp_path / "theirs.db"
    agno_agent(Agno3Place("sqlite", db_file=str(theirs)), "x").run("hi")

    def ddl(path: str | Path) -> list[tuple[str, str]]:
        con = sqlite3.connect(path)
        try:
            found = con.execute(
                "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'agno_runs' ORDER BY name"
            )
            return list(found)
        finally:
            con.close()

    assert ddl(str(agno3_place.db_file)) == ddl(theirs)


def test_an_agno_2x_database_is_written_the_way_agno_2x_writes_it(tmp_path: Path) -> None:
    from agno_nb.storage import SqliteStorage

    db = copy_fixture("agno_2_9_0_sessions", tmp_path / "agno2.db")
    storage = SqliteStorage("agno_sessions", db_file=db)
    before = storage.count_runs("s-unicode")
    nb = NbAgent(
        session_id="s-unicode",
        storage=storage,
        model=Recording(),
        add_history_to_messages=True,
        num_history_runs=None,
    )
    nb.run("from agno_nb, into the runs column")
    storage.close()
    con = sqlite3.connect(db)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "agno_runs" not in tables  # agno 2.x has no runs table
        cells = con.execute(
            "SELECT session_data, agent_data, metadata, runs FROM agno_sessions "
            "WHERE session_id = 's-unicode'"
        ).fetchone()
    finally:
        con.close()
    for cell in cells:  # agno 2.x on SQLite: JSON text of a JSON string (or the text null)
        if cell != "null":
            inner = json.loads(cell)
            assert isinstance(inner, str) and cell == json.dumps(inner)
            assert inner == json.dumps(json.loads(inner))
    runs = json.loads(json.loads(cells[3]))
    assert len(runs) == before + 1
    assert runs[-1]["input"] == {"input_content": "from agno_nb, into the runs column"}
    seen = run_agno3(CONTINUE, "sqlite", str(db), "s-unicode", "agno3-compat-agent")
    assert len(seen["runs"]) == before + 1
    assert seen["runs"][-1][:2] == [
        "from agno_nb, into the runs column",
        f"nb saw {before + 1} user messages",
    ]
    assert seen["not_canonical"] == []
    assert seen["answer"] == f"I see {before + 2} user messages"
