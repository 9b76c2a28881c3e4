"""Issue 21, items 7, 8 and 9: values and names agno 1.8.4 stores that migrate
choked on: NaN and ``\\u0000`` in runs, JSON nested ~990 levels, table names such
as ``agent-sessions`` or over 45 characters. SQLite and Postgres targets, read
back by agno 3.1.10."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from agno_nb.agno3 import ConversionError, migrate
from tests.conftest import require_postgres
from tests.migrate_helpers import TABLE, agno3_read, pinned_copy, run_cli, url_of

pytestmark = pytest.mark.filterwarnings("ignore:The Column.copy\\(\\) method is deprecated")


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """migrate() options for the target, plus how agno 3 reads it (``read``)."""
    if request.param == "sqlite":
        path = tmp_path / "agno3.db"
        yield {
            "kwargs": {"target_url": url_of(path)},
            "read": lambda: agno3_read(str(path)),
            "cli": ["--target", str(path)],
            "backend": "sqlite",
        }
        return
    url = require_postgres()
    schema = f"h21_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(url)
    try:
        yield {
            "kwargs": {"target_url": url, "target_schema": schema},
            "read": lambda: agno3_read(url, schema=schema),
            "cli": ["--target", url, "--target-schema", schema],
            "backend": "postgres",
        }
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def _edit(path: Path, sid: str, change: Any, table: str = TABLE) -> None:
    with sqlite3.connect(path) as con:
        (text,) = con.execute(f'SELECT memory FROM "{table}" WHERE session_id=?', (sid,)).fetchone()
        memory = json.loads(text)
        change(memory)
        con.execute(f'UPDATE "{table}" SET memory=? WHERE session_id=?', (json.dumps(memory), sid))


# -- item 7: NaN and NUL -------------------------------------------------------------------


def test_nan_and_nul_migrate_where_agno3_stores_them(
    tmp_path: Path, target: dict[str, Any]
) -> None:
    source = tmp_path / "agno.db"
    pinned_copy(source)

    def nan(memory: dict[str, Any]) -> None:
        memory["runs"][0]["metrics"]["score"] = float("nan")

    def nul(memory: dict[str, Any]) -> None:
        memory["runs"][0]["messages"][-1]["content"] += "\x00tail"

    _edit(source, "agno-s2", nan)  # as agno 1.8.4 stores it: json.dumps writes NaN
    _edit(source, "agno-s1", nul)
    if target["backend"] == "postgres":  # jsonb takes neither: one line, nothing written
        with pytest.raises(ConversionError) as info:
            migrate(url_of(source), **target["kwargs"])
        assert "\n" not in str(info.value) and "--skip-bad" in str(info.value)
        report = migrate(url_of(source), skip_bad=True, **target["kwargs"])
        table = report.tables[0]
        assert report.ok and sorted(table.bad) == ["agno-s1", "agno-s2"]
        assert set(target["read"]()) == {"agno-s0"}
        code, out, _ = run_cli("migrate", str(source), "--skip-bad", *target["cli"])
        assert code == 0 and "bad rows: 2" in out
        return
    report = migrate(url_of(source), **target["kwargs"])  # SQLite: stored as agno stores it
    assert report.ok and report.tables[0].new == 3 and report.tables[0].bad == []
    read = target["read"]()
    assert set(read) == {"agno-s0", "agno-s1", "agno-s2"}
    assert read["agno-s1"]["runs"][0]["messages"][-1][1].endswith("\x00tail")
    again = migrate(url_of(source), **target["kwargs"])  # and reruns are no-ops
    assert again.ok and again.tables[0].unchanged == 3


# -- item 8: deep JSON ----------------------------------------------------------------------


def test_deeply_nested_json_is_one_line_or_listed(tmp_path: Path, target: dict[str, Any]) -> None:
    source = tmp_path / "agno.db"
    pinned_copy(source)
    with sqlite3.connect(source) as con:
        (text,) = con.execute(f"SELECT memory FROM {TABLE} WHERE session_id='agno-s0'").fetchone()
        deep = "[" * 990 + "]" * 990
        con.execute(
            f"UPDATE {TABLE} SET memory=? WHERE session_id='agno-s0'",
            (text.replace('"runs": [', f'"deep": {deep}, "runs": [', 1),),
        )
    code, out, err = run_cli("migrate", str(source), *target["cli"])
    assert "Traceback" not in err and "RecursionError" not in err
    assert code == 2 and err.count("\n") == 1 and "agno-s0" in err and "--skip-bad" in err
    code, out, err = run_cli("migrate", str(source), "--skip-bad", *target["cli"])
    assert code == 0, err
    assert "bad rows: 1: agno-s0" in out and "verified: OK" in out
    assert set(target["read"]()) == {"agno-s1", "agno-s2"}


# -- item 9: names agno 1.x accepts -------------------------------------------------------


@pytest.mark.parametrize("name", ["agent-sessions", "s" * 60, "Agent Sessions 2024"])
def test_table_names_agno_accepts_migrate(
    tmp_path: Path, target: dict[str, Any], name: str
) -> None:
    source = tmp_path / "agno.db"
    pinned_copy(source)
    with sqlite3.connect(source) as con:
        con.execute(f'ALTER TABLE {TABLE} RENAME TO "{name}"')
    code, out, err = run_cli("migrate", str(source), "--table", name, *target["cli"])
    assert code == 0, err
    assert "(3 new, 0 changed)" in out and "verified: OK" in out
    assert set(target["read"]()) == {"agno-s0", "agno-s1", "agno-s2"}


@pytest.mark.parametrize("name", ["", " t", "t\n", 'a"b', "a%b", "x" * 64, "t\x00"])
def test_unsafe_names_are_refused_in_one_line(tmp_path: Path, name: str) -> None:
    source = tmp_path / "agno.db"
    pinned_copy(source)
    code, _, err = run_cli("migrate", str(source), "--table", name)
    assert code == 2 and err.count("\n") == 1 and "invalid table name" in err
