"""Issue 21, the smaller losses of `agno-nb migrate`: a summary whose text is not
a string, metrics that are zero or False, and two migrations at once on Postgres."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from agno_nb.agno3 import migrate
from agno_nb.agno3.convert import convert_session
from tests.conftest import require_postgres
from tests.migrate_helpers import TABLE, agno3_read, pinned_copy, url_of

pytestmark = pytest.mark.filterwarnings("ignore:The Column.copy\\(\\) method is deprecated")


def _row(memory: dict[str, Any]) -> dict[str, Any]:
    return {
        "session_id": "s1",
        "agent_id": "a",
        "user_id": "u",
        "memory": memory,
        "created_at": 1_700_000_000,
        "updated_at": 1_700_000_060,
    }


def test_summary_without_a_string_text_is_kept() -> None:
    summary = {"summary": {"parts": ["a", "b"]}, "topics": ["cats", "dogs"]}
    converted = convert_session(_row({"runs": [], "summary": summary}), mode="agent")
    assert converted.session["summary"] is None  # no 3.x shape for it...
    kept = converted.session["metadata"]["agno_v1"]["memory"]["summary"]
    assert kept == summary  # ...so kept whole, topics included
    nested = {"summaries": {"u": {"s1": {"summary": 7, "topics": ["x"]}}}, "runs": []}
    converted = convert_session(_row(nested), mode="agent")
    assert converted.session["metadata"]["agno_v1"]["memory"]["summary"] == {
        "summary": 7,
        "topics": ["x"],
    }


def test_zero_and_false_metrics_are_kept() -> None:
    run = {
        "run_id": "r1",
        "messages": [{"role": "user", "content": "hi"}],
        "metrics": {"prompt_tokens": [0], "foo": False, "bar": 0, "input_tokens": [0]},
    }
    converted = convert_session(_row({"runs": [run]}), mode="agent")
    data = converted.runs[0]["run_data"]
    assert data["metrics"]["input_tokens"] == 0
    assert data["metadata"]["agno_v1"]["metrics"] == {
        "prompt_tokens": [0],
        "foo": False,
        "bar": 0,
    }


def test_summary_and_metrics_read_back_by_agno3(tmp_path: Path) -> None:
    source = tmp_path / "agno.db"
    pinned_copy(source)
    with sqlite3.connect(source) as con:
        (text,) = con.execute(f"SELECT memory FROM {TABLE} WHERE session_id='agno-s0'").fetchone()
        memory = json.loads(text)
        memory["summary"] = {"summary": None, "topics": ["kept"]}
        memory["runs"][0]["metrics"]["foo"] = False
        con.execute(
            f"UPDATE {TABLE} SET memory=? WHERE session_id='agno-s0'", (json.dumps(memory),)
        )
    assert migrate(url_of(source)).ok
    got = agno3_read(str(source))["agno-s0"]
    assert got["metadata"]["agno_v1"]["memory"]["summary"]["topics"] == ["kept"]


CHILD = """
import sys
from agno_nb.cli import main
sys.exit(main(["migrate", sys.argv[1], "--target", sys.argv[2], "--target-schema", sys.argv[3],
               "--batch-size", "5"]))
"""


def test_two_migrations_at_once_on_postgres(tmp_path: Path) -> None:
    from tests.migrate_helpers import clone_sessions

    url = require_postgres()
    schema = f"h21_{uuid.uuid4().hex[:8]}"
    source = tmp_path / "agno.db"
    pinned_copy(source)
    expected = clone_sessions(source, 120)
    engine = sa.create_engine(url)
    try:
        # the tables exist: both runs go straight to their batches
        migrate(url_of(source), target_url=url, target_schema=schema, dry_run=False, batch_size=1)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DELETE FROM "{schema}".agno_nb_migrate_rows'))
            conn.execute(sa.text(f'DELETE FROM "{schema}".agno_runs'))
            conn.execute(sa.text(f'DELETE FROM "{schema}".agno_sessions'))
        children = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD, url_of(source), url, schema],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        results = [c.communicate(timeout=600) for c in children]
        for child, (out, err) in zip(children, results, strict=True):
            assert child.returncode == 0, err
            assert "error ignored" not in err and "Traceback" not in err
            assert "verified: OK" in out
        with engine.connect() as conn:
            sessions = conn.execute(sa.text(f'SELECT count(*) FROM "{schema}".agno_sessions'))
            assert sessions.scalar_one() == 120
            runs = conn.execute(sa.text(f'SELECT count(*) FROM "{schema}".agno_runs'))
            assert runs.scalar_one() == sum(r for r, _ in expected.values())
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
