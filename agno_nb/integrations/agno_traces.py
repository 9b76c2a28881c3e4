"""agno 2.x/3.x's trace tables (``agno_traces`` + ``agno_spans``), read for a page of runs.

agno writes them when tracing is on (``setup_tracing`` / AgentOS ``tracing=True``):
one trace per top-level run (its ``run_id``), spans with ``start_time`` (ISO text),
``duration_ms``, ``parent_span_id`` and ``status_code``. agno_nb only reads them, in
the same database and schema as the storage's session table; a database without
them gives no spans (not an error).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

__all__ = ["SPANS_TABLE", "TRACES_TABLE", "spans_by_run"]

TRACES_TABLE = "agno_traces"
SPANS_TABLE = "agno_spans"
_SPAN_COLUMNS = (
    "span_id",
    "trace_id",
    "parent_span_id",
    "name",
    "span_kind",
    "status_code",
    "start_time",
    "duration_ms",
)
#: Run ids per query (keeps bound parameters few).
_CHUNK = 200


def spans_by_run(storage: Any, run_ids: Iterable[Any]) -> dict[str, list[dict[str, Any]]]:
    """The spans of each run in ``run_ids`` (through its trace), oldest first.

    Args:
        storage: an agno_nb SQLite or Postgres storage (its engine and schema are used).
        run_ids: the runs to look up; runs without a trace are left out.

    Returns:
        {run_id: [span dict with the columns above]}; {} when the tables are missing,
        the storage is not on agno 2.x/3.x's tables, or the backend is DuckDB.
    """
    ids = sorted({str(r) for r in run_ids if r})
    if not ids or not storage.dialect.holds_agno_tables:
        return {}
    if storage.current_version is not None or storage.layout_label is None:
        return {}  # agno_nb's or agno 1.x's own table: agno 2.x/3.x writes no traces beside it
    schema = storage.schema if storage.dialect.has_schemas else None
    with storage.db_engine.connect() as conn:
        inspector = sa.inspect(conn)
        if not (
            inspector.has_table(TRACES_TABLE, schema=schema)
            and inspector.has_table(SPANS_TABLE, schema=schema)
        ):
            return {}
        meta = sa.MetaData()
        traces = sa.Table(
            TRACES_TABLE, meta, sa.Column("trace_id"), sa.Column("run_id"), schema=schema
        )
        spans = sa.Table(SPANS_TABLE, meta, *(sa.Column(c) for c in _SPAN_COLUMNS), schema=schema)
        out: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            query = (
                sa.select(traces.c.run_id, *spans.c)
                .select_from(spans.join(traces, spans.c.trace_id == traces.c.trace_id))
                .where(traces.c.run_id.in_(chunk))
                .order_by(spans.c.start_time)
            )
            for row in conn.execute(query):
                data = dict(row._mapping)
                out.setdefault(str(data.pop("run_id")), []).append(data)
        return out
