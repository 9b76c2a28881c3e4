"""Fixtures the notebook-UI tests share."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import postgres_url


@pytest.fixture
def target(backend: str, tmp_path: Path, pg_schema: str) -> Callable[..., str]:
    """``target(table)`` -> the %agno_storage arguments opening ``table`` on this backend,
    in the same database ``make_storage`` uses (default table: a fresh name)."""
    fresh = f"m{uuid.uuid4().hex[:8]}_agent_sessions"

    def line(table: str = fresh) -> str:
        if backend == "sqlite":
            return f"sqlite {tmp_path / 'sessions.db'} --table {table}"
        if backend == "duckdb":
            return f"duckdb {tmp_path / 'sessions.duckdb'} --table {table}"
        return f"postgres {postgres_url()} --schema {pg_schema} --table {table}"

    return line
