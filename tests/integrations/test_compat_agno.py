"""Compatibility with agno 1.8.4: its databases open, list, read and upgrade
here with every message intact, and it reads (and keeps writing) v1 tables
that agno_nb writes.

The agno side is agno's own code (Agent + SqliteStorage/PostgresStorage with a
fake model, see ``agno_fixtures``), plus a pinned database it wrote.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

from agno_nb.schema import LATEST_VERSION
from agno_nb.sessions import AgentSession
from agno_nb.storage import PostgresStorage, SqliteStorage
from tests.agno_fixtures import (
    AGENT_ID,
    PINNED_DB,
    TRICKY_TEXT,
    AgnoDb,
    WrittenSession,
    agno_sqlite_storage,
    fill_agno_storage,
    load_pinned_fixture,
    make_agent,
    make_agno_sqlite_db,
    make_agno_v0_table,
    run_agent,
    sqlite_columns,
    sqlite_dump,
    strip_team_session_id,
)
from tests.conftest import require_postgres

TABLE = "agent_sessions"
pytestmark = pytest.mark.filterwarnings("ignore:The Column.copy\\(\\) method is deprecated")


# -- helpers ------------------------------------------------------------------------------


@pytest.fixture(params=["pinned", "generated"])
def agno_db(request: pytest.FixtureRequest, tmp_path: Path) -> AgnoDb:
    """An agno-written v1 database: the pinned file (copied) or a fresh one."""
    path = tmp_path / "agno.db"
    if request.param == "pinned":
        shutil.copyfile(PINNED_DB, path)
        db = load_pinned_fixture()
        db.path = path
        return db
    return make_agno_sqlite_db(path, sessions=3, runs_per_session=2)


def raw_sqlite_rows(path: Path, table: str = TABLE) -> dict[str, dict[str, Any]]:
    """Every row as agno stored it, JSON columns decoded."""
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    try:
        rows = con.execute(f'SELECT * FROM "{table}"').fetchall()
    finally:
        con.close()
    out = {}
    for row in rows:
        data = dict(row)
        for col in ("memory", "session_data", "extra_data", "agent_data"):
            if isinstance(data.get(col), str):
                data[col] = json.loads(data[col])
        out[data["session_id"]] = data
    return out


def messages_of(session: Any) -> list[tuple[str, str]]:
    return [(m.role, m.text) for m in session.messages()]


def assert_sessions_intact(
    storage: Any, written: dict[str, WrittenSession], raw: dict[str, dict[str, Any]]
) -> None:
    """Every session reads back with agno's messages, runs and data unchanged."""
    for sid, w in written.items():
        session = storage.read(sid)
        assert session is not None, sid
        assert session.user_id == w.user_id
        assert session.agent_id == AGENT_ID
        assert messages_of(session) == w.messages
        assert [r.run_id for r in session.runs] == w.run_ids
        assert session.memory["runs"] == raw[sid]["memory"]["runs"]
        rest = {k: v for k, v in raw[sid]["memory"].items() if k != "runs"}
        assert {k: v for k, v in session.memory.items() if k != "runs"} == rest
        assert session.session_data == raw[sid]["session_data"]
        assert session.agent_data == raw[sid]["agent_data"]
        assert storage.count_runs(sid) == len(w.run_ids)
        tool_calls = [
            call["function"]["name"] for m in session.messages() for call in m.tool_calls or []
        ]
        assert tool_calls == w.tool_calls


def newest_first(db: AgnoDb) -> list[str]:
    return list(reversed(db.session_ids))


# -- agno-written SQLite: list, read, upgrade ----------------------------------------------


def test_lists_agno_database(agno_db: AgnoDb) -> None:
    with SqliteStorage(TABLE, db_file=str(agno_db.path)) as storage:
        assert storage.current_version == 1
        assert storage.count_sessions() == 3
        assert storage.get_all_session_ids() == newest_first(agno_db)
        assert storage.get_all_session_ids(user_id="alice") == ["agno-s2", "agno-s0"]
        assert storage.get_all_session_ids(entity_id=AGENT_ID) == newest_first(agno_db)
        assert storage.get_all_session_ids(entity_id="other-agent") == []
        assert storage.count_sessions(user_id="bob") == 1

        summaries = storage.list_sessions()
        assert [s.session_id for s in summaries] == newest_first(agno_db)
        for summary in summaries:
            written = agno_db.sessions[summary.session_id]
            assert summary.error is None
            assert summary.user_id == written.user_id
            assert summary.entity_id == AGENT_ID
            assert summary.run_count == 2
            assert summary.message_count == len(written.messages)
            assert summary.created_at == written.created_at
            assert summary.preview == written.prompts[0][:120]
        page = storage.list_sessions(limit=1, offset=1)
        assert [s.session_id for s in page] == ["agno-s1"]
        assert [s.session_id for s in storage.list_sessions(search="question 1")] != []
        recent = storage.get_recent_sessions(limit=2)
        assert [s.session_id for s in recent] == newest_first(agno_db)[:2]


def test_reads_every_message_agno_wrote(agno_db: AgnoDb) -> None:
    assert agno_db.path is not None
    raw = raw_sqlite_rows(agno_db.path)
    with SqliteStorage(TABLE, db_file=str(agno_db.path)) as storage:
        assert_sessions_intact(storage, agno_db.sessions, raw)
        first = storage.read("agno-s0")
        assert first is not None
        assert TRICKY_TEXT in first.messages()[0].text
        runs = storage.get_runs("agno-s1", newest_first=True, limit=1)
        assert runs == [raw["agno-s1"]["memory"]["runs"][-1]]
        assert storage.read("no-such-session") is None


def test_upgrade_v1_to_v2_keeps_every_message(agno_db: AgnoDb) -> None:
    assert agno_db.path is not None
    raw = raw_sqlite_rows(agno_db.path)
    before = sqlite_dump(agno_db.path)
    with SqliteStorage(TABLE, db_file=str(agno_db.path)) as storage:
        plan = storage.upgrade_schema(dry_run=True)
        assert (plan.from_version, plan.to_version) == (1, LATEST_VERSION)
        assert plan.pending and plan.dry_run and not plan.applied
        assert [step.version for step in plan.steps] == list(range(2, LATEST_VERSION + 1))
        assert any(step.sql for step in plan.steps)
        assert "v1" in str(plan) and "v2" in str(plan)
        assert storage.current_version == 1
    assert sqlite_dump(agno_db.path) == before, "a dry run changed the database"

    calls: list[tuple[int, int]] = []
    with SqliteStorage(TABLE, db_file=str(agno_db.path)) as storage:
        plan = storage.upgrade_schema(progress=lambda done, total: calls.append((done, total)))
        assert plan.applied and not plan.pending
        assert (plan.sessions_migrated, plan.runs_moved) == (3, 6)
        assert storage.current_version == LATEST_VERSION
        assert calls and calls[-1][0] == calls[-1][1]
        assert storage.upgrade_schema().pending is False
    with SqliteStorage(TABLE, db_file=str(agno_db.path)) as storage:
        assert storage.current_version == LATEST_VERSION
        assert_sessions_intact(storage, agno_db.sessions, raw)
        assert storage.get_all_session_ids() == newest_first(agno_db)
        summaries = storage.list_sessions()
        assert [s.run_count for s in summaries] == [2, 2, 2]
        assert [s.message_count for s in summaries] == [
            len(agno_db.sessions[s.session_id].messages) for s in summaries
        ]
    with sqlite3.connect(agno_db.path) as con:
        (run_rows,) = con.execute(f'SELECT count(*) FROM "{TABLE}_runs"').fetchone()
    assert run_rows == 6


def test_upgrade_v0_to_v1_to_v2(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = make_agno_v0_table(path, sessions=3, runs_per_session=2)
    assert "team_session_id" not in sqlite_columns(path, TABLE)
    raw = raw_sqlite_rows(path)
    before = sqlite_dump(path)
    with SqliteStorage(TABLE, db_file=str(path)) as storage:
        assert storage.current_version == 0
        assert storage.get_all_session_ids() == newest_first(db)
        assert storage.count_sessions() == 3
        assert_sessions_intact(storage, db.sessions, raw)
        plan = storage.upgrade_schema(dry_run=True)
        assert (plan.from_version, plan.to_version) == (0, LATEST_VERSION)
        assert [step.version for step in plan.steps] == list(range(1, LATEST_VERSION + 1))
    assert sqlite_dump(path) == before, "reading or a dry run changed a v0 database"

    with SqliteStorage(TABLE, db_file=str(path)) as storage:
        plan = storage.upgrade_schema()
        assert plan.applied and plan.sessions_migrated == 3
        assert storage.current_version == LATEST_VERSION
        assert_sessions_intact(storage, db.sessions, raw)
    assert "team_session_id" in sqlite_columns(path, TABLE)
    with sqlite3.connect(path) as con:
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    # v1 added agno's team_session_id index, v3 dropped agno's single-column ones
    assert f"ix_{TABLE}_team_session_id" in "\n".join(plan.steps[0].sql)
    assert {f"ix_{TABLE}_user_created", f"ix_{TABLE}_entity_created"} <= names
    assert not {f"ix_{TABLE}_{c}" for c in ("user_id", "agent_id", "team_session_id")} & names


# -- agno reads and keeps writing v1 tables agno_nb uses ------------------------------------


def _index_and_columns(path: Path, table: str) -> tuple[list[tuple[str, str]], set[str]]:
    with sqlite3.connect(path) as con:
        columns = [(r[1], r[2]) for r in con.execute(f'PRAGMA table_info("{table}")')]
        indexes = {
            r[0]
            for r in con.execute(
                "SELECT name FROM sqlite_master "
                "WHERE type='index' AND tbl_name=? AND sql IS NOT NULL",
                (table,),
            )
        }
    return columns, indexes


def test_our_v1_table_matches_agno_table(tmp_path: Path) -> None:
    ours_path, agno_path = tmp_path / "ours.db", tmp_path / "agno.db"
    with SqliteStorage(TABLE, db_file=str(ours_path), schema_version=1) as storage:
        storage.create()
        assert storage.current_version == 1
    agno_storage = agno_sqlite_storage(agno_path, TABLE)
    agno_storage.create()
    agno_storage.db_engine.dispose()
    assert _index_and_columns(ours_path, TABLE) == _index_and_columns(agno_path, TABLE)


def test_agno_reads_and_continues_our_v1_table(tmp_path: Path) -> None:
    source = make_agno_sqlite_db(tmp_path / "source.db", sessions=2, runs_per_session=2)
    raw = raw_sqlite_rows(tmp_path / "source.db")
    path = tmp_path / "ours_v1.db"
    with SqliteStorage(TABLE, db_file=str(path), schema_version=1) as storage:
        for row in raw.values():
            storage.upsert(AgentSession.from_dict(row))
        assert storage.current_version == 1

    agno_storage = agno_sqlite_storage(path, TABLE)
    try:
        assert sorted(agno_storage.get_all_session_ids()) == sorted(source.session_ids)
        by_id = {s.session_id: s for s in agno_storage.get_all_sessions()}
        assert set(by_id) == set(source.session_ids)
        for sid, row in raw.items():
            read = agno_storage.read(sid)
            assert read is not None and by_id[sid].memory == read.memory
            assert read.memory["runs"] == row["memory"]["runs"]
            assert read.user_id == row["user_id"] and read.agent_id == AGENT_ID
            assert read.session_data == row["session_data"]

        # an agno Agent picks the session up and continues it
        written = source.sessions["agno-s0"]
        agent = make_agent(agno_storage, session_id="agno-s0", user_id=written.user_id)
        response = agent.run("and one more question")
        history = [
            (m.role, m.get_content_string()) for m in response.messages or [] if m.from_history
        ]
        assert history == written.messages
        assert response.content == "echo: and one more question"
    finally:
        agno_storage.db_engine.dispose()

    with SqliteStorage(TABLE, db_file=str(path)) as storage:
        assert storage.current_version == 1
        session = storage.read("agno-s0")
        assert storage.count_runs("agno-s0") == 3
        assert messages_of(session) == [
            *written.messages,
            ("user", "and one more question"),
            ("assistant", "echo: and one more question"),
        ]


def test_agno_and_agno_nb_share_a_v1_table(agno_db: AgnoDb) -> None:
    path = agno_db.path
    assert path is not None
    raw = raw_sqlite_rows(path)
    extra_run = dict(raw["agno-s2"]["memory"]["runs"][0], run_id="added-by-agno-nb")
    with SqliteStorage(TABLE, db_file=str(path)) as storage:
        storage.upsert(AgentSession(session_id="ours-1", user_id="carol", agent_id=AGENT_ID))
        assert storage.append_run("ours-1", extra_run) == 0
        assert storage.append_run("agno-s2", extra_run) == 2
        storage.rename_session("agno-s0", "renamed by agno_nb")
        assert storage.current_version == 1, "writing must keep the old layout"

    agno_storage = agno_sqlite_storage(path, TABLE)
    try:
        assert set(agno_storage.get_all_session_ids()) == {*agno_db.session_ids, "ours-1"}
        assert agno_storage.read("agno-s0").session_data["session_name"] == "renamed by agno_nb"
        runs = agno_storage.read("agno-s2").memory["runs"]
        assert [r["run_id"] for r in runs] == [
            *agno_db.sessions["agno-s2"].run_ids,
            "added-by-agno-nb",
        ]
        assert agno_storage.read("ours-1").memory["runs"] == [extra_run]

        # agno keeps writing: continues one of its sessions and starts a new one
        written = agno_db.sessions["agno-s1"]
        agent = make_agent(agno_storage, session_id="agno-s1", user_id=written.user_id)
        run_agent(agent, "add 2 2", written)
        new_sessions = fill_agno_storage(agno_storage, sessions=1, prefix="agno-late")
    finally:
        agno_storage.db_engine.dispose()

    with SqliteStorage(TABLE, db_file=str(path)) as storage:
        assert storage.current_version == 1
        assert storage.count_sessions() == 5
        assert messages_of(storage.read("agno-s1")) == written.messages
        assert messages_of(storage.read("agno-late0")) == new_sessions["agno-late0"].messages
        renamed = storage.read("agno-s0")
        assert renamed is not None and renamed.session_name == "renamed by agno_nb"
        assert storage.count_runs("agno-s2") == 3


# -- Postgres: agno 1.8.4 PostgresStorage writes, agno_nb reads and upgrades ---------------


def _pg_rows(engine: Any, schema: str, table: str) -> list[tuple[Any, ...]]:
    import sqlalchemy as sa

    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f'SELECT * FROM "{schema}"."{table}" ORDER BY session_id'
        ).fetchall()
        tables = conn.execute(
            sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
            {"s": schema},
        ).fetchall()
    return [tuple(r) for r in rows] + [("tables", tuple(sorted(t[0] for t in tables)))]


def _pg_raw(engine: Any, schema: str, table: str) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f'SELECT * FROM "{schema}"."{table}"').mappings().all()
    return {row["session_id"]: dict(row) for row in rows}


@pytest.mark.parametrize("layout", [1, 0])
def test_postgres_agno_database_reads_and_upgrades(pg_schema: str, layout: int) -> None:
    url = require_postgres()
    from agno.storage.postgres import PostgresStorage as AgnoPostgresStorage

    table = f"agno_{uuid.uuid4().hex[:8]}"
    agno_storage = AgnoPostgresStorage(table_name=table, schema=pg_schema, db_url=url)
    try:
        written = fill_agno_storage(agno_storage, sessions=3, runs_per_session=2)
        engine = agno_storage.db_engine
        with engine.begin() as conn:
            for n, sid in enumerate(written):  # distinct timestamps, oldest first
                conn.exec_driver_sql(
                    f'UPDATE "{pg_schema}"."{table}" SET created_at = %(t)s, updated_at = %(t)s '
                    "WHERE session_id = %(s)s",
                    {"t": 1_700_000_000 + 60 * n, "s": sid},
                )
            if layout == 0:
                strip_team_session_id(conn, table, schema=pg_schema)
        raw = _pg_raw(engine, pg_schema, table)
        before = _pg_rows(engine, pg_schema, table)

        storage = PostgresStorage(table, db_url=url, schema=pg_schema)
        try:
            assert storage.current_version == layout
            assert storage.get_all_session_ids() == list(reversed(written))
            assert storage.count_sessions() == 3
            assert [s.run_count for s in storage.list_sessions()] == [2, 2, 2]
            assert_sessions_intact(storage, written, raw)
            plan = storage.upgrade_schema(dry_run=True)
            assert (plan.from_version, plan.to_version) == (layout, LATEST_VERSION)
            assert _pg_rows(engine, pg_schema, table) == before, "dry run changed the table"

            plan = storage.upgrade_schema()
            assert plan.applied and plan.runs_moved == 6
            assert storage.current_version == LATEST_VERSION
            assert_sessions_intact(storage, written, raw)
            assert storage.get_all_session_ids() == list(reversed(written))
        finally:
            storage.close()
    finally:
        agno_storage.db_engine.dispose()


def _pg_layout(engine: Any, schema: str, table: str) -> tuple[list[tuple[str, str]], set[str]]:
    """Columns (name, type) and index names (schema spelled ``<schema>``)."""
    import sqlalchemy as sa

    with engine.connect() as conn:
        columns = conn.execute(
            sa.text(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position"
            ),
            {"s": schema, "t": table},
        ).fetchall()
        indexes = conn.execute(
            sa.text("SELECT indexname FROM pg_indexes WHERE schemaname = :s AND tablename = :t"),
            {"s": schema, "t": table},
        ).fetchall()
    return (
        sorted((str(c[0]), str(c[1])) for c in columns),
        {str(i[0]).replace(schema, "<schema>") for i in indexes},
    )


def test_postgres_our_v1_table_is_agno_table(pg_schema: str) -> None:
    url = require_postgres()
    from agno.storage.postgres import PostgresStorage as AgnoPostgresStorage

    table = f"v1_{uuid.uuid4().hex[:8]}"
    agno_schema = f"{pg_schema}_agno"
    ours = PostgresStorage(table, db_url=url, schema=pg_schema, schema_version=1)
    agno_side = AgnoPostgresStorage(table_name=table, schema=agno_schema, db_url=url)
    agno_reader = AgnoPostgresStorage(table_name=table, schema=pg_schema, db_url=url)
    try:
        ours.create()
        agno_side.create()
        engine = agno_side.db_engine
        assert _pg_layout(engine, pg_schema, table) == _pg_layout(engine, agno_schema, table)

        run = {"run_id": "r1", "messages": [{"role": "user", "content": "hi"}]}
        ours.upsert(
            AgentSession(session_id="ours-pg", user_id="u", agent_id=AGENT_ID, memory={"runs": []})
        )
        ours.append_run("ours-pg", run)
        read: Any = agno_reader.read("ours-pg")
        assert read is not None and read.memory["runs"] == [run] and read.user_id == "u"
        assert agno_reader.get_all_session_ids() == ["ours-pg"]
    finally:
        ours.close()
        with agno_side.db_engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{agno_schema}" CASCADE')
        agno_side.db_engine.dispose()
        agno_reader.db_engine.dispose()
