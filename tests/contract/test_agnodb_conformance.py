"""The read side of the storage conformance suite, on agno 2.x / 3.x tables.

The tests below are ``tests/contract/test_storage.py``'s own, collected again here with a
``storage`` whose ``upsert`` writes the sessions the way agno does
(``tests/agno3_tables.py``: a 3.x session table + runs table, a 2.x ``runs`` column
encoded twice, and a 2.x table continued by 3.x), while every read, the rename and
the delete go through agno_nb's agno 2.x/3.x family. SQLite and Postgres (agno keeps
no sessions in DuckDB).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agno_nb.storage import PostgresStorage, SqliteStorage
from agno_nb.storage.layouts.agnodb import AgnoDbLayout
from tests.agno3_tables import KINDS, write_agno
from tests.conftest import postgres_url, require_postgres
from tests.contract.test_storage import (  # noqa: F401 - collected here with this module's storage
    test_dataframes,
    test_delete_session,
    test_get_runs_pages,
    test_history_copies_are_not_counted,
    test_list_sessions_pages_and_search,
    test_newest_first_and_filters,
    test_rename,
)


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


@pytest.fixture(params=["sqlite", "postgres"])
def agno_backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        require_postgres()
    return str(request.param)


@pytest.fixture(params=KINDS)
def storage(
    request: pytest.FixtureRequest, agno_backend: str, tmp_path: Path, pg_schema: str
) -> Iterator[AgnoWritten]:
    table = f"a{uuid.uuid4().hex[:8]}_sessions"
    made: Any
    if agno_backend == "sqlite":
        made = SqliteStorage(table, db_file=tmp_path / "agno.db")
    else:
        made = PostgresStorage(table, db_url=postgres_url(), schema=pg_schema)
        with made.db_engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{pg_schema}"')
    wrapped = AgnoWritten(made, str(request.param))
    wrapped.upsert(_empty_marker())  # the tables exist before the first read
    made.delete_session("__marker__")
    yield wrapped
    made.close()


def _empty_marker() -> Any:
    from agno_nb.sessions import AgentSession

    return AgentSession(session_id="__marker__", agent_id="x", memory={"runs": []})


def test_the_family_in_use_is_agnos(storage: Any) -> None:
    assert isinstance(storage._current(), AgnoDbLayout)
    assert storage.current_version is None
