"""Step v3 -> v4: the folded text that search matches.

Adds ``search_name`` (the session's folded name and id) to the sessions table
and ``search_text`` (the folded text of the run's messages) to each run row,
and fills both for the rows already there, in batches by key. From v4 every
write (upsert, append_run, rename_session) keeps them current; see
``agno_nb.summary`` for what is folded and how.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from agno_nb.codec import loads_exact
from agno_nb.dialects import dialect_of
from agno_nb.migrations.sql import StepStats, TableRef, compile_type, quoted
from agno_nb.schema import json_text, quiet_update, runs_name
from agno_nb.summary import name_text, run_text, session_text

Progress = Callable[[int, int], None]
BATCH_SIZE = 500


def v4_ddl(ref: TableRef, dialect: Dialect) -> list[str]:
    """Two new text columns (no index: search reads them along the listing order)."""
    text = compile_type(sa.Text(), dialect)
    runs = quoted(ref, dialect, runs_name(ref.table, ref.backend))
    return [
        f"ALTER TABLE {quoted(ref, dialect)} ADD COLUMN search_name {text}",
        f"ALTER TABLE {runs} ADD COLUMN search_text {text}",
    ]


def v4_data(conn: Connection, ref: TableRef, progress: Progress | None) -> Any:
    """Fill ``search_name`` for every session and ``search_text`` for every run.

    A run whose stored JSON cannot be decoded keeps an empty ``search_text``
    (its session is still found by name and id); nothing else is changed. No
    session or run moves, so the stats it returns are zero.
    """
    md = sa.MetaData()
    table = ref.sessions_at(4, md)
    runs = ref.runs_at(4, md)
    total = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    runs_total = conn.execute(sa.select(sa.func.count()).select_from(runs)).scalar_one()
    stats = StepStats()
    runs_done = 0

    # text that is all ASCII as written where LIKE ignores ASCII case, as writes keep it
    as_is = dialect_of(ref.backend).like_ignores_ascii_case
    set_name = (
        quiet_update(table)
        .where(table.c.session_id == sa.bindparam("b_sid"))
        .values(search_name=sa.bindparam("b_text"))
    )
    last: str | None = None
    while True:
        query = sa.select(table.c.session_id, table.c.session_name)
        if last is not None:
            query = query.where(table.c.session_id > last)
        rows = conn.execute(query.order_by(table.c.session_id).limit(BATCH_SIZE)).all()
        if not rows:
            break
        conn.execute(
            set_name,
            [{"b_sid": r[0], "b_text": name_text(r[0], r[1], ascii_as_is=as_is)} for r in rows],
        )
        last = rows[-1][0]

    # a session stored as given (run_count NULL: no list of runs, or runs an
    # upgrade skipped) has no run rows: its runs' text, read from its JSON, goes
    # into search_name with its name, so search finds it by what its runs say
    source = table.c.runs if ref.mode == "workflow_v2" else table.c.memory
    held = sa.select(
        table.c.session_id, table.c.session_name, json_text(source, ref.backend)
    ).where(table.c.run_count.is_(None))
    held_names = [
        {
            "b_sid": sid,
            "b_text": session_text(sid, name, _held_runs(text, ref.mode), ascii_as_is=as_is),
        }
        for sid, name, text in conn.execute(held)
    ]
    if held_names:
        conn.execute(set_name, held_names)

    set_text = (
        quiet_update(runs)
        .where(runs.c.session_id == sa.bindparam("b_sid"), runs.c.run_index == sa.bindparam("b_i"))
        .values(search_text=sa.bindparam("b_text"))
    )
    key: tuple[str, int] | None = None
    while True:
        query = sa.select(runs.c.session_id, runs.c.run_index, sa.cast(runs.c.run, sa.Text))
        if key is not None:
            query = query.where(
                sa.or_(
                    runs.c.session_id > key[0],
                    sa.and_(runs.c.session_id == key[0], runs.c.run_index > key[1]),
                )
            )
        order = query.order_by(runs.c.session_id, runs.c.run_index).limit(BATCH_SIZE)
        run_rows: list[Any] = list(conn.execute(order).all())
        if not run_rows:
            break
        updates = []
        for row in run_rows:
            sid, index, text = row[0], row[1], row[2]
            try:
                run = None if text is None else loads_exact(text)
            except ValueError:
                run = None
            updates.append({"b_sid": sid, "b_i": index, "b_text": run_text(run, ascii_as_is=as_is)})
        conn.execute(set_text, updates)
        runs_done += len(run_rows)
        key = (run_rows[-1][0], int(run_rows[-1][1]))
        if progress is not None and runs_done < runs_total:  # in sessions, like the other steps
            progress(min(total, runs_done * total // runs_total), total)
    if progress is not None:
        progress(total, total)
    return stats


def _loads(text: str) -> Any:
    return loads_exact(text)


def _held_runs(text: str | None, mode: str) -> list[Any]:
    """The runs in a held session's stored runs holder (``memory``, or ``runs``
    in workflow_v2 mode); [] when it cannot be decoded or holds no list."""
    try:
        holder = None if text is None else _loads(text)
    except ValueError:
        return []
    if mode != "workflow_v2":
        holder = holder.get("runs") if isinstance(holder, dict) else None
    return holder if isinstance(holder, list) else []
