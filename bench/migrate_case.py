"""``agno-nb migrate`` beside agno's own ``agno.db.migrations.v1_to_v2.migrate`` on
the same agno 1.x table: time, and what each kept (sessions, runs, messages).

agno 3.1.10 runs in its own virtualenv (``AGNO_NB_AGNO3_PYTHON``, as in the
tests); without it agno's side is left out and the line says so. SQLite only:
both migrate a copy of the same file, into that file (agno's default).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench.cases_speed import timed
from bench.peers import Place
from bench.workload import session_values

AGNO_SIDE = r"""
import json, os, sqlite3, sys, time
os.environ["AGNO_TELEMETRY"] = "false"
import logging
from agno.db.sqlite import SqliteDb
from agno.db.migrations.v1_to_v2 import migrate
path = sys.argv[1]
db = SqliteDb(db_file=path)
start = time.perf_counter()
migrate(db, v1_db_schema="", agent_sessions_table_name="agent_sessions")
elapsed = time.perf_counter() - start
con = sqlite3.connect(path)
tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
sessions = con.execute("SELECT count(*) FROM agno_sessions").fetchone()[0]
runs = messages = 0
if "agno_runs" in tables:
    runs, messages = con.execute(
        "SELECT count(*), coalesce(sum(json_array_length(run_data, '$.messages')), 0) "
        "FROM agno_runs").fetchone()
kept_created = con.execute(
    "SELECT count(*) FROM agno_sessions s JOIN agent_sessions a USING (session_id) "
    "WHERE s.created_at = a.created_at").fetchone()[0]
print(json.dumps({"seconds": elapsed, "sessions": sessions, "runs": runs,
                  "messages": messages, "created_at_kept": kept_created}))
"""


def build_source(path: Path, total: int) -> tuple[int, int]:
    """An agno 1.8.4 agent table of ``total`` sessions of 2 or 3 runs (agno's own
    Table encodes the rows). Returns (runs, messages)."""
    from agno.storage.sqlite import SqliteStorage

    storage = SqliteStorage(table_name="agent_sessions", db_file=str(path))
    runs = messages = 0
    try:
        storage.create()
        with storage.db_engine.begin() as conn:
            for three in (False, True):  # even sessions get 2 runs, odd ones 3
                rows = []
                for n in range(int(three), total, 2):
                    values = session_values(n, runs=3 if three else 2)
                    rows.append(values)
                    runs += len(values["memory"]["runs"])
                    messages += sum(len(r["messages"]) for r in values["memory"]["runs"])
                    if len(rows) == 2000:
                        conn.execute(storage.table.insert(), rows)
                        rows = []
                if rows:
                    conn.execute(storage.table.insert(), rows)
    finally:
        storage.db_engine.dispose()
    return runs, messages


def agno_side(path: Path) -> dict[str, Any] | None:
    """agno 3.1.10's own migration of ``path`` (None without its virtualenv)."""
    python = os.environ.get("AGNO_NB_AGNO3_PYTHON", "")
    if not python or not Path(python).is_file():
        return None
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    done = subprocess.run(
        [python, "-c", AGNO_SIDE, str(path)],
        capture_output=True,
        text=True,
        timeout=3600,
        env=env,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def case_migrate(place: Place, sizes: Any, agno: bool) -> list[Any]:
    """Migrate 20,000 agno 1.x sessions of 2-3 runs into agno 3.x tables: sessions/s."""
    from agno_nb.agno3 import migrate
    from bench.cases import Figure

    if place.backend != "sqlite":
        return []
    total = sizes.upgrade_total
    source = place.folder / "migrate_source.db"
    runs, messages = build_source(source, total)
    ours_file, agno_file = place.folder / "migrate_ours.db", place.folder / "migrate_agno.db"
    shutil.copyfile(source, ours_file)
    shutil.copyfile(source, agno_file)
    timing, report = timed(lambda: migrate(f"sqlite:///{ours_file}"))
    elapsed, cpu = timing.wall, timing.cpu
    table = report.tables[0]
    kept = (table.target_sessions, table.target_runs, table.target_messages)
    problems = []
    if kept != (total, runs, messages):
        problems.append(f"kept {kept}, expected {(total, runs, messages)}")
    theirs = agno_side(agno_file) if agno else None
    detail = (
        f"source {total:,} sessions / {runs:,} runs / {messages:,} messages; agno_nb "
        f"{timing.split()} ({total / cpu:,.0f} sessions/s of CPU), kept "
        f"{kept[0]:,} / {kept[1]:,} / {kept[2]:,}, created_at kept"
    )
    if theirs is None:
        detail += "; agno 3.1.10 not run (set AGNO_NB_AGNO3_PYTHON)"
        agno_rate = None
    else:
        agno_rate = total / theirs["seconds"] if theirs["seconds"] else None
        detail += (
            f"; agno 3.1.10's migrate {theirs['seconds']:.1f} s, kept {theirs['sessions']:,} / "
            f"{theirs['runs']:,} / {theirs['messages']:,}, created_at kept for "
            f"{theirs['created_at_kept']:,}"
        )
    ours_rate = total / elapsed
    for path in (source, ours_file, agno_file):
        path.unlink(missing_ok=True)
    return [
        Figure(
            "migrate_agno3",
            f"migrate {total:,} agno 1.x sessions (2-3 runs) to agno 3.x tables",
            "sessions/s",
            ours=ours_rate,
            agno=agno_rate,
            ratio=None if agno_rate is None else ours_rate / agno_rate,
            target=">= 2,000 sessions/s",
            note="; ".join(problems),
            detail=detail,
            extra={
                "seconds": elapsed,
                "cpu_seconds": cpu,
                "waiting_for_cpu_seconds": timing.waiting,
                "blocked_seconds": timing.blocked,
                "kept": kept,
                "agno": theirs,
            },
        )
    ]
