"""``agno-nb migrate``: agno 1.x session tables into agno 3.x's tables, proven by
agno 3.1.10 itself (its own SqliteDb / PostgresDb / Agent, in its own virtualenv)
reading the result back."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from agno_nb.agno3 import migrate
from agno_nb.agno3.tables import TargetTables
from agno_nb.schema import LATEST_VERSION
from agno_nb.storage import SqliteStorage
from tests.agno_fixtures import make_agno_v0_table
from tests.conftest import require_postgres, run_agno3
from tests.migrate_helpers import (
    READER,
    TABLE,
    agno3_continue,
    agno3_read,
    assert_agno_reads_back,
    pinned_copy,
    run_cli,
    source_dump,
    sqlite_agno_catalog,
    url_of,
)

pytestmark = pytest.mark.filterwarnings("ignore:The Column.copy\\(\\) method is deprecated")


# -- the tables are agno's -----------------------------------------------------------------

_AGNO_CREATES = """
import json, os, sys
os.environ["AGNO_TELEMETRY"] = "false"
from agno.db.sqlite import SqliteDb
db = SqliteDb(db_file=sys.argv[1])
db._get_table("sessions", create_table_if_not_found=True)
db._get_table("runs", create_table_if_not_found=True)
db._get_table("memories", create_table_if_not_found=True)
print(json.dumps("ok"))
"""


def test_sqlite_tables_are_the_ones_agno_creates(tmp_path: Path) -> None:
    agno_file, ours = tmp_path / "agno.db", tmp_path / "ours.db"
    run_agno3(_AGNO_CREATES, str(agno_file))
    engine = sa.create_engine(url_of(ours))
    with engine.begin() as conn:
        created = TargetTables.build("sqlite").create(conn, memories=True)
    engine.dispose()
    assert {"agno_sessions", "agno_runs", "agno_schema_versions"} <= set(created)
    theirs = sqlite_agno_catalog(agno_file)
    assert sqlite_agno_catalog(ours) == theirs
    assert len([n for n in theirs if n.startswith("idx_")]) == 15

    def stamps(path: Path) -> set[tuple[str, str]]:
        with sqlite3.connect(path) as con:
            return set(con.execute("SELECT table_name, version FROM agno_schema_versions"))

    assert (
        stamps(ours)
        == stamps(agno_file)
        == {
            ("agno_sessions", "3.0.0"),
            ("agno_runs", "3.0.0"),
            ("agno_memories", "3.0.0"),
        }
    )


def _pg_catalog(engine: sa.Engine, schema: str) -> dict[str, Any]:
    with engine.connect() as conn:
        columns = conn.execute(
            sa.text(
                "SELECT table_name, ordinal_position, column_name, data_type, is_nullable, "
                "column_default FROM information_schema.columns WHERE table_schema = :s "
                "AND table_name LIKE 'agno\\_%' AND table_name NOT LIKE 'agno\\_nb\\_%' "
                "ORDER BY 1, 2"
            ),
            {"s": schema},
        ).all()
        indexes = conn.execute(
            sa.text(
                "SELECT indexname, replace(indexdef, :s || '.', 'S.') FROM pg_indexes "
                "WHERE schemaname = :s AND indexname NOT LIKE 'agno\\_nb\\_%' ORDER BY 1"
            ),
            {"s": schema},
        ).all()
        constraints = conn.execute(
            sa.text(
                "SELECT conname, replace(pg_get_constraintdef(c.oid), :s || '.', 'S.') "
                "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
                "WHERE n.nspname = :s AND conname NOT LIKE 'agno\\_nb\\_%' ORDER BY 1"
            ),
            {"s": schema},
        ).all()
    return {"columns": columns, "indexes": indexes, "constraints": constraints}


def test_postgres_tables_are_the_ones_agno_creates(pg_schema: str) -> None:
    url = require_postgres()
    theirs, ours = pg_schema + "_agno", pg_schema + "_ours"
    script = _AGNO_CREATES.replace(
        "from agno.db.sqlite import SqliteDb\ndb = SqliteDb(db_file=sys.argv[1])",
        "from agno.db.postgres import PostgresDb\n"
        "db = PostgresDb(db_url=sys.argv[1], db_schema=sys.argv[2])",
    )
    engine = sa.create_engine(url)
    try:
        run_agno3(script, url, theirs)
        with engine.begin() as conn:
            TargetTables.build("postgres", ours).create(conn, memories=True)
        assert _pg_catalog(engine, ours) == _pg_catalog(engine, theirs)
        assert len(_pg_catalog(engine, ours)["indexes"]) == 19
    finally:
        with engine.begin() as conn:
            for name in (theirs, ours):
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        engine.dispose()


# -- agno 3.1.10 reads back what agno 1.8.4 wrote ------------------------------------------


def test_agno3_reads_back_every_run_and_message(tmp_path: Path) -> None:
    path = tmp_path / "agno.db"
    db = pinned_copy(path)
    before = source_dump(path)
    report = migrate(url_of(path))
    assert report.ok
    table = report.tables[0]
    assert (table.sessions, table.runs, table.messages) == (3, 6, 20)
    assert (table.target_sessions, table.target_runs, table.target_messages) == (3, 6, 20)
    assert source_dump(path) == before  # the source table is untouched
    read = agno3_read(str(path))
    assert_agno_reads_back(read, db)
    for sid, session in read.items():  # updated_at kept too; 1.x's RUNNING kept in metadata
        assert session["updated_at"] == db.sessions[sid].created_at + 30
        with sqlite3.connect(path) as con:
            meta = con.execute(
                "SELECT json_extract(run_data, '$.metadata.agno_v1.status') FROM agno_runs "
                "WHERE session_id = ?",
                (sid,),
            ).fetchall()
        assert meta == [("RUNNING",), ("RUNNING",)]


def test_agno3_agent_continues_a_migrated_session(tmp_path: Path) -> None:
    path = tmp_path / "agno.db"
    db = pinned_copy(path)
    migrate(url_of(path))
    written = db.sessions["agno-s1"]
    result = agno3_continue(str(path), "agno-s1", "what did I ask first?")
    seen = [tuple(m) for m in result["seen"] if m[0] != "system"]
    assert seen == [*map(tuple, written.messages), ("user", "what did I ask first?")]
    runs = result["after"]["runs"]
    assert [r["run_id"] for r in runs[:2]] == written.run_ids
    assert runs[2]["input"] == "what did I ask first?"


@pytest.mark.parametrize("layout", [0, LATEST_VERSION])
def test_every_source_layout_migrates(tmp_path: Path, layout: int) -> None:
    path = tmp_path / "agno.db"
    if layout == 0:
        db = make_agno_v0_table(path, sessions=2, runs_per_session=2)
    else:
        db = pinned_copy(path)
        storage = SqliteStorage(TABLE, db_file=str(path))
        storage.upgrade_schema()
        assert storage.current_version == LATEST_VERSION
        storage.close()
    report = migrate(url_of(path))
    assert report.tables[0].layout == layout
    assert_agno_reads_back(agno3_read(str(path)), db)


def test_session_name_state_summary_and_extra_data_have_homes(tmp_path: Path) -> None:
    path = tmp_path / "agno.db"
    pinned_copy(path)
    summary = {"summary": "talked about France", "topics": ["france"], "last_updated": None}
    with sqlite3.connect(path) as con:
        memory = json.loads(
            con.execute(f"SELECT memory FROM {TABLE} WHERE session_id='agno-s0'").fetchone()[0]
        )
        memory["summaries"] = {"alice": {"agno-s0": summary}}
        memory["memories"] = {"alice": {"m1": {"memory": "likes tea"}}}
        data = {"session_name": "Trip", "session_state": {"city": "Paris"}}
        con.execute(
            f"UPDATE {TABLE} SET memory=?, session_data=?, extra_data=? WHERE session_id='agno-s0'",
            (json.dumps(memory), json.dumps(data), json.dumps({"team": "blue"})),
        )
    migrate(url_of(path))
    got = agno3_read(str(path))["agno-s0"]
    assert got["name"] == "Trip"
    assert got["state"] == {"city": "Paris"}
    assert got["summary"] == "talked about France"
    assert got["metadata"]["team"] == "blue"
    assert got["metadata"]["agno_v1"]["memory"]["memories"] == memory["memories"]


# -- Postgres ------------------------------------------------------------------------------


def test_postgres_round_trip_read_and_continued_by_agno3(pg_schema: str) -> None:
    url = require_postgres()
    from agno.storage.postgres import PostgresStorage as AgnoPostgresStorage

    from tests.agno_fixtures import AgnoDb, fill_agno_storage

    source_schema, target_schema = pg_schema + "_src", pg_schema + "_ai"
    agno_storage = AgnoPostgresStorage(table_name=TABLE, schema=source_schema, db_url=url)
    written = fill_agno_storage(agno_storage, sessions=3, runs_per_session=2)
    agno_storage.db_engine.dispose()
    db = AgnoDb(path=None, table=TABLE, sessions=written)
    engine = sa.create_engine(url)
    try:
        plan = migrate(url, schema=source_schema, target_schema=target_schema, dry_run=True)
        assert plan.tables[0].new == 3
        with engine.connect() as conn:
            assert not sa.inspect(conn).has_schema(target_schema)
        report = migrate(url, schema=source_schema, target_schema=target_schema)
        assert report.ok and report.tables[0].target_runs == 6
        assert_agno_reads_back(agno3_read(url, schema=target_schema), db)
        again = migrate(url, schema=source_schema, target_schema=target_schema)
        assert again.tables[0].unchanged == 3 and again.tables[0].runs_written == 0
        result = agno3_continue(url, "agno-s0", "and now?", schema=target_schema)
        seen = [tuple(m) for m in result["seen"] if m[0] != "system"]
        assert seen == [*map(tuple, written["agno-s0"].messages), ("user", "and now?")]
    finally:
        with engine.begin() as conn:
            for name in (source_schema, target_schema):
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        engine.dispose()


# -- memories ------------------------------------------------------------------------------


def test_memories_keep_their_ids_topics_and_input(tmp_path: Path) -> None:
    from agno.memory.v2.db.sqlite import SqliteMemoryDb
    from agno.memory.v2.memory import Memory
    from agno.memory.v2.schema import UserMemory

    path = tmp_path / "agno.db"
    pinned_copy(path)
    memory_db = SqliteMemoryDb(table_name="user_memories", db_file=str(path))
    memory = Memory(db=memory_db)
    tea = memory.add_user_memory(
        UserMemory(memory="likes tea", topics=["food"], input="I like tea"), user_id="alice"
    )
    paris = memory.add_user_memory(
        UserMemory(memory="lives in Paris", topics=["home"]), user_id="bob"
    )
    memory_db.db_engine.dispose()
    plan = migrate(url_of(path), memory_table="user_memories", dry_run=True)
    assert plan.memories is not None and plan.memories.new == 2 and "agno_memories" in plan.created
    report = migrate(url_of(path), memory_table="user_memories")
    assert report.memories is not None and report.memories.verified is True
    read = run_agno3(READER, str(path), "--memories")
    assert set(read) == {tea, paris}
    assert read[tea]["memory"] == "likes tea" and read[tea]["topics"] == ["food"]
    assert read[tea]["input"] == "I like tea" and read[tea]["user_id"] == "alice"
    assert read[paris]["topics"] == ["home"] and read[paris]["input"] is None
    again = migrate(url_of(path), memory_table="user_memories")
    assert again.memories is not None and again.memories.unchanged == 2
    code, out, _ = run_cli("migrate", str(path), "--memory-table", "user_memories")
    assert code == 0 and "2 memories: 0 written, 2 unchanged" in out


# -- team and workflow tables --------------------------------------------------------------


def _team_run(session_id: str, n: int) -> dict[str, Any]:
    member = {
        "run_id": f"{session_id}-member-{n}",
        "agent_id": "researcher",
        "team_id": "crew",
        "team_session_id": session_id,
        "content": f"found {n}",
        "messages": [
            {"role": "user", "content": f"look up {n}"},
            {"role": "assistant", "content": f"found {n}", "metrics": {"time": 0.5}},
        ],
        "metrics": {"input_tokens": [3], "output_tokens": [2], "time": [0.5]},
        "created_at": 1700000100 + n,
        "status": "RUNNING",
    }
    return {
        "run_id": f"{session_id}-run-{n}",
        "team_id": "crew",
        "session_id": session_id,
        "content": f"answer {n}",
        "messages": [
            {"role": "user", "content": f"question {n}"},
            {"role": "assistant", "content": f"answer {n}"},
        ],
        "member_responses": [member],
        "formatted_tool_calls": ["transfer_task_to_member(...)"],
        "metrics": {"input_tokens": [10, 12], "output_tokens": [5, 6], "time": [0.1, 0.2]},
        "created_at": 1700000100 + n,
        "status": "RUNNING",
    }


@pytest.mark.parametrize("layout", [1, 3])
def test_team_table_is_recognised_and_read_by_agno3(tmp_path: Path, layout: int) -> None:
    from agno_nb.sessions import TeamSession

    path = tmp_path / "teams.db"
    storage = SqliteStorage("team_sessions", db_file=str(path), mode="team", schema_version=layout)
    for i in range(2):
        sid = f"team-{i}"
        storage.upsert(
            TeamSession(
                session_id=sid,
                team_id="crew",
                user_id="alice",
                memory={"runs": [_team_run(sid, 0), _team_run(sid, 1)]},
                team_data={"name": "Crew"},
                session_data={"session_name": f"Team chat {i}"},
                created_at=1700000000 + i,
            )
        )
    storage.close()
    report = migrate(url_of(path), tables=["team_sessions"])
    table = report.tables[0]
    assert table.mode == "team" and table.layout == layout and table.target_runs == 4
    read = agno3_read(str(path))
    assert set(read) == {"team-0", "team-1"}
    got = read["team-0"]
    assert got["type"] == "TeamSession" and got["name"] == "Team chat 0"
    assert [r["input"] for r in got["runs"]] == ["question 0", "question 1"]
    assert [r["content"] for r in got["runs"]] == ["answer 0", "answer 1"]
    assert got["runs"][1]["metrics"]["input_tokens"] == 22
    assert got["runs"][1]["metrics"]["duration"] == pytest.approx(0.3)
    with sqlite3.connect(path) as con:
        row = con.execute(
            "SELECT run_type, team_id, agent_id, run_data FROM agno_runs WHERE run_index = 1 "
            "AND session_id = 'team-0'"
        ).fetchone()
    assert row[:3] == ("team", "crew", None)
    data = json.loads(row[3])
    assert data["metadata"]["agno_v1"]["formatted_tool_calls"] == ["transfer_task_to_member(...)"]
    assert data["metadata"]["agno_v1"]["metrics_per_call"]["time"] == [0.1, 0.2]
    member = data["member_responses"][0]
    assert member["agent_id"] == "researcher" and "team_id" not in member
    assert member["metadata"]["agno_v1"]["team_id"] == "crew"
    assert member["messages"][1]["metrics"] == {"duration": 0.5}


def test_duckdb_source(tmp_path: Path) -> None:
    from agno_nb.agent import Agent
    from agno_nb.models import OfflineModel
    from agno_nb.storage import DuckDbStorage

    source = tmp_path / "app.duckdb"
    storage = DuckDbStorage("agent_sessions", db_file=str(source), schema_version=1)
    for user in ("alice", "bob"):
        agent = Agent(
            model=OfflineModel(),
            agent_id="helper",
            user_id=user,
            session_id=f"s-{user}",
            storage=storage,
            add_history_to_messages=True,
        )
        agent.run("My name is " + user)
        agent.run("What is my name?")
    before = {
        s.session_id: [(m.role, m.text) for m in s.messages()] for s in storage.get_all_sessions()
    }
    storage.close()
    target = tmp_path / "agno3.db"
    report = migrate(f"duckdb:///{source}", target_url=url_of(target))
    assert report.ok and report.tables[0].target_runs == 4
    read = agno3_read(str(target))
    for sid, messages in before.items():
        got = [tuple(m) for r in read[sid]["runs"] for m in r["messages"] if not m[2]]
        assert [m[:2] for m in got] == messages


@pytest.mark.parametrize("mode", ["workflow", "workflow_v2"])
def test_workflow_tables_are_read_by_agno3(tmp_path: Path, mode: str) -> None:
    from agno_nb.sessions import WorkflowSession

    path = tmp_path / "flows.db"
    storage = SqliteStorage("workflow_sessions", db_file=str(path), mode=mode, schema_version=1)
    runs = [
        {
            "run_id": f"flow-run-{n}",
            "workflow_id": "pipeline",
            "content": f"report {n}",
            "messages": [{"role": "user", "content": f"topic {n}"}],
            "metrics": {"time": [1.5]},
            "step_responses": [{"step": "research", "content": f"notes {n}"}],
            "created_at": 1700000100 + n,
            "status": "COMPLETED",
        }
        for n in range(2)
    ]
    session = WorkflowSession(
        session_id="flow-1",
        workflow_id="pipeline",
        user_id="carol",
        workflow_data={"name": "Pipeline"},
        created_at=1700000000,
    )
    if mode == "workflow_v2":
        session.workflow_name = "Pipeline"
        session.runs_v2 = runs
    else:
        session.memory = {"runs": runs}
    storage.upsert(session)
    storage.close()
    report = migrate(url_of(path), tables=["workflow_sessions"])
    table = report.tables[0]
    assert table.mode == mode and (table.target_sessions, table.target_runs) == (1, 2)
    got = agno3_read(str(path))["flow-1"]
    assert got["type"] == "WorkflowSession" and got["user_id"] == "carol"
    assert [r["run_id"] for r in got["runs"]] == ["flow-run-0", "flow-run-1"]
    assert [r["content"] for r in got["runs"]] == ["report 0", "report 1"]
    with sqlite3.connect(path) as con:
        data = json.loads(
            con.execute("SELECT run_data FROM agno_runs WHERE run_id = 'flow-run-1'").fetchone()[0]
        )
    assert data["step_responses"] == [{"step": "research", "content": "notes 1"}]
    assert data["messages"] == [{"role": "user", "content": "topic 1", "id": "flow-run-1-0"}]


def test_postgres_memories_keep_their_ids(pg_schema: str) -> None:
    url = require_postgres()
    from agno.memory.v2.db.postgres import PostgresMemoryDb
    from agno.memory.v2.memory import Memory
    from agno.memory.v2.schema import UserMemory
    from agno.storage.postgres import PostgresStorage as AgnoPostgresStorage

    from tests.agno_fixtures import fill_agno_storage

    source_schema, target_schema = pg_schema + "_msrc", pg_schema + "_mai"
    agno_storage = AgnoPostgresStorage(table_name=TABLE, schema=source_schema, db_url=url)
    fill_agno_storage(agno_storage, sessions=1, runs_per_session=1)
    agno_storage.db_engine.dispose()
    memory_db = PostgresMemoryDb(table_name="user_memories", schema=source_schema, db_url=url)
    memory_id = Memory(db=memory_db).add_user_memory(
        UserMemory(memory="likes tea", topics=["food"], input="I like tea"), user_id="alice"
    )
    memory_db.db_engine.dispose()
    engine = sa.create_engine(url)
    try:
        report = migrate(
            url, schema=source_schema, target_schema=target_schema, memory_table="user_memories"
        )
        assert report.memories is not None and report.memories.verified is True
        read = run_agno3(READER, url, "--schema", target_schema, "--memories")
        assert read == {
            memory_id: {
                "memory": "likes tea",
                "topics": ["food"],
                "input": "I like tea",
                "user_id": "alice",
                "created_at": read[memory_id]["created_at"],
            }
        }
        assert isinstance(read[memory_id]["created_at"], int)
    finally:
        with engine.begin() as conn:
            for name in (source_schema, target_schema):
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        engine.dispose()
