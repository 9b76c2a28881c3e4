"""Issue 21: `agno-nb migrate` reruns that must not lose or resurrect anything.

Items 2 (deleted in agno 3 stays deleted), 3 (the source's identity), 4 (an edit
during a resync batch, Postgres), 5 (an edit in the same second), 6 (sessions
that share run ids), 10 (verification against the source's count) and the
"repair after a failed verification" loss, on SQLite and Postgres targets, read
back by agno 3.1.10.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from agno_nb.agno3 import VerificationError, migrate
from agno_nb.agno3.job import TableJob
from tests.conftest import require_postgres, run_agno3
from tests.migrate_helpers import TABLE, agno3_read, pinned_copy, run_cli, url_of

pytestmark = pytest.mark.filterwarnings("ignore:The Column.copy\\(\\) method is deprecated")

DELETE = """
import json, sys
target, schema, sid = sys.argv[1], sys.argv[2], sys.argv[3]
if target.startswith("postgresql"):
    from agno.db.postgres import PostgresDb
    db = PostgresDb(db_url=target, db_schema=schema)
else:
    from agno.db.sqlite import SqliteDb
    db = SqliteDb(db_file=target)
print(json.dumps(db.delete_session(session_id=sid)))
"""


@dataclass
class Target:
    """Where agno 3's tables go: migrate() options, agno 3's view, raw SQL."""

    kwargs: dict[str, Any]
    where: str  # file path or URL, for agno 3
    schema: str | None
    engine: sa.Engine

    def table(self, name: str) -> str:
        return f'"{self.schema}".{name}' if self.schema else name

    def read(self) -> dict[str, Any]:
        return agno3_read(self.where, schema=self.schema)

    def delete_in_agno3(self, session_id: str) -> None:
        run_agno3(DELETE, self.where, self.schema or "", session_id)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    def execute(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(sql), params)


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "sqlite":
        path = tmp_path / "agno3.db"
        engine = sa.create_engine(url_of(path))
        yield Target({"target_url": url_of(path)}, str(path), None, engine)
        engine.dispose()
        return
    url = require_postgres()
    schema = f"h21_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(url)
    try:
        yield Target({"target_url": url, "target_schema": schema}, url, schema, engine)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def _source(tmp_path: Path) -> Path:
    path = tmp_path / "agno.db"
    pinned_copy(path)
    return path


def _change_source(path: Path, sid: str, *, updated_at: int, text: str = "changed") -> None:
    with sqlite3.connect(path) as con:
        (memory,) = con.execute(f"SELECT memory FROM {TABLE} WHERE session_id=?", (sid,)).fetchone()
        memory = json.loads(memory)
        memory["runs"][-1]["content"] = text
        con.execute(
            f"UPDATE {TABLE} SET memory=?, updated_at=? WHERE session_id=?",
            (json.dumps(memory), updated_at, sid),
        )


# -- item 2: a session agno 3 deleted stays deleted ---------------------------------------


def test_session_deleted_in_agno3_is_not_recreated(tmp_path: Path, target: Target) -> None:
    source = _source(tmp_path)
    migrate(url_of(source), **target.kwargs)
    target.delete_in_agno3("agno-s1")
    assert "agno-s1" not in target.read()
    again = migrate(url_of(source), **target.kwargs)
    table = again.tables[0]
    assert (table.new, table.resynced, table.runs_written) == (0, 0, 0)
    assert table.deleted_in_target == ["agno-s1"] and again.ok
    assert "deleted in agno 3.x: 1: agno-s1" in str(again) and "--resync-deleted" in str(again)
    # still deleted after the source changes it, too
    _change_source(source, "agno-s1", updated_at=1_800_000_000)
    assert migrate(url_of(source), **target.kwargs).tables[0].deleted_in_target == ["agno-s1"]
    assert set(target.read()) == {"agno-s0", "agno-s2"}
    # opting in re-creates it, with the source's current content
    back = migrate(url_of(source), resync_deleted=True, **target.kwargs).tables[0]
    assert (back.new, back.resynced) == (0, 1) and back.deleted_in_target == []
    read = target.read()
    assert read["agno-s1"]["runs"][-1]["content"] == "changed"


def test_cli_resync_deleted(tmp_path: Path) -> None:
    source = _source(tmp_path)
    assert run_cli("migrate", str(source))[0] == 0
    run_agno3(DELETE, str(source), "", "agno-s0")
    code, out, _ = run_cli("migrate", str(source))
    assert code == 0 and "(0 new, 0 changed)" in out and "deleted in agno 3.x" in out
    code, out, _ = run_cli("migrate", str(source), "--resync-deleted")
    assert code == 0 and "(0 new, 1 changed)" in out
    assert "agno-s0" in agno3_read(str(source))


# -- item 5: an agno 3 edit in the same second ---------------------------------------------


def test_target_edit_in_the_same_second_is_a_conflict(tmp_path: Path, target: Target) -> None:
    source = _source(tmp_path)
    migrate(url_of(source), **target.kwargs)
    updated = target.scalar(
        f"SELECT updated_at FROM {target.table('agno_sessions')} WHERE session_id='agno-s2'"
    )
    # agno 3 edits the session within the same second: updated_at does not move
    summary = '{"summary": "written in agno 3"}'
    value = "CAST(:s AS jsonb)" if target.schema else ":s"
    target.execute(
        f"UPDATE {target.table('agno_sessions')} SET summary = {value} WHERE session_id='agno-s2'",
        s=summary,
    )
    assert (
        target.scalar(
            f"SELECT updated_at FROM {target.table('agno_sessions')} WHERE session_id='agno-s2'"
        )
        == updated
    )
    _change_source(source, "agno-s2", updated_at=1_800_000_000)  # would be resynced
    report = migrate(url_of(source), **target.kwargs)
    assert report.tables[0].conflicts == ["agno-s2"] and report.tables[0].resynced == 0
    assert target.read()["agno-s2"]["summary"] == "written in agno 3"


# -- item 4: an agno 3 edit during a resync batch (Postgres row locks) ---------------------


def test_edit_during_a_resync_batch_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = require_postgres()
    schema = f"h21_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(url)
    source = _source(tmp_path)
    kwargs = {"target_url": url, "target_schema": schema}
    try:
        migrate(url_of(source), **kwargs)
        _change_source(source, "agno-s0", updated_at=1_800_000_000)
        original = TableJob._write_batch
        edits: list[str] = []

        def edit() -> None:  # agno 3 saves the session while the batch is under way
            with engine.begin() as conn:
                conn.execute(sa.text("SET lock_timeout = '20s'"))
                conn.execute(
                    sa.text(
                        f'UPDATE "{schema}".agno_sessions SET summary = '
                        """'{"summary": "agno 3 edit"}'::jsonb, updated_at = updated_at + 1 """
                        "WHERE session_id = 'agno-s0'"
                    )
                )
            edits.append("done")

        def slow_write(self: TableJob, conn: Any, *args: Any, **kwargs: Any) -> None:
            worker = threading.Thread(target=edit)
            worker.start()
            worker.join(timeout=2)  # without a row lock, the edit commits now
            original(self, conn, *args, **kwargs)
            self._edit_thread = worker  # type: ignore[attr-defined]

        monkeypatch.setattr(TableJob, "_write_batch", slow_write)
        migrate(url_of(source), **kwargs)
        monkeypatch.setattr(TableJob, "_write_batch", original)
        deadline = time.monotonic() + 30
        while not edits and time.monotonic() < deadline:
            time.sleep(0.05)
        assert edits == ["done"]
        read = agno3_read(url, schema=schema)
        assert read["agno-s0"]["summary"] == "agno 3 edit"  # the edit survived
        assert read["agno-s0"]["runs"][-1]["content"] == "changed"  # and so did the sync
        again = migrate(url_of(source), **kwargs).tables[0]
        assert again.conflicts == ["agno-s0"]  # agno 3 changed it after the sync
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


# -- item 3: the same source spelled another way ------------------------------------------


def test_same_table_spelled_otherwise_syncs(tmp_path: Path, target: Target) -> None:
    source = _source(tmp_path)
    migrate(url_of(source), tables=["agent_sessions"], **target.kwargs)
    _change_source(source, "agno-s1", updated_at=1_800_000_000)
    report = migrate(url_of(source), tables=["Agent_Sessions"], **target.kwargs)
    table = report.tables[0]
    assert table.conflicts == [] and (table.resynced, table.unchanged) == (1, 2)
    # the file copied (or moved) elsewhere: the same table, said in one line
    copy = tmp_path / "moved" / "agno.db"
    copy.parent.mkdir()
    shutil.copyfile(source, copy)
    _change_source(copy, "agno-s2", updated_at=1_800_000_100, text="from the copy")
    report = migrate(f"sqlite:///{copy}", **target.kwargs)
    table = report.tables[0]
    assert table.conflicts == [] and (table.resynced, table.unchanged) == (1, 2)
    assert "read elsewhere before" in str(report) and str(source) in str(report)
    read = target.read()
    assert read["agno-s1"]["runs"][-1]["content"] == "changed"
    assert read["agno-s2"]["runs"][-1]["content"] == "from the copy"


def test_another_table_with_the_same_ids_is_named(tmp_path: Path) -> None:
    source = _source(tmp_path)
    migrate(url_of(source))
    with sqlite3.connect(source) as con:
        con.execute(f"CREATE TABLE other_sessions AS SELECT * FROM {TABLE}")
    code, out, _ = run_cli("migrate", str(source), "--table", "other_sessions")
    assert code == 0
    assert "another source" in out and f"sqlite:{source}" in out


# -- item 6: sessions sharing run ids -------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1000, 1])
def test_copied_conversation_arrives_whole(tmp_path: Path, target: Target, batch_size: int) -> None:
    source = _source(tmp_path)
    with sqlite3.connect(source) as con:  # a conversation copied to branch it
        con.execute(
            f"INSERT INTO {TABLE} SELECT 'agno-s0-branch', user_id, memory, session_data, "
            "extra_data, created_at, updated_at + 1, agent_id, agent_data, team_session_id "
            f"FROM {TABLE} WHERE session_id = 'agno-s0'"
        )
    report = migrate(url_of(source), batch_size=batch_size, **target.kwargs)
    table = report.tables[0]
    assert report.ok and table.conflicts == [] and table.new == 4
    assert table.target_runs == table.runs == 8
    read = target.read()
    original, branch = read["agno-s0"], read["agno-s0-branch"]
    assert [r["input"] for r in branch["runs"]] == [r["input"] for r in original["runs"]]
    assert not {r["run_id"] for r in branch["runs"]} & {r["run_id"] for r in original["runs"]}
    with target.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                f"SELECT run_data FROM {target.table('agno_runs')} "
                "WHERE session_id = 'agno-s0-branch' ORDER BY run_index"
            )
        ).all()
    kept = [
        (json.loads(r[0]) if isinstance(r[0], str) else r[0])["metadata"]["agno_v1"]["run_id"]
        for r in rows
    ]
    assert kept == [r["run_id"] for r in original["runs"]]
    again = migrate(url_of(source), batch_size=batch_size, **target.kwargs).tables[0]
    assert (again.new, again.resynced, again.unchanged) == (0, 0, 4)


def test_copied_conversation_keeps_its_labels(tmp_path: Path, target: Target) -> None:
    """A label on a run of the copy (#20's side table) follows it to its derived id."""
    from agno_nb.storage import SqliteStorage, open_storage

    source = _source(tmp_path)
    with sqlite3.connect(source) as con:
        con.execute(
            f"INSERT INTO {TABLE} SELECT 'agno-s0-branch', user_id, memory, session_data, "
            "extra_data, created_at, updated_at + 1, agent_id, agent_data, team_session_id "
            f"FROM {TABLE} WHERE session_id = 'agno-s0'"
        )
    labelled = SqliteStorage(TABLE, db_file=source)
    run_id = labelled.get_runs("agno-s0-branch")[1]["run_id"]
    labelled.label_run("agno-s0", run_id, "good")
    labelled.label_run("agno-s0-branch", run_id, "bad", correction="branch answer")
    labelled.close()
    for _ in range(2):  # a rerun keeps them where they are
        assert migrate(url_of(source), **target.kwargs).ok
        read = target.read()
        branch_id = read["agno-s0-branch"]["runs"][1]["run_id"]
        assert branch_id != run_id == read["agno-s0"]["runs"][1]["run_id"]
        extra = {"schema": target.schema} if target.schema else {}
        migrated = open_storage(target.kwargs["target_url"], table_name="agno_sessions", **extra)
        got = sorted((x.session_id, x.run_id, x.rating) for x in migrated.labels())
        migrated.close()
        assert got == [("agno-s0", run_id, "good"), ("agno-s0-branch", branch_id, "bad")]


# -- item 10 and the repair: verification against the source ------------------------------


def test_batch_size_zero_is_refused(tmp_path: Path) -> None:
    source = _source(tmp_path)
    code, _, err = run_cli("migrate", str(source), "--batch-size", "0")
    assert code == 2 and err.count("\n") == 1 and "--batch-size must be 1 or more" in err
    with sqlite3.connect(source) as con:
        assert not con.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'agno_sessions'"
        ).fetchone()[0]


def test_sessions_the_keyset_passed_fail_verification(tmp_path: Path, target: Target) -> None:
    source = _source(tmp_path)

    def progress(done: int, total: int, table: str) -> None:
        if done == 1:  # the app adds a session behind the keyset while it runs
            with sqlite3.connect(source) as con:
                con.execute(
                    f"INSERT INTO {TABLE} SELECT 'agno-a', user_id, memory, session_data, "
                    "extra_data, created_at, updated_at, agent_id, agent_data, team_session_id "
                    f"FROM {TABLE} WHERE session_id = 'agno-s2'"
                )

    with pytest.raises(VerificationError) as info:
        migrate(url_of(source), batch_size=1, progress=progress, **target.kwargs)
    assert "the source holds 4 sessions and 3 were read" in str(info.value)
    report = migrate(url_of(source), **target.kwargs)
    assert report.ok and report.tables[0].new == 1
    assert set(target.read()) == {"agno-a", "agno-s0", "agno-s1", "agno-s2"}


def test_rerun_repairs_what_verification_found_missing(tmp_path: Path, target: Target) -> None:
    source = _source(tmp_path)
    migrate(url_of(source), **target.kwargs)
    target.execute(
        f"DELETE FROM {target.table('agno_runs')} WHERE session_id='agno-s0' AND run_index=1"
    )
    with pytest.raises(VerificationError):
        migrate(url_of(source), **target.kwargs)
    repaired = migrate(url_of(source), **target.kwargs)
    assert repaired.ok and repaired.tables[0].resynced == 1
    assert len(target.read()["agno-s0"]["runs"]) == 2
    assert migrate(url_of(source), **target.kwargs).tables[0].unchanged == 3


def test_bookkeeping_of_an_earlier_version_is_taken_over(tmp_path: Path) -> None:
    """A target an earlier agno_nb migrated (URL-keyed bookkeeping, no fingerprint
    columns): the rerun adds the columns, rekeys the rows and syncs as before."""
    source = _source(tmp_path)
    migrate(url_of(source))
    with sqlite3.connect(source) as con:
        for column in ("target_fingerprint", "location"):
            con.execute(f"ALTER TABLE agno_nb_migrate_rows DROP COLUMN {column}")
        old_key = f"sqlite:{source}#agent_sessions"
        con.execute("UPDATE agno_nb_migrate_rows SET source = ?", (old_key,))
        con.execute("UPDATE agno_nb_migrate_progress SET source = ?", (old_key,))
    _change_source(source, "agno-s1", updated_at=1_800_000_000)
    report = migrate(url_of(source))
    table = report.tables[0]
    assert report.ok and (table.resynced, table.unchanged, table.conflicts) == (1, 2, [])
    again = migrate(url_of(source))
    assert again.ok and again.tables[0].unchanged == 3
    with sqlite3.connect(source) as con:
        keys = {r[0] for r in con.execute("SELECT source FROM agno_nb_migrate_rows")}
        assert keys == {"file#agent_sessions"}
        (progress,) = con.execute("SELECT count(*) FROM agno_nb_migrate_progress").fetchone()
        assert progress == 1
    assert agno3_read(str(source))["agno-s1"]["runs"][-1]["content"] == "changed"
