"""The v1 -> latest upgrade applies v2..v5 as one step (``migrations.fused``):
one decode of each session, the same rows as applying the steps one by one."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from agno_nb.migrations import MIGRATIONS
from agno_nb.migrations.fused import V1_TO_V5, steps_for
from agno_nb.schema import LATEST_VERSION, RUNS_SUFFIX
from tests.session_factory import make_run


def _rows(storage: Any, suffix: str = "") -> list[tuple[str, ...]]:
    table = sa.table(storage.table_name + suffix, schema=storage.schema)
    with storage.db_engine.connect() as conn:
        rows = conn.execute(sa.select(sa.text("*")).select_from(table)).mappings().all()
    # updated_at: DuckDB's table sets it to the time of the upgrade's UPDATE
    return sorted(
        tuple(f"{k}={v}" for k, v in sorted(row.items()) if k != "updated_at") for row in rows
    )


def _v1_rows() -> list[dict[str, Any]]:
    """Sessions of every shape v2 meets: runs, no runs list, runs None, names in
    capitals and other scripts, history copies."""
    rows = []
    for i in range(30):
        memory: Any = {"runs": [make_run(j, history=j % 2) for j in range(i % 4)]}
        if i % 7 == 3:
            memory = {"summaries": {}}  # no runs list: kept as given
        elif i % 7 == 5:
            memory = {"runs": None, "memories": []}
        elif i % 11 == 6:
            memory = None
        rows.append(
            {
                "session_id": f"S-{i:03d}",
                "user_id": f"u{i % 3}",
                "agent_id": "a",
                "created_at": 1_700_000_000 + i,
                "updated_at": 1_700_000_000 + i,
                "memory": memory,
                "session_data": {"session_name": ["Straße", "ÉCOLE", "plain", None][i % 4]},
            }
        )
    return rows


def _v1_table(make_storage: Any, name: str) -> Any:
    storage = make_storage(name, schema_version=1)
    storage.create()
    with storage.db_engine.begin() as conn:
        conn.execute(storage.table_at(1).insert(), _v1_rows())
    return storage


def test_steps_for_fuses_v2_to_v4_only_when_all_are_due() -> None:
    assert steps_for(1) == [V1_TO_V5]
    assert steps_for(0) == [MIGRATIONS[0], V1_TO_V5]
    assert steps_for(2) == list(MIGRATIONS[2:LATEST_VERSION])
    assert steps_for(1, 3) == list(MIGRATIONS[1:3])


def test_fused_upgrade_writes_what_the_steps_one_by_one_write(
    make_storage: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fused = _v1_table(make_storage, "fused")
    result = fused.upgrade_schema()
    assert result.applied and fused.current_version == LATEST_VERSION
    assert result.sessions_migrated == 30

    import agno_nb.storage.upgrade as upgrading

    monkeypatch.setattr(upgrading, "steps_for", lambda start: list(MIGRATIONS[start:]))
    stepwise = _v1_table(make_storage, "stepwise")
    other = stepwise.upgrade_schema()
    assert other.sessions_migrated == result.sessions_migrated
    assert other.runs_moved == result.runs_moved

    assert _rows(fused) == _rows(stepwise)
    assert _rows(fused, RUNS_SUFFIX) == _rows(stepwise, RUNS_SUFFIX)
    assert any("search_text=" in c and c != "search_text=None" for r in _rows(fused, RUNS_SUFFIX)
               for c in r)  # fmt: skip
    for term in ("strasse", "école", "question 2", "S-007"):
        assert [s.session_id for s in fused.list_sessions(search=term)] == [
            s.session_id for s in stepwise.list_sessions(search=term)
        ], term


def test_fused_upgrade_from_inside_its_span_applies_the_rest(make_storage: Any) -> None:
    """A table another upgrader left at v2 or v3 gets the remaining steps."""
    storage = make_storage("partial", schema_version=2)
    storage.create()
    from tests.session_factory import make_session

    storage.upsert(make_session("p1", runs=2))
    assert storage.current_version == 2
    storage.upgrade_schema()
    assert storage.current_version == LATEST_VERSION
    assert [s.session_id for s in storage.list_sessions(search="P1")] == ["p1"]


def test_fused_upgrade_leaves_unreadable_rows_as_v4_would(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only SQLite stores invalid JSON. A row left as it was gets the search name
    the v4 step gives it: its id, and its runs' text when its memory still reads."""
    import agno_nb.storage.upgrade as upgrading
    from agno_nb.storage import SqliteStorage

    def corrupt_v1(name: str) -> Any:
        storage = SqliteStorage(name, db_file=tmp_path / "c.db", schema_version=1)
        storage.create()
        with storage.db_engine.begin() as conn:
            conn.execute(storage.table_at(1).insert(), _v1_rows()[:6])
            conn.execute(sa.text(f"UPDATE {name} SET memory = '{{x' WHERE session_id = 'S-001'"))
            conn.execute(
                sa.text(f"UPDATE {name} SET session_data = '{{x' WHERE session_id = 'S-002'")
            )
        return storage

    fused = corrupt_v1("fused")
    result = fused.upgrade_schema(skip_corrupt=True)
    assert sorted(sid for sid, _ in result.skipped) == ["S-001", "S-002"]
    monkeypatch.setattr(upgrading, "steps_for", lambda start: list(MIGRATIONS[start:]))
    stepwise = corrupt_v1("stepwise")
    stepwise.upgrade_schema(skip_corrupt=True)
    assert _rows(fused) == _rows(stepwise)
    assert _rows(fused, RUNS_SUFFIX) == _rows(stepwise, RUNS_SUFFIX)
    with fused.db_engine.connect() as conn:
        names = dict(conn.execute(sa.text("SELECT session_id, search_name FROM fused")).all())
    assert names["S-001"].endswith("s-001")
    assert "question 1" in names["S-002"]  # its memory reads: its runs' text is there
    fused.close()
    stepwise.close()
