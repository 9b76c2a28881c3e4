"""The agno 2.x/3.x fixtures hold what agno wrote, and agno 3.1.10 reads them back.

The pinned SQLite files were written by agno 2.9.0 / 3.1.10's own Agent and SqliteDb
(``tests/agno3_fixtures.py``); the Postgres schema is written by agno 3.1.10's PostgresDb
at test time (``agno3_postgres``). agno 3.1.10 itself reads each one with its own
``get_session`` (``tests/agno3/read_sessions.py``), and what it sees must be what agno
returned while writing (the expected JSON). Layout checks need only ``sqlite3``.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.agno3_fixtures import PINNED, copy_fixture, load_expected
from tests.conftest import Agno3Postgres, run_agno3

TESTS = Path(__file__).parent.parent
FIXTURES = TESTS / "fixtures"
READ_SCRIPT = (TESTS / "agno3" / "read_sessions.py").read_text()
STEMS = tuple(PINNED)
RUN_FIELDS = ("run_id", "parent_run_id", "input", "content", "messages", "tool_calls")


def expected_of(stem: str) -> dict[str, Any]:
    """The expected content pinned beside a fixture."""
    return load_expected(stem)


def assert_agno_saw(seen: dict[str, Any], expected: dict[str, Any], *, stamps: bool) -> None:
    """What agno read back (``read_sessions.py``) equals what it returned when writing."""
    got = {s["session_id"]: s for s in seen["sessions"]}
    want = {s["session_id"]: s for s in expected["sessions"]}
    assert sorted(got) == sorted(want)
    for session_id, w in want.items():
        g = got[session_id]
        for key in ("session_type", "user_id", "agent_id", "team_id", "name"):
            assert g[key] == w[key], (session_id, key)
        if stamps:
            assert (g["created_at"], g["updated_at"]) == (w["created_at"], w["updated_at"])
        assert [r["run_id"] for r in g["runs"]] == [r["run_id"] for r in w["runs"]], session_id
        for gr, wr in zip(g["runs"], w["runs"], strict=True):
            assert {f: gr[f] for f in RUN_FIELDS} == {f: wr[f] for f in RUN_FIELDS}
            assert gr["status"] == "COMPLETED"


@pytest.mark.parametrize("stem", STEMS)
def test_agno3_reads_back_each_sqlite_fixture(stem: str, tmp_path: Path) -> None:
    db = copy_fixture(stem, tmp_path / "agno.db")
    seen = run_agno3(READ_SCRIPT, "sqlite", str(db))
    assert_agno_saw(seen, expected_of(stem), stamps=True)


def test_agno3_reads_back_what_its_postgres_db_wrote(agno3_postgres: Agno3Postgres) -> None:
    import sqlalchemy as sa

    url, schema, expected = agno3_postgres
    seen = run_agno3(READ_SCRIPT, "postgres", url, schema)
    assert_agno_saw(seen, expected, stamps=False)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            types = dict(
                conn.execute(
                    sa.text(
                        "SELECT column_name, data_type FROM information_schema.columns "
                        "WHERE table_schema = :s AND table_name = 'agno_runs'"
                    ),
                    {"s": schema},
                ).all()
            )
            stamps = dict(
                conn.execute(
                    sa.text(f'SELECT table_name, version FROM "{schema}".agno_schema_versions')
                ).all()
            )
    finally:
        engine.dispose()
    assert types["run_data"] == "jsonb" and types["run_index"] == "bigint"
    assert stamps == {"agno_sessions": "3.0.0", "agno_runs": "3.0.0"}


def _columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in con.execute(f'PRAGMA table_info("{table}")')]


def _decode(cell: str) -> tuple[Any, int]:
    """(value, how many times it was JSON-encoded)."""
    value: Any = cell
    times = 0
    while isinstance(value, str):
        value = json.loads(value)
        times += 1
    return value, times


def _runs_by(stem: str, version: str) -> int:
    sessions = expected_of(stem)["sessions"]
    return sum(1 for s in sessions for r in s["runs"] if r["written_by"] == version)


@pytest.mark.parametrize("stem", STEMS)
def test_fixture_layout_is_what_each_agno_writes(stem: str) -> None:
    con = sqlite3.connect(f"file:{FIXTURES / f'{stem}.db'}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        stamps = dict(con.execute("SELECT table_name, version FROM agno_schema_versions"))
        journal = con.execute("PRAGMA journal_mode").fetchone()[0]
        has_runs_column = "runs" in _columns(con, "agno_sessions")
        encodings = {
            sid: _decode(data)[1]
            for sid, data in con.execute("SELECT session_id, session_data FROM agno_sessions")
        }
        run_rows = (
            con.execute("SELECT count(*) FROM agno_runs").fetchone()[0]
            if ("agno_runs" in tables)
            else 0
        )
    finally:
        con.close()
    assert journal == "delete"  # opening a pinned file leaves no -wal/-shm beside it
    if stem == "agno_2_9_0_sessions":
        assert tables == {"agno_sessions", "agno_schema_versions"}
        assert has_runs_column and stamps == {"agno_sessions": "2.5.6"}
        assert set(encodings.values()) == {2}  # double-encoded JSON
    elif stem == "agno_3_1_10_sessions":
        assert tables == {"agno_sessions", "agno_runs", "agno_schema_versions"}
        assert not has_runs_column
        assert stamps == {"agno_sessions": "3.0.0", "agno_runs": "3.0.0"}
        assert set(encodings.values()) == {1} and run_rows == _runs_by(stem, "3.1.10") == 73
    else:
        assert tables == {"agno_sessions", "agno_runs", "agno_schema_versions"}
        assert has_runs_column and stamps == {"agno_sessions": "2.5.6", "agno_runs": "3.0.0"}
        # rows 3.1.10 rewrote are single-encoded; the one it never touched stays double
        assert encodings.pop("s-first-only") == 2 and set(encodings.values()) == {1}
        # phase two wrote 30 runs of s-long, one more in 5 sessions (the team's delegated,
        # so its member run too), and s-late
        assert run_rows == _runs_by(stem, "3.1.10") == 37


def test_mixed_fixture_splits_runs_between_blob_and_table() -> None:
    """2.9.0's runs stay in the double-encoded ``runs`` cell; 3.1.10's go to agno_runs,
    their ``run_index`` continuing after the legacy ones."""
    stem = "agno_2_9_0_then_3_1_10_sessions"
    expected = {s["session_id"]: s for s in expected_of(stem)["sessions"]}
    con = sqlite3.connect(f"file:{FIXTURES / f'{stem}.db'}?mode=ro", uri=True)
    try:
        blobs = dict(con.execute("SELECT session_id, runs FROM agno_sessions"))
        rows = con.execute(
            "SELECT session_id, run_id, run_index FROM agno_runs ORDER BY session_id, run_index"
        ).fetchall()
    finally:
        con.close()
    for session_id, session in expected.items():
        old = [r["run_id"] for r in session["runs"] if r["written_by"] == "2.9.0"]
        new = [r["run_id"] for r in session["runs"] if r["written_by"] == "3.1.10"]
        legacy = _decode(blobs[session_id])[0] if blobs[session_id] is not None else []
        assert [r["run_id"] for r in legacy] == old, session_id
        table = [(run_id, index) for sid, run_id, index in rows if sid == session_id]
        assert table == [(run_id, len(old) + n) for n, run_id in enumerate(new)], session_id


def test_expected_content_covers_the_scenario() -> None:
    """Each fixture has what the issue asks for: two users, unicode, hostile HTML, a
    renamed session, a 60-run session, a tool call, history in context, a team."""
    for stem in STEMS:
        sessions = {s["session_id"]: s for s in expected_of(stem)["sessions"]}
        prompts = [r["input"] for s in sessions.values() for r in s["runs"]]
        assert {s["user_id"] for s in sessions.values()} == {"alice", "bob"}
        assert any("Zürich" in p and "🚀" in p and "école" in p for p in prompts)
        assert any("<script>alert(1)</script>" in p and "<b>" in p for p in prompts)
        assert sessions["s-rename"]["name"] == "Zürich trip 🚀 <b>renamed</b>"
        assert len(sessions["s-long"]["runs"]) == 60
        assert sessions["s-tool"]["runs"][0]["tool_calls"] == ["add"]
        assert ["tool", "42"] in sessions["s-tool"]["runs"][0]["messages"]
        team = sessions["t-team"]
        assert team["session_type"] == "team"
        member, last = team["runs"][-2:]  # a delegated member run is stored before its team run
        assert member["parent_run_id"] == last["run_id"] and last["parent_run_id"] is None
        assert last["tool_calls"] == ["delegate_task_to_member"]
        # history was in the model's context: the second turn of s-tool saw both user
        # messages (in the mixed file, 3.1.10 saw the one 2.9.0 stored), yet the stored
        # run keeps only its own two messages
        second = sessions["s-tool"]["runs"][1]
        assert second["content"] == "I see 2 user messages"
        assert second["messages"] == [["user", second["input"]], ["assistant", second["content"]]]
