"""Upgrading a table in place (``BaseStorage.upgrade_schema``), and the marker
that names an upgrade under way.

The upgrade: the plan (``agno_nb.migrations``) says which steps the table
needs; each step runs in one write transaction with its version stamp, under
the table's lock, after looking at the table again (a second upgrader finds
the work done). A step that fails becomes one MigrationError naming the table
and the step; rows a step cannot move stop it unless ``skip_corrupt``. On an
up-to-date table, runs an earlier upgrade skipped are moved if they read now.

The marker (issue 14, item 16): an upgrade step holds the table's write lock
for as long as it moves data (seconds per 10,000 sessions). Before its first
step the upgrader commits a row ``<table>:upgrading`` to the version table
(target layout, process and host, start time) and deletes it when it is done,
whether it succeeded or not. A writer that gives up waiting for the lock reads
that row, which a reader can do while the lock is held, and names the upgrade
in its error. A row left by a killed upgrader is stale: the error shows when
it started.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from agno_nb.errors import (
    AgnoNbError,
    BackendUnavailableError,
    MigrationError,
    StorageFullError,
    StorageLockedError,
)
from agno_nb.migrations import UpgradePlan, plan
from agno_nb.migrations.fused import apply_step, steps_for
from agno_nb.migrations.plan import describe_rows
from agno_nb.migrations.steps import Progress
from agno_nb.schema import LATEST_VERSION
from agno_nb.storage import stamps
from agno_nb.storage.contract import StorageCore
from agno_nb.storage.layouts import layout_for_version
from agno_nb.urls import mask_url
from agno_nb.words import counted

SUFFIX = ":upgrading"


# -- the upgrade -------------------------------------------------------------------------


def upgrade(
    storage: StorageCore, *, dry_run: bool, progress: Progress | None, skip_corrupt: bool
) -> UpgradePlan:
    """Plan the upgrade of ``storage``'s table and, unless ``dry_run``, apply it
    (see ``BaseStorage.upgrade_schema``, whose body this is).

    Raises:
        MigrationError: rows cannot be moved, or a step failed.
        SchemaTooNewError: the table is newer than this agno_nb.
        AgnoNbError: the table's family is not upgraded by agno_nb.
    """
    with storage.read_conn(check=False) as conn:
        layout = stamps.detect(storage, conn)
    if layout is not None:
        layout.refuse("upgrade_schema")
    start = None if layout is None else layout.version
    result = plan(storage.ref, start)
    result.dry_run = dry_run
    if result.steps:
        result.sessions = _row_count(storage)
    if dry_run or layout is None:
        return result
    if not result.steps:
        return _finish_moves(storage, result)
    mark(storage, LATEST_VERSION)  # writers that time out name this upgrade
    try:
        # v2..v5 as one step when all are due: one decode of each session (fused.py)
        for migration in steps_for(start or 0):
            stays_at = getattr(migration, "first", migration.version) - 1
            with (
                _step_errors(storage, migration.version, stays_at),
                storage.write_conn(check=False) as conn,
            ):
                storage.lock_table(conn)
                now = stamps.detect(storage, conn)
                if now is None or now.version is None or now.version >= migration.version:
                    continue
                stats = apply_step(migration, conn, storage.ref, progress, now.version)
                if stats.unmoved and not skip_corrupt:
                    raise _cannot_move(storage, stats.unmoved, f"v{now.version}")
                stamps.stamp(storage, conn, migration.version)
            result.sessions_migrated += stats.sessions
            result.runs_moved += stats.runs
            result.skipped.extend(stats.unmoved)
    finally:
        unmark(storage)
    storage.forget_layout()
    storage.use_layout(layout_for_version(storage, LATEST_VERSION))
    result.applied = True
    return result


@contextmanager
def _step_errors(storage: StorageCore, version: int, stays_at: int | None = None) -> Iterator[None]:
    """Around one upgrade step's transaction: a step that failed for any reason
    but the database's availability (unreachable, locked, full: those errors
    already say what to do) raises MigrationError, naming the table and step
    (``stays_at``: the layout the table keeps, ``version - 1`` by default; the
    step is named ``v<stays_at + 1>-v<version>`` when it spans several)."""
    before = version - 1 if stays_at is None else stays_at
    target = f"v{version}" if before == version - 1 else f"v{before + 1}-v{version}"
    try:
        yield
    except (MigrationError, BackendUnavailableError, StorageLockedError, StorageFullError):
        raise
    except Exception as exc:
        orig = getattr(exc, "orig", None) or exc
        first = str(orig).strip().splitlines()
        detail = mask_url(first[0] if first else type(orig).__name__)
        if not isinstance(exc, AgnoNbError):
            detail = f"{type(orig).__name__}: {detail}"
        raise MigrationError(
            f"upgrading {storage.ref.qualified} to layout {target} failed ({detail}); "
            f"nothing of this step was saved, the table stays at "
            f"v{before}: fix "
            "the cause and run upgrade_schema() again"
        ) from None


def _row_count(storage: StorageCore) -> int:
    """How many sessions the table holds (for the upgrade plan's lock estimate)."""
    query = sa.select(sa.func.count()).select_from(
        sa.table(storage.table_name, schema=storage.schema)
    )
    with storage.read_conn(check=False) as conn:
        return int(storage.run_statement(conn, query).scalar_one())


def _finish_moves(storage: StorageCore, result: UpgradePlan) -> UpgradePlan:
    """On an up-to-date table, move the runs an earlier upgrade could not (rows
    it skipped, fixed since); rows still unreadable stay as they are, listed in
    ``result.skipped`` (they were skipped on purpose: no error)."""
    with storage.write_conn(check=False) as conn:
        storage.lock_table(conn)
        layout = stamps.detect(storage, conn)
        if layout is None:
            return result
        stats = layout.move_held(conn)
    result.sessions_migrated += stats.sessions
    result.runs_moved += stats.runs
    result.skipped.extend(stats.unmoved)
    return result


def _cannot_move(storage: StorageCore, rows: list[tuple[str, str]], at: str) -> MigrationError:
    return MigrationError(
        f"cannot upgrade {storage.ref.qualified}: {counted(len(rows), 'session')} cannot be "
        "moved: "
        f"{describe_rows(rows)}; the table stays at {at}. Fix or delete these rows and "
        "rerun the upgrade, or pass skip_corrupt=True (agno-nb upgrade --skip-corrupt, "
        "%agno_upgrade --skip-corrupt) to upgrade the rest and leave them as they are "
        "(their runs are kept and read from their JSON)"
    )


# -- the marker --------------------------------------------------------------------------


def mark(storage: StorageCore, target: int) -> None:
    """Record that this process starts upgrading ``storage``'s table to ``target``."""
    v = storage.versions_table
    name = storage.table_name + SUFFIX
    who = f"pid {os.getpid()} on {socket.gethostname()}"
    with storage.write_conn(check=False) as conn:
        storage.lock_table(conn)  # concurrent upgraders mark one after the other
        v.create(conn, checkfirst=True)
        storage.run_statement(conn, v.delete().where(v.c.table_name == name))
        storage.run_statement(
            conn,
            v.insert().values(
                table_name=name, layout_version=target, mode=who, updated_at=int(time.time())
            ),
        )


def unmark(storage: StorageCore) -> None:
    """Remove this table's upgrade marker."""
    v = storage.versions_table
    with storage.write_conn(check=False) as conn:
        storage.run_statement(conn, v.delete().where(v.c.table_name == storage.table_name + SUFFIX))


def running(storage: StorageCore) -> str | None:
    """A clause naming the upgrade under way on ``storage``'s table, or None.

    Best effort: it only adds to an error message being built, so any failure
    to read the marker (no version table, no connection) gives None.
    """
    v = storage.versions_table
    query = sa.select(v.c.layout_version, v.c.mode, v.c.updated_at).where(
        v.c.table_name == storage.table_name + SUFFIX
    )
    stamp = sa.select(v.c.layout_version).where(v.c.table_name == storage.table_name)
    try:
        with storage.db_engine.connect() as conn:
            if not sa.inspect(conn).has_table(v.name, schema=storage.schema):
                return None
            row = conn.execute(query).first()
            now = conn.execute(stamp).scalar()
    except Exception:  # the hint is optional; the caller's error stands
        return None
    if row is None or (now is not None and int(now) >= int(row[0])):
        return None  # none, or left by an upgrader killed after its last step
    started = time.strftime("%H:%M:%S UTC", time.gmtime(int(row[2] or 0)))
    ago = max(0, int(time.time()) - int(row[2] or 0))
    return (
        f"an upgrade of table {storage.ref.qualified} to layout v{row[0]} ({row[1]}, "
        f"started {started}, {ago} s ago) holds the write lock"
    )
