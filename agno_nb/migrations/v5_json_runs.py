"""Step v4 -> v5: on Postgres, each run is stored as ``json`` instead of ``jsonb``.

A ``json`` value is the text as written (Postgres only validates it), so
reading a run as text hands that text out; ``jsonb`` is rebuilt into text on
every read, which costs the server more than the rest of a cold read of a long
session. The column is converted in place, ``USING run::text::json``: each run
keeps the text ``jsonb`` gives for it today, so every run reads back as it did
before (big integers included: ``jsonb`` keeps them as numerics, and ``json``
keeps their digits). Nothing else changes.

Where the server has lz4 (Postgres 14+ built with it, as Debian's and the
official images are), the runs' text is compressed with lz4 instead of pglz
before the rewrite: it decompresses several times faster, which a cold read of
a long session spends most of its server time on (measured on 1,000 runs of
2 KB: 3.4 ms against 5.2 ms to hand them out). Elsewhere that clause does
nothing.

SQLite and DuckDB already store each run as the text written, so there the
step changes no data: it only records v5.
"""

from __future__ import annotations

from sqlalchemy.engine import Dialect

from agno_nb.dialects import dialect_of
from agno_nb.migrations.sql import TableRef, compile_type, quoted
from agno_nb.schema import runs_name

SUMMARY = "store each run as json (its text as written) instead of jsonb (Postgres)"


def v5_ddl(ref: TableRef, dialect: Dialect) -> list[str]:
    """Postgres: the ``run`` column to ``json`` (a rewrite of the runs table);
    nothing where JSON is kept as text already."""
    facts = dialect_of(ref.backend)
    keeps_text = facts.text_json_type()
    if keeps_text is None:
        return []
    runs = quoted(ref, dialect, runs_name(ref.table, ref.backend))
    json = compile_type(keeps_text, dialect)
    change = f"ALTER COLUMN run TYPE {json} USING run::text::{json}"
    # one statement: a column's type change resets its compression, and the
    # table's rewrite then compresses with the setting the statement ends with
    ddl = facts.compressed_runs_ddl(runs, ["run", "search_text"], change)
    return [ddl if ddl is not None else f"ALTER TABLE {runs} {change}"]


def v5_describe(ref: TableRef) -> str:
    """What the step does on ``ref``'s backend, for the dry run."""
    if dialect_of(ref.backend).text_json_type() is None:
        return (
            f"record layout v5 only: {ref.backend} already stores each run as the text "
            "written (no data changes)"
        )
    runs = TableRef(ref.backend, runs_name(ref.table, ref.backend), schema=ref.schema).qualified
    return (
        f"store each run as json (its text as written) instead of jsonb: rewrites every "
        f"row of {runs} (reads and writes of runs wait until it commits), compressed "
        "with lz4 where the server has it; every run keeps its value"
    )
