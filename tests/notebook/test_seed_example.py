"""The seed example of issue 3, run in two separate processes sharing one database."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from agno_nb.demo import run_demo
from tests.conftest import postgres_url

ROOT = Path(__file__).resolve().parents[2]
NO_LAST_QUESTION = (
    "I don't know your last question: there is none in the conversation history I was given."
)
ECHO = "[offline] You said: What is the capital of France?"
REMEMBERS = 'Your last question was: "What is the capital of France?"'

SEED = """
from agno_nb import Agent
from agno_nb.models import OfflineModel
from agno_nb.storage import {cls}

agent = Agent(
    model=OfflineModel(),
    session_id="fixed_id_for_demo",
    storage={cls}(table_name={table!r}, {where}),
    add_history_to_messages=True,
    num_history_runs=3,
)
agent.print_response("What was my last question?")
agent.print_response("What is the capital of France?")
agent.print_response("What was my last question?")
print(len(agent.get_messages_for_session()))
"""


def seed_script(backend: str, tmp_path: Path, pg_schema: str) -> str:
    table = f"seed_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        cls, where = "SqliteStorage", f"db_file={str(tmp_path / 'tmp' / 'data.db')!r}"
        (tmp_path / "tmp").mkdir()
    elif backend == "duckdb":
        cls, where = "DuckDbStorage", f"db_file={str(tmp_path / 'data.duckdb')!r}"
    else:
        cls, where = "PostgresStorage", f"db_url={postgres_url()!r}, schema={pg_schema!r}"
    return textwrap.dedent(SEED).format(cls=cls, table=table, where=where)


def run_process(script: Path, cwd: Path) -> list[str]:
    env: dict[str, Any] = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_seed_example_remembers_across_processes(
    backend: str, tmp_path: Path, pg_schema: str
) -> None:
    script = tmp_path / "seed.py"
    script.write_text(seed_script(backend, tmp_path, pg_schema))

    first = run_process(script, tmp_path)
    assert first == [NO_LAST_QUESTION, ECHO, REMEMBERS, "6"]

    second = run_process(script, tmp_path)
    assert second[0] == REMEMBERS  # loaded from storage by a new process
    assert second == [REMEMBERS, ECHO, REMEMBERS, "12"]


def test_run_demo_twice_remembers(tmp_path: Path) -> None:
    db = tmp_path / "tmp" / "data.db"
    out = io.StringIO()
    assert run_demo(db, out=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[1] == (
        f"a new session: no earlier runs of fixed_id_for_demo in {db}, so nothing to remember yet"
    )
    assert f"[run #1] > What was my last question?\n{NO_LAST_QUESTION}\n" in out.getvalue()
    assert f"The session now holds 3 runs. See them all: agno-nb show {db} fixed_id_for_demo" in (
        lines
    )
    assert db.exists()

    again = io.StringIO()
    assert run_demo(db, out=again) == 0
    text = again.getvalue()
    lines = text.splitlines()
    # why it remembers, in one line
    assert lines[1] == (
        f"loaded 3 earlier runs of session fixed_id_for_demo from {db}; the model sees the "
        "last 3 runs as history (add_history_to_messages=True, num_history_runs=3)"
    )
    first_answer = text.split("[run #4] > What was my last question?\n", 1)[1].splitlines()
    assert first_answer[0] == REMEMBERS
    # why it names France and not the literal last question
    assert first_answer[1] == (
        "  (the question just before was 'What was my last question?': the offline model "
        "skips questions about the conversation itself and names the last other one)"
    )
    # this run's turns only, not the whole history
    assert "[run #1]" not in text and "run #" not in text.replace("[run #", "")
    assert [ln for ln in lines if ln.startswith("[run #")] == [
        "[run #4] > What was my last question?",
        "[run #5] > What is the capital of France?",
        "[run #6] > What was my last question?",
    ]
    assert f"The session now holds 6 runs. See them all: agno-nb show {db} fixed_id_for_demo" in (
        lines
    )


def test_demo_points_at_a_show_command_that_works(tmp_path: Path) -> None:
    cli = pytest.importorskip("agno_nb.cli")
    db = tmp_path / "d.db"
    assert run_demo(db, out=io.StringIO()) == 0
    out = io.StringIO()
    assert cli.main(["show", str(db), "fixed_id_for_demo"], out=out) == 0
    assert out.getvalue().count("-- run #") == 3


def test_cli_demo_command(tmp_path: Path) -> None:
    cli = pytest.importorskip("agno_nb.cli")
    out = io.StringIO()
    assert cli.main(["demo", "--db", str(tmp_path / "d.db")], out=out) == 0
    assert REMEMBERS in out.getvalue()
