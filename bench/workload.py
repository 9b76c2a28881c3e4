"""Synthetic sessions in agno 1.8.4's format, and fast bulk loading of them.

Runs look like what agno's ``RunResponse.to_dict()`` stores (content, metrics,
model, run_id, messages with roles, metrics and timestamps). A run is about
2 KB of JSON, so a 3-run session is about 6 KB.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

AGENT_IDS = ("agent-a", "agent-b", "agent-c", "agent-d", "agent-e")
USERS = 100
BASE_TIME = 1_700_000_000
_QUESTION = (
    "Could you summarise the attached quarterly figures and point out anything unusual "
    "in the regional numbers, especially where growth and margin move in opposite directions? "
)
_ANSWER = (
    "Here is a short summary. Revenue grew in most regions while margins narrowed slightly; "
    "the north-east region is the outlier, with strong growth but a clear drop in margin, "
    "mostly explained by one-off logistics costs. Nothing else stands out as unusual. "
)


def make_run(session_id: str, index: int, *, agent_id: str = "agent-a", created_at: int) -> dict:
    """One run dict in agno 1.8.4's stored format (about 2 KB of JSON)."""
    question = f"[{index}] " + _QUESTION
    answer = f"[{index}] " + _ANSWER * 2
    usage = {"input_tokens": 812, "output_tokens": 240, "total_tokens": 1052, "time": 1.84}
    return {
        "content": answer,
        "content_type": "str",
        "metrics": {key: [value] for key, value in usage.items()},
        "model": "gpt-4o-mini",
        "model_provider": "OpenAI",
        "run_id": f"{session_id}-run-{index}",
        "agent_id": agent_id,
        "session_id": session_id,
        "created_at": created_at,
        "status": "RUNNING",
        "messages": [
            {
                "content": question,
                "from_history": False,
                "stop_after_tool_call": False,
                "role": "user",
                "created_at": created_at,
            },
            {
                "content": answer,
                "from_history": False,
                "stop_after_tool_call": False,
                "role": "assistant",
                "metrics": usage,
                "created_at": created_at,
            },
        ],
    }


def session_values(
    n: int, *, runs: int, prefix: str = "s", users: int = USERS, start: int = BASE_TIME
) -> dict[str, Any]:
    """Column values of session number ``n`` (agno's agent table, v1).

    Sessions get increasing ``created_at`` (one second apart), users cycle
    through ``users`` ids and agents through :data:`AGENT_IDS`.
    """
    session_id = f"{prefix}{n:07d}"
    agent_id = AGENT_IDS[n % len(AGENT_IDS)]
    created = start + n
    return {
        "session_id": session_id,
        "user_id": f"user-{n % users:03d}",
        "agent_id": agent_id,
        "team_session_id": None,
        "memory": {
            "runs": [
                make_run(session_id, i, agent_id=agent_id, created_at=created) for i in range(runs)
            ],
            "summaries": {},
            "memories": {},
        },
        "agent_data": {"agent_id": agent_id, "model": {"id": "gpt-4o-mini", "provider": "OpenAI"}},
        "session_data": {"session_state": {"current_user_id": f"user-{n % users:03d}"}},
        "extra_data": None,
        "created_at": created,
        "updated_at": created,
    }


def session_json_bytes(values: dict[str, Any]) -> int:
    """Size of the JSON columns of one session (what the "~6 KB" refers to)."""
    return sum(
        len(json.dumps(values[c]))
        for c in ("memory", "session_data", "extra_data", "agent_data")
        if values[c] is not None
    )


def batches(
    total: int, *, runs: int, prefix: str = "s", size: int = 2000
) -> Iterator[list[dict[str, Any]]]:
    """Session values ``0..total-1`` in lists of ``size``."""
    for start in range(0, total, size):
        stop = min(total, start + size)
        yield [session_values(n, runs=runs, prefix=prefix) for n in range(start, stop)]


def bulk_insert_sqlalchemy(engine: Any, table: Any, total: int, *, runs: int) -> None:
    """Insert ``total`` agno-format sessions into ``table`` in one transaction.

    ``table`` is a SQLAlchemy Table with agno's v1 columns (its JSON types
    encode the dicts exactly as agno's storage does).
    """
    with engine.begin() as conn:
        for rows in batches(total, runs=runs):
            conn.execute(table.insert(), rows)


def bulk_insert_duckdb(engine: Any, table: str, total: int, *, runs: int) -> None:
    """Insert ``total`` agno-format sessions into a DuckDB v1 table via a DataFrame."""
    import pandas as pd

    json_cols = ("memory", "session_data", "extra_data", "agent_data")
    raw = engine.raw_connection()
    try:
        con = raw.driver_connection
        for rows in batches(total, runs=runs, size=10_000):
            frame = pd.DataFrame(
                [
                    {
                        k: (json.dumps(v) if k in json_cols and v is not None else v)
                        for k, v in r.items()
                    }
                    for r in rows
                ]
            )
            con.register("bench_rows", frame)
            cols = ", ".join(f'"{c}"' for c in frame.columns)
            con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM bench_rows')
            con.unregister("bench_rows")
        raw.commit()
    finally:
        raw.close()
