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


def test_steps_for_fuses_v2_to_v5_only_when_all_are_due() -> None:
    after = list(MIGRATIONS[V1_TO_V5.version : LATEST_VERSION])  # v6 on its own
    assert steps_for(1) == [V1_TO_V5, *after]
    assert steps_for(0) == [MIGRATIONS[0], V1_TO_V5, *after]
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
    assert names["S-001"].lower().endswith("s-001")  # SQLite keeps ASCII as written
    assert "question 1" in names["S-002"].lower()  # its memory reads: its runs' text is there
    fused.close()
    stepwise.close()


def _indexes(storage: Any) -> list[tuple[str, tuple[str, ...]]]:
    found = []
    if storage.backend == "duckdb":  # duckdb_engine does not reflect indexes
        query = sa.text("SELECT index_name, sql FROM duckdb_indexes() WHERE table_name = :t")
        with storage.db_engine.connect() as conn:
            for name, sql in conn.execute(query, {"t": storage.table_name}):
                columns = sql[sql.rindex("(") + 1 : sql.rindex(")")].split(", ")
                found.append((name.replace(storage.table_name, "<t>"), tuple(columns)))
        return sorted(found)
    inspector = sa.inspect(storage.db_engine)
    for suffix in ("", RUNS_SUFFIX):
        for index in inspector.get_indexes(storage.table_name + suffix, schema=storage.schema):
            name = str(index["name"]).replace(storage.table_name, "<t>")
            found.append((name, tuple(str(c) for c in index["column_names"])))
    return sorted(found)


def test_fused_upgrade_builds_the_same_indexes_and_columns(
    make_storage: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listing indexes, built after the move (before it on DuckDB), are those of
    the steps one by one; on Postgres the runs are json, compressed alike."""
    import agno_nb.storage.upgrade as upgrading

    fused = _v1_table(make_storage, "fused_ix")
    fused.upgrade_schema()
    monkeypatch.setattr(upgrading, "steps_for", lambda start: list(MIGRATIONS[start:]))
    stepwise = _v1_table(make_storage, "step_ix")
    stepwise.upgrade_schema()
    assert _indexes(fused) == _indexes(stepwise)
    assert any(name == "ix_<t>_user_created" for name, _ in _indexes(fused))
    if fused.backend != "postgres":
        return
    query = sa.text(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attcompression "
        "FROM pg_attribute a WHERE a.attrelid = CAST(:t AS regclass) AND a.attnum > 0 "
        "ORDER BY a.attnum"
    )
    columns = []
    for storage in (fused, stepwise):
        with storage.db_engine.connect() as conn:
            name = f'"{storage.schema}"."{storage.table_name}{RUNS_SUFFIX}"'
            columns.append(conn.execute(query, {"t": name}).all())
    assert columns[0] == columns[1]
    assert ("run", "json") in [(c[0], c[1]) for c in columns[0]]


def test_fused_upgrade_on_postgres_stores_each_run_as_written(make_storage: Any) -> None:
    """The fused step inserts the runs as json, the text agno_nb writes (no
    rewrite by jsonb and back), with the values the steps one by one give."""
    import json

    from agno_nb.codec import encode_json

    storage = _v1_table(make_storage, "as_written")
    storage.upgrade_schema()
    table = sa.table(storage.table_name + RUNS_SUFFIX, schema=storage.schema)
    run_text = (
        sa.cast(sa.column("run"), sa.Text) if storage.backend != "sqlite" else sa.column("run")
    )
    with storage.db_engine.connect() as conn:
        texts = conn.execute(sa.select(run_text).select_from(table)).scalars().all()
    assert texts
    for text in texts:
        assert text == encode_json(json.loads(text))
    assert [r["run_id"] for r in storage.read("S-002").memory["runs"]] == ["run-0", "run-1"]


def test_sqlite_move_hands_rows_to_the_driver_with_sqlalchemys_values(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite the move's statements go to the driver as tuples
    (``migrations.sql.ManyRows``), the JSON values encoded by the move itself:
    the rows are byte for byte those that SQLAlchemy's own executemany writes
    from the decoded values."""
    from agno_nb.migrations import sql
    from agno_nb.storage import SqliteStorage

    taken: list[bool] = []
    run = sql.ManyRows.run

    def watched(self: Any, rows: list[dict[str, Any]]) -> None:
        taken.append(self.sql is not None)
        run(self, rows)

    def v1(name: str) -> Any:
        storage = SqliteStorage(name, db_file=tmp_path / "m.db", schema_version=1)
        storage.create()
        with storage.db_engine.begin() as conn:
            conn.execute(storage.table_at(1).insert(), _v1_rows())
        return storage

    monkeypatch.setattr(sql.ManyRows, "run", watched)
    direct = v1("direct")
    direct.upgrade_schema()
    assert taken.count(True) >= 2  # the runs' insert and the sessions' update
    # as for a database whose driver takes no tuples: SQLAlchemy binds every row
    monkeypatch.setattr(sql, "dialect_named", lambda name: None)
    taken.clear()
    general = v1("general")
    general.upgrade_schema()
    assert taken and not any(taken)
    assert _rows(direct) == _rows(general)
    assert _rows(direct, RUNS_SUFFIX) == _rows(general, RUNS_SUFFIX)
    direct.close()
    general.close()


@pytest.mark.parametrize("fails", [False, True])
def test_sqlite_page_cache_is_given_back_after_the_move(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, fails: bool
) -> None:
    """The move runs with a bigger page cache; every connection goes back to the
    pool with its own again, whether the step succeeded or failed."""
    from agno_nb.errors import MigrationError
    from agno_nb.migrations import fused, steps
    from agno_nb.storage import SqliteStorage

    storage = SqliteStorage("cache", db_file=tmp_path / "c.db", schema_version=1)
    storage.create()
    with storage.db_engine.begin() as conn:
        conn.execute(storage.table_at(1).insert(), _v1_rows())
        default = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    seen: list[int] = []
    during: list[int] = []

    def checkin(dbapi_conn: Any, _record: Any) -> None:
        seen.append(dbapi_conn.execute("PRAGMA cache_size").fetchone()[0])

    sa.event.listen(storage.db_engine, "checkin", checkin)
    facts = steps.run_facts

    def facts_and_look(run: Any, **kw: Any) -> Any:
        if not during:
            during.append(1)
            if fails:
                raise RuntimeError("disk on fire")
        return facts(run, **kw)

    monkeypatch.setattr(steps, "run_facts", facts_and_look)
    if fails:
        with pytest.raises(MigrationError, match="disk on fire"):
            storage.upgrade_schema()
        assert storage.current_version == 1
    else:
        storage.upgrade_schema()
        assert storage.current_version == LATEST_VERSION
    assert during and seen and set(seen) == {default}
    assert fused.MOVE_CACHE_KIB * 1024 > 2_000 * 1024
    storage.close()
