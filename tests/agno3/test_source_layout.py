"""``agno-nb migrate`` finds a source table's layout with the storage's own
detection (``agno_nb.storage.catalog``): every layout v0..v5, the version stamp
matched as the database matches table names (SQLite folds case)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from agno_nb.agno3.source import open_source
from agno_nb.schema import LATEST_VERSION
from agno_nb.sessions import AgentSession
from agno_nb.storage import SqliteStorage


def _storage(path: Path, table: str, version: int) -> SqliteStorage:
    storage = SqliteStorage(table_name=table, db_file=str(path), schema_version=version)
    storage.create()
    run = {"run_id": "r0", "messages": [{"role": "user", "content": "hi"}]}
    storage.upsert(AgentSession(session_id="s", agent_id="a", memory={"runs": [run]}))
    return storage


@pytest.mark.parametrize("version", range(LATEST_VERSION + 1))
def test_source_sees_the_layout_the_storage_sees(tmp_path: Path, version: int) -> None:
    storage = _storage(tmp_path / "x.db", "agent_sessions", version)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        source = open_source(engine, "sqlite", "agent_sessions")
        assert source.version == storage.current_version == version
        with engine.connect() as conn:
            assert source.count(conn) == 1
    finally:
        engine.dispose()
        storage.close()


def test_source_matches_the_stamp_whatever_the_case_of_the_name(tmp_path: Path) -> None:
    """SQLite takes ``Agent_Sessions`` and ``agent_sessions`` for one table, and so
    does the stamp lookup: before, the source read a v5 table as v2."""
    storage = _storage(tmp_path / "x.db", "Agent_Sessions", LATEST_VERSION)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        assert open_source(engine, "sqlite", "agent_sessions").version == LATEST_VERSION
    finally:
        engine.dispose()
        storage.close()
