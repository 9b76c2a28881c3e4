"""The migration steps, in order. Append new steps; never edit released ones."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.schema import CreateIndex, CreateTable, DropIndex

from agno_nb.codec import encode_json, loads_exact
from agno_nb.dialects import dialect_of
from agno_nb.migrations.sql import ManyRows, StepStats, TableRef, compile_type, quoted
from agno_nb.migrations.v4_search import v4_data, v4_ddl
from agno_nb.migrations.v5_json_runs import SUMMARY as V5_SUMMARY
from agno_nb.migrations.v5_json_runs import v5_ddl, v5_describe
from agno_nb.migrations.v6_insert_order import SUMMARY as V6_SUMMARY
from agno_nb.migrations.v6_insert_order import v6_ddl, v6_describe
from agno_nb.schema import (
    V2_COLUMNS,
    json_text,
    json_type,
    quiet_update,
    v2_index_specs,
)
from agno_nb.summary import name_text, run_facts, session_text

Progress = Callable[[int, int], None]
BATCH_SIZE = 500


@dataclass(frozen=True)
class Migration:
    """One step: from layout ``version - 1`` to ``version``."""

    version: int
    summary: str
    ddl: Callable[[TableRef, Dialect], list[str]]
    data: Callable[[Connection, TableRef, Progress | None], StepStats] | None = None
    data_note: str = ""
    #: what the step does on ``ref``'s backend, when that differs by backend
    explain: Callable[[TableRef], str] | None = None

    def describe(self, ref: TableRef) -> str:
        return self.summary if self.explain is None else self.explain(ref)

    def sql(self, ref: TableRef, dialect: Dialect) -> list[str]:
        """Every statement of this step, data moves shown as SQL comments."""
        statements = self.ddl(ref, dialect)
        if self.data is not None:
            statements = [*statements, f"-- {self.data_note.format(table=ref.qualified)}"]
        return statements

    def changes_nothing(self, ref: TableRef, dialect: Dialect) -> bool:
        """Whether this step only records its version on ``ref``'s backend (no
        statement, no data move): a table before it has the same shape after."""
        return self.data is None and not self.ddl(ref, dialect)

    def apply(self, conn: Connection, ref: TableRef, progress: Progress | None) -> StepStats:
        """Run the step on ``conn`` (inside the caller's transaction)."""
        for statement in self.ddl(ref, conn.dialect):
            conn.exec_driver_sql(statement)
        if self.data is None:
            return StepStats()
        return self.data(conn, ref, progress)


# -- v0 -> v1: agno's team_session_id column ----------------------------------------------


def _v1_ddl(ref: TableRef, dialect: Dialect) -> list[str]:
    if ref.mode != "agent":
        return []
    table = quoted(ref, dialect)
    # the index as agno 1.x creates it: SQLAlchemy's name for the column's index
    # (the schema is part of its label; a name too long for the database is cut
    # and ends with a hash, as SQLAlchemy cuts it)
    v1 = ref.shape_at(1)
    (index,) = (i for i in v1.indexes if [c.name for c in i.columns] == ["team_session_id"])
    return [
        f"ALTER TABLE {table} ADD COLUMN team_session_id {compile_type(sa.String(), dialect)}",
        str(CreateIndex(index).compile(dialect=dialect)).strip(),
    ]


# -- v1 -> v2: runs table, summary columns, listing indexes --------------------------------


def _v2_ddl(ref: TableRef, dialect: Dialect) -> list[str]:
    return [*v2_table_ddl(ref, dialect), *v2_index_ddl(ref, dialect)]


def v2_table_ddl(ref: TableRef, dialect: Dialect) -> list[str]:
    """v2's summary columns and runs table (its statements but the listing indexes)."""
    table = quoted(ref, dialect)
    types: dict[str, sa.types.TypeEngine[Any]] = {
        "string": sa.String(),
        "int": sa.Integer(),
        "bigint": sa.BigInteger(),
    }
    statements = []
    for name, kind in V2_COLUMNS:
        default = " DEFAULT 0" if kind == "int" else ""
        statements.append(
            f"ALTER TABLE {table} ADD COLUMN {name} {compile_type(types[kind], dialect)}{default}"
        )
    runs = ref.runs_at(2)
    statements.append(str(CreateTable(runs).compile(dialect=dialect)).strip())
    return statements


def v2_index_ddl(ref: TableRef, dialect: Dialect) -> list[str]:
    """v2's listing indexes on the sessions table (newest first per user, per
    entity, overall): the statements of v2 that ``migrations.fused`` runs after
    its data move, so each index is built once from the filled columns instead
    of updated row by row as the move fills them."""
    target = ref.shape_at(2)
    wanted = {name for name, _ in v2_index_specs(ref.table, ref.mode, backend=ref.backend)}
    return [
        str(CreateIndex(index).compile(dialect=dialect)).strip()
        for index in sorted(target.indexes, key=lambda i: str(i.name))
        if index.name in wanted
    ]


def _decode(text: str | bytes | None) -> Any:
    """``json.loads(text)`` (the same values and errors), by orjson where exact."""
    return None if text is None else loads_exact(text)


class SourceRow(NamedTuple):
    """One session row as the move reads it (its JSON columns as text). A plain
    tuple: an attribute of SQLAlchemy's ``Row`` is looked up on its class first,
    which raises and catches an AttributeError on every access."""

    session_id: str
    created_at: Any
    updated_at: Any
    memory: str | bytes | None
    session_data: str | bytes | None
    runs: str | bytes | None = None


def _examine(row: SourceRow, source: str) -> tuple[Any, Any, str | None]:
    """The row's decoded runs holder and session_data, and why its runs cannot
    be moved (None when they can)."""
    try:
        holder = _decode(getattr(row, source))
    except (ValueError, RecursionError) as exc:
        return None, None, f"{source} is not readable JSON ({type(exc).__name__})"
    try:
        session_data = _decode(row.session_data)
    except (ValueError, RecursionError) as exc:
        return None, None, f"session_data is not readable JSON ({type(exc).__name__})"
    if source == "runs":
        if holder is not None and not isinstance(holder, list):
            return None, None, f"runs holds {type(holder).__name__}, not a list"
    elif holder is not None and not isinstance(holder, dict):
        return None, None, f"memory holds {type(holder).__name__}, not a dict"
    elif isinstance(holder, dict) and not isinstance(holder.get("runs"), (list, type(None))):
        return None, None, f"memory['runs'] holds {type(holder['runs']).__name__}, not a list"
    for column in ("created_at", "updated_at"):
        value = getattr(row, column)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            try:
                int(value)
            except (TypeError, ValueError):
                return None, None, f"{column} {str(value)[:40]!r} is not a time in seconds"
    return holder, session_data, None


def _held_text(row: SourceRow, source: str, as_is: bool) -> str:
    """v4's ``search_name`` of a row v2 leaves as it was: its id and the text of
    the runs in its runs holder when that still decodes to a list of runs."""
    try:
        holder = _decode(getattr(row, source))
    except (ValueError, RecursionError):
        holder = None
    if source != "runs":
        holder = holder.get("runs") if isinstance(holder, dict) else None
    runs = holder if isinstance(holder, list) else []
    return session_text(row.session_id, None, runs, ascii_as_is=as_is)


def _v2_data(
    conn: Connection, ref: TableRef, progress: Progress | None, *, at: int = 2
) -> StepStats:
    """Move every run out of the session JSON into the runs table, in batches.

    ``at``: the layout whose columns the table already has (``migrations.fused``
    applies the later steps' schema changes first). From 4 each row gets its
    folded search text as it is moved, from the values this pass decoded anyway,
    so that v4 has nothing left to fill; at 5 the runs go in as v5 stores them
    (Postgres: ``json``, the text as written), so v5 has nothing to rewrite.
    """
    search = at >= 4
    # search text that is all ASCII as written where LIKE ignores ASCII case, as writes keep it
    as_is = dialect_of(ref.backend).like_ignores_ascii_case
    md = sa.MetaData()
    old = ref.sessions_at(1, md)
    new = ref.shape_at(at)
    runs = ref.runs_at(at, md)
    source = "runs" if ref.mode == "workflow_v2" else "memory"
    js = json_type(ref.backend)
    text_cols = [
        json_text(old.c[name], ref.backend).label(name) for name in ("memory", "session_data")
    ]
    if source == "runs":
        text_cols.append(json_text(old.c.runs, ref.backend).label("runs"))
    total = conn.execute(sa.select(sa.func.count()).select_from(old)).scalar_one()
    values: dict[str, Any] = {
        "session_name": sa.bindparam("b_name"),
        "run_count": sa.bindparam("b_runs"),
        "message_count": sa.bindparam("b_messages"),
        "preview": sa.bindparam("b_preview"),
        "created_ms": sa.bindparam("b_created_ms"),
        "active_ms": sa.bindparam("b_active_ms"),
        source: sa.bindparam("b_source", type_=js),
    }
    marks: dict[str, Any] = {"run_count": None, "message_count": None}
    if search:
        values["search_name"] = marks["search_name"] = sa.bindparam("b_search")
    # quiet: moving runs is not the user's write, updated_at stays as they left it
    update = quiet_update(new).where(new.c.session_id == sa.bindparam("b_sid")).values(**values)
    # a row left as it was: only marked, so reads take its runs from its JSON
    leave = quiet_update(new).where(new.c.session_id == sa.bindparam("b_sid")).values(**marks)
    run_keys = ["session_id", "run_index", "run_id", "created_at", "message_count", "run"]
    search_key = ["b_search"] if search else []
    # where the engine encodes with encode_json and the rows go to the driver,
    # each JSON value is encoded here, so a session's decoded runs are dropped
    # as soon as they are written out (kept for a whole batch, they made the
    # garbage collector walk them again and again)
    insert_runs = ManyRows(
        conn,
        runs.insert(),
        run_keys + (["search_text"] if search else []),
        encoder=encode_json,
        text_keys=["run"],
    )
    update_rows = ManyRows(
        conn,
        update,
        [*(v.key for v in values.values()), "b_sid"],
        encoder=encode_json,
        text_keys=["b_source"],
    )
    run_json: Callable[[Any], Any] = encode_json if insert_runs.takes_text else _same
    source_json: Callable[[Any], Any] = encode_json if update_rows.takes_text else _same
    leave_rows = ManyRows(conn, leave, ["b_sid", *search_key])
    stats = StepStats()
    seen = 0
    last: str | None = None
    while True:
        query = sa.select(old.c.session_id, old.c.created_at, old.c.updated_at, *text_cols)
        if last is not None:
            query = query.where(old.c.session_id > last)
        rows = conn.execute(query.order_by(old.c.session_id).limit(BATCH_SIZE)).all()
        if not rows:
            break
        run_rows: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        left: list[dict[str, Any]] = []
        for row in itertools.starmap(SourceRow, rows):
            holder, session_data, why = _examine(row, source)
            if why is not None:
                stats.unmoved.append((row.session_id, why))
                left.append({"b_sid": row.session_id})
                if search:  # as v4 gives it: no name, and the runs its JSON still reads
                    left[-1]["b_search"] = _held_text(row, source, as_is)
                continue
            kept: Any = holder
            run_list: list[Any] = []
            moved = False
            if source == "runs" and isinstance(holder, list):
                kept, run_list, moved = None, holder, True
            elif isinstance(holder, dict) and isinstance(holder.get("runs"), list):
                kept = dict(holder)
                run_list, moved = kept.pop("runs"), True
            created = int(row.created_at or row.updated_at or 0)
            messages, preview = 0, None
            for index, run in enumerate(run_list):
                count, text, asked = run_facts(
                    run, search=search, question=preview is None, ascii_as_is=as_is
                )
                messages += count
                preview = preview if preview is not None else asked
                run_rows.append(
                    {
                        "session_id": row.session_id,
                        "run_index": index,
                        "run_id": run.get("run_id") if isinstance(run, dict) else None,
                        "created_at": run.get("created_at") if isinstance(run, dict) else None,
                        "message_count": count,
                        "run": run_json(run),
                    }
                )
                if search:
                    run_rows[-1]["search_text"] = text
            name = session_data.get("session_name") if isinstance(session_data, dict) else None
            updates.append(
                {
                    "b_sid": row.session_id,
                    "b_name": name,
                    # no list of runs: kept as it was, marked (run_count NULL)
                    "b_runs": len(run_list) if moved else None,
                    "b_messages": messages if moved else None,
                    "b_preview": preview,
                    "b_created_ms": int(created) * 1000,
                    "b_active_ms": int(row.updated_at or created) * 1000,
                    "b_source": source_json(kept),
                }
            )
            if search:  # a row kept as given has no runs list: its text is its name and id
                updates[-1]["b_search"] = name_text(row.session_id, name, ascii_as_is=as_is)
        insert_runs.run(run_rows)
        update_rows.run(updates)
        leave_rows.run(left)
        stats.sessions += len(updates)
        stats.runs += len(run_rows)
        seen += len(rows)
        last = rows[-1][0]
        if progress is not None:
            progress(min(seen, total), total)
    return stats


def _same(value: Any) -> Any:
    return value


def v2_data(conn: Connection, ref: TableRef, progress: Progress | None, *, at: int) -> StepStats:
    """v2's data move into a table that has layout ``at``'s columns, for
    ``migrations.fused`` (see ``_v2_data``)."""
    return _v2_data(conn, ref, progress, at=at)


# -- v2 -> v3: drop agno's single-column indexes ------------------------------------------


def _v3_ddl(ref: TableRef, dialect: Dialect) -> list[str]:
    """Drop the v1 indexes on single columns: ``ix_<table>_user_created`` and
    ``ix_<table>_entity_created`` serve user and entity lookups, and nothing looks
    sessions up by team session or workflow name. Each one a new session no
    longer writes is a page less per commit."""
    v2 = ref.shape_at(2)
    listing = {name for name, _ in v2_index_specs(ref.table, ref.mode, backend=ref.backend)}
    return [
        str(DropIndex(index, if_exists=True).compile(dialect=dialect)).strip()
        for index in sorted(v2.indexes, key=lambda i: str(i.name))
        if index.name not in listing
    ]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        version=1,
        summary="add agno 1.x's team_session_id column and its index (agent tables)",
        ddl=_v1_ddl,
    ),
    Migration(
        version=2,
        summary="add summary columns, the runs table and newest-first indexes; move runs",
        ddl=_v2_ddl,
        data=_v2_data,
        data_note=(
            "move the runs of every session of {table} into its runs table "
            f"(batches of {BATCH_SIZE}) and fill the summary columns"
        ),
    ),
    Migration(
        version=3,
        summary="drop agno's single-column indexes (the listing indexes cover them)",
        ddl=_v3_ddl,
    ),
    Migration(
        version=4,
        summary="add the folded text search matches (search_name, runs' search_text)",
        ddl=v4_ddl,
        data=v4_data,
        data_note=(
            "fill search_name for every session of {table} and search_text for every "
            "run (batches of 500)"
        ),
    ),
    Migration(
        version=5,
        summary=V5_SUMMARY,
        ddl=v5_ddl,
        explain=v5_describe,
    ),
    Migration(
        version=6,
        summary=V6_SUMMARY,
        ddl=v6_ddl,
        explain=v6_describe,
    ),
)
