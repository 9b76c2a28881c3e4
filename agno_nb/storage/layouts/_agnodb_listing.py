"""Listing agno 2.x / 3.x sessions: the summaries of
:class:`~agno_nb.storage.layouts.agnodb.AgnoDbLayout` (``list_sessions`` and
``get_summary``).

A page of session rows is read in one query; for its sessions, run and
message counts come from SQL over the runs table (the database's JSON
functions count messages), and only each session's first run is fetched and
decoded, for its preview. A session that still keeps runs in the ``runs``
column is counted in Python, merged with the runs table by ``run_id`` as agno
merges them. A session whose JSON cannot be decoded gets a summary with its
``error`` set; the others are unaffected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from agno_nb.codec import SessionSummary
from agno_nb.errors import AgnoNbError, CorruptSessionError
from agno_nb.storage.contract import Listing
from agno_nb.storage.layouts._agnodb_sql import AgnoDbParts, decode_agno_json, run_from_agno
from agno_nb.summary import first_question, summarize_runs
from agno_nb.words import counted as counted_noun


def summaries(
    layout: AgnoDbParts, want: Listing, *, session_id: str | None = None
) -> list[SessionSummary]:
    """``want``'s page of summaries, newest first (only ``session_id``'s, when given)."""
    s, t = layout.storage, layout.table
    entity = s.entity_column
    cols: list[Any] = [
        t.c.session_id,
        t.c.user_id,
        (t.c[entity] if entity in t.c else sa.null()).label("entity_id"),
        t.c.created_at,
        t.c.updated_at,
        layout.as_text(t.c.session_data).label("session_data"),
    ]
    if layout.has_legacy:
        cols.append(layout.as_text(t.c.runs).label("runs"))
    with s.read_conn() as conn:
        if want.search:
            layout.runs_present(conn)  # search looks into a runs table agno made since
        query = layout.filtered(sa.select(*cols), want)
        if session_id is not None:
            query = query.where(t.c.session_id == session_id)
        query = layout.newest_first(query).offset(want.offset)
        if want.limit is not None:
            query = query.limit(want.limit)
        rows = [row._mapping for row in s.fetch_all(conn, query)]
        counts: dict[str, tuple[int, int, int]] = {}
        firsts: dict[str, Any] = {}
        per_run: dict[str, dict[str, int]] = {}
        for part in layout.chunks(rows):  # bound parameters stay few on a long page
            ids = [str(row["session_id"]) for row in part]
            counts.update(_run_counts(layout, conn, ids))
            firsts.update(_first_runs(layout, conn, ids))
            legacy = [r["session_id"] for r in part if r.get("runs") not in (None, "null")]
            per_run.update(_per_run_counts(layout, conn, legacy))
    return [_summary(layout, row, counts, firsts, per_run) for row in rows]


def _run_counts(
    layout: AgnoDbParts, conn: Connection, ids: list[str]
) -> dict[str, tuple[int, int, int]]:
    """(runs, messages, runs whose JSON is corrupt) per session, from the runs table."""
    if not ids or not layout.runs_present(conn):
        return {}
    r, j = layout.runs, layout.json
    per_run = (
        sa.select(
            r.c.session_id,
            j.message_count(j.doc(r.c.run_data)).label("messages"),
            j.valid(r.c.run_data).label("valid"),
        )
        .where(r.c.session_id.in_(ids))
        .subquery()
    )
    query = sa.select(
        per_run.c.session_id,
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(per_run.c.messages), 0),
        sa.func.count() - sa.func.coalesce(sa.func.sum(per_run.c.valid), 0),
    ).group_by(per_run.c.session_id)
    return {
        row[0]: (int(row[1]), int(row[2]), int(row[3]))
        for row in layout.storage.fetch_all(conn, query)
    }


def _first_runs(layout: AgnoDbParts, conn: Connection, ids: list[str]) -> dict[str, Any]:
    """Each session's first run in the runs table, as JSON text (for its preview).

    A team member's run (``parent_run_id`` set; agno 3 stores it before the team's
    run) is not the session's first question: top-level runs come first.
    """
    if not ids or not layout.runs_present(conn):
        return {}
    r = layout.runs
    parent = layout.json.text(layout.json.doc(r.c.run_data), "parent_run_id")
    order = [sa.case((parent.is_(None), 0), else_=1), *layout.run_order()]
    number = sa.func.row_number().over(partition_by=r.c.session_id, order_by=order)
    ranked = (
        sa.select(r.c.session_id, layout.as_text(r.c.run_data).label("run_data"), number.label("n"))
        .where(r.c.session_id.in_(ids))
        .subquery()
    )
    query = sa.select(ranked.c.session_id, ranked.c.run_data).where(ranked.c.n == 1)
    return {row[0]: row[1] for row in layout.storage.fetch_all(conn, query)}


def _per_run_counts(
    layout: AgnoDbParts, conn: Connection, ids: list[str]
) -> dict[str, dict[str, int]]:
    """{run_id: messages} of the runs table, for sessions that also have a runs column."""
    out: dict[str, dict[str, int]] = {sid: {} for sid in ids}
    if not ids or not layout.runs_present(conn):
        return out
    r, j = layout.runs, layout.json
    query = sa.select(r.c.session_id, r.c.run_id, j.message_count(j.doc(r.c.run_data))).where(
        r.c.session_id.in_(ids)
    )
    for sid, run_id, count in layout.storage.fetch_all(conn, query):
        out[sid][run_id] = int(count or 0)
    return out


def _summary(
    layout: AgnoDbParts,
    row: Mapping[str, Any],
    counts: dict[str, tuple[int, int, int]],
    firsts: dict[str, Any],
    per_run: dict[str, dict[str, int]],
) -> SessionSummary:
    sid = str(row["session_id"])
    summary = SessionSummary(
        session_id=sid,
        user_id=row["user_id"],
        entity_id=row["entity_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
    try:
        data = decode_agno_json(row["session_data"], session_id=sid, column="session_data")[0]
        summary.session_name = data.get("session_name") if isinstance(data, dict) else None
        legacy = layout.legacy_runs(row, sid)
        runs, messages, corrupt = counts.get(sid, (0, 0, 0))
        if corrupt:
            raise CorruptSessionError(
                f"session {sid!r} has corrupt JSON in {counted_noun(corrupt, 'run')} of "
                f"{layout.runs.name}; other sessions are unaffected: fix or delete those rows"
            )
        if legacy:
            table_counts = per_run.get(sid, {})
            converted = [run_from_agno(run) for run in legacy]
            counted = summarize_runs(converted)
            ids = [str(r.get("run_id")) if isinstance(r, Mapping) else "" for r in legacy]
            shared = {i for i in ids if i in table_counts}
            runs = len(legacy) + len(table_counts) - len(shared)
            messages = sum(
                table_counts[i] if i in shared else n
                for i, n in zip(ids, counted.per_run_messages, strict=True)
            ) + sum(n for i, n in table_counts.items() if i not in shared)
            summary.preview = counted.preview
        elif sid in firsts:
            first, _ = decode_agno_json(firsts[sid], session_id=sid, column="run_data")
            summary.preview = first_question(run_from_agno(first))
        summary.run_count, summary.message_count = runs, messages
    except AgnoNbError as exc:
        summary.error = str(exc)
    return summary
