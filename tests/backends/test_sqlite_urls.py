"""A SQLite URL opens what it says: ``?mode=ro`` without ``uri=true`` is read-only
(SQLAlchemy alone would drop it and open the file writable), and a file name with
``?``, ``#`` or ``%`` in it is that file, not a shorter one with a query."""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path

import pytest
import sqlalchemy as sa

from agno_nb.dialects import dialect_of
from agno_nb.errors import AgnoNbError, BackendUnavailableError
from agno_nb.storage import DuckDbStorage, SqliteStorage, open_storage
from tests.session_factory import make_session

SQLITE = dialect_of("sqlite")


def _file_with(path: Path, *session_ids: str) -> Path:
    storage = SqliteStorage("t", db_file=str(path))
    try:
        for session_id in session_ids:
            storage.upsert(make_session(session_id))
    finally:
        storage.close()
    return path


def _ids_in(path: Path) -> list[str]:
    with sqlite3.connect(path) as con:
        return sorted(row[0] for row in con.execute("SELECT session_id FROM t"))


@pytest.mark.parametrize("through", ["SqliteStorage", "open_storage"])
def test_mode_ro_without_uri_reads_and_refuses_writes(tmp_path: Path, through: str) -> None:
    path = _file_with(tmp_path / "x.db", "s1")
    url = f"sqlite:///{path}?mode=ro"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # SQLAlchemy's "argument 'mode' is ignored" included
        if through == "SqliteStorage":
            storage = SqliteStorage("t", db_url=url)
        else:
            storage = open_storage(url, table_name="t")
        try:
            assert storage.get_all_session_ids() == ["s1"]
            assert "(read-only)" in storage.display_url
            with pytest.raises(AgnoNbError, match="is read-only here") as caught:
                storage.upsert(make_session("s2"))
            assert "\n" not in str(caught.value)
        finally:
            storage.close()
    assert _ids_in(path) == ["s1"]  # nothing was written


def test_relative_mode_ro_url_opens_the_same_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _file_with(tmp_path / "rel.db", "s1")
    monkeypatch.chdir(tmp_path)
    storage = SqliteStorage("t", db_url="sqlite:///rel.db?mode=ro&timeout=5")
    try:
        assert storage.get_all_session_ids() == ["s1"]
        with pytest.raises(AgnoNbError, match="read-only"):
            storage.delete_session("s1")
    finally:
        storage.close()
    assert _ids_in(tmp_path / "rel.db") == ["s1"]


def test_missing_file_with_mode_ro_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "m.db"
    storage = SqliteStorage("t", db_url=f"sqlite:///{target}?mode=ro")
    try:
        assert storage.get_all_session_ids() == []
        with pytest.raises(AgnoNbError):
            storage.upsert(make_session("s1"))
    finally:
        storage.close()
    assert list(tmp_path.iterdir()) == []


def test_an_engine_whose_url_drops_mode_is_refused_with_the_url_to_use(tmp_path: Path) -> None:
    path = _file_with(tmp_path / "x.db", "s1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy's own warning about 'mode'
        engine = sa.create_engine(f"sqlite:///{path}?mode=ro")
    with pytest.raises(BackendUnavailableError) as caught:
        SqliteStorage("t", db_engine=engine)
    message = str(caught.value)
    assert "\n" not in message and "sets mode" in message and "db_url=" in message
    honoured = SQLITE.engine_url(f"sqlite:///{path}?mode=ro")
    assert honoured in message
    storage = SqliteStorage("t", db_engine=sa.create_engine(honoured))
    try:
        assert storage.get_all_session_ids() == ["s1"]
        with pytest.raises(AgnoNbError, match="read-only"):
            storage.upsert(make_session("s2"))
    finally:
        storage.close()
    assert _ids_in(path) == ["s1"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:////d/x.db?mode=ro", "sqlite:///file:/d/x.db?mode=ro&uri=true"),
        (
            "sqlite:////d/x.db?mode=ro&immutable=1&timeout=5",
            "sqlite:///file:/d/x.db?mode=ro&immutable=1&timeout=5&uri=true",
        ),
        ("sqlite:///file:/d/x.db?mode=ro", "sqlite:///file:/d/x.db?mode=ro&uri=true"),
        (
            "sqlite://?mode=memory&cache=shared",
            "sqlite:///file::memory:?mode=memory&cache=shared&uri=true",
        ),
        # kept as given: nothing SQLite would miss
        ("sqlite:////d/x.db", "sqlite:////d/x.db"),
        ("sqlite:////d/x.db?timeout=5", "sqlite:////d/x.db?timeout=5"),
        ("sqlite:///file:/d/x.db?mode=ro&uri=true", "sqlite:///file:/d/x.db?mode=ro&uri=true"),
    ],
)
def test_engine_url(given: str, expected: str) -> None:
    assert SQLITE.engine_url(given) == expected


def test_engine_url_escapes_what_the_uri_would_misread(tmp_path: Path) -> None:
    path = _file_with(tmp_path / "a b?c#d%e.db", "s1")
    url = SQLITE.engine_url(f"sqlite:///{tmp_path}/a b%3Fc%23d%25e.db?mode=ro")
    storage = SqliteStorage("t", db_url=url)
    try:
        assert storage.get_all_session_ids() == ["s1"]
        assert storage.display_url == f"sqlite:///{path} (read-only)"
    finally:
        storage.close()


@pytest.mark.parametrize("cls", [SqliteStorage, DuckDbStorage])
def test_db_file_with_query_characters_is_that_file(tmp_path: Path, cls: type) -> None:
    target = tmp_path / "data?v=1#x%20y.db"
    storage = cls("t", db_file=str(target))
    try:
        storage.upsert(make_session("s1"))
    finally:
        storage.close()
    assert target.is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == [
        target.name
    ]
    again = cls("t", db_file=str(target))
    try:
        assert again.get_all_session_ids() == ["s1"]
    finally:
        again.close()
