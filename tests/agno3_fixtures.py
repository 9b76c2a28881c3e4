"""Databases written by agno 2.x/3.x's own code (``agno.db``), for compatibility tests.

Runs under an interpreter that has **agno 2.9.0 or 3.1.10** (not agno_nb's venv, which
holds agno 1.8.4). It drives agno's real ``Agent`` (and one ``Team``) with agno's own
``SqliteDb`` / ``PostgresDb``; only the model is fake (:class:`FakeModel`, deterministic,
no network). What agno *returned* (its ``RunOutput`` objects, not what it stored) is
recorded as the expected content, so tests can check any reader against it.

Command line (from the repo root)::

    # one database with the running agno version (phase "all", "first" or "second")
    /work/venvs/agno3/bin/python tests/agno3_fixtures.py sqlite OUT.db --json OUT.json
    # the same sessions into Postgres (fresh schema); prints the expected JSON
    /work/venvs/agno3/bin/python tests/agno3_fixtures.py postgres URL SCHEMA
    # regenerate the three pinned fixtures in tests/fixtures (any python)
    python tests/agno3_fixtures.py pinned --agno2 /work/venvs/agno2/bin/python \\
        --agno3 /work/venvs/agno3/bin/python

Only the standard library is imported at module level, so agno_nb's own tests (agno
1.8.4's venv) may import the constants and :func:`load_expected` / :func:`copy_fixture`.

Scenario (:data:`SESSIONS`): seven agent sessions and one team session, users ``alice`` and
``bob``; unicode and hostile HTML in prompts; a ``add`` tool call; history on
(``add_history_to_context``) for every agent; a 60-run session; a session renamed with
agno's own ``db.rename_session``. For the "2.9.0 then 3.1.10" database, phase ``first``
(agno 2.9.0) writes the first part of each session and phase ``second`` (agno 3.1.10)
continues them (except ``s-first-only``, left exactly as 2.9.0 wrote it), adds ``s-late``
and renames ``s-rename`` (so that row mixes a double-encoded ``runs`` cell with
single-encoded JSON columns).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("AGNO_TELEMETRY", "false")

AGENT_ID = "agno3-compat-agent"
AGENT_NAME = "Compat Agent"
TEAM_ID = "agno3-compat-team"
FIXTURES_DIR = Path(__file__).parent / "fixtures"
#: Hostile HTML: a tag that runs script, one that formats, an entity and quotes.
HOSTILE_HTML = "<script>alert(1)</script> <b>bold</b> &amp; \"quoted\" 'single'"
UNICODE_TEXT = "Grüße aus Zürich 🚀 — école, naïve café 東京"
#: A team prompt starting with this makes the team model delegate the rest to its member.
DELEGATE_PREFIX = "delegate:"
#: Answered with the number of user messages in the model's context (history included).
COUNT_PROMPT = "how many user messages do you see?"
RENAMED_TO = "Zürich trip 🚀 <b>renamed</b>"
LONG_RUNS = 60
#: Sessions are stamped START + GAP * n afterwards (agno stamps whole seconds).
TIMESTAMP_START = 1_750_000_000
TIMESTAMP_GAP = 3600
#: Fixed namespace for deterministic, uuid-shaped run ids.
RUN_ID_NAMESPACE = uuid.UUID("6f1c1d52-6a2e-4a43-9d4e-3c2b1a0f9e11")


@dataclass(frozen=True)
class Plan:
    """One session of the scenario: who, what kind, and its prompts per phase."""

    session_id: str
    user_id: str
    kind: str  # "agent" | "team"
    first: tuple[str, ...]  # written in phase "first" (2.9.0 in the mixed database)
    second: tuple[str, ...] = ()  # written in phase "second" (3.1.10 in the mixed database)
    rename: str | None = None  # renamed with db.rename_session after its runs
    only_second: bool = False  # the session exists only from phase "second" on


SESSIONS: tuple[Plan, ...] = (
    Plan("s-unicode", "alice", "agent", (f"hello {UNICODE_TEXT}",), ("and école again? ✓",)),
    Plan("s-html", "bob", "agent", (f"render this: {HOSTILE_HTML}",), ("is <b> safe?",)),
    Plan("s-tool", "alice", "agent", ("add 2 40",), (COUNT_PROMPT,)),
    Plan("s-rename", "bob", "agent", ("plan a trip",), ("to Zürich",), rename=RENAMED_TO),
    Plan(
        "s-long",
        "alice",
        "agent",
        tuple(f"long question {i}" for i in range(LONG_RUNS // 2)),
        tuple(f"long question {i}" for i in range(LONG_RUNS // 2, LONG_RUNS)),
    ),
    Plan("t-team", "bob", "team", ("team, say hi",), ("delegate: greet Zürich 🚀",)),
    Plan("s-first-only", "bob", "agent", ("only phase first wrote this",)),
    Plan(
        "s-late",
        "alice",
        "agent",
        (),
        ("a late session, written in phase second",),
        only_second=True,
    ),
)


def agno_version() -> str:
    """The installed agno's version string."""
    from importlib.metadata import version

    return version("agno")


def _model_class() -> type:
    """Build the fake model class against the installed agno (imported lazily)."""
    from agno.models.base import Model
    from agno.models.response import ModelResponse

    try:
        from agno.metrics import MessageMetrics
    except ImportError:  # agno 2.x
        from agno.models.metrics import MessageMetrics  # type: ignore[no-redef]

    @dataclass
    class FakeModel(Model):  # type: ignore[misc]
        """Deterministic agno model: ``add A B`` -> a tool call, else ``echo: <text>``.

        After a tool result it answers ``The tool said: <result>``; :data:`COUNT_PROMPT`
        gets ``I see N user messages`` (N counts the history in the context). Every answer reports
        10 input and 5 output tokens.
        """

        id: str = "fake-model-1"
        name: str = "FakeModel"
        provider: str = "fake"

        def _answer(self, messages: list[Any], tools: Any) -> dict[str, Any]:
            last = messages[-1]
            if last.role == "tool":
                return {"content": f"The tool said: {last.get_content_string()}"}
            text = last.get_content_string()
            words = text.split()
            if text == COUNT_PROMPT:  # proves the history agno put into the context
                users = sum(1 for m in messages if m.role == "user")
                return {"content": f"I see {users} user messages"}
            names = {str(t.get("function", t).get("name")) for t in tools or []}
            if text.startswith(DELEGATE_PREFIX) and "delegate_task_to_member" in names:
                call_id = "call_" + hashlib.sha1(text.encode()).hexdigest()[:10]
                task = text[len(DELEGATE_PREFIX) :].strip()
                args = json.dumps({"member_id": AGENT_ID, "task": task})
                function = {"name": "delegate_task_to_member", "arguments": args}
                return {"tool_calls": [{"id": call_id, "type": "function", "function": function}]}
            if tools and len(words) == 3 and words[0] == "add":
                call_id = "call_" + hashlib.sha1(text.encode()).hexdigest()[:10]
                args = json.dumps({"a": int(words[1]), "b": int(words[2])})
                function = {"name": "add", "arguments": args}
                return {"tool_calls": [{"id": call_id, "type": "function", "function": function}]}
            return {"content": f"echo: {text}"}

        def invoke(self, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
            return self._parse_provider_response(self._answer(messages, kwargs.get("tools")))

        async def ainvoke(self, *args: Any, **kwargs: Any) -> Any:
            return self.invoke(*args, **kwargs)

        def invoke_stream(self, *args: Any, **kwargs: Any) -> Any:
            yield self.invoke(*args, **kwargs)

        async def ainvoke_stream(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            yield self.invoke(*args, **kwargs)

        def _parse_provider_response(self, response: Any, **kwargs: Any) -> Any:
            usage = MessageMetrics()
            usage.input_tokens, usage.output_tokens, usage.total_tokens = 10, 5, 15
            return ModelResponse(
                role="assistant",
                content=response.get("content"),
                tool_calls=list(response.get("tool_calls") or []),
                response_usage=usage,
            )

        def _parse_provider_response_delta(self, response: Any) -> Any:
            return self._parse_provider_response(response)

    return FakeModel


def fake_model_class() -> type:
    """The deterministic offline agno model class (see ``_model_class``), for other tests."""
    return _model_class()


def add(a: int, b: int) -> str:
    """Add two integers and return the sum as text."""
    return str(a + b)


def run_id_for(session_id: str, index: int) -> str:
    """Deterministic, uuid-shaped run id of run ``index`` (0-based) of a session."""
    return str(uuid.uuid5(RUN_ID_NAMESPACE, f"{session_id}/{index}"))


def _entity(db: Any, plan: Plan, model_cls: type) -> Any:
    """The agno Agent (or Team with one member agent) that writes ``plan``."""
    from agno.agent import Agent

    agent = Agent(
        model=model_cls(),
        id=AGENT_ID,
        name=AGENT_NAME,
        db=db,
        session_id=plan.session_id,
        user_id=plan.user_id,
        tools=[add] if plan.kind == "agent" else [],
        add_history_to_context=True,
        telemetry=False,
    )
    if plan.kind == "agent":
        return agent
    from agno.team import Team

    return Team(
        members=[agent],
        model=model_cls(),
        id=TEAM_ID,
        name="Compat Team",
        db=db,
        session_id=plan.session_id,
        user_id=plan.user_id,
        add_history_to_context=True,
        telemetry=False,
    )


def _messages(output: Any) -> tuple[list[list[str]], list[str], int]:
    """(role, text) of the run's own messages, tool names, and the count of system messages.

    History copies are left out. System messages (the team's, agno's own prompt text) are
    counted, not copied: they are in the database, at the start of ``messages``.
    """
    pairs: list[list[str]] = []
    tools: list[str] = []
    system = 0
    for message in output.messages or []:
        if message.from_history:
            continue
        if message.role == "system":
            system += 1
            continue
        pairs.append([message.role, message.get_content_string()])
        for call in message.tool_calls or []:
            tools.append(str(call.get("function", {}).get("name")))
    return pairs, tools, system


def _run_entry(output: Any, prompt: str | None, version: str) -> dict[str, Any]:
    """The expected content of one run, from the RunOutput agno returned."""
    messages, tools, system = _messages(output)
    return {
        "run_id": str(output.run_id),
        "parent_run_id": getattr(output, "parent_run_id", None),
        "input": prompt,
        "content": output.content,
        "messages": messages,
        "tool_calls": tools,
        "system_messages": system,
        "written_by": version,
    }


def write_sessions(
    db: Any, *, phase: str = "all", done: dict[str, int] | None = None
) -> list[dict]:
    """Let agno write the scenario's sessions into ``db`` (an ``agno.db`` instance).

    Args:
        db: agno's ``SqliteDb`` / ``PostgresDb``.
        phase: ``"first"``, ``"second"`` or ``"all"`` (both, one after the other).
        done: runs each session already has (phase ``second``), to continue run ids.

    Returns:
        the expected content of the runs written now, per session (see module doc).
    """
    from agno.db.base import SessionType

    model_cls = _model_class()
    version = agno_version()
    done = dict(done or {})
    out: list[dict] = []
    for plan in SESSIONS:
        if phase == "first" and plan.only_second:
            continue
        prompts = {
            "first": plan.first,
            "second": plan.second,
            "all": plan.first + plan.second,
        }[phase]
        entity = _entity(db, plan, model_cls)
        runs = []
        for prompt in prompts:
            index = done.get(plan.session_id, 0)
            output = entity.run(prompt, run_id=run_id_for(plan.session_id, index))
            done[plan.session_id] = index + 1
            for member in getattr(output, "member_responses", None) or []:
                # a delegated member run is stored as its own run of this session, before
                # the team run, with parent_run_id = the team run's id
                task = member.input.input_content if member.input else None
                runs.append(_run_entry(member, task, version))
            runs.append(_run_entry(output, prompt, version))
        name = None
        if plan.rename and phase in ("second", "all"):
            kind = SessionType.TEAM if plan.kind == "team" else SessionType.AGENT
            db.rename_session(
                session_id=plan.session_id, session_type=kind, session_name=plan.rename
            )
            name = plan.rename
        out.append(
            {
                "session_id": plan.session_id,
                "session_type": plan.kind,
                "user_id": plan.user_id,
                "agent_id": AGENT_ID if plan.kind == "agent" else None,
                "team_id": TEAM_ID if plan.kind == "team" else None,
                "name": name,
                "runs": runs,
            }
        )
    return out


def merge_expected(first: list[dict], second: list[dict]) -> list[dict]:
    """Join two phases' expected content (runs appended, later name wins)."""
    merged = {s["session_id"]: json.loads(json.dumps(s)) for s in first}
    for s in second:
        if s["session_id"] not in merged:
            merged[s["session_id"]] = s
            continue
        merged[s["session_id"]]["runs"] += s["runs"]
        merged[s["session_id"]]["name"] = s["name"] or merged[s["session_id"]]["name"]
    return list(merged.values())


def session_stamps() -> dict[str, int]:
    """Fixed, distinct ``created_at`` per session (scenario order, oldest first)."""
    return {p.session_id: TIMESTAMP_START + TIMESTAMP_GAP * n for n, p in enumerate(SESSIONS)}


def fix_sqlite_timestamps(path: Path, sessions: list[dict]) -> None:
    """Give sessions the fixed ``created_at`` (``updated_at`` = created + 30 s per run).

    Only these two integer columns of ``agno_sessions`` change (agno stamps whole
    seconds, so sessions written in one second would tie); run rows keep agno's stamps.
    """
    stamps = session_stamps()
    with sqlite3.connect(path) as con:
        for s in sessions:
            created = stamps[s["session_id"]]
            updated = created + 30 * len(s["runs"])
            con.execute(
                "UPDATE agno_sessions SET created_at = ?, updated_at = ? WHERE session_id = ?",
                (created, updated, s["session_id"]),
            )
            s["created_at"], s["updated_at"] = created, updated


def finish_sqlite_file(path: Path) -> None:
    """Vacuum a written file and put it in ``journal_mode=DELETE``.

    agno 3.x switches every SQLite file it opens to WAL; a pinned file in rollback-journal
    mode never leaves ``-wal``/``-shm`` files beside it when opened. Run it once agno's
    process has ended (agno's connections block the mode switch).
    """
    con = sqlite3.connect(path)
    try:
        con.execute("VACUUM")
        con.execute("PRAGMA journal_mode=DELETE")
    finally:
        con.close()


def expected_document(sessions: list[dict], *, written_by: list[str]) -> dict:
    """The JSON written beside a fixture."""
    return {
        "written_by": written_by,
        "session_table": "agno_sessions",
        "sessions": sessions,
    }


def load_expected(stem: str) -> dict[str, Any]:
    """The expected content pinned beside ``tests/fixtures/<stem>.db`` (no agno needed).

    ``stem`` is one of :data:`PINNED` (e.g. ``"agno_3_1_10_sessions"``).
    """
    data: dict[str, Any] = json.loads((FIXTURES_DIR / f"{stem}.json").read_text())
    return data


def copy_fixture(stem: str, dest: Path | str) -> Path:
    """Copy a pinned fixture to ``dest`` (a file path) before anything opens it to write."""
    dest = Path(dest)
    shutil.copyfile(FIXTURES_DIR / f"{stem}.db", dest)
    return dest


def cmd_sqlite(args: argparse.Namespace) -> int:
    """Write (or continue) one SQLite database with the running agno."""
    from agno.db.sqlite import SqliteDb

    path = Path(args.path)
    done: dict[str, int] = {}
    previous: list[dict] = []
    if args.phase == "second":
        previous = json.loads(Path(args.json).read_text())["sessions"]
        done = {
            s["session_id"]: sum(1 for r in s["runs"] if r["parent_run_id"] is None)
            for s in previous
        }
    db = SqliteDb(db_file=str(path))
    written = write_sessions(db, phase=args.phase, done=done)
    db.close()
    sessions = merge_expected(previous, written) if previous else written
    versions = sorted({r["written_by"] for s in sessions for r in s["runs"]})
    if args.phase != "first":
        fix_sqlite_timestamps(path, sessions)
    doc = expected_document(sessions, written_by=versions)
    Path(args.json).write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps({"path": str(path), "sessions": len(sessions)}))
    return 0


def cmd_postgres(args: argparse.Namespace) -> int:
    """Write the scenario with PostgresDb into URL/SCHEMA; print the expected JSON."""
    from agno.db.postgres import PostgresDb

    db = PostgresDb(db_url=args.url, db_schema=args.schema)
    written = write_sessions(db, phase="all")
    db.close()
    print(json.dumps(expected_document(written, written_by=[agno_version()]), ensure_ascii=False))
    return 0


PINNED = {
    "agno_2_9_0_sessions": ("agno2", None),
    "agno_3_1_10_sessions": ("agno3", None),
    "agno_2_9_0_then_3_1_10_sessions": ("agno2", "agno3"),
}


def cmd_pinned(args: argparse.Namespace) -> int:
    """Regenerate the three pinned fixtures by running this file with both agnos."""
    pythons = {"agno2": args.agno2, "agno3": args.agno3}
    me = str(Path(__file__).resolve())
    env = {**os.environ, "AGNO_TELEMETRY": "false"}
    for stem, (first, second) in PINNED.items():
        db, doc = FIXTURES_DIR / f"{stem}.db", FIXTURES_DIR / f"{stem}.json"
        db.unlink(missing_ok=True)
        phase = "all" if second is None else "first"
        base = [me, "sqlite", str(db), "--json", str(doc)]
        subprocess.run([pythons[first], *base, "--phase", phase], check=True, env=env)
        if second is not None:
            subprocess.run([pythons[second], *base, "--phase", "second"], check=True, env=env)
        finish_sqlite_file(db)
        print(f"wrote {db} ({db.stat().st_size} bytes) and {doc.name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sqlite", help="write one SQLite file with the running agno")
    p.add_argument("path")
    p.add_argument("--json", required=True, help="expected-content JSON (read in phase second)")
    p.add_argument("--phase", choices=("all", "first", "second"), default="all")
    p.set_defaults(func=cmd_sqlite)
    p = sub.add_parser("postgres", help="write into URL + SCHEMA; print the expected JSON")
    p.add_argument("url")
    p.add_argument("schema")
    p.set_defaults(func=cmd_postgres)
    p = sub.add_parser("pinned", help="regenerate tests/fixtures/agno_2_9_0*/agno_3_1_10*")
    p.add_argument("--agno2", default=shutil.which("python") or sys.executable)
    p.add_argument("--agno3", default=os.environ.get("AGNO_NB_AGNO3_PYTHON", sys.executable))
    p.set_defaults(func=cmd_pinned)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
