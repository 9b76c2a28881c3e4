"""Concurrency and interruption, on the real databases and in real processes.

Workers are separate Python processes (``subprocess`` running
:func:`worker_main` of this module), so SQLite file locks, DuckDB's
one-writer rule and Postgres row locks are exercised for real. Workers line up
on a start barrier (a file the parent creates once every worker is ready) so
their writes overlap.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from agno_nb.errors import StorageLockedError
from agno_nb.schema import LATEST_VERSION
from agno_nb.sessions import AgentSession
from agno_nb.storage import BaseStorage, DuckDbStorage, PostgresStorage, SqliteStorage
from tests.conftest import postgres_url, require_postgres

TESTS_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = TESTS_DIR.parent
WAIT_S = 120  # a generous ceiling; a hung worker fails the test instead of hanging it

# -- data ---------------------------------------------------------------------------------


def make_run(tag: str, index: int) -> dict[str, Any]:
    """An agno-shaped run whose ids and texts say who wrote it (``tag``)."""
    return {
        "run_id": f"{tag}-run-{index}",
        "content": f"answer {tag} {index}",
        "created_at": 1_700_000_000 + index,
        "metrics": {"input_tokens": [10], "output_tokens": [5], "total_tokens": [15]},
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": f"question {tag} {index} é 東京", "created_at": 1},
            {
                "role": "assistant",
                "content": f"answer {tag} {index}",
                "metrics": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
            },
        ],
    }


def make_session(session_id: str, *, tag: str | None = None, runs: int = 2) -> AgentSession:
    """A session with ``runs`` runs written by ``tag`` (default: the session id)."""
    tag = tag or session_id
    return AgentSession(
        session_id=session_id,
        user_id="u-" + session_id[-1],
        agent_id="agent-1",
        memory={"runs": [make_run(tag, i) for i in range(runs)]},
        session_data={"session_name": f"name {session_id}"},
        created_at=1_700_000_000,
    )


# -- storages, described so a worker process can open the same one -----------------------

Spec = dict[str, Any]
_CLASSES: dict[str, type[BaseStorage]] = {
    "sqlite": SqliteStorage,
    "duckdb": DuckDbStorage,
    "postgres": PostgresStorage,
}


def open_spec(spec: Spec, **extra: Any) -> BaseStorage:
    """The storage a spec describes (``{"backend", "table", "kw"}``)."""
    return _CLASSES[spec["backend"]](spec["table"], **spec["kw"], **extra)


def sqlite_spec(path: Path, layout: int) -> Spec:
    return {
        "backend": "sqlite",
        "table": "sessions",
        "kw": {"db_file": str(path), "schema_version": layout},
    }


def postgres_spec(schema: str, layout: int) -> Spec:
    return {
        "backend": "postgres",
        "table": f"t{uuid.uuid4().hex[:8]}",
        "kw": {"db_url": postgres_url(), "schema": schema, "schema_version": layout},
    }


def qualified(storage: BaseStorage, name: str) -> str:
    """A quoted table name for raw SQL checks."""
    prep = storage.db_engine.dialect.identifier_preparer
    return (
        f"{prep.quote_schema(storage.schema)}.{prep.quote(name)}"
        if storage.schema
        else prep.quote(name)
    )


def scalar(storage: BaseStorage, sql: str) -> Any:
    with storage.db_engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar()


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert text and "\n" not in text, repr(text)
    return text


def all_runs(storage: BaseStorage) -> dict[str, list[dict[str, Any]]]:
    """Every session's run dicts, as read back through the public API."""
    return {s.session_id: s.run_dicts for s in storage.get_all_sessions()}


# -- worker processes ---------------------------------------------------------------------


def _wait_for_go(job: dict[str, Any], step: int = 0) -> None:
    """Barrier ``step``: say this worker is ready, then wait for the parent's go."""
    Path(job["dir"], f"ready{step}-{job['name']}").touch()
    go = Path(job["dir"], f"go{step}")
    deadline = time.monotonic() + WAIT_S
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit("worker: no start signal")
        time.sleep(0.001)


def _work_write(job: dict[str, Any]) -> dict[str, Any]:
    """Upsert own sessions, contest shared ids, append runs to shared sessions."""
    storage = open_spec(job["spec"])
    _wait_for_go(job)
    name = job["name"]
    appended: dict[str, list[int]] = {sid: [] for sid in job["shared"]}
    for i in range(job["sessions"]):
        storage.upsert(make_session(f"{name}-s{i:04d}"))
        if i < len(job["contested"]):
            storage.upsert(make_session(job["contested"][i], tag=name, runs=3))
        if i % 2 == 0 and i // 2 < job["appends"]:
            for sid in job["shared"]:
                index = storage.append_run(sid, make_run(f"{name}-{sid}", i // 2))
                appended[sid].append(index)
    storage.close()
    return {"appended": appended}


def _work_fresh(job: dict[str, Any]) -> dict[str, Any]:
    """Open each (new) SQLite file in turn, as the other workers do, and write to it."""
    for step, path in enumerate(job["paths"]):
        storage = SqliteStorage("sessions", db_file=path)
        _wait_for_go(job, step)
        for i in range(job["sessions"]):
            storage.upsert(make_session(f"{job['name']}-s{i:04d}"))
        storage.close()
    return {}


def _work_upgrade(job: dict[str, Any]) -> dict[str, Any]:
    """Upgrade; the first progress call marks the upgrade as under way, then holds."""
    storage = open_spec(job["spec"])
    _wait_for_go(job)
    calls: list[tuple[int, int]] = []
    marker = Path(job["dir"], f"migrating-{job['name']}")

    def progress(done: int, total: int) -> None:
        calls.append((done, total))
        if len(calls) > 1:
            return
        marker.touch()
        if job["hold"] == "forever":
            time.sleep(WAIT_S * 2)  # the parent kills us here, mid-upgrade
        elif job["hold"] == "peer":
            # stay inside the migration transaction until the other upgrader is waiting
            peer = Path(job["dir"], f"calling-{job['peer']}")
            deadline = time.monotonic() + WAIT_S
            while not peer.exists() and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(0.5)

    Path(job["dir"], f"calling-{job['name']}").touch()
    result = storage.upgrade_schema(progress=progress)
    storage.close()
    return {
        "sessions": result.sessions_migrated,
        "runs": result.runs_moved,
        "progress_calls": len(calls),
    }


def _work_duckdb_hold(job: dict[str, Any]) -> dict[str, Any]:
    """Hold a DuckDB file open for writing until told (on stdin) to close it."""
    storage = open_spec(job["spec"])
    storage.upsert(make_session("held"))
    print("opened", flush=True)
    sys.stdin.readline()
    storage.close()
    print("closed", flush=True)
    sys.stdin.readline()
    return {}


def worker_main(argv: list[str]) -> None:
    """Entry point of a worker process: ``argv[0]`` is the job as JSON."""
    job = json.loads(argv[0])
    work = {
        "write": _work_write,
        "fresh": _work_fresh,
        "upgrade": _work_upgrade,
        "duckdb_hold": _work_duckdb_hold,
    }
    result = work[job["kind"]](job)
    print("RESULT " + json.dumps(result), flush=True)


def spawn(job: dict[str, Any], **popen: Any) -> subprocess.Popen[str]:
    """Start a worker process running ``job``."""
    code = (
        f"import sys; sys.path.insert(0, {str(REPO_DIR)!r}); "
        "from tests.backends.test_concurrency import worker_main; worker_main(sys.argv[1:])"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO_DIR))
    return subprocess.Popen(
        [sys.executable, "-c", code, json.dumps(job)],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **popen,
    )


def release(
    procs: list[subprocess.Popen[str]], folder: Path, names: list[str], step: int = 0
) -> None:
    """Wait until every worker reached barrier ``step``, then let them all go at once."""
    deadline = time.monotonic() + WAIT_S
    while not all(Path(folder, f"ready{step}-{name}").exists() for name in names):
        dead = [p for p in procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            for p in procs:
                p.kill()
            details = [p.communicate()[1][-2000:] for p in dead]
            pytest.fail(f"a worker died or hung before barrier {step}: {details}")
        time.sleep(0.005)
    Path(folder, f"go{step}").touch()


def start_together(jobs: list[dict[str, Any]], folder: Path) -> list[subprocess.Popen[str]]:
    """Spawn every job, wait until all are ready, then let them go at once."""
    for job in jobs:
        job["dir"] = str(folder)
    procs = [spawn(job) for job in jobs]
    release(procs, folder, [job["name"] for job in jobs])
    return procs


def finish(procs: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    """Wait for every worker; each must exit 0 with no lock error. Returns results."""
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=WAIT_S)
        assert "locked" not in err.lower(), err[-3000:]
        assert proc.returncode == 0, err[-3000:]
        line = [x for x in out.splitlines() if x.startswith("RESULT ")][-1]
        results.append(json.loads(line[len("RESULT ") :]))
    return results


# -- many writers -------------------------------------------------------------------------

WRITERS, OWN_SESSIONS, APPENDS = 4, 200, 25
SHARED = ["shared-0", "shared-1", "shared-2"]
CONTESTED = ["contested-0", "contested-1", "contested-2", "contested-3"]


def run_writers(spec: Spec, folder: Path) -> None:
    """Several processes write at once; afterwards nothing is lost or mixed up."""
    setup = open_spec(spec)
    for sid in SHARED:
        setup.upsert(make_session(sid, runs=0))
    jobs = [
        {
            "kind": "write",
            "name": f"w{n}",
            "spec": spec,
            "sessions": OWN_SESSIONS,
            "appends": APPENDS,
            "shared": SHARED,
            "contested": CONTESTED,
        }
        for n in range(WRITERS)
    ]
    results = finish(start_together(jobs, folder))

    storage = open_spec(spec)
    assert storage.current_version == spec["kw"]["schema_version"]
    runs = all_runs(storage)
    names = [job["name"] for job in jobs]
    own = {f"{n}-s{i:04d}" for n in names for i in range(OWN_SESSIONS)}
    assert set(runs) == own | set(SHARED) | set(CONTESTED)
    assert storage.count_sessions() == len(runs)
    for sid in own:
        assert runs[sid] == make_session(sid).run_dicts, sid

    total = WRITERS * APPENDS
    summaries = {s.session_id: s for s in storage.list_sessions(limit=None)}
    for sid in SHARED:
        indices = sorted(i for r in results for i in r["appended"][sid])
        assert indices == list(range(total)), f"{sid}: append_run indices {indices}"
        got = storage.get_runs(sid)
        expected = [make_run(f"{n}-{sid}", k) for n in names for k in range(APPENDS)]
        assert sorted(got, key=lambda r: r["run_id"]) == sorted(expected, key=lambda r: r["run_id"])
        for n in names:  # each writer's runs are stored in the order it appended them
            mine = [r["run_id"] for r in got if r["run_id"].startswith(f"{n}-")]
            assert mine == [f"{n}-{sid}-run-{k}" for k in range(APPENDS)]
        assert storage.count_runs(sid) == total
        assert summaries[sid].run_count == total
        assert summaries[sid].message_count == 3 * total
    for sid in CONTESTED:  # one whole upsert won; never a mix of two writers' runs
        writers = {r["run_id"].split("-run-")[0] for r in runs[sid]}
        assert len(writers) == 1, f"{sid} mixes runs of {writers}"
        assert runs[sid] == make_session(sid, tag=writers.pop(), runs=3).run_dicts
        assert summaries[sid].run_count == 3
    if spec["kw"]["schema_version"] >= 2:
        runs_table = qualified(storage, storage.table_name + "_runs")
        expected_rows = len(own) * 2 + len(SHARED) * total + len(CONTESTED) * 3
        assert scalar(storage, f"SELECT count(*) FROM {runs_table}") == expected_rows
    storage.close()
    setup.close()


@pytest.mark.parametrize("layout", [1, 2])
def test_sqlite_processes_lose_nothing(tmp_path: Path, layout: int) -> None:
    run_writers(sqlite_spec(tmp_path / "shared.db", layout), tmp_path)


@pytest.mark.parametrize("layout", [1, 2])
def test_postgres_processes_lose_nothing(tmp_path: Path, pg_schema: str, layout: int) -> None:
    require_postgres()
    run_writers(postgres_spec(pg_schema, layout), tmp_path)


def test_sqlite_processes_open_new_files_together(tmp_path: Path) -> None:
    """Writers that all find no database file create it (WAL, table) without a lock
    error; several files in a row, so the processes race on each first open."""
    paths = [str(tmp_path / "fresh" / f"new{k}.db") for k in range(8)]
    jobs: list[dict[str, Any]] = [
        {"kind": "fresh", "name": f"w{n}", "paths": paths, "sessions": 2} for n in range(WRITERS)
    ]
    procs = start_together(jobs, tmp_path)
    for step in range(1, len(paths)):
        release(procs, tmp_path, [job["name"] for job in jobs], step)
    finish(procs)
    for path in paths:
        storage = SqliteStorage("sessions", db_file=path)
        assert storage.count_sessions() == WRITERS * 2
        assert storage.current_version == LATEST_VERSION
        with storage.db_engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        storage.close()


def test_sqlite_waits_for_a_rollback_journal_writer(tmp_path: Path) -> None:
    """A file another program writes in SQLite's default (rollback journal) mode, as
    agno 1.x does: while that program holds the write lock, opening the file waits
    for it (busy timeout) instead of failing with "database is locked"."""
    path = tmp_path / "agno_app.db"
    other = (
        "import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('CREATE TABLE other_app (x)')\n"
        "c.execute('BEGIN IMMEDIATE')\n"
        "c.execute('INSERT INTO other_app VALUES (1)')\n"
        "print('holding', flush=True)\n"
        "time.sleep(0.5)\n"
        "c.execute('COMMIT')\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", other, str(path)],
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "holding"
    storage = SqliteStorage("sessions", db_file=path)
    storage.upsert(make_session("mine"))  # waits for the other program's commit
    _, err = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 0, err
    assert storage.get_all_session_ids() == ["mine"]
    assert scalar(storage, "SELECT count(*) FROM other_app") == 1
    storage.close()


@pytest.mark.parametrize("layout", [1, 2])
def test_postgres_threads_share_one_storage(pg_schema: str, layout: int) -> None:
    """Threads appending through one storage (one pool) get indices 0..N-1."""
    require_postgres()
    storage = open_spec(postgres_spec(pg_schema, layout))
    storage.upsert(make_session("shared", runs=0))
    threads, per_thread = 8, 15
    got: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def work(n: int) -> None:
        try:
            barrier.wait()
            for k in range(per_thread):
                got.append(storage.append_run("shared", make_run(f"t{n}", k)))
        except BaseException as exc:  # reported below, with the thread's error
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(WAIT_S)
    assert not errors, errors
    assert sorted(got) == list(range(threads * per_thread))
    run_ids = sorted(r["run_id"] for r in storage.get_runs("shared"))
    assert run_ids == sorted(f"t{n}-run-{k}" for n in range(threads) for k in range(per_thread))
    storage.close()


# -- upgrades -----------------------------------------------------------------------------


def fill_v1(spec: Spec, count: int) -> dict[str, list[dict[str, Any]]]:
    """A v1 table of ``count`` sessions (2 runs each); returns what was written."""
    storage = open_spec(spec)
    assert spec["kw"]["schema_version"] == 1
    written = {}
    for i in range(count):
        session = make_session(f"s{i:05d}")
        storage.upsert(session)
        written[session.session_id] = session.run_dicts
    assert storage.current_version == 1
    storage.close()
    return written


def check_upgraded(spec: Spec, written: dict[str, list[dict[str, Any]]]) -> None:
    storage = open_spec(spec)
    assert storage.current_version == LATEST_VERSION
    assert all_runs(storage) == written
    runs_table = qualified(storage, storage.table_name + "_runs")
    assert scalar(storage, f"SELECT count(*) FROM {runs_table}") == 2 * len(written)
    versions = qualified(storage, "agno_nb_schema_versions")
    stamps = scalar(
        storage, f"SELECT count(*) FROM {versions} WHERE table_name = '{storage.table_name}'"
    )
    assert stamps == 1
    storage.close()


def concurrent_upgrade(spec: Spec, folder: Path, sessions: int) -> None:
    written = fill_v1(spec, sessions)
    v2 = {**spec, "kw": {**spec["kw"], "schema_version": None}}
    jobs = [
        {"kind": "upgrade", "name": "a", "peer": "b", "hold": "peer", "spec": v2},
        {"kind": "upgrade", "name": "b", "peer": "a", "hold": "peer", "spec": v2},
    ]
    results = finish(start_together(jobs, folder))
    migrated = sorted(r["sessions"] for r in results)
    assert migrated == [0, sessions], results
    assert sorted(r["runs"] for r in results) == [0, 2 * sessions], results
    # the one that moved the sessions reported its progress; the other waited for
    # that step, then found it done (on a loaded machine it may still win the
    # lock of a later step, which moves no session: each step runs exactly once)
    mover = next(r for r in results if r["sessions"] == sessions)
    assert mover["progress_calls"] > 0, results
    check_upgraded(v2, written)


def test_sqlite_two_upgraders(tmp_path: Path) -> None:
    concurrent_upgrade(sqlite_spec(tmp_path / "up.db", 1), tmp_path, 300)


def test_postgres_two_upgraders(tmp_path: Path, pg_schema: str) -> None:
    require_postgres()
    concurrent_upgrade(postgres_spec(pg_schema, 1), tmp_path, 300)


def _upgrade_in_thread(
    storage: BaseStorage, barrier: threading.Barrier, errors: list[BaseException]
) -> None:
    try:
        barrier.wait()
        storage.upgrade_schema()
    except BaseException as exc:  # collected; the test reports them
        errors.append(exc)


def test_postgres_upgraders_of_agno_tables_share_one_schema(pg_schema: str) -> None:
    """Tables agno 1.x made (no version table yet) upgraded at once, each by its own
    storage: they all create the shared version table; none may fail on it."""
    require_postgres()
    for round_ in range(3):
        schema = f"{pg_schema}_up{round_}"
        names = [f"agno_{n}" for n in range(6)]
        for name in names:
            old = PostgresStorage(name, db_url=postgres_url(), schema=schema, schema_version=1)
            old.upsert(make_session("s1"))
            old.close()
        engine = sa.create_engine(postgres_url())
        with engine.begin() as conn:  # as agno 1.x leaves a schema: no version table
            conn.exec_driver_sql(f'DROP TABLE "{schema}".agno_nb_schema_versions')
        storages = [PostgresStorage(n, db_url=postgres_url(), schema=schema) for n in names]
        barrier = threading.Barrier(len(storages))
        errors: list[BaseException] = []
        threads = [
            threading.Thread(target=_upgrade_in_thread, args=(s, barrier, errors)) for s in storages
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT_S)
        try:
            assert errors == []
            assert [s.current_version for s in storages] == [LATEST_VERSION] * len(storages)
        finally:
            for storage in storages:
                storage.close()
            with engine.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_writer_opened_before_an_upgrade_loses_nothing(
    tmp_path: Path, pg_schema: str, backend: str
) -> None:
    if backend == "postgres":
        require_postgres()
        spec = postgres_spec(pg_schema, 1)
    else:
        spec = sqlite_spec(tmp_path / "stale.db", 1)
    fill_v1(spec, 2)
    notebook = open_spec({**spec, "kw": {**spec["kw"], "schema_version": None}})
    notebook.upsert(make_session("s00000"))  # it has seen the table at v1
    upgrader = open_spec({**spec, "kw": {**spec["kw"], "schema_version": None}})
    assert upgrader.upgrade_schema().sessions_migrated == 2
    index = notebook.append_run("s00001", make_run("late", 0))
    notebook.upsert(make_session("new-one"))
    reader = open_spec({**spec, "kw": {**spec["kw"], "schema_version": None}})
    try:
        assert index == 2
        assert [r["run_id"] for r in reader.get_runs("s00001")][-1] == "late-run-0"
        assert reader.get_runs("new-one") == make_session("new-one").run_dicts
    finally:
        for storage in (notebook, upgrader, reader):
            storage.close()


def interrupted_upgrade(spec: Spec, folder: Path, sessions: int) -> None:
    """SIGKILL an upgrader after its first batch: v1 stays usable; a rerun finishes."""
    written = fill_v1(spec, sessions)
    v2 = {**spec, "kw": {**spec["kw"], "schema_version": None}}
    job = {"kind": "upgrade", "name": "victim", "hold": "forever", "spec": v2}
    (proc,) = start_together([job], folder)
    marker = folder / "migrating-victim"
    deadline = time.monotonic() + WAIT_S
    try:
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the upgrade never reported progress"
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=WAIT_S)
    assert proc.returncode == -signal.SIGKILL

    storage = open_spec(spec)
    assert storage.current_version == 1
    assert all_runs(storage) == written
    assert storage.count_sessions() == sessions
    storage.upsert(make_session("after-kill"))  # still writable at v1
    written["after-kill"] = make_session("after-kill").run_dicts
    storage.close()

    again = open_spec(v2)
    calls: list[tuple[int, int]] = []
    result = again.upgrade_schema(progress=lambda done, total: calls.append((done, total)))
    assert (result.from_version, result.sessions_migrated) == (1, sessions + 1)
    assert result.runs_moved == 2 * (sessions + 1)
    assert calls[-1] == (sessions + 1, sessions + 1)
    again.close()
    check_upgraded(v2, written)


def test_sqlite_upgrade_killed_midway(tmp_path: Path) -> None:
    interrupted_upgrade(sqlite_spec(tmp_path / "kill.db", 1), tmp_path, 2500)


def test_duckdb_upgrade_killed_midway(tmp_path: Path) -> None:
    spec: Spec = {
        "backend": "duckdb",
        "table": "sessions",
        "kw": {"db_file": str(tmp_path / "kill.duckdb"), "schema_version": 1},
    }
    interrupted_upgrade(spec, tmp_path, 600)  # two batches: killed after the first


def test_postgres_upgrade_killed_midway(tmp_path: Path, pg_schema: str) -> None:
    require_postgres()
    interrupted_upgrade(postgres_spec(pg_schema, 1), tmp_path, 1500)


# -- DuckDB: one writer per file ----------------------------------------------------------


def test_duckdb_second_writer_gets_locked_error(tmp_path: Path) -> None:
    spec: Spec = {
        "backend": "duckdb",
        "table": "sessions",
        "kw": {"db_file": str(tmp_path / "one.duckdb")},
    }
    holder = spawn({"kind": "duckdb_hold", "spec": spec}, stdin=subprocess.PIPE)
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "opened", holder.stderr
        second = open_spec(spec)
        for attempt in (second.count_sessions, lambda: second.upsert(make_session("x"))):
            with pytest.raises(StorageLockedError) as info:
                attempt()
            assert "read_only=True" in one_line(info.value)
        # read-only can't get in while a process writes: the message must not send the
        # user round in circles by suggesting read_only=True again
        browser = open_spec(spec, read_only=True)
        with pytest.raises(StorageLockedError) as info:
            browser.list_sessions()
        assert "read_only=True" not in one_line(info.value)
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "closed"
        # the same storage object opens once the first process has let go
        assert second.count_sessions() == 1
        second.upsert(make_session("x"))
        assert sorted(second.get_all_session_ids()) == ["held", "x"]
        second.close()
        # with no writer, several read-only storages browse the file at once
        other = open_spec(spec, read_only=True)
        assert [s.session_id for s in browser.list_sessions()] == ["x", "held"]
        assert sorted(other.get_all_session_ids()) == ["held", "x"]
        browser.close()
        other.close()
    finally:
        if holder.poll() is None:
            holder.stdin.write("\n")
            holder.stdin.flush()
        holder.communicate(timeout=WAIT_S)
    assert holder.returncode == 0
