"""One agno 2.x / 3.x session's runs, paged by the database: ``get_runs`` and
``count_runs`` of :class:`~agno_nb.storage.layouts.agnodb.AgnoDbLayout`.

A session whose runs are all in the runs table is paged in SQL (``run_index``
order). A session that still keeps runs in its ``runs`` column is merged as
agno merges (the column's runs in order, the table's version when a
``run_id`` is in both, then the table's other runs): the merged order is
built from run ids alone, and only the page's runs are fetched and decoded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from agno_nb.storage.contract import Listing
from agno_nb.storage.layouts._agnodb_sql import AgnoDbParts, decode_agno_json, run_from_agno


def get_runs(
    layout: AgnoDbParts, session_id: str, limit: int | None, offset: int, newest_first: bool
) -> list[dict[str, Any]]:
    """A page of the session's runs (SessionNotFoundError if there is no such session)."""
    s, r = layout.storage, layout.runs
    with s.read_conn() as conn:
        head = _head(layout, conn, session_id)
        legacy = layout.legacy_runs(head, session_id)
        if not legacy:
            if not layout.runs_present(conn):
                return []
            query = (
                sa.select(layout.as_text(r.c.run_data))
                .where(r.c.session_id == session_id)
                .order_by(*layout.run_order(newest_first))
                .offset(offset)
            )
            if limit is not None:
                query = query.limit(limit)
            texts = [row[0] for row in s.fetch_all(conn, query)]
            return [_decode(text, session_id) for text in texts]
        order = _order(layout, conn, session_id, legacy)
        if newest_first:
            order.reverse()
        page = order[offset : None if limit is None else offset + limit]
        wanted = [key for src, key in page if src == "table"]
        found: dict[str, Any] = {}
        if wanted:
            query = sa.select(r.c.run_id, layout.as_text(r.c.run_data)).where(
                r.c.session_id == session_id, r.c.run_id.in_(wanted)
            )
            found = {row[0]: row[1] for row in s.fetch_all(conn, query)}
    return [
        _decode(found[key], session_id) if src == "table" else run_from_agno(legacy[key])
        for src, key in page
    ]


def count_runs(layout: AgnoDbParts, session_id: str) -> int:
    """How many runs the session has (SessionNotFoundError if there is no such session)."""
    s, r = layout.storage, layout.runs
    with s.read_conn() as conn:
        head = _head(layout, conn, session_id)
        legacy = layout.legacy_runs(head, session_id)
        if legacy:
            return len(_order(layout, conn, session_id, legacy))
        if not layout.runs_present(conn):
            return 0
        query = sa.select(sa.func.count()).select_from(r).where(r.c.session_id == session_id)
        return int(s.run_statement(conn, query).scalar_one())


def _head(layout: AgnoDbParts, conn: Connection, session_id: str) -> Mapping[str, Any]:
    """The session row's id and ``runs`` text (SessionNotFoundError if missing)."""
    t = layout.table
    cols = [t.c.session_id] + (
        [layout.as_text(t.c.runs).label("runs")] if layout.has_legacy else []
    )
    query = layout.filtered(sa.select(*cols), Listing()).where(t.c.session_id == session_id)
    row = layout.storage.run_statement(conn, query).first()
    if row is None:
        raise layout.storage.not_found(session_id)
    return row._mapping


def _order(
    layout: AgnoDbParts, conn: Connection, session_id: str, legacy: list[Any]
) -> list[tuple[str, Any]]:
    """The merged run order without run payloads: ("legacy", index) or ("table", run_id)."""
    table_ids: list[str] = []
    if layout.runs_present(conn):
        r = layout.runs
        query = (
            sa.select(r.c.run_id).where(r.c.session_id == session_id).order_by(*layout.run_order())
        )
        table_ids = [row[0] for row in layout.storage.fetch_all(conn, query)]
    known = set(table_ids)
    order: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for i, run in enumerate(legacy):
        run_id = run.get("run_id") if isinstance(run, Mapping) else None
        if run_id is not None and run_id in known:
            order.append(("table", run_id))
            seen.add(run_id)
        else:
            order.append(("legacy", i))
    order += [("table", run_id) for run_id in table_ids if run_id not in seen]
    return order


def _decode(text: Any, session_id: str) -> dict[str, Any]:
    """One run of the runs table (its JSON text) as agno_nb's run dict."""
    return run_from_agno(decode_agno_json(text, session_id=session_id, column="run_data")[0])
