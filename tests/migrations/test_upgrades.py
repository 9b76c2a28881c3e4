"""Schema upgrades v0 -> v1 -> v2 on every backend: plans, dry runs, data kept."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from agno_nb.errors import CorruptSessionError, MigrationError, SchemaTooOldError
from agno_nb.migrations import MIGRATIONS, TableRef, plan
from agno_nb.migrations.steps import BATCH_SIZE
from agno_nb.schema import LATEST_VERSION
from tests.session_factory import make_run, make_session


def snapshot(storage: Any) -> dict[str, Any]:
    """Everything a reader sees: each session's fields and messages."""
    out = {}
    for sid in storage.get_all_session_ids():
        session = storage.read(sid)
        out[sid] = (
            session.user_id,
            session.agent_id,
            session.session_data,
            session.memory,
            [m.to_dict() for m in session.messages()],
        )
    return out


def raw_rows(storage: Any) -> list[tuple[Any, ...]]:
    table = sa.table(storage.table_name, schema=storage.schema)
    with storage.db_engine.connect() as conn:
        rows = conn.execute(sa.select(sa.text("*")).select_from(table)).all()
    return sorted(tuple(str(v) for v in row) for row in rows)


def fill(storage: Any, count: int) -> None:
    for i in range(count):
        session = make_session(f"s{i:04d}", runs=i % 4, user=f"user{i % 3}", created_at=10_000 + i)
        if i % 5 == 0:
            session.memory["runs"].append(make_run(9, history=2))
        storage.upsert(session)


def test_plan_is_offline_sql_for_every_backend() -> None:
    for backend, schema in (("sqlite", None), ("duckdb", None), ("postgres", "ai")):
        result = plan(TableRef(backend, "agent_sessions", "agent", schema), 0)
        assert [s.version for s in result.steps] == list(range(1, LATEST_VERSION + 1))
        text = "\n".join(result.steps[0].sql)
        assert "ADD COLUMN team_session_id" in text
        v2 = "\n".join(result.steps[1].sql)
        assert "CREATE TABLE" in v2 and "agent_sessions_runs" in v2
        assert "ix_agent_sessions_user_created" in v2
        assert ("ai.agent_sessions" in v2) == (schema == "ai")
        v5 = result.steps[4]
        if backend == "postgres":  # the runs table is rewritten: its runs become json
            (convert,) = v5.sql  # with lz4 compression where the server has it
            assert "'lz4' = ANY(enumvals)" in convert
            assert (
                "EXECUTE 'ALTER TABLE ai.agent_sessions_runs ALTER COLUMN run TYPE JSON "
                "USING run::text::JSON, ALTER COLUMN run SET COMPRESSION lz4, "
                "ALTER COLUMN search_text SET COMPRESSION lz4'; ELSE EXECUTE 'ALTER TABLE "
                "ai.agent_sessions_runs ALTER COLUMN run TYPE JSON USING run::text::JSON';"
            ) in convert
            assert "rewrites every row of ai.agent_sessions_runs" in v5.description
        else:  # the runs are stored as text already: only the stamp
            assert v5.sql == [] and "no data changes" in v5.description
        assert "dry run" in str(result)
    assert len(MIGRATIONS) == LATEST_VERSION
    assert plan(TableRef("sqlite", "t"), LATEST_VERSION).steps == []
    assert plan(TableRef("sqlite", "t"), None).steps == []


def test_v0_to_v2_keeps_every_message(make_storage: Any) -> None:
    old = make_storage(schema_version=0)
    fill(old, 12)
    assert old.current_version == 0
    before = snapshot(old)
    rows_before = raw_rows(old)

    dry = old.upgrade_schema(dry_run=True)
    assert (dry.from_version, dry.to_version, dry.applied) == (0, LATEST_VERSION, False)
    assert [s.version for s in dry.steps] == list(range(1, LATEST_VERSION + 1)) and dry.pending
    assert raw_rows(old) == rows_before and old.current_version == 0

    seen: list[tuple[int, int]] = []
    result = old.upgrade_schema(progress=lambda done, total: seen.append((done, total)))
    assert result.applied and not result.pending
    assert result.sessions_migrated == 12
    assert result.runs_moved == sum(i % 4 + (i % 5 == 0) for i in range(12))
    assert seen and seen[-1] == (12, 12)
    assert old.current_version == LATEST_VERSION
    assert snapshot(old) == before
    again = old.upgrade_schema()
    assert again.steps == [] and not again.applied

    reopened = type(old)(old.table_name, **_location(old))
    assert snapshot(reopened) == before
    summary = reopened.list_sessions(search="question 0")
    assert summary and all(s.run_count > 0 for s in summary)
    reopened.close()


def _location(storage: Any) -> dict[str, Any]:
    if storage.backend == "postgres":
        return {"db_engine": storage.db_engine, "schema": storage.schema}
    return {"db_engine": storage.db_engine}


def test_v1_upgrade_in_batches_reports_progress(make_storage: Any) -> None:
    storage = make_storage(schema_version=1)
    count = BATCH_SIZE + 40
    table = storage.table_at(1)
    rows = [
        {
            "session_id": f"b{i:05d}",
            "user_id": "u",
            "agent_id": "a",
            "created_at": i,
            "memory": {"runs": [make_run(i)]},
            "session_data": {"session_name": f"n{i}"},
        }
        for i in range(count)
    ]
    storage.create()
    with storage.db_engine.begin() as conn:
        conn.execute(table.insert(), rows)
    calls: list[tuple[int, int]] = []
    result = storage.upgrade_schema(progress=lambda d, t: calls.append((d, t)))
    assert result.runs_moved == count and result.sessions_migrated == count
    assert calls[:2] == [(BATCH_SIZE, count), (count, count)]  # v2, then v4 fills search text
    assert storage.read("b00007").memory["runs"] == [make_run(7)]
    assert storage.list_sessions(limit=1)[0].session_name == f"n{count - 1}"


def test_old_table_keeps_its_layout_unless_asked(make_storage: Any) -> None:
    v0 = make_storage("legacy", schema_version=0)
    v0.upsert(make_session("s1"))
    reader = type(v0)(v0.table_name, **_location(v0))  # no schema_version, no auto upgrade
    reader.upsert(make_session("s2"))  # writes agno's old layout
    reader.append_run("s2", make_run(5))
    assert reader.current_version == 0
    assert len(reader.read("s2").memory["runs"]) == 3

    strict = type(v0)(v0.table_name, schema_version=LATEST_VERSION, **_location(v0))
    assert strict.read("s1") is not None  # reading an old table is fine
    with pytest.raises(SchemaTooOldError, match="upgrade_schema"):
        strict.upsert(make_session("s3"))

    auto = type(v0)(v0.table_name, auto_upgrade_schema=True, **_location(v0))
    assert len(auto.read("s2").memory["runs"]) == 3
    assert auto.current_version == LATEST_VERSION
    assert auto.count_runs("s2") == 3
    for s in (reader, strict, auto):
        s.close()


def test_upgrade_of_missing_table_is_a_no_op(make_storage: Any) -> None:
    storage = make_storage()
    result = storage.upgrade_schema()
    assert result.from_version is None and result.steps == [] and not result.applied
    assert not storage.table_exists()


def test_corrupt_row_survives_upgrade_untouched(tmp_path: Any) -> None:
    """Only SQLite stores invalid JSON (DuckDB's JSON and Postgres' JSONB refuse it)."""
    from agno_nb.storage import SqliteStorage

    storage = SqliteStorage("legacy", db_file=tmp_path / "c.db", schema_version=1)
    fill(storage, 3)
    with storage.db_engine.begin() as conn:
        conn.execute(sa.text("UPDATE legacy SET memory = '{not json' WHERE session_id = 's0001'"))
    with pytest.raises(MigrationError, match="s0001"):  # stops, naming the row
        storage.upgrade_schema()
    assert storage.current_version == 1
    result = storage.upgrade_schema(skip_corrupt=True)
    assert result.sessions_migrated == 2 and [sid for sid, _ in result.skipped] == ["s0001"]
    assert storage.read("s0002") is not None
    with pytest.raises(CorruptSessionError, match="s0001"):
        storage.read("s0001")
    storage.close()
