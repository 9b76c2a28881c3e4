"""Shared fixtures: one storage fixture serves every backend.

Postgres: the URL comes from ``AGNO_NB_TEST_POSTGRES_URL`` (default: the local
server, ``postgresql+psycopg://postgres@127.0.0.1:5432/test``). Each test run
gets a fresh schema, dropped afterwards. Without a reachable server the
Postgres cases skip with the reason, unless ``AGNO_NB_REQUIRE_POSTGRES=1``
(set by ``.ci/run``), where they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "duckdb", "postgres")


# -- which agno this environment holds decides what is collected ---------------------------


def installed_agno_major() -> int | None:
    """The major version of the installed agno distribution (None when there is none).

    Read from the package metadata, so agno itself is not imported.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return int(version("agno").split(".")[0])
    except (PackageNotFoundError, ValueError):
        return None


AGNO3_LIVE = Path(__file__).resolve().parent / "agno3_live"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Collect ``tests/agno3_live/`` only where agno >= 2 is installed, and only it there.

    nox's ``agno1`` session (agno 1.8.4) runs everything else; its ``agno3`` session
    (agno 3.1.10 beside agno_nb) runs ``tests/agno3_live/``. Neither skips: each just
    leaves the other's tests out.
    """
    path = collection_path.resolve()
    inside_live = path == AGNO3_LIVE or AGNO3_LIVE in path.parents
    if (installed_agno_major() or 0) >= 2:
        return None if inside_live or path in AGNO3_LIVE.parents else True
    return True if inside_live else None


def postgres_url() -> str:
    return os.environ.get("AGNO_NB_TEST_POSTGRES_URL", DEFAULT_PG_URL)


def _postgres_problem(url: str) -> str | None:
    """Return why Postgres can't be used, or None when it can."""
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure means "no usable server"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return None


_PG_STATE: dict[str, Any] = {}


def require_postgres() -> str:
    """The Postgres URL, or skip (fail under AGNO_NB_REQUIRE_POSTGRES=1)."""
    url = postgres_url()
    if "problem" not in _PG_STATE:
        _PG_STATE["problem"] = _postgres_problem(url)
    problem = _PG_STATE["problem"]
    if problem:
        message = (
            f"no Postgres server at AGNO_NB_TEST_POSTGRES_URL ({problem}); "
            "start one or set the variable"
        )
        if os.environ.get("AGNO_NB_REQUIRE_POSTGRES") == "1":
            pytest.fail(message + " (AGNO_NB_REQUIRE_POSTGRES=1 forbids skipping)")
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    """A fresh Postgres schema name for this test run, dropped at the end."""
    name = f"agno_nb_test_{uuid.uuid4().hex[:10]}"
    yield name
    if _PG_STATE.get("problem") is None and "problem" in _PG_STATE:
        import sqlalchemy as sa

        engine = sa.create_engine(postgres_url())
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once per backend."""
    if request.param == "postgres":
        require_postgres()
    return str(request.param)


@pytest.fixture
def make_storage(
    backend: str, tmp_path: Path, pg_schema: str, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Any]]:
    """Factory: ``make_storage(table_name="t", **kw)`` on the current backend.

    SQLite and DuckDB get a file in ``tmp_path``; Postgres gets the run's fresh
    schema. Every storage made is closed (and its tables dropped) afterwards.
    """
    from agno_nb.storage import DuckDbStorage, PostgresStorage, SqliteStorage

    made: list[Any] = []
    prefix = f"t{uuid.uuid4().hex[:8]}_"

    def factory(table_name: str = "agent_sessions", **kw: Any) -> Any:
        table = prefix + table_name
        if backend == "sqlite":
            kw.setdefault("db_file", str(tmp_path / "sessions.db"))
            storage = SqliteStorage(table, **kw)
        elif backend == "duckdb":
            kw.setdefault("db_file", str(tmp_path / "sessions.duckdb"))
            storage = DuckDbStorage(table, **kw)
        else:
            kw.setdefault("db_url", postgres_url())
            kw.setdefault("schema", pg_schema)
            storage = PostgresStorage(table, **kw)
        made.append(storage)
        return storage

    factory.backend = backend  # type: ignore[attr-defined]
    factory.prefix = prefix  # type: ignore[attr-defined]
    yield factory
    for storage in reversed(made):
        storage.close()


@pytest.fixture
def storage(make_storage: Callable[..., Any]) -> Any:
    """A fresh latest-layout agent storage on the current backend."""
    return make_storage()


# -- a real IPython shell with %load_ext agno_nb (magics and secrets tests) ---------------


@pytest.fixture(scope="module")
def ip() -> Any:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "agno_nb")
    return shell


@pytest.fixture
def magics(ip: Any) -> Iterator[Any]:
    """The AgnoMagics instance, reset around each test."""
    from agno_nb import agent as agent_module
    from agno_nb.agent import Agent

    instance = ip.magics_manager.registry["AgnoMagics"]
    yield instance
    for name in list(instance.storages):
        instance.storages.pop(name).close()
    instance.current = None
    instance.last_agent = None
    for name in [n for n, v in ip.user_ns.items() if isinstance(v, Agent) or "Agent" in n]:
        ip.user_ns.pop(name, None)
    ip.user_ns.pop("legacy", None)
    agent_module.set_default_storage(None)
    instance.display_limit = 20
    instance.default_table = "agent_sessions"


# -- agno 3.x in its own virtualenv (agno 1.8.4 lives in this one) ------------------------


def agno3_python() -> str:
    """The python of a virtualenv holding agno 3.1.10, or skip (fail in CI).

    Found through ``AGNO_NB_AGNO3_PYTHON``, which nox (noxfile.py) sets: its ``agno1``
    session builds ``.nox/agno3-reader`` from ``tests/agno3/requirements.txt``, its
    ``agno3`` session uses its own python. Under ``AGNO_NB_REQUIRE_AGNO3=1`` a missing
    interpreter fails the test instead of skipping it.
    """
    path = os.environ.get("AGNO_NB_AGNO3_PYTHON", "")
    if path and Path(path).is_file():
        return path
    message = (
        "no agno 3.1.10 interpreter: run the tests with nox (nox -s agno1 -- ARGS builds "
        "one), or export AGNO_NB_AGNO3_PYTHON=/path/to/a/venv/with/agno-3.1.10/bin/python"
    )
    if os.environ.get("AGNO_NB_REQUIRE_AGNO3") == "1":
        pytest.fail(message + " (AGNO_NB_REQUIRE_AGNO3=1 forbids skipping)")
    pytest.skip(message)


def run_agno3(script: str, *args: str, timeout: float = 300) -> Any:
    """Run ``script`` (Python source) with agno 3.1.10's interpreter and return the
    JSON it prints as its last stdout line; a failure shows agno's own stderr."""
    import json
    import subprocess
    import sys

    python = agno3_python()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["AGNO_TELEMETRY"] = "false"
    done = subprocess.run(
        [python, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=Path(__file__).parent,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise AssertionError(
            f"agno 3.1.10 script failed (exit {done.returncode}): {done.stderr[-800:]}"
        )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else None


class Agno3Postgres(NamedTuple):
    """Where agno 3.1.10 wrote its sessions, and what it returned while writing them."""

    url: str
    schema: str
    expected: dict[str, Any]


@pytest.fixture
def agno3_postgres() -> Iterator[Agno3Postgres]:
    """A fresh Postgres schema holding sessions written by agno 3.1.10's own ``PostgresDb``.

    ``tests/agno3/write_postgres.py`` runs the scenario of ``tests/agno3_fixtures.py``
    (agents + one team, unicode, hostile HTML, a rename, a tool call, a 60-run session)
    with ``run_agno3``. Yields ``(url, schema, expected)``; ``expected`` has the layout of
    ``tests/fixtures/agno_3_1_10_sessions.json`` (without the fixed timestamps). The
    schema is dropped afterwards. Skips like ``require_postgres`` and ``agno3_python``.
    """
    import sqlalchemy as sa

    url = require_postgres()
    agno3_python()
    schema = f"agno3_{uuid.uuid4().hex[:10]}"
    script = (Path(__file__).parent / "agno3" / "write_postgres.py").read_text()
    engine = sa.create_engine(url)
    try:
        expected = run_agno3(script, url, schema)
        yield Agno3Postgres(url, schema, expected)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
