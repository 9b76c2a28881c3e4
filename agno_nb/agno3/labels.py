"""Labels follow the sessions a migration moves into agno 3.x's tables.

agno_nb keeps run labels in its side table ``agno_nb_labels`` keyed by table,
session and run (see :mod:`agno_nb.storage.labels`). After a source table is
migrated, its labels are copied to the target database under the target's
``agno_sessions`` name, so a storage opened on that table finds them. A run the
migration gave a derived id (its id was another session's: a conversation
copied to branch it, see ``agno3/runs.py``) keeps its label under that new id.
"""

from __future__ import annotations

import sqlalchemy as sa

from agno_nb.agno3.report import TableReport
from agno_nb.agno3.runs import stable_id
from agno_nb.agno3.source import SourceTable
from agno_nb.agno3.target import Target
from agno_nb.dialects import dialect_of
from agno_nb.storage.labels import LABELS_TABLE, copy_labels, labels_table


def carry_labels(source: SourceTable, target: Target, report: TableReport) -> int:
    """Copy the labels of ``source``'s migrated sessions to the target; returns how
    many. Sessions listed as conflicts or bad rows were not written, and sessions
    agno 3.x deleted since an earlier migration stay deleted: their labels stay."""
    copied = copy_labels(
        source.engine,
        source_table=source.table,
        source_schema=source.schema,
        target=target.engine,
        target_table=target.tables.sessions.name,
        target_schema=target.tables.schema,
        exclude=[*report.conflicts, *report.bad, *report.deleted_in_target],
    )
    if copied:
        _follow_derived_run_ids(target)
    return copied


def _follow_derived_run_ids(target: Target) -> None:
    """Move each target label naming a run its session does not have onto the
    run the migration derived from that id (``stable_id(session, id, index)``)."""
    t = target.tables
    labels = labels_table(sa.MetaData(), schema=t.schema)
    name = t.sessions.name
    column = labels.c.table_name
    same = dialect_of(target.tables.backend).same_name(column, name)
    with target.engine.begin() as conn:
        if not sa.inspect(conn).has_table(LABELS_TABLE, schema=t.schema):
            return
        if not sa.inspect(conn).has_table(t.runs.name, schema=t.schema):
            return
        has_run = (
            sa.select(t.runs.c.run_id)
            .where(t.runs.c.session_id == labels.c.session_id, t.runs.c.run_id == labels.c.run_id)
            .exists()
        )
        query = sa.select(labels.c.table_name, labels.c.session_id, labels.c.run_id)
        orphans = conn.execute(query.where(same, ~has_run)).all()
        for table_name, session_id, run_id in orphans:
            runs = conn.execute(
                sa.select(t.runs.c.run_id).where(t.runs.c.session_id == session_id)
            ).scalars()
            ids = set(runs)
            derived = [stable_id(session_id, run_id, i) for i in range(len(ids))]
            new_id = next((d for d in derived if d in ids), None)
            if new_id is None:
                continue
            key = (labels.c.table_name == table_name, labels.c.session_id == session_id)
            conn.execute(labels.delete().where(*key, labels.c.run_id == new_id))
            conn.execute(
                labels.update().where(*key, labels.c.run_id == run_id).values(run_id=new_id)
            )
