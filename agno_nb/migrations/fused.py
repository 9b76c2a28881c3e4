"""Steps applied together, so that one pass over the sessions does their work.

v1 -> v5 is four steps: v2 moves each session's runs out of its JSON into the
runs table (decoding every session) and adds the listing indexes, v3 drops
indexes, v4 adds the folded search text, which on its own means reading every
run row back, decoding each run again and rewriting the row, and v5 (Postgres
only) rewrites every run row as ``json``. Applied as one step
(:data:`V1_TO_V5`), their schema changes run first, on a runs table still
empty, then the move writes each run row and session row with its search text
from the values it has just decoded, and the runs in v5's form; v2's listing
indexes are built last, once, from the filled columns (the move would
otherwise update three indexes per session as it fills them; DuckDB builds
them first, as it refuses an index on a table updated in the same
transaction). Every session's JSON is decoded once and every row written
once, in one transaction, stamped v5. A failure saves nothing (the table stays
at v1), as for any step.

The rows are those of the steps one by one (``tests/migrations/test_upgrade_fused.py``),
but on Postgres the stored text of each run: the steps one by one store jsonb's
rewriting of it (spaces added, keys reordered) and convert that to ``json``;
the fused step stores the text as agno_nb writes it, as every later write
does. The values are the same.

The dry-run plan still lists v2, v3, v4 and v5 with their SQL: those
statements are what runs, v2's ``CREATE INDEX`` after the data move
(:meth:`Fused.statements` gives the order).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection, Dialect

from agno_nb.dialects import dialect_of
from agno_nb.migrations.sql import StepStats, TableRef
from agno_nb.migrations.steps import MIGRATIONS, Migration, Progress, v2_data, v2_index_ddl
from agno_nb.schema import LATEST_VERSION

__all__ = ["V1_TO_V5", "Fused", "apply_step", "steps_for"]


@dataclass(frozen=True)
class Fused:
    """Steps ``first`` .. ``version`` applied as one (see the module docstring)."""

    first: int
    version: int

    def statements(self, ref: TableRef, dialect: Dialect) -> tuple[list[str], list[str]]:
        """The span's schema changes in the order they run: those before the data
        move, and those after it (v2's listing indexes; none on DuckDB, which
        refuses ``CREATE INDEX`` in a transaction that has updated the table)."""
        after = v2_index_ddl(ref, dialect) if dialect_of(ref.backend).indexes_after_updates else []
        before = [
            statement
            for migration in MIGRATIONS[self.first - 1 : self.version]
            for statement in migration.ddl(ref, dialect)
            if statement not in after
        ]
        return before, after

    def apply_from(
        self, conn: Connection, ref: TableRef, progress: Progress | None, at: int
    ) -> StepStats:
        """Take the table from layout ``at`` to :attr:`version` on ``conn``.

        From ``first - 1``: the schema changes, one data pass, then the listing
        indexes. From a layout inside the span (another upgrader stopped there):
        the remaining steps one after the other, in this same transaction.
        """
        if at != self.first - 1:
            total = StepStats()
            for migration in MIGRATIONS[at : self.version]:
                _add(total, migration.apply(conn, ref, progress))
            return total
        before, after = self.statements(ref, conn.dialect)
        for statement in before:
            conn.exec_driver_sql(statement)
        with dialect_of(ref.backend).bulk_cache(conn, MOVE_CACHE_KIB):
            stats = v2_data(conn, ref, progress, at=self.version)
        for statement in after:
            conn.exec_driver_sql(statement)
        return stats


#: SQLite's page cache during the data move, in KiB (its default is 2,000 KiB).
#: Pages the move changes stay in it until the commit writes each to the WAL
#: once; a smaller cache spills them early and writes them again as the move
#: changes them again (5,000 bench sessions change about 80 MB of pages: with
#: 32 MiB, 19% more write calls and 17% more system CPU than with this). Memory
#: is taken only as pages are used, and given back when the move ends.
MOVE_CACHE_KIB = 131_072


def _add(total: StepStats, stats: StepStats) -> None:
    total.sessions += stats.sessions
    total.runs += stats.runs
    total.unmoved.extend(stats.unmoved)


#: v2 (move the runs), v3 (drop indexes), v4 (search text) and v5 (runs as json
#: on Postgres) as one step
V1_TO_V5 = Fused(first=2, version=5)


def steps_for(start: int, target: int = LATEST_VERSION) -> list[Migration | Fused]:
    """What to apply, in order, to take a table from layout ``start`` to ``target``:
    :data:`MIGRATIONS` with v2..v5 as :data:`V1_TO_V5` when all of them are due."""
    steps: list[Migration | Fused] = []
    version = start
    while version < target:
        if version == V1_TO_V5.first - 1 and target >= V1_TO_V5.version:
            steps.append(V1_TO_V5)
            version = V1_TO_V5.version
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
