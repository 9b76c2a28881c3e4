"""Small sessions and SQL helpers that the contract suite's bad-input and
integrity tests share."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from agno_nb.sessions import AgentSession
from agno_nb.storage import BaseStorage


def make_run(n: int) -> dict[str, Any]:
    """A two-message run with an id, an answer and a creation time."""
    return {
        "run_id": f"run-{n}",
        "content": f"answer {n}",
        "created_at": 1_700_000_000 + n,
        "messages": [
            {"role": "user", "content": f"question {n}"},
            {"role": "assistant", "content": f"answer {n}"},
        ],
    }


def make_session(sid: str, runs: int = 2, **kw: Any) -> AgentSession:
    """An agent session of ``runs`` runs whose memory also keeps a summary."""
    kw.setdefault("memory", {"runs": [make_run(i) for i in range(runs)], "summary": "kept"})
    return AgentSession(
        session_id=sid,
        user_id="alice",
        agent_id="agent-1",
        session_data={"session_name": f"name of {sid}"},
        created_at=1_700_000_000,
        **kw,
    )


def one_line(exc: BaseException) -> str:
    """The error's message, checked to be one non-empty line."""
    text = str(exc)
    assert text and "\n" not in text, repr(text)
    return text


def execute(storage: BaseStorage, sql: str, **params: Any) -> None:
    """Run raw SQL on the storage's database, as another program would."""
    with storage.db_engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def qualified(storage: BaseStorage, name: str | None = None) -> str:
    """The storage's table (or ``name``) quoted and schema-qualified for raw SQL."""
    prep = storage.db_engine.dialect.identifier_preparer
    table = prep.quote(name or storage.table_name)
    return f"{prep.quote_schema(storage.schema)}.{table}" if storage.schema else table
