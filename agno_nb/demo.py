"""``agno-nb demo``: the seed example, offline, on SQLite.

Three questions go to an :class:`~agno_nb.agent.Agent` with the offline model
in the session ``fixed_id_for_demo``; then the stored session is printed. Run
it twice: the second time the first answer names the previous question,
because the session was loaded from the database.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

from agno_nb.agent import Agent
from agno_nb.models.offline import OfflineModel
from agno_nb.render import transcript_text

__all__ = ["QUESTIONS", "SESSION_ID", "run_demo"]

SESSION_ID = "fixed_id_for_demo"
QUESTIONS = (
    "What was my last question?",
    "What is the capital of France?",
    "What was my last question?",
)


def _open(db: str | Path) -> tuple[Any, str]:
    """The storage ``db`` names (a database URL, or a SQLite file path) and how to
    show it (a URL with its password masked)."""
    text = str(db)
    if "://" in text:
        from agno_nb.connect import open_from_args

        storage = open_from_args(text)
        return storage, storage.display_url
    from agno_nb.storage import SqliteStorage

    path = Path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteStorage(table_name="agent_sessions", db_file=str(path)), str(path)


def run_demo(db_file: str | Path = "tmp/data.db", *, out: TextIO | None = None) -> int:
    """Run the seed example and print what happened.

    Args:
        db_file: A SQLite file path (its folder is created when missing) or a
            database URL (``sqlite:///...``, ``duckdb:///...``,
            ``postgresql+psycopg://...``); a URL's password is never printed.
        out: Where to write (default: standard output).

    Returns:
        The exit code (0).

    Raises:
        agno_nb.errors.AgnoNbError: the database cannot be used (the CLI shows it).
    """
    stream = out if out is not None else sys.stdout
    storage, where = _open(db_file)
    try:
        agent = Agent(
            model=OfflineModel(),
            session_id=SESSION_ID,
            storage=storage,
            add_history_to_messages=True,
            num_history_runs=3,
        )
        earlier = sum(1 for m in agent.get_messages_for_session() if m.get("role") == "user")
        state = f"{earlier} earlier question(s) found" if earlier else "a new session"
        stream.write(f"agno-nb demo: session {SESSION_ID!r} in {where} ({state})\n")
        for question in QUESTIONS:
            answer = agent.run(question).content
            stream.write(f"\n> {question}\n{answer}\n")
        session = storage.read(SESSION_ID)
        if session is not None:
            stream.write("\n" + transcript_text(session) + "\n")
        stream.write(
            f"\nRun it again (agno-nb demo --db {where}): the first answer will name your "
            "last question, read back from the database.\n"
        )
    finally:
        storage.close()
    return 0
