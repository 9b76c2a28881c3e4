"""The layout-family registry: every layout version has one family, detection
picks it, and a new family plugs in as a module (no change to BaseStorage)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Inspector

from agno_nb.errors import AgnoNbError
from agno_nb.schema import LATEST_VERSION, VERSION_TABLE
from agno_nb.sessions import AgentSession
from agno_nb.storage.layouts import FAMILIES, Layout, layout_for_version, register
from agno_nb.storage.layouts.agno1 import Agno1Layout
from agno_nb.storage.layouts.rows import RowsLayout

REFUSAL = "marked tables are read-only in agno_nb: write them with the marking tool"


def make_session(sid: str) -> AgentSession:
    run = {"run_id": f"{sid}-r0", "messages": [{"role": "user", "content": "hello"}]}
    return AgentSession(
        session_id=sid,
        user_id="u",
        agent_id="a",
        memory={"runs": [run]},
        session_data={"session_name": f"name {sid}"},
    )


def execute(storage: Any, sql: str) -> None:
    table = storage.table_name if not storage.schema else f"{storage.schema}.{storage.table_name}"
    versions = VERSION_TABLE if not storage.schema else f"{storage.schema}.{VERSION_TABLE}"
    with storage.db_engine.begin() as conn:
        conn.execute(sa.text(sql.format(table=table, versions=versions, name=storage.table_name)))


class MarkedLayout(Agno1Layout):
    """A stand-in third family: agno 1.x's table plus a ``marker`` column, unstamped,
    readable and never written by agno_nb."""

    family = "marked"
    versions = ()
    priority = 0

    def __init__(self, storage: Any, version: int | None) -> None:
        super().__init__(storage, 1)
        self.version = None

    @classmethod
    def recognise(
        cls, storage: Any, conn: Connection, inspector: Inspector, columns: set[str]
    ) -> Layout | None:
        return cls(storage, None) if "marker" in columns else None

    def refuse(self, operation: str) -> None:
        if operation != "delete_session":
            raise AgnoNbError(f"{operation}: {REFUSAL}")


@pytest.fixture
def marked_family() -> Iterator[type[Layout]]:
    register(MarkedLayout)
    try:
        yield MarkedLayout
    finally:
        FAMILIES.remove(MarkedLayout)


def test_every_layout_version_has_one_family(storage: Any) -> None:
    owners = {v: [f for f in FAMILIES if v in f.versions] for v in range(LATEST_VERSION + 1)}
    assert all(len(found) == 1 for found in owners.values()), owners
    assert FAMILIES[-1] is Agno1Layout  # the catch-all is asked last
    assert isinstance(layout_for_version(storage, 1), Agno1Layout)
    assert isinstance(layout_for_version(storage, LATEST_VERSION), RowsLayout)


def test_detection_picks_the_family_of_the_table(make_storage: Any) -> None:
    old = make_storage("old", schema_version=1)
    new = make_storage("new")
    for storage in (old, new):
        storage.upsert(make_session("s1"))
    assert type(old._current()) is Agno1Layout and old._current().version == 1
    assert type(new._current()) is RowsLayout and new._current().version == LATEST_VERSION
    assert old.list_sessions()[0].run_count == new.list_sessions()[0].run_count == 1


def test_a_new_family_plugs_in_without_touching_base(
    make_storage: Any, marked_family: type[Layout]
) -> None:
    writer = make_storage("marked", schema_version=1)
    writer.upsert_many([make_session("s1"), make_session("s2")])
    execute(writer, "ALTER TABLE {table} ADD COLUMN marker VARCHAR")
    execute(
        writer, "DELETE FROM {versions} WHERE table_name = '{name}'"
    )  # unstamped: recognised from its columns

    reader = make_storage("marked")
    assert type(reader._current()) is MarkedLayout
    assert reader.current_version is None
    assert sorted(reader.get_all_session_ids()) == ["s1", "s2"]
    assert reader.read("s1") is not None and reader.count_runs("s1") == 1
    for attempt in (
        lambda: reader.upsert(make_session("s3")),
        lambda: reader.append_run("s1", {"run_id": "x"}),
        lambda: reader.rename_session("s1", "new name"),
        reader.upgrade_schema,
    ):
        with pytest.raises(AgnoNbError, match="read-only in agno_nb"):
            attempt()
    assert reader.list_sessions()[1].session_name == "name s1"  # nothing was written
    reader.delete_session("s1")  # the family allows this one
    assert reader.get_all_session_ids() == ["s2"]
