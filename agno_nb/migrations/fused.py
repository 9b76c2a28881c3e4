"""Steps applied together, so that one pass over the sessions does their work.

v1 -> v4 is three steps: v2 moves each session's runs out of its JSON into the
runs table (decoding every session), v3 drops indexes, and v4 adds the folded
search text, which on its own means reading every run row back, decoding each
run again and rewriting the row. Applied as one step (:data:`V1_TO_V4`), their
schema changes run first and the move writes each run row and session row with
its search text from the values it has just decoded: every session's JSON is
decoded once and every row written once, in one transaction, stamped v4. A
failure saves nothing (the table stays at v1), as for any step.

The dry-run plan still lists v2, v3 and v4 with their SQL: those statements
are what runs, in that order.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from agno_nb.migrations.plan import TableRef
from agno_nb.migrations.steps import MIGRATIONS, Migration, Progress, StepStats, v2_data
from agno_nb.schema import LATEST_VERSION

__all__ = ["V1_TO_V4", "Fused", "apply_step", "steps_for"]


@dataclass(frozen=True)
class Fused:
    """Steps ``first`` .. ``version`` applied as one (see the module docstring)."""

    first: int
    version: int

    def apply_from(
        self, conn: Connection, ref: TableRef, progress: Progress | None, at: int
    ) -> StepStats:
        """Take the table from layout ``at`` to :attr:`version` on ``conn``.

        From ``first - 1``: every step's schema change, then one data pass. From
        a layout inside the span (another upgrader stopped there): the remaining
        steps one after the other, in this same transaction.
        """
        steps = MIGRATIONS[at : self.version]
        if at != self.first - 1:
            total = StepStats()
            for migration in steps:
                _add(total, migration.apply(conn, ref, progress))
            return total
        for migration in steps:
            for statement in migration.ddl(ref, conn.dialect):
                conn.exec_driver_sql(statement)
        return v2_data(conn, ref, progress, search=True)


def _add(total: StepStats, stats: StepStats) -> None:
    total.sessions += stats.sessions
    total.runs += stats.runs
    total.unmoved.extend(stats.unmoved)


#: v2 (move the runs), v3 (drop indexes) and v4 (search text) as one step
V1_TO_V4 = Fused(first=2, version=4)


def steps_for(start: int, target: int = LATEST_VERSION) -> list[Migration | Fused]:
    """What to apply, in order, to take a table from layout ``start`` to ``target``:
    :data:`MIGRATIONS` with v2..v4 as :data:`V1_TO_V4` when all three are due."""
    steps: list[Migration | Fused] = []
    version = start
    while version < target:
        if version == V1_TO_V4.first - 1 and target >= V1_TO_V4.version:
            steps.append(V1_TO_V4)
            version = V1_TO_V4.version
        else:
            steps.append(MIGRATIONS[version])
            version += 1
    return steps


def apply_step(
    step: Migration | Fused, conn: Connection, ref: TableRef, progress: Progress | None, at: int
) -> StepStats:
    """Apply ``step`` to a table now at layout ``at`` (inside the caller's transaction)."""
    if isinstance(step, Fused):
        return step.apply_from(conn, ref, progress, at)
    return step.apply(conn, ref, progress)
