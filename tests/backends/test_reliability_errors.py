"""Raw or misleading errors (issue 14, defect 13, in part).

- a name with a trailing newline is not a plain identifier;
- a full SQLite database (its ``max_page_count`` reached: SQLITE_FULL, as on a
  full disk) is one clear line, and nothing of the failed call is saved;
- negative ``limit``/``offset`` are refused on every backend and paged call;
- an upgrade step that fails raises MigrationError and leaves the table as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from agno_nb.errors import (
    InvalidArgumentError,
    InvalidNameError,
    MigrationError,
    StorageFullError,
    TableMissingError,
)
from agno_nb.schema import LATEST_VERSION, check_identifier
from agno_nb.sessions import AgentSession
from agno_nb.storage import SqliteStorage


@pytest.mark.parametrize("name", ["t\n", "t\r\n", "\nt", "t\x00", "t ", "t;", "t\u0430"])
def test_identifier_check_takes_the_whole_name(name: str) -> None:
    """The plain-identifier check (agno 3.x's target schema of a migration)."""
    with pytest.raises(InvalidNameError):
        check_identifier(name)
    assert check_identifier("t_1") == "t_1"


@pytest.mark.parametrize("name", ["t\n", "t\r\n", "\nt", "t\x00", "t ", "\u2028t"])
def test_table_name_check_takes_the_whole_name(name: str) -> None:
    """A storage takes any name the database takes quoted (``t;``, ``t`` and a
    Cyrillic letter), but never a line break, NUL or spaces around it."""
    with pytest.raises(InvalidNameError):
        SqliteStorage(name)
    for taken in ("t;", "t\u0430", "agent-sessions"):
        assert SqliteStorage(taken).table_name == taken


def _full_engine(path: Path, pages: int) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _limit(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    return engine


@pytest.mark.parametrize("schema_version", [1, None])
def test_sqlite_full_is_one_line_and_saves_nothing(
    tmp_path: Path, schema_version: int | None
) -> None:
    path = tmp_path / "full.db"
    SqliteStorage("t", db_file=path, schema_version=schema_version).create()
    storage = SqliteStorage("t", db_engine=_full_engine(path, 60), schema_version=schema_version)
    big = {"runs": [{"run_id": "r", "messages": [{"role": "user", "content": "x" * 3000}]}]}
    saved: list[str] = []
    with pytest.raises(StorageFullError) as info:
        for i in range(200):
            storage.upsert(AgentSession(session_id=f"s{i:03d}", memory=big))
            saved.append(f"s{i:03d}")
    message = str(info.value)
    assert "is full" in message and "nothing of this call was saved" in message
    assert "\n" not in message
    assert saved, "the first sessions fit"
    failed = f"s{len(saved):03d}"
    assert storage.read(failed) is None
    assert sorted(storage.get_all_session_ids()) == saved
    assert storage.read(saved[-1]) is not None
    with pytest.raises(StorageFullError):  # the general (not the fast) path says the same
        storage.upsert_many([AgentSession(session_id=f"b{i}", memory=big) for i in range(5)])
    assert sorted(storage.get_all_session_ids()) == saved
    storage.db_engine.dispose()


PAGED: list[tuple[str, Callable[[Any], Any]]] = [
    ("list_sessions limit", lambda s: s.list_sessions(limit=-1)),
    ("list_sessions offset", lambda s: s.list_sessions(offset=-1)),
    ("list_sessions offset None", lambda s: s.list_sessions(offset=None)),
    ("get_recent_sessions", lambda s: s.get_recent_sessions(limit=-2)),
    ("get_runs limit", lambda s: s.get_runs("a", limit=-1)),
    ("get_runs offset", lambda s: s.get_runs("a", offset=-3)),
    ("sessions_df", lambda s: s.sessions_df(limit=-1)),
    ("messages_df", lambda s: s.messages_df(limit=-1)),
    ("list_sessions float", lambda s: s.list_sessions(limit=2.5)),
]


@pytest.mark.parametrize("schema_version", [1, None])
@pytest.mark.parametrize("call", [c for _, c in PAGED], ids=[n for n, _ in PAGED])
def test_negative_page_arguments_are_refused(
    make_storage: Callable[..., Any], schema_version: int | None, call: Callable[[Any], Any]
) -> None:
    storage = make_storage(schema_version=schema_version)
    storage.upsert(AgentSession(session_id="a", memory={"runs": [{"run_id": "r"}]}))
    with pytest.raises(InvalidArgumentError) as info:
        call(storage)
    assert "0 or more" in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)
    assert storage.list_sessions(limit=0) == []
    assert len(storage.get_runs("a", limit=1, offset=0)) == 1


def test_failed_upgrade_step_raises_migration_error(make_storage: Callable[..., Any]) -> None:
    storage = make_storage(schema_version=1)
    storage.upsert(AgentSession(session_id="a", memory={"runs": [{"run_id": "r"}]}))
    # a leftover table in the way of the step that creates the runs table
    with storage.db_engine.begin() as conn:
        table = sa.Table(
            storage.table_name + "_runs",
            sa.MetaData(),
            sa.Column("unrelated", sa.Integer),
            schema=storage.schema,
        )
        table.create(conn)
    with pytest.raises(MigrationError) as info:
        storage.upgrade_schema()
    message = str(info.value)
    assert f"to layout v{2}" in message and "stays at v1" in message
    assert "\n" not in message
    assert storage.current_version == 1
    session = storage.read("a")
    assert session is not None and [r["run_id"] for r in session.run_dicts] == ["r"]
    with storage.db_engine.begin() as conn:
        table.drop(conn)
    assert storage.upgrade_schema().applied
    assert storage.current_version == LATEST_VERSION
    assert [r["run_id"] for r in storage.get_runs("a")] == ["r"]


def test_table_dropped_under_an_open_storage(make_storage: Callable[..., Any]) -> None:
    storage = make_storage()
    storage.upsert(AgentSession(session_id="a"))
    with storage.db_engine.begin() as conn:
        sa.Table(storage.table_name, sa.MetaData(), schema=storage.schema).drop(conn)
    with pytest.raises(TableMissingError) as info:
        storage.read("a")
    message = str(info.value)
    assert "another process dropped it" in message and "\n" not in message
    assert storage.read("a") is None  # looked up again: no table, no session
    storage.upsert(AgentSession(session_id="b"))  # a write creates it again
    assert storage.get_all_session_ids() == ["b"]
