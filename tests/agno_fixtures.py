"""Databases written by agno 1.8.4's own code, for compatibility tests.

Everything here drives the real ``agno.agent.Agent`` with agno's own storage
classes; only the model is fake (:class:`FakeModel`, deterministic, no network).
What agno wrote is returned as :class:`AgnoDb` so tests can compare what our
storage reads with what agno produced.

Layouts produced:

- v1 (:func:`make_agno_sqlite_db`, :func:`fill_agno_storage`): agno 1.8.4's
  ``SqliteStorage`` / ``PostgresStorage`` agent table, exactly as agno creates it.
- v0 (:func:`make_agno_v0_table`, :func:`strip_team_session_id`): agno's older
  agent table, which had no ``team_session_id`` column. It is made by letting
  agno 1.8.4 write a v1 table and then dropping that column and its index
  (``DROP INDEX ix_<table>_team_session_id; ALTER TABLE <table> DROP COLUMN
  team_session_id``). Every other column, its type, its JSON encoding and the
  remaining index names stay as agno wrote them, which is what the older table
  looked like.

Run ``python tests/agno_fixtures.py`` from the repo root to regenerate the
pinned fixture in ``tests/fixtures/`` (see the README there).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("AGNO_TELEMETRY", "false")

from agno.agent import Agent
from agno.models.base import Model
from agno.models.message import Message as AgnoMessage
from agno.models.response import ModelResponse

AGENT_ID = "agno-compat-agent"
FIXTURES_DIR = Path(__file__).parent / "fixtures"
PINNED_DB = FIXTURES_DIR / "agno_1_8_4_agent_sessions.db"
PINNED_JSON = FIXTURES_DIR / "agno_1_8_4_agent_sessions.json"
#: Text with non-ASCII characters, quotes and markup, to prove encoding survives.
TRICKY_TEXT = 'naïve café — 東京 🚀 <b>bold</b> "quoted" \\ back'


@dataclass
class FakeModel(Model):
    """A deterministic agno model: no network, answers from the last message.

    - a user message ``"add A B"`` (when tools are offered) -> a tool call
      ``add(a=A, b=B)``; after the tool result -> ``"The tool said: <result>"``;
    - any other user message ``text`` -> ``"echo: text"``.

    Every answer reports usage of 10 input and 5 output tokens.
    """

    id: str = "fake-model-1"
    name: str = "FakeModel"
    provider: str = "fake"

    def invoke(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Return a provider-style dict for the conversation so far."""
        messages: list[AgnoMessage] = kwargs.get("messages") or args[0]
        last = messages[-1]
        if last.role == "tool":
            return {"content": f"The tool said: {last.get_content_string()}"}
        text = last.get_content_string()
        words = text.split()
        if kwargs.get("tools") and len(words) == 3 and words[0] == "add":
            call_id = "call_" + hashlib.sha1(text.encode()).hexdigest()[:10]
            arguments = json.dumps({"a": int(words[1]), "b": int(words[2])})
            call = {"id": call_id, "type": "function"}
            call["function"] = {"name": "add", "arguments": arguments}  # type: ignore[assignment]
            return {"tool_calls": [call]}
        return {"content": f"echo: {text}"}

    async def ainvoke(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Async twin of :meth:`invoke`."""
        return self.invoke(*args, **kwargs)

    def invoke_stream(self, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Stream the whole answer as one chunk."""
        yield self.invoke(*args, **kwargs)

    async def ainvoke_stream(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """Async twin of :meth:`invoke_stream`."""
        yield self.invoke(*args, **kwargs)

    def parse_provider_response(self, response: Any, **kwargs: Any) -> ModelResponse:
        """Turn the dict from :meth:`invoke` into agno's ModelResponse."""
        return ModelResponse(
            role="assistant",
            content=response.get("content"),
            tool_calls=list(response.get("tool_calls") or []),
            response_usage={"input_tokens": 10, "output_tokens": 5},
        )

    def parse_provider_response_delta(self, response: Any) -> ModelResponse:
        """Streaming chunks look like whole answers."""
        return self.parse_provider_response(response)


def add(a: int, b: int) -> str:
    """Add two integers and return the sum as text."""
    return str(a + b)


@dataclass
class WrittenSession:
    """What agno wrote for one session, taken from agno's own RunResponses.

    ``messages`` holds ``(role, text)`` for every message the runs added, in
    order (history copies left out); a tool-calling assistant message has text
    ``""`` and its tool names in ``tool_calls``.
    """

    session_id: str
    user_id: str | None
    agent_id: str
    prompts: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)
    messages: list[tuple[str, str]] = field(default_factory=list)
    tool_calls: list[str] = field(default_factory=list)
    created_at: int | None = None


@dataclass
class AgnoDb:
    """A database agno wrote: where, which table, and what each session holds."""

    path: Path | None
    table: str
    sessions: dict[str, WrittenSession]

    @property
    def session_ids(self) -> list[str]:
        """Session ids in the order they were created (oldest first)."""
        return list(self.sessions)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able description (used to pin the fixture's expected content)."""
        return {
            "table": self.table,
            "sessions": [
                {**asdict(s), "messages": [list(m) for m in s.messages]}
                for s in self.sessions.values()
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, path: Path | None = None) -> AgnoDb:
        """Inverse of :meth:`to_json`."""
        sessions = {}
        for item in data["sessions"]:
            item = dict(item)
            item["messages"] = [tuple(m) for m in item["messages"]]
            sessions[item["session_id"]] = WrittenSession(**item)
        return cls(path=path, table=data["table"], sessions=sessions)


def agno_sqlite_storage(path: Path | str, table: str = "agent_sessions", **kw: Any) -> Any:
    """agno 1.8.4's own ``SqliteStorage`` on a file."""
    from agno.storage.sqlite import SqliteStorage as AgnoSqliteStorage

    return AgnoSqliteStorage(table_name=table, db_file=str(path), **kw)


def make_agent(storage: Any, *, session_id: str, user_id: str | None) -> Agent:
    """An agno Agent with the fake model, the ``add`` tool, history and storage."""
    return Agent(
        model=FakeModel(),
        agent_id=AGENT_ID,
        storage=storage,
        session_id=session_id,
        user_id=user_id,
        tools=[add],
        add_history_to_messages=True,
        telemetry=False,
        monitoring=False,
    )


def run_agent(agent: Agent, prompt: str, written: WrittenSession) -> None:
    """Run one turn and record, from agno's RunResponse, what it added."""
    response = agent.run(prompt)
    written.prompts.append(prompt)
    written.run_ids.append(str(response.run_id))
    for message in response.messages or []:
        if message.from_history:
            continue
        written.messages.append((message.role, message.get_content_string()))
        for call in message.tool_calls or []:
            written.tool_calls.append(str(call.get("function", {}).get("name")))


def fill_agno_storage(
    storage: Any,
    *,
    sessions: int = 3,
    runs_per_session: int = 2,
    user_ids: Sequence[str | None] = ("alice", "bob"),
    prefix: str = "agno-s",
) -> dict[str, WrittenSession]:
    """Let agno Agents write ``sessions`` sessions of ``runs_per_session`` runs.

    Session ``i`` has id ``f"{prefix}{i}"`` and user ``user_ids[i % len]``.
    Session 1 (session 0 if there is only one) ends with a tool call turn
    (``"add i 40"``), so its last run holds an assistant tool call and a tool
    message. The first prompt of session 0 contains :data:`TRICKY_TEXT`.
    """
    tool_session = min(1, sessions - 1)
    out: dict[str, WrittenSession] = {}
    for i in range(sessions):
        session_id = f"{prefix}{i}"
        user_id = user_ids[i % len(user_ids)] if user_ids else None
        written = WrittenSession(session_id=session_id, user_id=user_id, agent_id=AGENT_ID)
        agent = make_agent(storage, session_id=session_id, user_id=user_id)
        for j in range(runs_per_session):
            if i == tool_session and j == runs_per_session - 1:
                prompt = f"add {i} 40"
            elif i == 0 and j == 0:
                prompt = f"first question {TRICKY_TEXT}"
            else:
                prompt = f"session {i} question {j}"
            run_agent(agent, prompt, written)
        out[session_id] = written
    return out


def spread_sqlite_timestamps(
    path: Path | str, table: str, session_ids: Sequence[str], *, start: int = 1_700_000_000
) -> dict[str, int]:
    """Give sessions distinct ``created_at``/``updated_at`` (60 s apart, in order).

    agno stamps whole seconds, so sessions written in one second tie and
    "newest first" would be ambiguous. Only these two integer columns change.
    """
    stamps = {sid: start + 60 * n for n, sid in enumerate(session_ids)}
    with sqlite3.connect(path) as con:
        for sid, stamp in stamps.items():
            con.execute(
                f'UPDATE "{table}" SET created_at = ?, updated_at = ? WHERE session_id = ?',
                (stamp, stamp + 30, sid),
            )
    return stamps


def make_agno_sqlite_db(
    path: Path | str,
    *,
    table: str = "agent_sessions",
    sessions: int = 3,
    runs_per_session: int = 2,
    user_ids: Sequence[str | None] = ("alice", "bob"),
    spread_timestamps: bool = True,
) -> AgnoDb:
    """Write an agent table with agno 1.8.4's Agent + SqliteStorage (layout v1).

    Args:
        path: the SQLite file (created, parent folders too).
        table: table name.
        sessions, runs_per_session, user_ids: see :func:`fill_agno_storage`.
        spread_timestamps: give sessions distinct, increasing timestamps
            (see :func:`spread_sqlite_timestamps`), oldest first.

    Returns:
        what was written, sessions in creation order.
    """
    path = Path(path)
    storage = agno_sqlite_storage(path, table)
    written = fill_agno_storage(
        storage, sessions=sessions, runs_per_session=runs_per_session, user_ids=user_ids
    )
    storage.db_engine.dispose()
    if spread_timestamps:
        stamps = spread_sqlite_timestamps(path, table, list(written))
        for sid, stamp in stamps.items():
            written[sid].created_at = stamp
    return AgnoDb(path=path, table=table, sessions=written)


def strip_team_session_id(con: Any, table: str, *, schema: str | None = None) -> None:
    """Turn an agno 1.8.4 agent table into the older layout (v0) in place.

    ``con`` is a DB-API connection or a SQLAlchemy ``Connection``; for
    Postgres pass ``schema``. The caller commits.
    """
    # agno names indexes ix_<table>_<column>; on Postgres ix_<schema>_<table>_<column>
    qualified = f'"{schema}"."{table}"' if schema else f'"{table}"'
    if schema:
        index = f'"{schema}"."ix_{schema}_{table}_team_session_id"'
    else:
        index = f'"ix_{table}_team_session_id"'
    statements = [
        f"DROP INDEX IF EXISTS {index}",
        f"ALTER TABLE {qualified} DROP COLUMN team_session_id",
    ]
    for sql in statements:
        if hasattr(con, "exec_driver_sql"):
            con.exec_driver_sql(sql)
        else:
            con.execute(sql)


def make_agno_v0_table(path: Path | str, *, table: str = "agent_sessions", **kw: Any) -> AgnoDb:
    """An agno-written agent table without ``team_session_id`` (layout v0).

    agno 1.8.4 writes the table (:func:`make_agno_sqlite_db`, same options),
    then :func:`strip_team_session_id` drops that column and its index.
    """
    db = make_agno_sqlite_db(path, table=table, **kw)
    with sqlite3.connect(path) as con:
        strip_team_session_id(con, table)
    return db


def sqlite_columns(path: Path | str, table: str) -> list[str]:
    """Column names of a SQLite table, in order."""
    with sqlite3.connect(path) as con:
        return [row[1] for row in con.execute(f'PRAGMA table_info("{table}")')]


def sqlite_dump(path: Path | str) -> list[str]:
    """Every schema statement and row of a SQLite file, as text (for "unchanged" checks)."""
    con = sqlite3.connect(path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def write_pinned_fixture() -> AgnoDb:
    """Regenerate ``tests/fixtures/agno_1_8_4_agent_sessions.{db,json}``."""
    FIXTURES_DIR.mkdir(parents=True, exist_ok=True)
    PINNED_DB.unlink(missing_ok=True)
    db = make_agno_sqlite_db(PINNED_DB, sessions=3, runs_per_session=2)
    with sqlite3.connect(PINNED_DB) as con:
        con.execute("VACUUM")
    PINNED_JSON.write_text(json.dumps(db.to_json(), indent=1, ensure_ascii=False) + "\n")
    return db


def load_pinned_fixture() -> AgnoDb:
    """What the pinned fixture holds (the DB path points at the pinned file)."""
    data = json.loads(PINNED_JSON.read_text())
    return AgnoDb.from_json(data, path=PINNED_DB)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: regenerate the pinned fixture."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.parse_args(argv)
    db = write_pinned_fixture()
    size = PINNED_DB.stat().st_size
    print(f"wrote {PINNED_DB} ({size} bytes, {len(db.sessions)} sessions) and {PINNED_JSON}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
