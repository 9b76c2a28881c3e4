"""Table names agno 1.x accepts open, on every backend (issue 21, item 9).

Any name the database takes quoted works: read, write, list, search, upgrade,
drop. Names derived from it (``<table>_runs``, the listing indexes, DuckDB's
sequence) that would pass the 63-byte identifier limit are cut short with a
hash of the whole name, the same every time, and found again when the table is
opened. Only unsafe names are refused, in one line that says what to do."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from agno_nb.errors import InvalidNameError
from agno_nb.schema import (
    LATEST_VERSION,
    MAX_NAME_BYTES,
    derived_name,
    runs_name,
    v2_index_specs,
)
from agno_nb.storage import DuckDbStorage, PostgresStorage, SqliteStorage, open_storage
from tests.conftest import postgres_url
from tests.session_factory import make_run, make_session

#: names agno 1.x (and the database, quoted) accepts; each is used as given
NAMES = {
    "dash": "agent-sessions",
    "longest": "s" * MAX_NAME_BYTES,
    "long": "agent_sessions_of_the_customer_support_team_in_2024_q3_x",  # 56: runs name cut
    "spaces-capitals": "Agent Sessions 2024",
    "sql-looking": "x; drop table y",
    "digit-first": "1abc",
    "reserved": "select",
    "dot": "a.b",
    "quote-dollar-colon": "it's $$ a:b",
    "unicode": "séances_€",
    "unicode-long": "é" * 31,  # 62 bytes
}


def named(make_storage: Any, name: str, **kw: Any) -> Any:
    """A storage on table ``name`` exactly (make_storage prefixes its names)."""
    backend = make_storage.backend
    if backend == "sqlite":
        storage = make_storage(**kw)
        return SqliteStorage(name, db_engine=storage.db_engine, **kw)
    if backend == "duckdb":
        storage = make_storage(**kw)
        return DuckDbStorage(name, db_engine=storage.db_engine, **kw)
    storage = make_storage(**kw)
    # a schema of its own: the long names would collide between tests otherwise
    schema = f"n{uuid.uuid4().hex[:8]}"
    return PostgresStorage(name, db_engine=storage.db_engine, schema=schema, **kw)


def reopen(storage: Any, **kw: Any) -> Any:
    where: dict[str, Any] = {"db_engine": storage.db_engine}
    if storage.backend == "postgres":
        where["schema"] = storage.schema
    return type(storage)(storage.table_name, **where, **kw)


def drop_schema(storage: Any) -> None:
    if storage.backend == "postgres":
        with storage.db_engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{storage.schema}" CASCADE')


def object_names(storage: Any) -> set[str]:
    """The tables and indexes in the storage's database (or schema)."""
    with storage.db_engine.connect() as conn:
        inspector = sa.inspect(conn)
        tables = set(inspector.get_table_names(schema=storage.schema))
        if storage.backend == "duckdb":  # its inspector lists no indexes
            found = conn.exec_driver_sql("SELECT index_name FROM duckdb_indexes()").scalars()
            return tables | set(found)
        indexes = {
            str(ix["name"])
            for table in tables
            for ix in inspector.get_indexes(table, schema=storage.schema)
        }
    return tables | indexes


def indexes_of(storage: Any) -> set[str]:
    """The names of the indexes on the storage's sessions table."""
    with storage.db_engine.connect() as conn:
        if storage.backend == "duckdb":
            query = sa.text("SELECT index_name FROM duckdb_indexes() WHERE table_name = :t")
            return set(conn.execute(query, {"t": storage.table_name}).scalars())
        found = sa.inspect(conn).get_indexes(storage.table_name, schema=storage.schema)
        return {str(ix["name"]) for ix in found}


def exercise(storage: Any) -> None:
    """Every operation a user makes, each checked."""
    storage.upsert(make_session("s1", runs=2, name="Weather talk"))
    storage.upsert_many([make_session("s2", runs=1), make_session("s3", runs=3)])
    assert storage.read("s1").session_name == "Weather talk"
    assert storage.append_run("s1", make_run(5)) == 2
    assert [r["run_id"] for r in storage.get_runs("s1", newest_first=True, limit=2)] == [
        "run-5",
        "run-1",
    ]
    storage.rename_session("s2", "Renamed")
    assert [s.session_id for s in storage.list_sessions(search="weather")] == ["s1"]
    assert storage.count_sessions(search="renamed") == 1
    assert sorted(storage.get_all_session_ids()) == ["s1", "s2", "s3"]
    assert storage.count_runs("s3") == 3
    assert len(storage.sessions_df()) == 3
    storage.delete_session("s3")
    assert storage.read("s3") is None and storage.count_sessions() == 2


@pytest.mark.parametrize("name", list(NAMES.values()), ids=list(NAMES))
def test_a_table_with_such_a_name_works_and_is_found_again(make_storage: Any, name: str) -> None:
    storage = named(make_storage, name)
    try:
        exercise(storage)
        assert storage.current_version == LATEST_VERSION
        fresh = reopen(storage)  # detection finds the stamp and the runs table again
        assert fresh.current_version == LATEST_VERSION
        assert fresh.read("s1").memory["runs"][-1]["run_id"] == "run-5"
        backend = storage.backend
        made = object_names(storage)
        assert name in made and runs_name(name, backend) in made
        assert all(len(n.encode()) <= MAX_NAME_BYTES for n in made if name[:8] in n), made
        ix = derived_name(name, backend=backend, prefix="ix_", suffix="_created_ms")
        assert ix in made  # not cut by the database: the name agno_nb derives is the one made
        fresh.drop()
        assert not fresh.table_exists() and not object_names(storage) & {name, ix}
    finally:
        drop_schema(storage)


@pytest.mark.parametrize(
    "name", [NAMES["dash"], NAMES["longest"], NAMES["quote-dollar-colon"], NAMES["unicode-long"]]
)
@pytest.mark.parametrize("version", [0, 1])
def test_an_agno_1x_table_with_such_a_name_upgrades_to_the_latest_layout(
    make_storage: Any, name: str, version: int
) -> None:
    """v0/v1 (agno 1.x's tables, their index names cut as SQLAlchemy cuts them,
    as agno's were) -> latest: the runs are moved, the table is found again."""
    storage = named(make_storage, name, schema_version=version)
    try:
        storage.upsert(make_session("s1", runs=3))
        storage.upsert(make_session("s2", runs=1, created_at=1_000))
        plan = storage.upgrade_schema()
        assert plan.applied and plan.runs_moved == 4
        fresh = reopen(storage)
        assert fresh.current_version == LATEST_VERSION
        assert fresh.get_all_session_ids() == ["s1", "s2"]
        assert [r["run_id"] for r in fresh.read("s1").memory["runs"]] == [
            "run-0",
            "run-1",
            "run-2",
        ]
        assert fresh.list_sessions(search="answer 2")[0].session_id == "s1"
        fresh.append_run("s2", make_run(9))
        assert reopen(storage).count_runs("s2") == 2
        # agno's single-column indexes (named as SQLAlchemy names them for agno) were
        # found and dropped by v3: only the listing indexes are left
        listing = v2_index_specs(name, "agent", backend=storage.backend, version=LATEST_VERSION)
        assert indexes_of(storage) == {ix for ix, _ in listing}
    finally:
        drop_schema(storage)


@pytest.mark.parametrize("backend", ["sqlite", "duckdb"])
def test_a_long_name_in_other_capitals_is_the_same_table_where_the_database_folds(
    make_storage: Any, backend: str
) -> None:
    """SQLite and DuckDB take ``ABC`` and ``abc`` for one table: its runs table,
    whose name is cut and hashed, is found however the name is spelled."""
    name = "Agent_Sessions_Of_The_Customer_Support_Team_For_The_Year_2024"
    storage = named(make_storage, name)
    storage.upsert(make_session("s1", runs=2))
    other = type(storage)(name.lower(), db_engine=storage.db_engine)
    assert other.current_version == LATEST_VERSION
    assert [r["run_id"] for r in other.read("s1").memory["runs"]] == ["run-0", "run-1"]
    other.append_run("s1", make_run(2))
    assert storage.count_runs("s1") == 3


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_stamp_is_found_for_a_name_with_a_capital_beyond_ascii(
    make_storage: Any, backend: str
) -> None:
    """SQLite folds ASCII letters only: the stamp of ``Séances_À`` is looked up
    with SQLite's own lower() on both sides (Python's would fold ``À`` and miss it)."""
    storage = named(make_storage, "Séances_À")
    storage.upsert(make_session("s1"))
    fresh = reopen(storage)
    assert fresh.current_version == LATEST_VERSION and fresh.layout_label == "layout v6"


@pytest.mark.parametrize("backend", ["postgres"])
def test_postgres_tells_names_in_other_capitals_apart(make_storage: Any, backend: str) -> None:
    upper = named(make_storage, "Agent_Sessions")
    lower = PostgresStorage("agent_sessions", db_engine=upper.db_engine, schema=upper.schema)
    try:
        upper.upsert(make_session("up"))
        lower.upsert(make_session("low"))
        assert reopen(upper).get_all_session_ids() == ["up"]
        assert reopen(lower).get_all_session_ids() == ["low"]
        assert {"Agent_Sessions_runs", "agent_sessions_runs"} <= object_names(upper)
    finally:
        drop_schema(upper)


def test_the_cut_names_are_stable_and_distinct() -> None:
    a, b = "x" * 60 + "abc", "x" * 60 + "abd"
    for backend in ("sqlite", "postgres", "duckdb"):
        assert runs_name(a, backend) == runs_name(a, backend)  # stable
        assert runs_name(a, backend) != runs_name(b, backend)  # distinct
        assert len(runs_name(a, backend).encode()) == MAX_NAME_BYTES
        assert runs_name("agent_sessions", backend) == "agent_sessions_runs"  # kept
    # folded where the database folds: one table, one runs table
    assert runs_name(a.upper(), "sqlite").lower() == runs_name(a, "sqlite").lower()
    assert runs_name(a.upper(), "postgres") != runs_name(a, "postgres").upper()
    # cut at a character, never inside one
    assert runs_name("é" * 31, "sqlite").encode().decode() == runs_name("é" * 31, "sqlite")


#: names refused, and why (the message says what to do)
UNSAFE = ["", " t", "t ", "t\n", "\nt", 't"x', "a%b", "x" * 64, "é" * 32, "t\x00", "\u200bt"]


@pytest.mark.parametrize("name", UNSAFE)
def test_unsafe_names_are_refused_in_one_line(tmp_path: Any, name: str) -> None:
    for make in (
        lambda: SqliteStorage(name, db_file=tmp_path / "x.db"),
        lambda: DuckDbStorage(name, db_file=tmp_path / "x.duckdb"),
        lambda: PostgresStorage(name, db_url=postgres_url()),
        lambda: open_storage(f"sqlite:///{tmp_path / 'y.db'}", table_name=name),
    ):
        with pytest.raises(InvalidNameError) as caught:
            make()
        text = str(caught.value)
        assert "\n" not in text and text.startswith("invalid table name")
        assert "give the name as the database has it" in text
    assert not (tmp_path / "x.db").exists() and not (tmp_path / "y.db").exists()


def test_unsafe_schema_names_are_refused_in_one_line() -> None:
    with pytest.raises(InvalidNameError, match=r"^invalid schema name 'a\"b': give the name"):
        PostgresStorage("t", db_url=postgres_url(), schema='a"b')


@pytest.mark.parametrize("backend", ["postgres"])
@pytest.mark.parametrize("schema", ["my schema-1", "ai; DROP SCHEMA public", "Weird$$Schema"])
def test_postgres_schema_names_the_database_takes_quoted_work(
    make_storage: Any, backend: str, schema: str
) -> None:
    """A schema is named as freely as a table: created, written, upgraded (the v5
    lz4 block and v6's numbering name it inside SQL text), dropped."""
    engine = make_storage().db_engine
    storage = PostgresStorage("Agent-Sessions", db_engine=engine, schema=schema, schema_version=4)
    try:
        for sid in TIES:
            storage.upsert(make_session(sid, created_at=3_000))
        assert storage.upgrade_schema().applied
        fresh = reopen(storage)
        assert fresh.current_version == LATEST_VERSION
        assert fresh.get_all_session_ids() == sorted(TIES, reverse=True)  # as before v6
        fresh.upsert(make_session("n1", created_at=3_000))
        assert fresh.get_all_session_ids()[0] == "n1"
        with engine.connect() as conn:
            assert "public" in sa.inspect(conn).get_schema_names()
    finally:
        drop_schema(storage)


#: inserted in this order (neither the ids' order nor its reverse)
TIES = ["q3", "q1", "q5", "q0"]
