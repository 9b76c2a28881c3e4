"""Issue 21, item 1: an upgrade changes no value a user wrote.

Every column of agno's v0 table, on every backend, after every step (and after
the whole upgrade through the storage API and the CLI): ``updated_at`` above
all, which agno 3 later receives from ``agno-nb migrate``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from agno_nb.migrations import MIGRATIONS
from agno_nb.migrations.fused import V1_TO_V5, Fused, apply_step, steps_for
from agno_nb.schema import LATEST_VERSION
from tests.session_factory import make_session

#: columns a user (or agno) wrote in a v0 agent table
USER_COLUMNS = (
    "session_id",
    "user_id",
    "agent_id",
    "memory",
    "session_data",
    "extra_data",
    "agent_data",
    "created_at",
    "updated_at",
)


def _user_values(engine: sa.Engine, table: str, schema: str | None) -> dict[str, Any]:
    """session_id -> every user column, JSON decoded; ``memory`` without its runs
    (an upgrade moves them to the runs table, where the reader finds them)."""
    columns = ", ".join(USER_COLUMNS)
    where = f'"{schema}"."{table}"' if schema else f'"{table}"'
    out: dict[str, Any] = {}
    with engine.connect() as conn:
        for row in conn.execute(sa.text(f"SELECT {columns} FROM {where}")):
            values = dict(row._mapping)
            for key in ("memory", "session_data", "extra_data", "agent_data"):
                if isinstance(values[key], str):
                    values[key] = json.loads(values[key])
            memory = values["memory"]
            if isinstance(memory, dict):
                values["memory"] = {k: v for k, v in memory.items() if k != "runs"}
            out[values["session_id"]] = values
    return out


def _v0_table(make_storage: Any) -> Any:
    """A v0 table whose sessions each have their own, old ``updated_at``."""
    old = make_storage(schema_version=0)
    for i in range(7):
        old.upsert(make_session(f"s{i}", runs=i % 3, created_at=1_700_000_000 + i))
    table = sa.table(old.table_name, sa.column("session_id"), sa.column("updated_at"))
    table.schema = old.schema if old.backend == "postgres" else None
    with old.db_engine.begin() as conn:
        for i in range(7):
            conn.execute(
                table.update()
                .where(table.c.session_id == f"s{i}")
                .values(updated_at=1_700_000_030 + 60 * i)
            )
    return old


def test_every_step_keeps_every_user_value(make_storage: Any) -> None:
    old = _v0_table(make_storage)
    schema = old.schema if old.backend == "postgres" else None
    before = _user_values(old.db_engine, old.table_name, schema)
    assert sorted(v["updated_at"] for v in before.values())[0] == 1_700_000_030
    for migration in MIGRATIONS:
        with old.db_engine.begin() as conn:
            migration.apply(conn, old.ref, None)
        after = _user_values(old.db_engine, old.table_name, schema)
        assert after == before, f"step to v{migration.version} changed a user value"


def test_fused_step_keeps_every_user_value(make_storage: Any) -> None:
    """From v1 the upgrade applies v2..v5 as one step (``migrations.fused``): its
    UPDATEs are as quiet as the single steps'."""
    old = _v0_table(make_storage)
    schema = old.schema if old.backend == "postgres" else None
    before = _user_values(old.db_engine, old.table_name, schema)
    steps = steps_for(0)
    assert V1_TO_V5 in steps
    at = 0
    for step in steps:
        with old.db_engine.begin() as conn:
            apply_step(step, conn, old.ref, None, at)
        at = step.version
        after = _user_values(old.db_engine, old.table_name, schema)
        name = "v2..v5 fused" if isinstance(step, Fused) else f"v{step.version}"
        assert after == before, f"step to {name} changed a user value"


def test_upgrade_schema_keeps_updated_at(make_storage: Any) -> None:
    old = _v0_table(make_storage)
    schema = old.schema if old.backend == "postgres" else None
    before = _user_values(old.db_engine, old.table_name, schema)
    result = old.upgrade_schema()
    assert result.applied and old.current_version == LATEST_VERSION
    assert _user_values(old.db_engine, old.table_name, schema) == before
    # what a reader sees: the stored times, not the upgrade's
    for sid, values in before.items():
        assert old.read(sid).updated_at == values["updated_at"]


def test_cli_upgrade_keeps_agno_1_8_4_times(tmp_path: Path) -> None:
    """The issue's repro: agno 1.8.4's own table, upgraded by the CLI."""
    from tests.agno_fixtures import PINNED_DB
    from tests.migrate_helpers import run_cli

    path = tmp_path / "agno.db"
    shutil.copyfile(PINNED_DB, path)
    engine = sa.create_engine(f"sqlite:///{path}")
    before = _user_values(engine, "agent_sessions", None)
    times = sorted(v["updated_at"] for v in before.values())
    assert len(set(times)) == len(times) > 1
    code, _out, err = run_cli("upgrade", str(path))
    assert code == 0, err
    assert _user_values(engine, "agent_sessions", None) == before
    engine.dispose()


def test_skipped_rows_and_their_later_move_keep_updated_at(make_storage: Any) -> None:
    """Rows an upgrade leaves (``skip_corrupt``) and moves later, once fixed, keep
    their times through both writes."""
    old = _v0_table(make_storage)
    schema = old.schema if old.backend == "postgres" else None
    where = f'"{schema}"."{old.table_name}"' if schema else f'"{old.table_name}"'
    set_memory = sa.text(f"UPDATE {where} SET memory = :m WHERE session_id = 's2'")
    with old.db_engine.begin() as conn:
        good = conn.execute(
            sa.text(f"SELECT CAST(memory AS TEXT) FROM {where} WHERE session_id = 's2'")
        ).scalar_one()
        conn.execute(set_memory, {"m": "[1]"})  # a list where a dict belongs: not movable
    result = old.upgrade_schema(skip_corrupt=True)
    assert result.applied and [s for s, _ in result.skipped] == ["s2"]
    with old.db_engine.begin() as conn:
        conn.execute(set_memory, {"m": good})
    before = _user_values(old.db_engine, old.table_name, schema)
    again = old.upgrade_schema()  # moves the fixed row's runs now
    assert again.runs_moved == 2
    assert _user_values(old.db_engine, old.table_name, schema) == before
    assert old.read("s2").updated_at == 1_700_000_030 + 120
