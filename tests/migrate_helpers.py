"""Helpers for the ``agno-nb migrate`` tests: source tables agno 1.8.4 wrote (and
clones of them), and agno 3.1.10 reading the result back in its own virtualenv."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from tests.agno_fixtures import PINNED_DB, AgnoDb, load_pinned_fixture, sqlite_dump
from tests.conftest import run_agno3

READER = (Path(__file__).parent / "agno3" / "read_migrated.py").read_text()
TABLE = "agent_sessions"


def pinned_copy(path: Path) -> AgnoDb:
    """The pinned agno 1.8.4 database, copied to ``path``."""
    shutil.copyfile(PINNED_DB, path)
    db = load_pinned_fixture()
    db.path = path
    return db


def clone_sessions(path: Path, count: int, *, table: str = TABLE) -> dict[str, tuple[int, int]]:
    """Fill ``path`` (a copy of the pinned database) with ``count`` sessions cloned
    from agno's three, each with its own session and run ids. Returns
    (runs, messages) per session id."""
    con = sqlite3.connect(path)
    try:
        con.row_factory = sqlite3.Row
        originals = [dict(r) for r in con.execute(f'SELECT * FROM "{table}"')]
        con.execute(f'DELETE FROM "{table}"')
        expected: dict[str, tuple[int, int]] = {}
        for i in range(count):
            row = dict(originals[i % len(originals)])
            sid = f"clone-{i:05d}"
            memory = json.loads(row["memory"])
            for n, run in enumerate(memory["runs"]):
                run["run_id"] = f"{sid}-run-{n}"
                run["session_id"] = sid
            row["memory"] = json.dumps(memory)
            row["session_id"] = sid
            row["created_at"] = 1_700_000_000 + i
            row["updated_at"] = 1_700_000_000 + i + 5
            columns = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            con.execute(f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', list(row.values()))
            runs = memory["runs"]
            expected[sid] = (len(runs), sum(len(r.get("messages") or []) for r in runs))
        con.commit()
    finally:
        con.close()
    return expected


def agno3_read(target: str, *, schema: str | None = None) -> dict[str, Any]:
    """Every session agno 3.1.10's SqliteDb / PostgresDb reads from ``target``."""
    args = [target] + (["--schema", schema] if schema else [])
    result: dict[str, Any] = run_agno3(READER, *args)
    return result


def agno3_continue(
    target: str, session_id: str, prompt: str, *, schema: str | None = None
) -> dict[str, Any]:
    """A real agno 3.1.10 Agent (history on, offline model) runs one more turn."""
    args = [target] + (["--schema", schema] if schema else [])
    result: dict[str, Any] = run_agno3(READER, *args, "--continue", session_id, prompt)
    return result


def assert_agno_reads_back(read: dict[str, Any], db: AgnoDb) -> None:
    """agno 3.x sees every session agno 1.8.4 wrote: runs, inputs, answers, messages, in order."""
    assert set(read) == set(db.sessions)
    for sid, written in db.sessions.items():
        got = read[sid]
        assert got["type"] == "AgentSession"
        assert got["user_id"] == written.user_id
        if written.created_at is not None:
            assert got["created_at"] == written.created_at
        assert [r["run_id"] for r in got["runs"]] == written.run_ids
        assert [r["input"] for r in got["runs"]] == written.prompts
        own = [(m[0], m[1]) for r in got["runs"] for m in r["messages"] if not m[2]]
        assert own == [tuple(m) for m in written.messages]
        answers = [r["content"] for r in got["runs"]]
        last_assistant = []
        for run in got["runs"]:
            said = [m[1] for m in run["messages"] if m[0] == "assistant" and not m[2]]
            last_assistant.append(said[-1])
        assert answers == last_assistant
        assert all(r["status"] == "COMPLETED" for r in got["runs"])
        history = [tuple(m) for m in got["history"]]
        assert history == [tuple(m) for m in written.messages]
        tools = [t for r in got["runs"] for t in r["tools"]]
        assert tools == written.tool_calls


def sqlite_agno_catalog(path: Path) -> dict[str, str]:
    """name -> SQL of agno's session tables and their indexes in a SQLite file."""
    con = sqlite3.connect(path)
    try:
        rows = con.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND "
            "(tbl_name IN ('agno_sessions', 'agno_runs', 'agno_schema_versions', 'agno_memories'))"
        ).fetchall()
    finally:
        con.close()
    return {name: sql for name, sql in rows}


def run_cli(*argv: str) -> tuple[int, str, str]:
    import contextlib
    import io

    from agno_nb.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(list(argv), out=out)
    return code, out.getvalue(), err.getvalue()


def url_of(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path}"


def source_dump(path: Path, table: str = TABLE) -> list[str]:
    """The dump lines of one table (schema and rows), to prove it unchanged."""
    return [line for line in sqlite_dump(path) if f'"{table}"' in line or f" {table} " in line]
