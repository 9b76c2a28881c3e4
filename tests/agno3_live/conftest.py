"""Tests that need agno 3.1.10 in this interpreter, beside agno_nb.

nox's ``agno3`` session collects only this folder (and the agno 3 notebooks);
tests/conftest.py leaves it out wherever agno 1.x is installed. A fresh agno 3.1.10
process, when a test needs one, is ``tests.conftest.run_agno3`` (the session points
``AGNO_NB_AGNO3_PYTHON`` at its own python).

Fixture ``agno3_place`` (SQLite file, then a fresh Postgres schema): where agno's own
``SqliteDb`` / ``PostgresDb`` and agno_nb's storage meet on agno's ``agno_sessions``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_postgres

os.environ.setdefault("AGNO_TELEMETRY", "false")


@dataclass
class Agno3Place:
    """One database both agno 3.1.10 and agno_nb open: its backend and where it is."""

    backend: str
    db_file: str | None = None
    url: str | None = None
    schema: str | None = None

    def agno_db(self) -> Any:
        """agno's own db on this database (its default ``agno_sessions``)."""
        if self.backend == "sqlite":
            from agno.db.sqlite import SqliteDb

            return SqliteDb(db_file=self.db_file)
        from agno.db.postgres import PostgresDb

        return PostgresDb(db_url=self.url, db_schema=self.schema)

    def storage(self, **kw: Any) -> Any:
        """agno_nb's storage on agno's ``agno_sessions`` table here."""
        from agno_nb.storage import PostgresStorage, SqliteStorage

        if self.backend == "sqlite":
            return SqliteStorage("agno_sessions", db_file=self.db_file, **kw)
        return PostgresStorage("agno_sessions", db_url=self.url, schema=self.schema, **kw)

    def engine(self) -> Any:
        """A SQLAlchemy engine on this database (dispose it after use)."""
        import sqlalchemy as sa

        if self.backend == "sqlite":
            return sa.create_engine(f"sqlite:///{self.db_file}")
        return sa.create_engine(str(self.url))

    def table(self, name: str) -> str:
        """``name`` qualified with the schema where there is one."""
        return f'"{self.schema}".{name}' if self.schema else name

    def args(self) -> list[str]:
        """Where it is, as command-line arguments for a script run by ``run_agno3``."""
        if self.backend == "sqlite":
            return ["sqlite", str(self.db_file)]
        return ["postgres", str(self.url), str(self.schema)]


@pytest.fixture(params=["sqlite", "postgres"])
def agno3_place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Agno3Place]:
    """A fresh SQLite file, or a fresh Postgres schema (dropped afterwards)."""
    if request.param == "sqlite":
        yield Agno3Place("sqlite", db_file=str(tmp_path / "agno.db"))
        return
    import sqlalchemy as sa

    url = require_postgres()
    schema = f"agno3live_{uuid.uuid4().hex[:10]}"
    try:
        yield Agno3Place("postgres", url=url, schema=schema)
    finally:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
