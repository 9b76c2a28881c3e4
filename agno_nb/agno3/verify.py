"""Counting what the target holds, per migrated session, for verification."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from agno_nb.agno3.tables import TargetTables


def run_counts(conn: Connection, t: TargetTables, owned: Any) -> dict[str, tuple[int, int]]:
    """session_id -> (runs, messages) in the target, for the sessions ``owned``
    selects. SQLite's JSON functions refuse what agno writes for NaN and infinities
    (``json.dumps`` output): those runs are counted in Python instead of failing
    the whole query. Only a run holding ``NaN`` or ``Infinity`` can be one that
    ``json.loads`` reads and SQLite refuses, so only those are parsed a third
    time to find out (any other run SQLite refuses, Python's reader refuses too,
    and it counts no messages either way), and only when SQLite refused a run."""
    runs = t.runs
    counts: dict[str, list[int]] = {}
    if t.dialect.native_json:  # jsonb: its own functions, and no invalid JSON
        messages: Any = sa.case(
            (
                sa.func.jsonb_typeof(runs.c.run_data["messages"]) == "array",
                sa.func.jsonb_array_length(runs.c.run_data["messages"]),
            ),
            else_=0,
        )
        query = (
            sa.select(runs.c.session_id, sa.func.count(), sa.func.sum(messages))
            .where(runs.c.session_id.in_(owned))
            .group_by(runs.c.session_id)
        )
        return {r[0]: (int(r[1]), int(r[2] or 0)) for r in conn.execute(query)}
    valid = sa.func.json_valid(runs.c.run_data) == 1
    messages = sa.case(
        (valid, sa.func.coalesce(sa.func.json_array_length(runs.c.run_data, "$.messages"), 0)),
        else_=0,
    )
    # runs SQLite refuses, counted by the same query: json_valid() again is no
    # second parse (SQLite keeps a statement's parsed JSON), while searching every
    # run's text for NaN (instr) cost more than parsing it
    refused = sa.func.sum(sa.case((valid, 0), else_=1))
    query = (
        sa.select(runs.c.session_id, sa.func.count(), sa.func.sum(messages), refused)
        .where(runs.c.session_id.in_(owned))
        .group_by(runs.c.session_id)
    )
    any_refused = False
    for sid, n, m, bad in conn.execute(query).all():
        counts[sid] = [int(n), int(m or 0)]
        any_refused = any_refused or bool(bad)
    if not any_refused:  # what the query below would find: nothing
        return {sid: (n, m) for sid, (n, m) in counts.items()}
    stored = sa.type_coerce(runs.c.run_data, sa.Text)  # no CAST: no copy to search it
    special = sa.or_(sa.func.instr(stored, "NaN") > 0, sa.func.instr(stored, "Infinity") > 0)
    other = sa.select(runs.c.session_id, sa.cast(runs.c.run_data, sa.Text)).where(
        runs.c.session_id.in_(owned), special, sa.not_(valid)
    )
    for sid, text in conn.execute(other):
        try:
            found = json.loads(text).get("messages")
        except (ValueError, AttributeError, RecursionError):
            found = None
        if isinstance(found, list):
            counts[sid][1] += len(found)
    return {sid: (n, m) for sid, (n, m) in counts.items()}
