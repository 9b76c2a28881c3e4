"""`agno-nb migrate` is safe: reruns, re-syncs, conflicts kept, bad rows, verification,
dry runs, SIGKILL at any point; and its command line and magic."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from agno_nb.agno3 import ConversionError, VerificationError, migrate
from agno_nb.agno3.tables import TargetTables
from tests.agno_fixtures import sqlite_dump
from tests.conftest import require_postgres
from tests.migrate_helpers import (
    TABLE,
    agno3_read,
    assert_agno_reads_back,
    clone_sessions,
    pinned_copy,
    run_cli,
    source_dump,
    url_of,
)

pytestmark = pytest.mark.filterwarnings("ignore:The Column.copy\\(\\) method is deprecated")


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


def test_cli_dry_run_then_migrate_then_verification_failure(tmp_path: Path) -> None:
    path = tmp_path / "agno.db"
    db = pinned_copy(path)
    before = path.read_bytes()
    code, out, _ = run_cli("migrate", str(path), "--dry-run")
    assert code == 0 and "dry run, nothing written" in out and "CREATE TABLE agno_sessions" in out
    assert path.read_bytes() == before
    code, out, err = run_cli("migrate", url_of(path), "--table", TABLE)
    assert code == 0 and "verified: OK: target holds 3 sessions, 6 runs, 20 messages" in out
    assert "3/3 sessions" in err
    assert_agno_reads_back(agno3_read(str(path)), db)
    with sqlite3.connect(path) as con:
        con.execute("DELETE FROM agno_runs WHERE session_id='agno-s2' AND run_index=0")
    code, out, err = run_cli("migrate", str(path))
    assert code != 0 and "FAILED" in out
    assert err.strip().splitlines()[-1].startswith("agno-nb: error: verification failed")


def test_cli_bad_input_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "agno.db"
    pinned_copy(path)
    code, _, err = run_cli("migrate", str(tmp_path / "missing.db"))
    assert code == 2 and err.count("\n") == 1 and "no database file" in err
    assert not (tmp_path / "missing.db").exists()
    code, _, err = run_cli("migrate", str(path), "--table", "nope")
    assert code == 2 and "no table 'nope'" in err
    migrate(url_of(path), dry_run=False)
    code, _, err = run_cli("migrate", str(path), "--table", "agno_sessions")
    assert code == 2 and "already agno 2.x/3.x's" in err and err.count("\n") == 1
    code, _, err = run_cli("migrate", str(path), "--table", "agno_nb_migrate_rows")
    assert code == 2 and "not an agno 1.x session table" in err
    with sqlite3.connect(path) as con:
        con.execute(f"UPDATE {TABLE} SET memory='[1' WHERE session_id='agno-s2'")
    code, _, err = run_cli("migrate", str(path))
    assert code == 2 and "agno-s2" in err and err.count("\n") == 1
    code, out, _ = run_cli("migrate", str(path), "--skip-bad")
    assert code == 0 and "bad rows: 1: agno-s2" in out
    code, _, err = run_cli(
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


def test_unreachable_database_is_one_masked_line(tmp_path: Path) -> None:
    url = "postgresql+psycopg://u:secretpw@127.0.0.1:1/db"
    code, out, err = run_cli("migrate", url)
    assert code == 2 and err.count("\n") == 1 and "secretpw" not in err + out
    assert "migration stopped" in err and "Connection refused" in err
    path = tmp_path / "agno.db"
    pinned_copy(path)
    code, _, err = run_cli("migrate", str(path), "--target", url, "--target-schema", "ai")
    assert (
        code == 2 and "secretpw" not in err and err.startswith("agno-nb: error: migration stopped")
    )


def test_a_session_agno3_continued_is_not_overwritten_by_a_later_sync(tmp_path: Path) -> None:
    from tests.migrate_helpers import agno3_continue

    path = tmp_path / "agno.db"
    pinned_copy(path)
    migrate(url_of(path))
    agno3_continue(str(path), "agno-s0", "a turn in agno 3.x")  # the new app goes on
    with sqlite3.connect(path) as con:  # ...while the old app still wrote to its table
        con.execute(f"UPDATE {TABLE} SET updated_at = 1800000000 WHERE session_id = 'agno-s0'")
    report = migrate(url_of(path))
    table = report.tables[0]
    assert table.conflicts == ["agno-s0"] and table.unchanged == 2 and report.ok
    got = agno3_read(str(path))["agno-s0"]
    assert [r["input"] for r in got["runs"]][-1] == "a turn in agno 3.x"
    assert len(got["runs"]) == 3
