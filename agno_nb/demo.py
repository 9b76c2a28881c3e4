"""``agno-nb demo``: the seed example, offline, on SQLite.

Three questions go to an :class:`~agno_nb.agent.Agent` with the offline model
in the session ``fixed_id_for_demo``, with history on. Run it twice: the second
time it says how many runs it loaded from the database, and the first answer
names the previous question. Only this run's turns are printed;
``agno-nb show`` prints the whole session.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, TextIO

from agno_nb.agent import Agent
from agno_nb.models.offline import OfflineModel
from agno_nb.sessions import content_text
from agno_nb.words import counted

__all__ = ["QUESTIONS", "SESSION_ID", "run_demo"]

SESSION_ID = "fixed_id_for_demo"
HISTORY_RUNS = 3
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

    It says how many runs of the session it loaded (that is why the agent
    remembers), prints this run's questions and answers (not the whole history),
    and ends with the command that shows the whole history.

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
        earlier = _run_count(storage)
        agent = Agent(
            model=OfflineModel(),
            session_id=SESSION_ID,
            storage=storage,
            add_history_to_messages=True,
            num_history_runs=HISTORY_RUNS,
        )
        stream.write(f"agno-nb demo: session {SESSION_ID!r} in {where}\n")
        stream.write(_loaded_line(earlier, where) + "\n")
        asked = _last_user_text(agent.get_messages_for_session())
        for number, question in enumerate(QUESTIONS, start=earlier + 1):
            answer = str(agent.run(question).content)
            stream.write(f"\n[run #{number}] > {question}\n{answer}\n")
            note = _skipped_note(answer, asked)
            if note:
                stream.write(note + "\n")
            asked = question
        total = earlier + len(QUESTIONS)
        stream.write(
            f"\nThe session now holds {counted(total, 'run')}. See them all: "
            f"agno-nb show {where} {SESSION_ID}\n"
            f"Run it again (agno-nb demo --db {where}): the agent loads these runs from the "
            "database and the first answer names your last question.\n"
        )
    finally:
        storage.close()
    return 0


def _run_count(storage: Any) -> int:
    """How many runs the demo session already holds (0 when it does not exist)."""
    from agno_nb.errors import SessionNotFoundError

    try:
        return int(storage.count_runs(SESSION_ID))
    except SessionNotFoundError:
        return 0


def _loaded_line(earlier: int, where: str) -> str:
    """Why the agent remembers (or why it cannot yet)."""
    if not earlier:
        return (
            f"a new session: no earlier runs of {SESSION_ID} in {where}, so nothing to remember yet"
        )
    shown = min(earlier, HISTORY_RUNS)
    return (
        f"loaded {counted(earlier, 'earlier run')} of session {SESSION_ID} from {where}; "
        f"the model sees the last {counted(shown, 'run')} as history "
        f"(add_history_to_messages=True, num_history_runs={HISTORY_RUNS})"
    )


def _last_user_text(messages: list[dict[str, Any]]) -> str | None:
    for message in reversed(messages):
        if message.get("role") == "user" and not message.get("from_history"):
            return content_text(message.get("content"))
    return None


def _skipped_note(answer: str, asked: str | None) -> str | None:
    """Explain an answer naming an older question than the one asked just before:
    the offline model skips questions about the conversation itself."""
    named = re.match(r'Your last question was: "(.*)"$', answer, re.S)
    if named is None or asked is None or named.group(1) == asked:
        return None
    return (
        f"  (the question just before was {asked!r}: the offline model skips questions "
        "about the conversation itself and names the last other one)"
    )
