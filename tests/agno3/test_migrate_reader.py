"""Issue 11, item 7: after ``migrate()`` agno_nb's own reader shows the same sessions,
runs, inputs, answers and messages in agno 3.x's ``agno_sessions`` as it shows in the
agno 1.x source (agno 1.8.4's pinned database, and a table agno_nb wrote itself), on
SQLite and Postgres. History copies stay marked as copies, so counts match too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from agno_nb.agent import Agent
from agno_nb.agno3 import migrate
from agno_nb.models import OfflineModel
from agno_nb.schema import LATEST_VERSION
from agno_nb.sessions import Run, content_text
from agno_nb.storage import PostgresStorage, open_storage
from tests.conftest import require_postgres
from tests.migrate_helpers import TABLE, pinned_copy, url_of

pytestmark = pytest.mark.filterwarnings("ignore:The Column.copy\\(\\) method is deprecated")

OURS = "notes"  # the table agno_nb's own Agent writes (layout v3, and the latest)


def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: the first.
        b: the second.
    """
    return a + b


def write_with_agno_nb(storage: Any) -> None:
    """Two agno_nb sessions: one with history and a tool call, one renamed."""
    first = Agent(
        model=OfflineModel(),
        session_id="nb-s0",
        user_id="carol",
        storage=storage,
        add_history_to_messages=True,
        tools=[add],
    )
    first.run("hello from agno_nb — naïve 東京")
    first.run("please add 2 and 40")
    first.run("what did I ask first?")
    second = Agent(model=OfflineModel(), session_id="nb-s1", user_id="dave", storage=storage)
    second.run("a single question")
    second.rename_session("Dave's chat")


def message_view(run: Run) -> list[tuple[str, str, bool, list[str], str | None]]:
    return [
        (
            m.role,
            m.text,
            m.from_history,
            [str((c.get("function") or {}).get("name")) for c in m.tool_calls or []],
            m.tool_call_id,
        )
        for m in run.messages
    ]


def run_view(run: Run) -> dict[str, Any]:
    """What a reader shows of one run: id, question, answer, every message."""
    user = run.user_message
    return {
        "run_id": run.run_id,
        "input": user.text if user else None,
        "answer": content_text(run.content),
        "messages": message_view(run),
        "new": len(run.new_messages()),
    }


def reader_view(storage: Any) -> dict[str, Any]:
    """Everything agno_nb's reader shows: the listing, each session, its runs, messages_df."""
    listing = storage.list_sessions(limit=None)
    view: dict[str, Any] = {
        "listing": [
            (
                s.session_id,
                s.user_id,
                s.entity_id,
                s.session_name,
                s.run_count,
                s.message_count,
                s.preview,
                s.title,
                s.error,
            )
            for s in listing
        ]
    }
    for summary in listing:
        sid = summary.session_id
        session = storage.read(sid)
        assert session is not None
        view[sid] = {
            "user_id": session.user_id,
            "name": session.session_name,
            "state": session.session_state,
            "entity": session.entity_id,
            "created_at": session.created_at,
            "runs": [run_view(r) for r in session.runs],
            "messages": [(m.role, m.text) for m in session.messages()],
            "get_runs": [run_view(Run.from_dict(r)) for r in storage.get_runs(sid)],
            "count_runs": storage.count_runs(sid),
        }
    frame = storage.messages_df()
    view["messages_df"] = frame.drop(columns=["created_at"], errors="ignore").to_dict("records")
    return view


def assert_same_view(source: Any, target: Any, expected_ids: set[str]) -> dict[str, Any]:
    before, after = reader_view(source), reader_view(target)
    assert {row[0] for row in before["listing"]} == expected_ids
    for sid in expected_ids:
        assert after[sid] == before[sid], sid
    listed_after = [row for row in after["listing"] if row[0] in expected_ids]
    assert sorted(listed_after) == sorted(before["listing"])
    rows_after = [r for r in after["messages_df"] if r["session_id"] in expected_ids]
    assert rows_after == before["messages_df"] != []
    return before


def check_sources(sources: list[Any], target: Any) -> None:
    seen: set[str] = set()
    for source in sources:
        ids = {s.session_id for s in source.list_sessions(limit=None)}
        view = assert_same_view(source, target, ids)
        assert all(view[sid]["runs"] for sid in ids)  # something was compared
        seen |= ids
    assert {s.session_id for s in target.list_sessions(limit=None)} == seen


def _history_and_tools_compared(view: dict[str, Any]) -> None:
    messages = [m for r in view["runs"] for m in r["messages"]]
    assert any(m[2] for m in messages)  # history copies are there, marked as copies
    assert any(m[3] == ["add"] for m in messages)  # the tool call
    assert any(m[0] == "tool" and m[4] for m in messages)  # its result, with the call id


@pytest.mark.parametrize("version", [3, LATEST_VERSION])
def test_sqlite_target_reads_like_the_sources(tmp_path: Path, version: int) -> None:
    path = tmp_path / "agno.db"
    pinned_copy(path)
    url = url_of(path)
    ours = open_storage(url, table_name=OURS, schema_version=version)
    write_with_agno_nb(ours)
    assert ours.current_version == version
    agno1 = open_storage(url)
    report = migrate(url, tables=(TABLE, OURS))
    assert report.ok
    target = open_storage(url, table_name="agno_sessions")
    try:
        check_sources([agno1, ours], target)
        _history_and_tools_compared(reader_view(target)["nb-s0"])
        _history_and_tools_compared(reader_view(target)["agno-s1"])
        assert target.read("nb-s1").session_name == "Dave's chat"
    finally:
        for storage in (ours, agno1, target):
            storage.close()


@pytest.mark.parametrize("version", [3, LATEST_VERSION])
def test_postgres_target_reads_like_the_sources(pg_schema: str, version: int) -> None:
    url = require_postgres()
    from agno.storage.postgres import PostgresStorage as AgnoPostgresStorage

    from tests.agno_fixtures import fill_agno_storage

    source_schema, target_schema = pg_schema + "_src", pg_schema + "_ai"
    agno_storage = AgnoPostgresStorage(table_name=TABLE, schema=source_schema, db_url=url)
    fill_agno_storage(agno_storage, sessions=3, runs_per_session=2)
    agno_storage.db_engine.dispose()
    ours = PostgresStorage(OURS, db_url=url, schema=source_schema, schema_version=version)
    agno1 = PostgresStorage(TABLE, db_url=url, schema=source_schema)
    target = PostgresStorage("agno_sessions", db_url=url, schema=target_schema)
    engine = sa.create_engine(url)
    try:
        write_with_agno_nb(ours)
        assert ours.current_version == version
        report = migrate(
            url, schema=source_schema, target_schema=target_schema, tables=(TABLE, OURS)
        )
        assert report.ok
        check_sources([agno1, ours], target)
        _history_and_tools_compared(reader_view(target)["nb-s0"])
    finally:
        for storage in (ours, agno1, target):
            storage.close()
        with engine.begin() as conn:
            for name in (source_schema, target_schema):
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        engine.dispose()
