"""Step v5 -> v6: ties in the newest-first order broken by insertion order.

Sessions created in the same millisecond share ``created_ms`` (agno 1.x rows
moved by v2 share it within a second), and an ORDER BY that ends there lists
them in whatever order the database reads them. Every listing orders by
``created_ms DESC`` and then by the order the rows were inserted, later first:

- **SQLite** keeps that order in every table's ``rowid`` (an upsert of an
  existing session, ``ON CONFLICT DO UPDATE``, keeps its rowid; a VACUUM may
  renumber rowids but keeps their order), and each index already ends with
  it, so the step adds nothing there: it only records v6.
- **Postgres** has no such order: the step adds ``insert_seq``, an identity
  column, numbers the rows already there in the order they list in today
  (``created_ms``, then ``session_id``), so no list changes, and rebuilds the
  three listing indexes to end with it, so a page is read off an index.
- **DuckDB**: the same column, filled from a sequence of the table's own
  (``<table>_insert_seq``); its indexes serve no ORDER BY, so they stay.

New rows get their number from the database as they are inserted (no
statement, no value from Python): the order of the INSERTs, which for
concurrent writers may differ from the order of their commits.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, DropIndex

from agno_nb.dialects import dialect_of
from agno_nb.migrations.sql import TableRef, quoted
from agno_nb.schema import INSERT_SEQ, insert_seq_name

SUMMARY = "break ties of the newest-first order by insertion order"


def v6_ddl(ref: TableRef, dialect: Dialect) -> list[str]:
    """Where the database keeps no insertion order (Postgres, DuckDB): the
    ``insert_seq`` column, filled in today's listing order, and listing indexes
    ending with it where indexes serve an ORDER BY (Postgres); nothing on SQLite."""
    facts = dialect_of(ref.backend)
    if facts.keeps_insertion_order:
        return []
    table = quoted(ref, dialect)
    sequence = quoted(ref, dialect, insert_seq_name(ref.table, ref.backend))
    # today's order, oldest first: the numbers keep every list as it was
    fill = (
        f"UPDATE {table} SET {INSERT_SEQ} = o.n FROM (SELECT session_id AS sid, "
        "row_number() OVER (ORDER BY created_ms, session_id) AS n "
        f"FROM {table}) AS o WHERE session_id = o.sid"
    )
    add = facts.numbering_ddl(table, INSERT_SEQ, sequence, fill)
    if not facts.indexes_serve_order:
        return add
    old, new = (_listing_indexes(ref, version) for version in (5, 6))
    return [
        # the indexes go first: the fill rewrites every row, they are rebuilt after
        *(str(DropIndex(index, if_exists=True).compile(dialect=dialect)).strip() for index in old),
        *add,
        *(str(CreateIndex(index).compile(dialect=dialect)).strip() for index in new),
    ]


def _listing_indexes(ref: TableRef, version: int) -> list[sa.Index]:
    """The listing indexes of the sessions table at ``version`` (by name)."""
    return sorted(ref.shape_at(version).indexes, key=lambda i: str(i.name))


def v6_describe(ref: TableRef) -> str:
    """What the step does on ``ref``'s backend, for the dry run."""
    facts = dialect_of(ref.backend)
    if facts.keeps_insertion_order:
        return f"record layout v6 only: {ref.backend}'s rowid already keeps insertion order"
    if facts.indexes_serve_order:
        return (
            f"{SUMMARY}: add {INSERT_SEQ} (numbered by the database) to {ref.qualified}, "
            "numbered in today's listing order, and rebuild its three listing indexes "
            "with it: rewrites every session row (writers wait until it commits); no "
            "value changes"
        )
    return (
        f"{SUMMARY}: add {INSERT_SEQ} (numbered by a sequence) to {ref.qualified}, "
        "numbered in today's listing order; no value changes"
    )
