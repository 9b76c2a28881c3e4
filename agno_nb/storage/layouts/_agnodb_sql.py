"""JSON cells, runs and SQL over agno 2.x / 3.x's tables: the helpers of
:mod:`agno_nb.storage.layouts.agnodb` (see its docstring for the formats).

Cells may be JSON encoded once or twice; :func:`decode_agno_json` decodes both
and :func:`encode_agno_json` writes a value back the way it was stored.
:class:`Json` builds the per-dialect SQL (SQLite's ``json_*`` functions,
Postgres' jsonb operators) the layout lists, counts and searches with.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from agno_nb.dialects import Dialect
from agno_nb.errors import CorruptSessionError
from agno_nb.storage.contract import Listing, StorageCore

__all__ = ["JSON_COLUMNS", "decode_agno_json", "encode_agno_json", "merge_runs", "run_from_agno"]

#: The session table's JSON columns (``runs`` aside).
JSON_COLUMNS = ("session_data", "agent_data", "team_data", "workflow_data", "metadata", "summary")


# -- JSON cells and runs -------------------------------------------------------------------


def decode_agno_json(text: Any, *, session_id: str, column: str) -> tuple[Any, int]:
    """A JSON cell's value and how many times it was encoded (0 for SQL NULL).

    A value still a string after decoding is decoded again while its text is JSON
    (agno 2.x and 3.0 encode twice on SQLite); the text ``null`` gives None.

    Raises:
        CorruptSessionError: the cell is not JSON (names the session and column).
    """
    if text is None:
        return None, 0
    if not isinstance(text, (str, bytes, bytearray)):
        return text, 1  # decoded by the driver (jsonb)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptSessionError(
            f"session {session_id!r} has corrupt JSON in column {column!r} ({exc.msg} at "
            f"char {exc.pos}); other sessions are unaffected: fix or delete this row"
        ) from None
    depth = 1
    while isinstance(value, str) and depth < 4:
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            break  # a plain string value
        depth += 1
    return value, depth


def encode_agno_json(value: Any, depth: int) -> str:
    """``value`` as JSON text encoded ``depth`` times (at least once), written the
    way agno writes it (``json.dumps`` defaults)."""
    text = json.dumps(value)
    for _ in range(depth - 1):
        text = json.dumps(text)
    return text


def run_from_agno(run: Any) -> dict[str, Any]:
    """An agno 2.x/3.x run (``RunOutput.to_dict()``) as the run dict agno_nb reads.

    Messages, tool calls and ``from_history`` already have agno 1.x's shape and
    are kept. Added: ``metrics["time"]`` from ``duration``; for a run stored
    without messages, a user message from ``input.input_content`` and an
    assistant message from ``content`` (so listings and transcripts show the
    turn). Everything else is kept as is.
    """
    if not isinstance(run, Mapping):
        return {"content": run}
    out = dict(run)
    metrics = out.get("metrics")
    if isinstance(metrics, Mapping) and "time" not in metrics and "duration" in metrics:
        out["metrics"] = {**metrics, "time": metrics["duration"]}
    if not out.get("messages"):
        source = out.get("input")  # {"input_content": ...}; a workflow run's may be the text
        question = source.get("input_content") if isinstance(source, Mapping) else source
        made: list[dict[str, Any]] = []
        if question is not None:
            made.append({"role": "user", "content": question, "created_at": out.get("created_at")})
        if out.get("content") is not None:
            made.append({"role": "assistant", "content": out["content"]})
        if made:
            out["messages"] = made
    return out


def merge_runs(legacy: list[Any], table: Sequence[tuple[str | None, Any]]) -> list[Any]:
    """agno's merge: the ``runs`` column's runs in order (the table's version when
    a run_id is in both), then the table's other runs in their order."""
    by_id = {run_id: run for run_id, run in table if run_id is not None}
    seen: set[Any] = set()
    out: list[Any] = []
    for run in legacy:
        run_id = run.get("run_id") if isinstance(run, Mapping) else None
        if run_id is not None and run_id in by_id:
            out.append(by_id[run_id])
            seen.add(run_id)
        else:
            out.append(run)
    out.extend(run for run_id, run in table if run_id is None or run_id not in seen)
    return out


# -- the database's JSON functions ---------------------------------------------------------


def _lit(sql: str) -> Any:
    return sa.literal_column(sql)


class Json:
    """SQL over agno's JSON cells, per dialect: the decoded document (once- or
    twice-encoded), text at a path, and array elements."""

    def __init__(self, dialect: Dialect) -> None:
        self.pg = dialect.native_json  # jsonb operators, else SQLite's json functions

    def doc(self, col: Any) -> Any:
        """The cell as one JSON document (NULL when SQLite holds no valid JSON)."""
        if self.pg:
            unwrapped = sa.cast(col.op("#>>")(_lit("'{}'")), postgresql.JSONB)
            return sa.case((sa.func.jsonb_typeof(col) == "string", unwrapped), else_=col)
        inner = sa.func.json_extract(col, "$")
        valid = sa.func.json_valid(col) == 1
        text = sa.func.json_type(col) == "text"
        return sa.case(
            (sa.and_(valid, text, sa.func.json_valid(inner) == 1), inner),
            (sa.and_(valid, sa.not_(text)), col),
            else_=sa.null(),
        )

    def text(self, doc: Any, *path: str) -> Any:
        """The value at ``path`` as text."""
        if self.pg:
            return doc.op("#>>")(_lit("'{" + ",".join(path) + "}'"))
        return sa.func.json_extract(doc, "$." + ".".join(path))

    def elements(self, doc: Any, key: str | None, name: str) -> Any:
        """The elements of the array ``doc[key]`` (or ``doc``), a FROM with column ``value``."""
        if self.pg:
            arr = doc.op("->")(_lit(f"'{key}'")) if key else doc
            arr = sa.case((sa.func.jsonb_typeof(arr) == "array", arr), else_=_lit("'[]'::jsonb"))
            return sa.func.jsonb_array_elements(arr).table_valued("value").alias(name)
        fn = sa.func.json_each(doc, f"$.{key}") if key else sa.func.json_each(doc)
        return fn.table_valued("value").alias(name)

    def is_true(self, value: Any, key: str) -> Any:
        if self.pg:
            return sa.func.coalesce(value.op("->>")(_lit(f"'{key}'")), "false") == "true"
        return sa.func.coalesce(sa.func.json_extract(value, f"$.{key}"), 0) == 1

    def element_text(self, value: Any, *path: str) -> Any:
        if self.pg:
            return value.op("#>>")(_lit("'{" + ",".join(path) + "}'"))
        return sa.func.json_extract(value, "$." + ".".join(path))

    def message_count(self, doc: Any) -> Any:
        """How many messages a run document added (``from_history`` copies left out)."""
        m = self.elements(doc, "messages", "m")
        query = (
            sa.select(sa.func.count())
            .select_from(m)
            .where(sa.not_(self.is_true(m.c.value, "from_history")))
        )
        return query.scalar_subquery()

    def valid(self, col: Any) -> Any:
        """1 when the cell holds JSON (Postgres' jsonb always does)."""
        if self.pg:
            return _lit("1")
        return sa.case((sa.func.json_valid(col) == 1, 1), else_=0)


class AgnoDbParts(Protocol):
    """What the agno 2.x/3.x helper modules (``_agnodb_listing``, ``_agnodb_runs``,
    ``_agnodb_writes``, ``_agnodb_upsert``) use of
    :class:`~agno_nb.storage.layouts.agnodb.AgnoDbLayout`,
    so they need not import it (it imports them)."""

    storage: StorageCore
    table: sa.Table
    runs: sa.Table
    json: Json
    has_legacy: bool
    has_runs_table: bool
    type: str

    def as_text(self, col: Any) -> Any: ...

    def runs_present(self, conn: Connection) -> bool: ...

    def filtered(self, query: sa.Select[Any], want: Listing) -> sa.Select[Any]: ...

    def newest_first(self, query: sa.Select[Any]) -> sa.Select[Any]: ...

    def run_order(self, newest_first: bool = False) -> list[Any]: ...

    def chunks(self, rows: Sequence[Any]) -> list[Sequence[Any]]: ...

    def legacy_runs(self, row: Mapping[str, Any], sid: str) -> list[Any]: ...
