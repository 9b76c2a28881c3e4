"""One timed run of a write figure, for A/B runs of two builds back to back.

``python bench/ab_speed.py upsert|upgrade|migrate [--sessions N] [--dir DIR]``
measures the agno_nb that the running interpreter imports (each build has its
own virtualenv), so two builds can be compared by running this file with each
build's python in turn, interleaved. It prints one JSON line: wall seconds
(``time.perf_counter``) and CPU seconds of this process (``time.process_time``),
and the rate in sessions/s for both. Only agno_nb's public API is used, so it
runs on older builds too (``migrate`` needs ``agno_nb.agno3``).

- ``upsert``: ``--sessions`` (default 1,500) new sessions of 3 runs (~6 KB),
  each by its own ``upsert()``, into a new SQLite file at the latest layout.
- ``upgrade``: an agno 1.8.4 agent table of ``--sessions`` (default 5,000)
  sessions of 3 runs, written through agno's own Table, then
  ``upgrade_schema()`` to the build's latest layout.
- ``migrate``: the bench's agno 1.x source (``--sessions``, default 20,000, of
  2-3 runs) migrated into agno 3.x tables by ``agno_nb.agno3.migrate()``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: this folder is sys.path[0]
    from workload import session_values  # type: ignore[import-not-found]
else:
    from bench.workload import session_values

os.environ.setdefault("AGNO_TELEMETRY", "false")


def _timed(fn: Any) -> tuple[float, float, Any]:
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - start, time.process_time() - cpu, result


def run_upsert(folder: Path, total: int) -> dict[str, Any]:
    """``total`` new 3-run sessions, one ``upsert()`` each, on SQLite."""
    from agno_nb.sessions import AgentSession
    from agno_nb.storage import SqliteStorage

    storage = SqliteStorage("ab_upsert", db_file=str(folder / "upsert.db"))
    storage.create()
    values = [session_values(n, runs=3, prefix="u") for n in range(total)]
    sessions = [
        AgentSession(**{k: v for k, v in vals.items() if k not in ("created_at", "updated_at")})
        for vals in values
    ]
    storage.upsert(AgentSession(session_id="warm", memory={"runs": []}))

    def write() -> int:
        for session in sessions:
            storage.upsert(session)
        return len(sessions)

    try:
        wall, cpu, _ = _timed(write)
        count = storage.count_sessions()
    finally:
        storage.close()
    return {"wall": wall, "cpu": cpu, "ok": count == total + 1}


def load_v1(path: Path, table: str, total: int) -> None:
    """An agno 1.8.4 agent table of ``total`` 3-run sessions (agno's Table encodes)."""
    from agno.storage.sqlite import SqliteStorage as AgnoSqlite

    agno = AgnoSqlite(table_name=table, db_file=str(path))
    try:
        agno.create()
        with agno.db_engine.begin() as conn:
            for start in range(0, total, 2000):
                rows = [session_values(n, runs=3) for n in range(start, min(total, start + 2000))]
                conn.execute(agno.table.insert(), rows)
    finally:
        agno.db_engine.dispose()


def run_upgrade(folder: Path, total: int) -> dict[str, Any]:
    """``upgrade_schema()`` of an agno 1.8.4 table of ``total`` 3-run sessions."""
    from agno_nb.storage import SqliteStorage

    path = folder / "upgrade.db"
    load_v1(path, "ab_upgrade", total)
    storage = SqliteStorage("ab_upgrade", db_file=str(path))
    try:
        wall, cpu, plan = _timed(storage.upgrade_schema)
        ok = plan.sessions_migrated == total and storage.count_runs("s0000000") == 3
        version = storage.current_version
    finally:
        storage.close()
    return {"wall": wall, "cpu": cpu, "ok": ok, "version": version}


def run_migrate(folder: Path, total: int) -> dict[str, Any]:
    """``agno_nb.agno3.migrate()`` of the bench's agno 1.x source table."""
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from agno_nb.agno3 import migrate
    from bench.migrate_case import build_source

    path = folder / "migrate.db"
    runs, messages = build_source(path, total)
    wall, cpu, report = _timed(lambda: migrate(f"sqlite:///{path}"))
    table = report.tables[0]
    kept = (table.target_sessions, table.target_runs, table.target_messages)
    return {"wall": wall, "cpu": cpu, "ok": kept == (total, runs, messages)}


FIGURES = {
    "upsert": (run_upsert, 1500),
    "upgrade": (run_upgrade, 5000),
    "migrate": (run_migrate, 20000),
}


def main(argv: list[str] | None = None) -> int:
    """Run one figure once and print it as a JSON line."""
    parser = argparse.ArgumentParser(prog="bench/ab_speed.py", description=__doc__)
    parser.add_argument("figure", choices=sorted(FIGURES))
    parser.add_argument("--sessions", type=int)
    parser.add_argument("--dir", help="folder for the database files (default: a temp dir)")
    args = parser.parse_args(argv)
    fn, default = FIGURES[args.figure]
    total = args.sessions or default
    import agno_nb

    with tempfile.TemporaryDirectory(prefix="agno_nb_ab_", dir=args.dir) as tmp:
        result = fn(Path(tmp), total)
    result.update(
        figure=args.figure,
        sessions=total,
        build=str(Path(agno_nb.__file__).resolve().parent.parent),
        wall_rate=total / result["wall"],
        cpu_rate=total / result["cpu"],
    )
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
