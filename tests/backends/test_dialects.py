"""agno_nb/dialects/: the per-database facts every layer asks, and driver errors
read without a storage (the backend only adds what its live storage knows)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from agno_nb.dialects import DIALECTS, DUCKDB, POSTGRES, SQLITE, ErrorPlace, dialect_named
from agno_nb.errors import (
    BackendUnavailableError,
    StorageConflictError,
    StorageLockedError,
    TableMissingError,
)
from agno_nb.storage import SqliteStorage

PLACE = ErrorPlace(where="sqlite:////tmp/x.db", table="chats", database="/tmp/x.db", waited_s=30)


def test_each_dialect_is_found_by_its_backend_and_its_sqlalchemy_name() -> None:
    assert set(DIALECTS) == {"sqlite", "postgres", "duckdb"}
    for name, dialect in DIALECTS.items():
        assert dialect.name == name
        assert dialect_named(dialect.sqlalchemy_name) is dialect
        assert dialect.offline().name == dialect.sqlalchemy_name
    assert dialect_named("mysql") is None


def test_facts_say_what_the_code_used_to_ask_by_name() -> None:
    assert (SQLITE.file_based, DUCKDB.file_based, POSTGRES.file_based) == (True, True, False)
    assert (SQLITE.folds_names, DUCKDB.folds_names, POSTGRES.folds_names) == (True, True, False)
    assert [d.name for d in DIALECTS.values() if d.has_schemas] == ["postgres"]
    assert [d.name for d in DIALECTS.values() if not d.holds_agno_tables] == ["duckdb"]
    assert POSTGRES.text_json_type() is not None and SQLITE.text_json_type() is None
    assert SQLITE.named_lock("x") is None and POSTGRES.named_lock("x") is not None


def test_a_lock_timeout_names_the_upgrade_holding_the_lock() -> None:
    locked = sa.exc.OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
    assert SQLITE.is_lock_timeout(locked)
    plain = SQLITE.translate(locked, PLACE)
    assert isinstance(plain, StorageLockedError) and "another writer for over 30 s" in str(plain)
    upgrading = ErrorPlace(**{**PLACE.__dict__, "upgrade": "upgrade of table chats to layout v5"})
    named = SQLITE.translate(locked, upgrading)
    assert isinstance(named, StorageLockedError)
    assert "upgrade of table chats to layout v5" in str(named) and "\n" not in str(named)


def test_driver_errors_read_without_a_storage() -> None:
    gone = SQLITE.translate(sqlite3.OperationalError("no such table: chats"), PLACE)
    assert isinstance(gone, TableMissingError) and "a table of chats is gone" in str(gone)

    class Deadlock(Exception):
        sqlstate = "40P01"

    conflict = POSTGRES.translate(sa.exc.OperationalError("UPDATE", {}, Deadlock("x")), PLACE)
    assert isinstance(conflict, StorageConflictError) and "deadlocked" in str(conflict)
    busy = ErrorPlace(where="duckdb:///x.duckdb", table="t", read_only=True)
    held = DUCKDB.translate(Exception("IO Error: Could not set lock on file"), busy)
    assert isinstance(held, StorageLockedError) and "read-only connections" in str(held)
    assert SQLITE.translate(ValueError("not the driver's"), PLACE) is None


def test_the_storage_gives_its_place_and_forgets_a_table_found_gone(tmp_path: Path) -> None:
    storage = SqliteStorage("chats", db_file=tmp_path / "x.db")
    storage.create()
    assert storage.table_exists() and storage.layout_known
    with storage.db_engine.begin() as conn:
        conn.exec_driver_sql('DROP TABLE "chats"')
    with pytest.raises(TableMissingError, match=re.escape("a table of chats is gone")):
        storage.count_sessions()
    assert not storage.layout_known  # the next call looks the table up again
    missing = tmp_path / "nowhere" / "x.db"
    other = SqliteStorage("chats", db_url=f"sqlite:///{missing}")
    with pytest.raises(BackendUnavailableError, match="does not exist; create it"):
        other.create()
