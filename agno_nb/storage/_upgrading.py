"""Who is upgrading a table: a marker row in the version table (issue 14, item 16).

An upgrade step holds the table's write lock for as long as it moves data
(seconds per 10,000 sessions). Before its first step the upgrader commits a
row ``<table>:upgrading`` to the version table (target layout, process and
host, start time) and deletes it when it is done, whether it succeeded or
not. A writer that gives up waiting for the lock reads that row, which a
reader can do while the lock is held, and names the upgrade in its error.
A row left by a killed upgrader is stale: the error shows when it started.
"""

from __future__ import annotations

import os
import socket
import time
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from agno_nb.storage.base import BaseStorage

SUFFIX = ":upgrading"


def mark(storage: BaseStorage, target: int) -> None:
    """Record that this process starts upgrading ``storage``'s table to ``target``."""
    v = storage._versions
    name = storage.table_name + SUFFIX
    who = f"pid {os.getpid()} on {socket.gethostname()}"
    with storage._write(check=False) as conn:
        storage._lock_table(conn)  # concurrent upgraders mark one after the other
        v.create(conn, checkfirst=True)
        storage._run(conn, v.delete().where(v.c.table_name == name))
        storage._run(
            conn,
            v.insert().values(
                table_name=name, layout_version=target, mode=who, updated_at=int(time.time())
            ),
        )


def unmark(storage: BaseStorage) -> None:
    """Remove this table's upgrade marker."""
    v = storage._versions
    with storage._write(check=False) as conn:
        storage._run(conn, v.delete().where(v.c.table_name == storage.table_name + SUFFIX))


def running(storage: BaseStorage) -> str | None:
    """A clause naming the upgrade under way on ``storage``'s table, or None.

    Best effort: it only adds to an error message being built, so any failure
    to read the marker (no version table, no connection) gives None.
    """
    v = storage._versions
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
        f"an upgrade of table {storage._ref.qualified} to layout v{row[0]} ({row[1]}, "
        f"started {started}, {ago} s ago) holds the write lock"
    )
