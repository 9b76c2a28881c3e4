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

from agno_nb.agno3 import ConversionError, VerificationError, migrate
from agno_nb.agno3.tables import TargetTables
from agno_nb.storage import SqliteStorage
from tests.agno_fixtures import make_agno_v0_table, sqlite_dump
from tests.conftest import require_postgres, run_agno3
from tests.migrate_helpers import (
    READER,
    TABLE,
    agno3_continue,
    agno3_read,
    assert_agno_reads_back,
    clone_sessions,
    pinned_copy,
    sqlite_agno_catalog,
)

pytestmark = pytest.mark.filterwarnings("ignore:The Column.copy\\(\\) method is deprecated")


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


def source_dump(path: Path, table: str = TABLE) -> list[str]:
    return [line for line in sqlite_dump(path) if f'"{table}"' in line or f" {table} " in line]


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


@pytest.mark.parametrize("layout", [0, 3])
def test_every_source_layout_migrates(tmp_path: Path, layout: int) -> None:
    path = tmp_path / "agno.db"
    if layout == 0:
        db = make_agno_v0_table(path, sessions=2, runs_per_session=2)
    else:
        db = pinned_copy(path)
        storage = SqliteStorage(TABLE, db_file=str(path))
        storage.upgrade_schema()
        assert storage.current_version == 3
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


# -- safety --------------------------------------------------------------------------------


def test_rerun_is_a_no_op_and_a_changed_session_is_resynced(tmp_path: Path) -> None:
    path = tmp_path / "agno.db"
    pinned_copy(path)
    migrate(url_of(path))
    agno_rows = [line for line in sqlite_dump(path) if "agno_runs" in line or "agno_sess" in line]
    again = migrate(url_of(path)).tables[0]
    assert (again.new, again.resynced, again.unchanged, again.runs_written) == (0, 0, 3, 0)
    assert [
        line for line in sqlite_dump(path) if "agno_runs" in line or "agno_sess" in line
    ] == agno_rows
    # the app keeps writing to the 1.x table: a third run in agno-s2
    with sqlite3.connect(path) as con:
        memory = json.loads(
            con.execute(f"SELECT memory FROM {TABLE} WHERE session_id='agno-s2'").fetchone()[0]
        )
        extra = dict(memory["runs"][-1], run_id="new-run", created_at=1700000200)
        extra["messages"] = [
            {"role": "user", "content": "one more"},
            {"role": "assistant", "content": "echo: one more"},
        ]
        memory["runs"].append(extra)
        con.execute(
            f"UPDATE {TABLE} SET memory=?, updated_at=1700000300 WHERE session_id='agno-s2'",
            (json.dumps(memory),),
        )
    synced = migrate(url_of(path)).tables[0]
    assert (synced.new, synced.resynced, synced.unchanged, synced.runs_written) == (0, 1, 2, 3)
    got = agno3_read(str(path))["agno-s2"]
    assert [r["input"] for r in got["runs"]][-1] == "one more"
    assert got["updated_at"] == 1700000300
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT count(*) FROM agno_runs").fetchone()[0] == 7


def test_target_rows_not_from_this_migration_are_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "agno.db"
    pinned_copy(path)
    plan = migrate(url_of(path), dry_run=True)
    engine = sa.create_engine(url_of(path))
    tables = TargetTables.build("sqlite")
    with engine.begin() as conn:  # an agno 3.x app already has a session with that id
        tables.create(conn)
        conn.execute(
            tables.sessions.insert().values(
                session_id="agno-s1", session_type="agent", created_at=1, session_data={"x": 1}
            )
        )
    engine.dispose()
    assert plan.tables[0].conflicts == []
    assert migrate(url_of(path), dry_run=True).tables[0].conflicts == ["agno-s1"]
    report = migrate(url_of(path))
    assert report.tables[0].conflicts == ["agno-s1"]
    assert report.ok and report.tables[0].target_sessions == 2
    with sqlite3.connect(path) as con:
        row = con.execute("SELECT session_data FROM agno_sessions WHERE session_id='agno-s1'")
        assert json.loads(row.fetchone()[0]) == {"x": 1}
        assert (
            con.execute("SELECT count(*) FROM agno_runs WHERE session_id='agno-s1'").fetchone()[0]
            == 0
        )
    assert "agno-s1" in str(report)


def test_bad_row_stops_with_one_line_or_is_listed(tmp_path: Path) -> None:
    path = tmp_path / "agno.db"
    pinned_copy(path)
    with sqlite3.connect(path) as con:
        con.execute(f"UPDATE {TABLE} SET memory='{{broken' WHERE session_id='agno-s1'")
    with pytest.raises(ConversionError) as err:
        migrate(url_of(path))
    message = str(err.value)
    assert "agno-s1" in message and "\n" not in message and "--skip-bad" in message
    report = migrate(url_of(path), skip_bad=True)
    table = report.tables[0]
    assert table.bad == ["agno-s1"] and table.new == 2  # the stopped run wrote nothing
    assert report.ok and table.target_sessions == 2
    assert "bad rows: 1: agno-s1" in str(report)


def test_verification_fails_loudly_on_a_difference(tmp_path: Path) -> None:
    path = tmp_path / "agno.db"
    pinned_copy(path)
    migrate(url_of(path))
    with sqlite3.connect(path) as con:
        con.execute("DELETE FROM agno_runs WHERE session_id='agno-s0' AND run_index=1")
    with pytest.raises(VerificationError) as err:
        migrate(url_of(path))
    assert "agno-s0" in str(err.value) and "1 runs" in str(err.value)
    assert err.value.report.tables[0].verified is False


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "agno.db"
    pinned_copy(path)
    before = path.read_bytes()
    target = tmp_path / "target.db"
    for kwargs in ({}, {"target_url": url_of(target)}):
        plan = migrate(url_of(path), dry_run=True, **kwargs)
        assert plan.dry_run and plan.tables[0].new == 3 and plan.tables[0].runs_written == 6
        assert "agno_sessions" in plan.created
        assert any(s.startswith("CREATE TABLE agno_runs") for s in plan.ddl)
        assert "CREATE INDEX idx_agno_runs_session_id_run_index" in str(plan)
    assert path.read_bytes() == before
    assert not target.exists()


def test_separate_target_file(tmp_path: Path) -> None:
    path, target = tmp_path / "agno.db", tmp_path / "agno3.db"
    db = pinned_copy(path)
    before = path.read_bytes()
    migrate(url_of(path), target_url=url_of(target))
    assert path.read_bytes() == before
    assert_agno_reads_back(agno3_read(str(target)), db)


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


# -- many sessions -------------------------------------------------------------------------


def test_many_sessions_in_batches_with_progress(tmp_path: Path) -> None:
    path = tmp_path / "agno.db"
    pinned_copy(path)
    expected = clone_sessions(path, 250)
    calls: list[tuple[int, int, str]] = []
    report = migrate(url_of(path), batch_size=40, progress=lambda *a: calls.append(a))
    assert calls[0] == (40, 250, TABLE) and calls[-1] == (250, 250, TABLE) and len(calls) == 7
    table = report.tables[0]
    assert table.target_sessions == 250
    assert table.target_runs == sum(r for r, _ in expected.values())
    assert table.target_messages == sum(m for _, m in expected.values())


# -- SIGKILL at any point, then a rerun: exactly one copy ----------------------------------

_KILLED_CHILD = """
import os, signal, sys
from agno_nb.agno3 import migrate as api
from agno_nb.agno3.job import TableJob
from agno_nb.agno3.tables import TargetTables

url, point, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
calls = {"batches": 0}

def die():
    os.kill(os.getpid(), signal.SIGKILL)

write_batch = TableJob._write_batch
def killing_write_batch(self, conn, *args, **kwargs):
    write_batch(self, conn, *args, **kwargs)  # every row of the batch is written...
    calls["batches"] += 1
    if point == "in_transaction" and calls["batches"] == n:
        die()  # ...but not committed
TableJob._write_batch = killing_write_batch

create = TargetTables.create
def killing_create(self, conn, **kwargs):
    names = create(self, conn, **kwargs)
    if point == "creating_tables":
        die()
    return names
TargetTables.create = killing_create

finish = TableJob._finish
def killing_finish(self, started):
    if point == "before_finish":
        die()
    finish(self, started)
TableJob._finish = killing_finish

def progress(done, total, table):
    if point == "after_commit" and done >= n * 40:
        die()

api(url, batch_size=40, progress=progress)
print("not killed")
"""


@pytest.mark.parametrize(
    ("point", "n", "left"),
    [
        ("creating_tables", 0, 0),
        ("in_transaction", 1, 0),
        ("in_transaction", 4, 120),
        ("after_commit", 2, 80),
        ("before_finish", 0, 250),
    ],
)
def test_sigkill_then_rerun_leaves_exactly_one_copy(
    tmp_path: Path, point: str, n: int, left: int
) -> None:
    import subprocess
    import sys

    path = tmp_path / "agno.db"
    pinned_copy(path)
    expected = clone_sessions(path, 250)
    before = source_dump(path)
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_CHILD, url_of(path), point, str(n)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert child.returncode == -9, child.stderr[-2000:]
    with sqlite3.connect(path) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        done = con.execute("SELECT count(*) FROM agno_sessions").fetchone()[0] if left else 0
    assert ("agno_sessions" in tables) == (point != "creating_tables")
    assert done == left  # whole batches only
    report = migrate(url_of(path), batch_size=40)
    table = report.tables[0]
    assert report.ok and table.unchanged == left and table.new == 250 - left
    if point in ("in_transaction", "after_commit") and left:
        assert table.resumed_after == f"clone-{left - 1:05d}"
    with sqlite3.connect(path) as con:
        sessions = con.execute("SELECT count(*), count(DISTINCT session_id) FROM agno_sessions")
        assert sessions.fetchone() == (250, 250)
        runs = con.execute("SELECT count(*) FROM agno_runs").fetchone()[0]
        assert runs == sum(r for r, _ in expected.values())
        assert con.execute("SELECT count(*) FROM agno_nb_migrate_rows").fetchone()[0] == 250
        stamps = con.execute("SELECT count(*) FROM agno_schema_versions").fetchone()[0]
        assert stamps == 2
    assert source_dump(path) == before


# -- the command line ----------------------------------------------------------------------


def _cli(*argv: str) -> tuple[int, str, str]:
    import contextlib
    import io

    from agno_nb.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(list(argv), out=out)
    return code, out.getvalue(), err.getvalue()


def test_cli_dry_run_then_migrate_then_verification_failure(tmp_path: Path) -> None:
    path = tmp_path / "agno.db"
    db = pinned_copy(path)
    before = path.read_bytes()
    code, out, _ = _cli("migrate", str(path), "--dry-run")
    assert code == 0 and "dry run, nothing written" in out and "CREATE TABLE agno_sessions" in out
    assert path.read_bytes() == before
    code, out, err = _cli("migrate", url_of(path), "--table", TABLE)
    assert code == 0 and "verified: OK: target holds 3 sessions, 6 runs, 20 messages" in out
    assert "3/3 sessions" in err
    assert_agno_reads_back(agno3_read(str(path)), db)
    with sqlite3.connect(path) as con:
        con.execute("DELETE FROM agno_runs WHERE session_id='agno-s2' AND run_index=0")
    code, out, err = _cli("migrate", str(path))
    assert code != 0 and "FAILED" in out
    assert err.strip().splitlines()[-1].startswith("agno-nb: error: verification failed")


def test_cli_bad_input_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "agno.db"
    pinned_copy(path)
    code, _, err = _cli("migrate", str(tmp_path / "missing.db"))
    assert code == 2 and err.count("\n") == 1 and "no database file" in err
    assert not (tmp_path / "missing.db").exists()
    code, _, err = _cli("migrate", str(path), "--table", "nope")
    assert code == 2 and "no table 'nope'" in err
    migrate(url_of(path), dry_run=False)
    code, _, err = _cli("migrate", str(path), "--table", "agno_sessions")
    assert code == 2 and "already agno 2.x/3.x's" in err and err.count("\n") == 1
    code, _, err = _cli("migrate", str(path), "--table", "agno_nb_migrate_rows")
    assert code == 2 and "not an agno 1.x session table" in err
    with sqlite3.connect(path) as con:
        con.execute(f"UPDATE {TABLE} SET memory='[1' WHERE session_id='agno-s2'")
    code, _, err = _cli("migrate", str(path))
    assert code == 2 and "agno-s2" in err and err.count("\n") == 1
    code, out, _ = _cli("migrate", str(path), "--skip-bad")
    assert code == 0 and "bad rows: 1: agno-s2" in out
    code, _, err = _cli(
        "migrate", "postgresql+psycopg://u:secret@127.0.0.1:1/db", "--target-schema", "a b"
    )
    assert code == 2 and "secret" not in err and "a b" in err


# -- %agno_migrate -------------------------------------------------------------------------


def test_magic_migrates_the_open_storage_with_progress_and_report(
    tmp_path: Path, ip: Any, magics: Any
) -> None:
    from IPython.core.error import UsageError

    path = tmp_path / "agno.db"
    db = pinned_copy(path)
    ip.run_line_magic("agno_storage", f"sqlite {path}")
    plan = ip.run_line_magic("agno_migrate", "--dry-run")
    assert plan.dry_run and "CREATE TABLE agno_sessions" in plan._repr_html_()
    shown: list[Any] = []
    import IPython.display

    original = IPython.display.display
    IPython.display.display = lambda *objs, **kw: shown.extend(objs)  # type: ignore[assignment]
    try:
        report = ip.run_line_magic("agno_migrate", "")
    finally:
        IPython.display.display = original  # type: ignore[assignment]
    bar = shown[0].bar
    assert (bar.value, bar.max) == (3, 3) and "3/3 sessions" in shown[0].label.value
    html = report._repr_html_()
    assert "verified" in html and "OK: target holds 3 sessions, 6 runs, 20 messages" in html
    assert_agno_reads_back(agno3_read(str(path)), db)
    with pytest.raises(UsageError, match="no table 'nope'"):
        ip.run_line_magic("agno_migrate", f"{path} --table nope")
    with pytest.raises(UsageError, match="--dry-runs"):
        ip.run_line_magic("agno_migrate", "--dry-runs")


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
    code, out, _ = _cli("migrate", str(path), "--memory-table", "user_memories")
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


def test_sigkill_then_rerun_on_a_postgres_target(tmp_path: Path, pg_schema: str) -> None:
    import subprocess
    import sys

    url = require_postgres()
    target_schema = pg_schema + "_kill"
    path = tmp_path / "agno.db"
    pinned_copy(path)
    expected = clone_sessions(path, 250)
    child = _KILLED_CHILD.replace(
        "api(url, batch_size=40, progress=progress)",
        "api(url, batch_size=40, progress=progress, target_url=sys.argv[4], "
        "target_schema=sys.argv[5])",
    )
    engine = sa.create_engine(url)
    try:
        done = subprocess.run(
            [sys.executable, "-c", child, url_of(path), "in_transaction", "3", url, target_schema],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == -9, done.stderr[-2000:]
        with engine.connect() as conn:
            count = conn.execute(sa.text(f'SELECT count(*) FROM "{target_schema}".agno_sessions'))
            assert count.scalar_one() == 80
        report = migrate(url_of(path), target_url=url, target_schema=target_schema, batch_size=40)
        table = report.tables[0]
        assert report.ok and (table.unchanged, table.new) == (80, 170)
        with engine.connect() as conn:
            runs = conn.execute(sa.text(f'SELECT count(*) FROM "{target_schema}".agno_runs'))
            assert runs.scalar_one() == sum(r for r, _ in expected.values())
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{target_schema}" CASCADE'))
        engine.dispose()


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
