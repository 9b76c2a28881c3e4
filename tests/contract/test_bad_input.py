"""Bad input is refused with one clear line, on every backend where it applies.

Invalid names, unknown backends, malformed URLs, corrupt JSON in a row,
layouts too new or too old, unknown sessions, and a Postgres URL whose
password must never be shown.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from agno_nb.errors import (
    AgnoNbError,
    BackendUnavailableError,
    CorruptSessionError,
    InvalidNameError,
    MigrationError,
    SchemaTooNewError,
    SchemaTooOldError,
    SessionNotFoundError,
)
from agno_nb.schema import LATEST_VERSION
from agno_nb.storage import (
    BaseStorage,
    DuckDbStorage,
    PostgresStorage,
    SqliteStorage,
    open_storage,
)
from tests.conftest import postgres_url, require_postgres
from tests.contract.helpers import execute, make_run, make_session, one_line, qualified

MakeStorage = Callable[..., Any]


# -- names --------------------------------------------------------------------------------

#: refused: empty, ``"``, ``%``, control characters, spaces around, over 63 bytes,
#: not text. (Names the database takes quoted, such as ``sessions; DROP TABLE x``
#: or ``naïve``, are taken: see ``test_names_the_database_takes_quoted_are_taken``.)
BAD_NAMES: list[object] = [
    "",
    'quo"te',
    "a%b",
    "t\nx",
    " padded ",
    "x" * 80,
    "é" * 32,
    None,
    42,
    b"sessions",
]
#: taken since issue 21 (agno 1.x takes them): every statement quotes them
QUOTED_NAMES = ["sessions; DROP TABLE x", "1abc", "a-b", "two words", "naïve"]


@pytest.fixture
def recorded_engine(backend: str, tmp_path: Path, pg_schema: str) -> Iterator[Any]:
    """An engine on the backend holding one table ``keep_me``; it records every SQL
    statement run on it from the moment the test gets it."""
    if backend == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'names.db'}")
    elif backend == "duckdb":
        engine = sa.create_engine(f"duckdb:///{tmp_path / 'names.duckdb'}")
    else:
        engine = sa.create_engine(require_postgres())
    schema = pg_schema if backend == "postgres" else None
    keep = sa.Table(
        f"keep_me_{uuid.uuid4().hex[:6]}", sa.MetaData(), sa.Column("x", sa.Integer), schema=schema
    )
    with engine.begin() as conn:
        if schema:
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        keep.create(conn)
    before = set(sa.inspect(engine).get_table_names(schema=schema))
    statements: list[str] = []
    event.listen(
        engine, "before_cursor_execute", lambda _c, _cur, sql, *_rest: statements.append(sql)
    )
    engine.statements = statements  # type: ignore[attr-defined]
    yield engine
    assert set(sa.inspect(engine).get_table_names(schema=schema)) == before
    with engine.begin() as conn:
        keep.drop(conn)
    engine.dispose()


CLASSES: dict[str, Any] = {  # the backend classes, called with deliberately bad names
    "sqlite": SqliteStorage,
    "duckdb": DuckDbStorage,
    "postgres": PostgresStorage,
}


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_invalid_table_name_refused_before_any_sql(
    backend: str, recorded_engine: Any, name: object
) -> None:
    cls = CLASSES[backend]
    with pytest.raises(InvalidNameError) as info:
        cls(name, db_engine=recorded_engine)
    assert "table name" in one_line(info.value)
    assert recorded_engine.statements == []


@pytest.mark.parametrize("name", QUOTED_NAMES, ids=repr)
def test_names_the_database_takes_quoted_are_taken(
    backend: str, tmp_path: Path, pg_schema: str, name: str
) -> None:
    """Issue 21: these were refused; they name exactly that table, and a name
    that reads like SQL stays a name (the table ``x`` it mentions survives)."""
    storage = _storage_named(backend, name, tmp_path, pg_schema)
    sentinel = sa.Table("x", sa.MetaData(), sa.Column("n", sa.Integer), schema=storage.schema)
    try:
        with storage.db_engine.begin() as conn:
            if storage.schema:
                conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{storage.schema}"')
            sentinel.create(conn, checkfirst=True)
        storage.upsert(make_session("s1"))
        assert storage.table_name == name and storage.read("s1") is not None
        with storage.db_engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names(schema=storage.schema))
        assert {name, "x"} <= tables
    finally:
        storage.drop()
        with storage.db_engine.begin() as conn:
            sentinel.drop(conn, checkfirst=True)
        storage.close()


def _storage_named(backend: str, name: str, where: Path, schema: str, **kw: Any) -> Any:
    if backend == "sqlite":
        return SqliteStorage(name, db_file=where / "long.db", **kw)
    if backend == "duckdb":
        return DuckDbStorage(name, db_file=where / "long.duckdb", **kw)
    return PostgresStorage(name, db_url=postgres_url(), schema=schema, **kw)


@pytest.mark.parametrize("length", [45, 58])
def test_long_table_name_works_or_is_refused_up_front(
    backend: str, tmp_path: Path, pg_schema: str, length: int, request: pytest.FixtureRequest
) -> None:
    """A name the check accepts must work through create, write and upgrade (every
    derived index name fits Postgres' and DuckDB's 63 characters); else it is refused."""
    name = "n" * length
    try:
        old = _storage_named(backend, name, tmp_path, pg_schema, schema_version=1)
    except InvalidNameError as exc:
        assert length > 45  # refusing it up front is a fine fix too
        assert "table name" in one_line(exc)
        return
    old.upsert(make_session("s1"))
    new = _storage_named(backend, name, tmp_path, pg_schema)
    try:
        assert new.upgrade_schema().sessions_migrated == 1
        assert new.append_run("s1", make_run(2)) == 2
        assert [r["run_id"] for r in new.get_runs("s1")] == ["run-0", "run-1", "run-2"]
    finally:
        new.drop()
        new.close()
        old.close()


def test_invalid_table_name_in_open_storage(backend: str, tmp_path: Path) -> None:
    url = {
        "sqlite": f"sqlite:///{tmp_path / 'a.db'}",
        "duckdb": f"duckdb:///{tmp_path / 'a.duckdb'}",
        "postgres": postgres_url(),
    }[backend]
    for name in ('a"b', "", "x" * 64, "t\n", "50%"):
        with pytest.raises(InvalidNameError):
            open_storage(url, table_name=name)
    assert list(tmp_path.iterdir()) == []  # no database file was even created


@pytest.mark.parametrize("backend", ["postgres"])  # only Postgres tables live in a schema
@pytest.mark.parametrize("name", ['ai"; DROP SCHEMA public', "", " ai", "s" * 64, 7], ids=repr)
def test_invalid_schema_name_refused_before_any_sql(
    recorded_engine: Any, backend: str, name: object
) -> None:
    with pytest.raises(InvalidNameError) as info:
        PostgresStorage("fine", db_engine=recorded_engine, schema=name)  # type: ignore[arg-type]
    assert "schema name" in one_line(info.value)
    with pytest.raises(InvalidNameError):
        open_storage(postgres_url(), schema=name)
    assert recorded_engine.statements == []


# -- URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "mysql://u:s3cr3t-sentinel@localhost/db",
        "mysql+pymysql://u@h/db",
        "foo:///x",
        "mssql+pyodbc://h/db",
        "oracle://u@h/x",
    ],
)
def test_unknown_backend(url: str) -> None:
    with pytest.raises(BackendUnavailableError) as info:
        open_storage(url)
    message = one_line(info.value)
    assert url.split(":")[0].split("+")[0] in message
    assert "s3cr3t-sentinel" not in message


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg2://u:s3cr3t-sentinel@127.0.0.1:1/db",
        "postgresql+asyncpg://u:s3cr3t-sentinel@127.0.0.1:1/db",
        "postgresql+nosuchdriver://u:s3cr3t-sentinel@127.0.0.1:1/db",
        "sqlite+nosuchdriver:///x.db",
    ],
)
def test_missing_driver_is_backend_unavailable(url: str) -> None:
    with pytest.raises(BackendUnavailableError) as info:
        open_storage(url)
    assert "s3cr3t-sentinel" not in one_line(info.value)


def test_missing_driver_given_to_the_class() -> None:
    with pytest.raises(BackendUnavailableError) as info:
        PostgresStorage("t", db_url="postgresql+psycopg2://u:s3cr3t-sentinel@127.0.0.1:1/db")
    assert "psycopg" in one_line(info.value) and "s3cr3t-sentinel" not in str(info.value)


def test_duckdb_missing_folder_or_file(tmp_path: Path) -> None:
    """A read of a file not there yet creates nothing (issue 21); the first write
    names the missing folder (a URL's folders are not created); read_only cannot
    create the file: it says so."""
    missing = tmp_path / "no" / "such" / "folder" / "x.duckdb"
    writer = open_storage(f"duckdb:///{missing}")
    assert writer.count_sessions() == 0 and not (tmp_path / "no").exists()
    with pytest.raises(BackendUnavailableError) as info:
        writer.create()
    assert "folder" in one_line(info.value) and "read_only" not in str(info.value)
    writer.close()
    reader = DuckDbStorage("t", db_file=tmp_path / "absent.duckdb", read_only=True)
    with pytest.raises(BackendUnavailableError) as info:
        reader.count_sessions()
    assert "does not exist" in one_line(info.value)
    assert not (tmp_path / "absent.duckdb").exists()


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "sqlite//missing-colon.db",
        "://nothing",
        "",
        "postgresql+psycopg://u:s3cr3t-sentinel@host:notaport/db",
    ],
)
def test_malformed_url(url: str) -> None:
    with pytest.raises(AgnoNbError) as info:
        open_storage(url)
    message = one_line(info.value)
    assert "malformed" in message
    assert "s3cr3t-sentinel" not in message


def test_malformed_postgres_url_given_to_the_class() -> None:
    with pytest.raises(AgnoNbError) as info:
        PostgresStorage("t", db_url="postgresql+psycopg://u:s3cr3t-sentinel@host:x/db")
    assert "s3cr3t-sentinel" not in one_line(info.value)


# -- corrupt JSON -------------------------------------------------------------------------

# SQLite stores JSON as text: any text goes. DuckDB's JSON type refuses truncated
# text but accepts trailing commas, which Python's json (and every other reader) refuses.
CORRUPT = {"sqlite": '{"runs": [{"run_id": "r0", "messages": [', "duckdb": '{"runs": [1,],}'}


@pytest.mark.parametrize("backend", ["sqlite", "duckdb"])  # Postgres' JSONB refuses bad JSON
@pytest.mark.parametrize(
    ("layout", "column"),
    [
        (1, "memory"),
        (1, "session_data"),
        (2, "run"),
        (2, "memory"),
    ],
)
def test_corrupt_json_names_the_session(
    make_storage: MakeStorage, backend: str, layout: int, column: str
) -> None:
    storage = make_storage("corrupt", schema_version=layout)
    for sid in ("good-1", "bad", "good-2"):
        storage.upsert(make_session(sid))
    bad = CORRUPT[backend]
    if column == "run":
        execute(
            storage,
            f"UPDATE {qualified(storage, storage.table_name + '_runs')} "
            "SET run = :bad WHERE session_id = 'bad' AND run_index = 1",
            bad=bad,
        )
    else:
        execute(
            storage,
            f"UPDATE {qualified(storage, storage.table_name)} "
            f"SET {column} = :bad WHERE session_id = 'bad'",
            bad=bad,
        )

    fresh = make_storage("corrupt")
    for store in (storage, fresh):
        with pytest.raises(CorruptSessionError) as info:
            store.read("bad")
        message = one_line(info.value)
        assert "'bad'" in message
        for sid in ("good-1", "good-2"):
            session = store.read(sid)
            assert session is not None
            assert session.run_dicts == make_session(sid).run_dicts
            assert store.get_runs(sid) == make_session(sid).run_dicts
        assert len(store.messages_df("good-1")) == 4
        assert sorted(store.get_all_session_ids()) == ["bad", "good-1", "good-2"]
        assert store.count_sessions() == 3

        listed = {s.session_id: s for s in store.list_sessions()}
        assert set(listed) == {"bad", "good-1", "good-2"}
        assert listed["good-1"].error is None and listed["good-1"].run_count == 2
        if layout == 1:  # the listing decodes the row: it flags it instead of failing
            assert listed["bad"].error and "'bad'" in listed["bad"].error
        assert len(store.sessions_df()) == 3

        runs_broken = column == "run" or layout == 1  # v1 reads the whole row
        if runs_broken:
            with pytest.raises(CorruptSessionError, match="'bad'"):
                store.get_runs("bad")
        else:
            assert store.get_runs("bad") == make_session("bad").run_dicts

    # the way out the message points to: delete the row; everything else reads again
    fresh.delete_session("bad")
    assert len(fresh.get_all_sessions()) == 2


@pytest.mark.parametrize("backend", ["sqlite", "duckdb"])
def test_corrupt_row_survives_an_upgrade(make_storage: MakeStorage, backend: str) -> None:
    old = make_storage("corrupt_up", schema_version=1)
    for sid in ("good", "bad"):
        old.upsert(make_session(sid))
    execute(
        old,
        f"UPDATE {qualified(old, old.table_name)} SET memory = :bad WHERE session_id = 'bad'",
        bad=CORRUPT[backend],
    )
    new = make_storage("corrupt_up")
    with pytest.raises(MigrationError, match="'bad'"):
        new.upgrade_schema()
    assert new.current_version == 1
    result = new.upgrade_schema(skip_corrupt=True)
    assert (result.from_version, result.to_version, result.sessions_migrated) == (
        1,
        LATEST_VERSION,
        1,
    )
    assert new.current_version == LATEST_VERSION
    good = new.read("good")
    assert good is not None and good.run_dicts == make_session("good").run_dicts
    with pytest.raises(CorruptSessionError, match="'bad'"):
        new.read("bad")


# -- layout versions ----------------------------------------------------------------------


def test_table_newer_than_this_code(make_storage: MakeStorage) -> None:
    storage = make_storage("too_new")
    storage.upsert(make_session("s1"))
    versions = qualified(storage, "agno_nb_schema_versions")
    execute(
        storage,
        f"UPDATE {versions} SET layout_version = 99 WHERE table_name = :t",
        t=storage.table_name,
    )
    fresh = make_storage("too_new")
    attempts: list[Callable[[], Any]] = [
        lambda: fresh.read("s1"),
        lambda: fresh.upsert(make_session("s2")),
        fresh.list_sessions,
        fresh.get_all_sessions,
        lambda: fresh.get_runs("s1"),
        lambda: fresh.append_run("s1", make_run(9)),
        fresh.upgrade_schema,
        lambda: fresh.upgrade_schema(dry_run=True),
    ]
    for attempt in attempts:
        with pytest.raises(SchemaTooNewError) as info:
            attempt()
        message = one_line(info.value)
        assert "upgrade agno_nb" in message and "99" in message
    execute(
        storage,
        f"UPDATE {versions} SET layout_version = 2 WHERE table_name = :t",
        t=storage.table_name,
    )
    back = make_storage("too_new")
    assert back.get_all_session_ids() == ["s1"]  # nothing was written meanwhile
    session = back.read("s1")
    assert session is not None and session.run_dicts == make_session("s1").run_dicts


def test_newer_layout_asked_on_an_old_table(make_storage: MakeStorage) -> None:
    old = make_storage("too_old", schema_version=1)
    old.upsert(make_session("s1"))
    wants_v2 = make_storage("too_old", schema_version=2)
    writes: list[Callable[[], Any]] = [
        lambda: wants_v2.upsert(make_session("s2")),
        lambda: wants_v2.append_run("s1", make_run(5)),
        lambda: wants_v2.rename_session("s1", "new name"),
    ]
    for write in writes:
        with pytest.raises(SchemaTooOldError) as info:
            write()
        assert "upgrade_schema()" in one_line(info.value)
    session = wants_v2.read("s1")  # reads still work, and nothing was written
    assert session is not None and session == old.read("s1")
    assert session.run_dicts == make_session("s1").run_dicts
    assert session.session_name == "name of s1"
    assert [s.session_id for s in wants_v2.list_sessions()] == ["s1"]
    assert wants_v2.get_runs("s1") == make_session("s1").run_dicts
    assert wants_v2.current_version == 1


@pytest.mark.parametrize("layout", [1, 2])
def test_unknown_session(make_storage: MakeStorage, layout: int) -> None:
    storage = make_storage("unknown", schema_version=layout)
    storage.upsert(make_session("empty", runs=0))
    assert storage.get_runs("empty") == [] and storage.count_runs("empty") == 0
    attempts: list[Callable[[], Any]] = [
        lambda: storage.append_run("nope", make_run(0)),
        lambda: storage.rename_session("nope", "x"),
        lambda: storage.get_runs("nope"),
        lambda: storage.count_runs("nope"),
    ]
    for attempt in attempts:
        with pytest.raises(SessionNotFoundError) as info:
            attempt()
        assert "'nope'" in one_line(info.value)
    assert storage.read("nope") is None
    assert storage.get_all_session_ids() == ["empty"]


def test_unknown_session_before_the_table_exists(make_storage: MakeStorage) -> None:
    storage = make_storage("not_yet")
    with pytest.raises(SessionNotFoundError):
        storage.get_runs("nope")
    with pytest.raises(SessionNotFoundError):
        storage.append_run("nope", make_run(0))
    assert storage.get_all_session_ids() == []


# -- secrets ------------------------------------------------------------------------------

SECRET = "s3cr3t-sentinel"
DEAD_URL = f"postgresql+psycopg://u:{SECRET}@127.0.0.1:1/db"  # port 1: nothing listens


@pytest.mark.parametrize(
    "make",
    [
        lambda: PostgresStorage("t", db_url=DEAD_URL),
        lambda: PostgresStorage("t", db_url=DEAD_URL.replace("+psycopg", "")),
        lambda: open_storage(DEAD_URL, table_name="t"),
    ],
    ids=["class", "plain-postgresql-url", "open_storage"],
)
def test_password_never_shown(
    make: Callable[[], BaseStorage],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    storage = make()  # constructing does not connect: nothing listens, yet no error
    assert storage.db_engine.pool.checkedin() == 0  # type: ignore[attr-defined]
    shown = [
        repr(storage),
        str(storage),
        storage.display_url,
        str(storage.db_engine.url),
        repr(storage.db_engine),
    ]
    operations: list[Callable[[], Any]] = [
        storage.list_sessions,
        lambda: storage.read("x"),
        lambda: storage.upsert(make_session("x")),
        storage.table_exists,
        lambda: storage.upgrade_schema(dry_run=True),
    ]
    for operation in operations:
        with pytest.raises(BackendUnavailableError) as info:
            operation()
        message = one_line(info.value)
        assert "127.0.0.1" in message  # it says where it tried
        shown += [message, repr(info.value), "".join(traceback.format_exception(info.value))]
    storage.close()
    out, err = capsys.readouterr()
    shown += [out, err, caplog.text]
    shown += [str(r.args) for r in caplog.records]
    leaks = [text for text in shown if SECRET in text]
    assert leaks == []


@pytest.mark.parametrize(
    ("cls", "url"),
    [
        (SqliteStorage, "duckdb:///:memory:"),
        (DuckDbStorage, "sqlite://"),
        (PostgresStorage, "sqlite://"),
    ],
)
def test_an_engine_of_another_backend_is_one_clear_error(cls: Any, url: str) -> None:
    engine = sa.create_engine(url)
    with pytest.raises(BackendUnavailableError) as info:
        cls("t", db_engine=engine)
    assert f"{cls.__name__} needs a {cls.dialect_name} engine" in one_line(info.value)
    assert "open_storage" in str(info.value)
