"""agno 1.x memory tables (``agno.memory.v2`` ``SqliteMemoryDb`` / ``PostgresMemoryDb``)
-> agno 3.x's ``agno_memories``, keeping each memory's id, text, topics, input and times.

agno 1.x's table has ``id``, ``user_id``, ``memory`` (the UserMemory dict: JSONB on
Postgres, Python's ``str()`` of the dict on SQLite), ``created_at`` and ``updated_at``
(timestamps). Rows are read in ``id`` order, written in one transaction per batch with
a bookkeeping row each (``memory:<id>`` in ``agno_nb_migrate_rows``); a memory already in
the target that did not come from here is a conflict, left alone.
"""

from __future__ import annotations

import ast
import hashlib
import json
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from agno_nb.agno3.convert import ConversionError
from agno_nb.agno3.report import TableReport
from agno_nb.errors import TableMissingError

if TYPE_CHECKING:
    from agno_nb.agno3.target import Target

_PREFIX = "memory:"


def _epoch(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        if value.tzinfo is None:  # SQLite's CURRENT_TIMESTAMP is UTC
            value = value.replace(tzinfo=timezone.utc)
        return int(value.timestamp())
    return None


def parse_memory(value: Any, *, memory_id: str) -> dict[str, Any]:
    """The 1.x UserMemory dict of a stored row (JSON, or ``str()`` of a dict).

    Raises:
        ConversionError: the value is neither.
    """
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        for parse in (json.loads, ast.literal_eval):
            try:
                parsed = parse(value)
            except (ValueError, SyntaxError):
                continue
            if isinstance(parsed, dict):
                return parsed
    raise ConversionError(
        f"memory {memory_id!r} cannot be read ({type(value).__name__} in column 'memory'); "
        "fix or delete that row, or rerun with --skip-bad"
    )


def convert_memory(row: dict[str, Any]) -> dict[str, Any]:
    """One 1.x memory row as an ``agno_memories`` row (id, topics and input kept)."""
    memory_id = str(row["id"])
    data = parse_memory(row.get("memory"), memory_id=memory_id)
    text = data.get("memory")
    if not isinstance(text, str):
        raise ConversionError(
            f"memory {memory_id!r} has no text; fix or delete that row, or rerun with --skip-bad"
        )
    created = _epoch(row.get("created_at")) or _epoch(data.get("last_updated")) or int(time.time())
    updated = _epoch(row.get("updated_at")) or _epoch(data.get("last_updated")) or created
    return {
        "memory_id": memory_id,
        "memory": text,
        "input": data.get("input"),
        "agent_id": None,
        "team_id": None,
        "user_id": row.get("user_id"),
        "topics": data.get("topics"),
        "feedback": None,
        "created_at": created,
        "updated_at": updated,
    }


def migrate_memories(
    engine: Engine,
    backend: str,
    table: str,
    schema: str | None,
    target: Target,
    *,
    dry_run: bool,
    skip_bad: bool = False,
    batch_size: int = 1000,
) -> TableReport:
    """Move one 1.x memory table into ``agno_memories``; returns its report."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(table, schema=schema):
            raise TableMissingError(
                f"no memory table {table!r} in the source database: check --memory-table"
            )
    source = sa.table(
        table,
        sa.column("id"),
        sa.column("user_id"),
        sa.column("memory"),
        sa.column("created_at"),
        sa.column("updated_at"),
        schema=schema,
    )
    key = f"{backend}:{engine.url.database}#{table}"
    report = TableReport(source=table, mode="memories", layout=1)
    t = target.tables
    last: str | None = None
    expected: set[str] = set()
    while True:
        query = sa.select(source).order_by(source.c.id).limit(batch_size)
        if last is not None:
            query = query.where(source.c.id > last)
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        if not rows:
            break
        last = str(rows[-1]["id"])
        ids = [str(r["id"]) for r in rows]
        owned: dict[str, str] = {}
        existing: set[str] = set()
        if target.has(t.memories):
            with target.engine.connect() as conn:
                owned = {
                    r[0][len(_PREFIX) :]: r[1]
                    for r in conn.execute(
                        sa.select(t.rows.c.session_id, t.rows.c.fingerprint).where(
                            t.rows.c.session_id.in_([_PREFIX + i for i in ids])
                        )
                    )
                }
                existing = {
                    r[0]
                    for r in conn.execute(
                        sa.select(t.memories.c.memory_id).where(t.memories.c.memory_id.in_(ids))
                    )
                }
        write: list[tuple[dict[str, Any], str]] = []
        for row in rows:
            memory_id = str(row["id"])
            report.sessions += 1
            fingerprint = hashlib.blake2b(repr(sorted(row.items())).encode(), digest_size=16)
            digest = fingerprint.hexdigest()
            if memory_id in existing and memory_id not in owned:
                report.conflicts.append(memory_id)
                continue
            expected.add(memory_id)
            if owned.get(memory_id) == digest and memory_id in existing:
                report.unchanged += 1
                continue
            try:
                write.append((convert_memory(row), digest))
            except ConversionError:
                expected.discard(memory_id)
                if not skip_bad:
                    raise
                report.bad.append(memory_id)
        report.new += len(write)
        if dry_run or not write:
            continue
        now = int(time.time())
        with target.engine.begin() as conn:
            gone = [m["memory_id"] for m, _ in write]
            conn.execute(t.memories.delete().where(t.memories.c.memory_id.in_(gone)))
            conn.execute(
                t.rows.delete().where(t.rows.c.session_id.in_([_PREFIX + g for g in gone]))
            )
            conn.execute(t.memories.insert(), [m for m, _ in write])
            conn.execute(
                t.rows.insert(),
                [
                    {
                        "session_id": _PREFIX + m["memory_id"],
                        "source": key,
                        "fingerprint": digest,
                        "source_updated_at": m["updated_at"],
                        "target_updated_at": m["updated_at"],
                        "runs": 0,
                        "messages": 0,
                        "migrated_at": now,
                    }
                    for m, digest in write
                ],
            )
    if not dry_run and target.has(t.memories) and expected:
        with target.engine.connect() as conn:
            found = {
                r[0]
                for r in conn.execute(
                    sa.select(t.memories.c.memory_id).where(
                        t.memories.c.memory_id.in_(sorted(expected))
                    )
                )
            }
        report.target_sessions = len(found)
        missing = sorted(expected - found)
        report.verified = not missing
        if missing:
            report.mismatch = (
                f"{len(missing)} memories missing in the target (first: {missing[0]!r})"
            )
    elif not dry_run:
        report.verified = True
    return report
