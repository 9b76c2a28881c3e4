"""Labels follow the sessions a migration moves into agno 3.x's tables.

agno_nb keeps run labels in its side table ``agno_nb_labels`` keyed by table,
session and run (see :mod:`agno_nb.storage.labels`). After a source table is
migrated, its labels are copied to the target database under the target's
``agno_sessions`` name, so a storage opened on that table finds them.
"""

from __future__ import annotations

from agno_nb.agno3.report import TableReport
from agno_nb.agno3.source import SourceTable
from agno_nb.agno3.target import Target
from agno_nb.storage.labels import copy_labels


def carry_labels(source: SourceTable, target: Target, report: TableReport) -> int:
    """Copy the labels of ``source``'s migrated sessions to the target; returns how
    many. Sessions listed as conflicts or bad rows were not written: their labels stay."""
    return copy_labels(
        source.engine,
        source_table=source.table,
        source_schema=source.schema,
        target=target.engine,
        target_table=target.tables.sessions.name,
        target_schema=target.tables.schema,
        exclude=[*report.conflicts, *report.bad],
    )
