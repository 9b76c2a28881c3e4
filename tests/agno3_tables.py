"""Write agno 2.x / 3.x session tables directly, for tests that need many shapes fast.

``write_agno(engine, table, sessions, kind=..., schema=...)`` writes agno_nb
``Session`` objects the way agno stores them (``tests/fixtures/AGNO_DB_FORMAT.md``):
``kind="3.x"`` a session table plus ``<table>_runs`` (JSON once), ``"2.x"`` the runs in
the session row's ``runs`` column (on SQLite every JSON cell encoded twice, as 2.x
does), ``"mixed"`` a 2.x table continued by 3.x (the session's first half of runs in
the ``runs`` column, encoded twice, and every run also in the runs table, as agno's
migration leaves them, plus the second half only there). One difference from agno's
DDL: the runs table's key is (session_id, run_id), not run_id alone, so the
conformance suite's run ids (``run-0`` in every session) fit. Fixtures written by agno
itself live in ``tests/fixtures``; this helper is for the conformance suite and for
sizes (a 1,000-run session) those files do not have.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

KINDS = ("3.x", "2.x", "mixed")
_JSON = ("session_data", "agent_data", "team_data", "workflow_data", "metadata", "summary")


def _ddl(table: str, runs: str, *, pg: bool, legacy: bool) -> list[str]:
    j = "JSONB" if pg else "JSON"
    legacy_col = f"runs {j}, " if legacy else ""
    return [
        f"CREATE TABLE {table} (session_id VARCHAR NOT NULL PRIMARY KEY, "
        "session_type VARCHAR NOT NULL, agent_id VARCHAR, team_id VARCHAR, "
        f"workflow_id VARCHAR, user_id VARCHAR, session_data {j}, agent_data {j}, "
        f"team_data {j}, workflow_data {j}, metadata {j}, {legacy_col}summary {j}, "
        "created_at BIGINT NOT NULL, updated_at BIGINT)",
        f"CREATE TABLE {runs} (run_id VARCHAR NOT NULL, "
        "session_id VARCHAR NOT NULL, run_type VARCHAR NOT NULL, agent_id VARCHAR, "
        "team_id VARCHAR, workflow_id VARCHAR, user_id VARCHAR, parent_run_id VARCHAR, "
        f"status VARCHAR, run_index BIGINT, run_data {j} NOT NULL, "
        "created_at BIGINT NOT NULL, updated_at BIGINT, PRIMARY KEY (session_id, run_id))",
        f"CREATE INDEX {runs.replace('.', '_')}_sid ON {runs} (session_id, run_index)",
    ]


def _cell(value: Any, times: int, pg: bool) -> Any:
    if times == 0:
        return None
    text = json.dumps(value)
    for _ in range(times - 1):
        text = json.dumps(text)
    return text


def write_agno(
    engine: Engine,
    table: str,
    sessions: Sequence[Any],
    *,
    kind: str = "3.x",
    schema: str | None = None,
    double: bool | None = None,
) -> None:
    """Create agno's tables (first call) and write ``sessions`` into them.

    ``double`` encodes the session's JSON twice (default: on SQLite for ``2.x``).
    """
    pg = engine.dialect.name == "postgresql"
    legacy = kind in ("2.x", "mixed")
    qualified = f"{schema}.{table}" if schema else table
    runs_name = "agno_runs" if table == "agno_sessions" else f"{table}_runs"
    runs = f"{schema}.{runs_name}" if schema else runs_name
    times = 2 if (double if double is not None else kind == "2.x" and not pg) else 1
    blob_times = 1 if pg else 2
    cast = "CAST(:{} AS JSONB)" if pg else ":{}"
    with engine.begin() as conn:
        inspector = sa.inspect(conn)
        session_ddl, *runs_ddl = _ddl(qualified, runs, pg=pg, legacy=legacy)
        if not inspector.has_table(table, schema=schema):
            conn.exec_driver_sql(session_ddl)
        if not inspector.has_table(runs_name, schema=schema):
            for statement in runs_ddl:
                conn.exec_driver_sql(statement)
        for session in sessions:
            mode = type(session).mode
            run_list = list(session.run_dicts)
            now = int(time.time())
            row: dict[str, Any] = {
                "session_id": session.session_id,
                "session_type": mode,
                "agent_id": getattr(session, "agent_id", None),
                "team_id": getattr(session, "team_id", None),
                "workflow_id": getattr(session, "workflow_id", None),
                "user_id": session.user_id,
                "session_data": _cell(session.session_data, times, pg),
                "agent_data": _cell(getattr(session, "agent_data", None), times, pg),
                "team_data": None,
                "workflow_data": None,
                "metadata": _cell(session.extra_data, times, pg),
                "summary": _cell(None, 1, pg),
                "created_at": session.created_at or now,
                "updated_at": session.updated_at or session.created_at or now,
            }
            in_table = run_list
            if legacy:
                cut = len(run_list) if kind == "2.x" else (len(run_list) + 1) // 2
                row["runs"] = _cell(run_list[:cut], blob_times, pg) if cut else None
                in_table = [] if kind == "2.x" else run_list
            columns = list(row)
            values = ", ".join(
                cast.format(c) if c in (*_JSON, "runs") and row[c] is not None else f":{c}"
                for c in columns
            )
            conn.execute(
                sa.text(f"INSERT INTO {qualified} ({', '.join(columns)}) VALUES ({values})"),
                row,
            )
            for index, run in enumerate(in_table):
                conn.execute(
                    sa.text(
                        f"INSERT INTO {runs} (run_id, session_id, run_type, agent_id, user_id, "
                        "status, run_index, run_data, created_at, updated_at) VALUES (:rid, "
                        f":sid, :type, :agent, :user, 'COMPLETED', :idx, {cast.format('data')}, "
                        ":created, :created)"
                    ),
                    {
                        "rid": run.get("run_id") or f"{session.session_id}-{index}",
                        "sid": session.session_id,
                        "type": mode,
                        "agent": getattr(session, "agent_id", None),
                        "user": session.user_id,
                        "idx": index,
                        "data": json.dumps(run),
                        "created": run.get("created_at") or now,
                    },
                )
