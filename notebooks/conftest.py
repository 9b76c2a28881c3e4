"""nbval setup for the cookbook notebooks (``pytest`` from the repo root runs them).

- The sanitize file ``notebooks/nbval_sanitize.cfg`` is used when none is given, and a
  relative ``--nbval-sanitize-with`` path is also looked up from the repo root, so
  ``pytest`` works from any directory.
- The Postgres notebook needs a server at ``AGNO_NB_POSTGRES_URL`` (falling back to
  ``AGNO_NB_TEST_POSTGRES_URL``, then the local default), the same URL the notebook
  reads. Without one its cells are skipped with the reason; with
  ``AGNO_NB_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) they fail instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
SANITIZE = HERE / "nbval_sanitize.cfg"
POSTGRES_NOTEBOOKS = frozenset({"02_postgres_storage.ipynb"})
# Notebooks that need agno >= 2 in the kernel: nox's ``agno3`` session runs these and
# only these; everywhere else (agno 1.8.4) they are left out of collection.
AGNO3_NOTEBOOKS = frozenset({"10_agno3_live.ipynb"})
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

_problem: dict[str, str | None] = {}


def notebook_postgres_url() -> str:
    """The URL the Postgres notebook connects to (same lookup as in the notebook)."""
    return (
        os.environ.get("AGNO_NB_POSTGRES_URL")
        or os.environ.get("AGNO_NB_TEST_POSTGRES_URL")
        or DEFAULT_PG_URL
    )


def _postgres_problem() -> str | None:
    """Why the Postgres notebook can't run here, or None (checked once per session)."""
    if "pg" not in _problem:
        url = notebook_postgres_url()
        try:
            import sqlalchemy as sa

            engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
            try:
                with engine.connect() as conn:
                    conn.execute(sa.text("select 1"))
            finally:
                engine.dispose()
        except Exception as exc:  # any failure means "no usable server"
            from agno_nb.urls import mask_url

            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            _problem["pg"] = mask_url(f"{type(exc).__name__}: {first}")
        else:
            _problem["pg"] = None
    return _problem["pg"]


def _agno_major() -> int:
    """The installed agno's major version from its metadata (0 when none is installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return int(version("agno").split(".")[0])
    except (PackageNotFoundError, ValueError):
        return 0


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Collect the AGNO3_NOTEBOOKS only under agno >= 2, and only them there."""
    if collection_path.suffix != ".ipynb":
        return None
    wants_agno3 = collection_path.name in AGNO3_NOTEBOOKS
    return None if wants_agno3 == (_agno_major() >= 2) else True


def pytest_configure(config: pytest.Config) -> None:
    option: Any = config.option
    if not hasattr(option, "nbval_sanitize_with"):
        return  # nbval is not installed
    given = option.nbval_sanitize_with
    if given is None:
        option.nbval_sanitize_with = str(SANITIZE)
    elif not Path(given).is_absolute() and not Path(given).exists():
        from_root = config.rootpath / given
        if from_root.exists():
            option.nbval_sanitize_with = str(from_root)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.path.name not in POSTGRES_NOTEBOOKS or item.path.suffix != ".ipynb":
        return
    problem = _postgres_problem()
    if problem is None:
        return
    message = (
        f"{item.path.name} needs Postgres: none reachable at AGNO_NB_POSTGRES_URL / "
        f"AGNO_NB_TEST_POSTGRES_URL ({problem}); start one (see README) or set the variable"
    )
    if os.environ.get("AGNO_NB_REQUIRE_POSTGRES") == "1":
        pytest.fail(message + " (AGNO_NB_REQUIRE_POSTGRES=1 forbids skipping)", pytrace=False)
    pytest.skip(message)
