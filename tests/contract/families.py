"""The table-layout families the contract suite runs on, and how each is filled.

agno_nb's own family is filled through ``storage.upsert``. agno 2.x/3.x's tables
are filled the way agno writes them (``tests/agno3_tables.py``: a 3.x session
table + runs table, a 2.x ``runs`` column encoded twice, and a 2.x table
continued by 3.x), while every read, the rename and the delete go through
agno_nb's agno 2.x/3.x family. agno keeps no sessions in DuckDB.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from agno_nb.sessions import AgentSession
from agno_nb.storage import PostgresStorage, SqliteStorage
from tests.agno3_tables import KINDS, write_agno
from tests.conftest import postgres_url

#: (family id, agno kind or None for agno_nb's own tables)
FAMILIES = [("agno_nb", None)] + [(f"agno-{kind}", kind) for kind in KINDS]
#: Backends agno writes its tables on.
AGNO_BACKENDS = ("sqlite", "postgres")


class AgnoWritten:
    """A storage on agno's tables whose ``upsert`` writes as agno would (test side)."""

    def __init__(self, storage: Any, kind: str) -> None:
        self._storage = storage
        self._kind = kind

    def upsert(self, session: Any) -> Any:
        s = self._storage
        write_agno(s.db_engine, s.table_name, [session], kind=self._kind, schema=s.schema)
        return session

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


def agno_storage(kind: str, backend: str, tmp_path: Path, pg_schema: str) -> AgnoWritten:
    """A storage on fresh agno tables of ``kind`` (its tables exist, no sessions)."""
    table = f"a{uuid.uuid4().hex[:8]}_sessions"
    made: Any
    if backend == "sqlite":
        made = SqliteStorage(table, db_file=tmp_path / "agno.db")
    else:
        made = PostgresStorage(table, db_url=postgres_url(), schema=pg_schema)
        with made.db_engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{pg_schema}"')
    wrapped = AgnoWritten(made, kind)
    marker = AgentSession(session_id="__marker__", agent_id="x", memory={"runs": []})
    wrapped.upsert(marker)  # the tables exist before the first read
    made.delete_session("__marker__")
    return wrapped
