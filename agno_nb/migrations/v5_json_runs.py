"""Step v4 -> v5: on Postgres, each run is stored as ``json`` instead of ``jsonb``.

A ``json`` value is the text as written (Postgres only validates it), so
reading a run as text hands that text out; ``jsonb`` is rebuilt into text on
every read, which costs the server more than the rest of a cold read of a long
session. The column is converted in place, ``USING run::text::json``: each run
keeps the text ``jsonb`` gives for it today, so every run reads back as it did
before (big integers included: ``jsonb`` keeps them as numerics, and ``json``
keeps their digits). Nothing else changes.

SQLite and DuckDB already store each run as the text written, so there the
step changes no data: it only records v5.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from agno_nb.migrations.plan import TableRef, compile_type, quoted
from agno_nb.schema import RUNS_SUFFIX

SUMMARY = "store each run as json (its text as written) instead of jsonb (Postgres)"


def v5_ddl(ref: TableRef, dialect: Dialect) -> list[str]:
    """Postgres: the ``run`` column to ``json`` (a rewrite of the runs table);
    nothing elsewhere."""
    if ref.backend != "postgres":
        return []
    runs = quoted(ref, dialect, ref.table + RUNS_SUFFIX)
    json = compile_type(postgresql.JSON(), dialect)
    return [f"ALTER TABLE {runs} ALTER COLUMN run TYPE {json} USING run::text::{json}"]


def v5_describe(ref: TableRef) -> str:
    """What the step does on ``ref``'s backend, for the dry run."""
    if ref.backend != "postgres":
        return (
            f"record layout v5 only: {ref.backend} already stores each run as the text "
            "written (no data changes)"
        )
    runs = ref.qualified + RUNS_SUFFIX
    return (
        f"store each run as json (its text as written) instead of jsonb: rewrites every "
        f"row of {runs} (reads and writes of runs wait until it commits); every run "
        "keeps its value"
    )
