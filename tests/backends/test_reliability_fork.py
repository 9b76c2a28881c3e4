"""A storage used in a parent, then in ``multiprocessing`` fork workers (issue 14,
defect 3): a child never uses the parent's connections.

Postgres: each worker opens its own connections, every append lands exactly
once and the parent's pooled connections still work afterwards. DuckDB: a
database lives inside the process that opened it, so a child refuses one that
was open at the fork (one clear line, nothing written anywhere) and opens its
own when the parent had closed it.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from agno_nb.errors import StorageLockedError
from agno_nb.sessions import AgentSession

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method"
)

RUNS_PER_WORKER = 15
WORKERS = 6
#: the storage the workers inherit (set by the test before the pool forks)
SHARED: dict[str, Any] = {}


def _append_many(worker: int) -> str:
    storage = SHARED["storage"]
    try:
        for k in range(RUNS_PER_WORKER):
            storage.append_run("s", {"run_id": f"w{worker}-{k}", "messages": []})
    except Exception as exc:  # reported to the parent, which asserts on it
        return f"{type(exc).__name__}: {exc}"
    return "ok"


def _fork_pool(processes: int, fn: Callable[[int], str], n: int) -> list[str]:
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        return pool.map(fn, range(n))


@pytest.mark.parametrize("backend", ["postgres", "sqlite"], indirect=True)
def test_fork_workers_use_their_own_connections(make_storage: Callable[..., Any]) -> None:
    storage = make_storage()
    storage.upsert(AgentSession(session_id="s", user_id="u"))
    storage.upsert(AgentSession(session_id="other"))
    assert storage.count_runs("s") == 0  # the parent's pool now holds connections
    SHARED["storage"] = storage
    results = _fork_pool(3, _append_many, WORKERS)
    assert Counter(results) == {"ok": WORKERS}, results
    run_ids = [r["run_id"] for r in storage.get_runs("s")]
    expected = {f"w{w}-{k}" for w in range(WORKERS) for k in range(RUNS_PER_WORKER)}
    assert sorted(run_ids) == sorted(expected)  # each append saved exactly once
    # the parent's own (pooled, pre-fork) connections were left intact
    storage.append_run("other", {"run_id": "parent", "messages": []})
    assert storage.count_runs("other") == 1
    assert storage.read("s") is not None


@pytest.mark.parametrize("backend", ["duckdb"], indirect=True)
def test_duckdb_open_in_parent_is_refused_in_child(make_storage: Callable[..., Any]) -> None:
    storage = make_storage()
    storage.upsert(AgentSession(session_id="s"))
    assert storage.count_runs("s") == 0  # open in the parent
    SHARED["storage"] = storage
    results = _fork_pool(2, _append_many, 2)
    assert all(r.startswith(StorageLockedError.__name__) for r in results), results
    assert "close() the storage in the parent" in results[0]
    assert "\n" not in results[0]
    # nothing was written by the children; the parent still works
    assert storage.count_runs("s") == 0
    storage.append_run("s", {"run_id": "parent", "messages": []})
    assert [r["run_id"] for r in storage.get_runs("s")] == ["parent"]


@pytest.mark.parametrize("backend", ["duckdb"], indirect=True)
def test_duckdb_closed_in_parent_opens_its_own_in_child(make_storage: Callable[..., Any]) -> None:
    storage = make_storage()
    storage.upsert(AgentSession(session_id="s"))
    storage.close()  # DuckDB: one process at a time
    SHARED["storage"] = storage
    results = _fork_pool(1, _append_many, 3)
    assert results == ["ok"] * 3
    assert storage.count_runs("s") == 3 * RUNS_PER_WORKER
