"""Each message a new user met in their first hour (issue 22) says the true thing once:
what happened and what to do, with plurals right. Every test checks the exact line."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from sqlalchemy.engine import make_url

from agno_nb.agno3.report import MigrationReport, TableReport
from agno_nb.cli import main
from agno_nb.render import session_header_html
from agno_nb.schema import LATEST_VERSION
from agno_nb.sessions import AgentSession
from agno_nb.storage import SqliteStorage
from agno_nb.words import counted
from tests.conftest import require_postgres


def one_session(storage: Any, session_id: str = "s1", user_id: str = "alice") -> None:
    storage.upsert(
        AgentSession(
            session_id=session_id,
            user_id=user_id,
            memory={
                "runs": [
                    {
                        "run_id": "r1",
                        "messages": [
                            {"role": "user", "content": "hello"},
                            {"role": "assistant", "content": "hi"},
                        ],
                    }
                ]
            },
            created_at=1_700_000_000,
        )
    )


def the_output(cap: Any) -> Any:
    """The one output a magic showed (nothing printed beside it)."""
    assert cap.stdout == ""
    assert len(cap.outputs) == 1
    return cap.outputs[0].data


def test_counted_nouns() -> None:
    assert counted(0, "session") == "0 sessions"
    assert counted(1, "session") == "1 session"
    assert counted(2, "run") == "2 runs"
    assert counted(25_000, "message") == "25,000 messages"
    assert counted(1, "memory") == "1 memory" and counted(3, "memory") == "3 memories"


# -- %agno_storage ----------------------------------------------------------------------


def test_another_table_under_the_default_name_names_no_flag_the_user_never_typed(
    ip: InteractiveShell, magics: Any, tmp_path: Path
) -> None:
    db = tmp_path / "a.db"
    ip.run_line_magic("agno_storage", f"sqlite {db};")
    ip.run_cell("from agno_nb import Agent\nagent = Agent()")
    ip.run_cell("%agno_storage")  # the agent is attached to 'sqlite'
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("agno_storage", f"sqlite {db} --table no_such_table")
    assert str(info.value) == (
        f"agent uses the open storage 'sqlite' (sqlite:///{db} table agent_sessions): "
        "to open table no_such_table beside it, add --as NAME; to move agent there, "
        "add --attach"
    )
    assert "--as sqlite" not in str(info.value)
    # typed by the user, the flag is named
    ip.run_line_magic("agno_storage", f"sqlite {db} --as mine;")
    ip.run_cell("%agno_storage --attach agent")
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("agno_storage", f"sqlite {db} --table other --as mine")
    assert str(info.value) == (
        f"--as mine: agent uses the open storage 'mine' (sqlite:///{db} table agent_sessions); "
        "pick another --as name, or add --attach to move agent to table other"
    )


def test_a_sqlite_path_that_is_a_folder(ip: InteractiveShell, magics: Any, tmp_path: Path) -> None:
    folder = tmp_path / "tmp"
    folder.mkdir()
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("agno_storage", f"sqlite {folder}")
    assert str(info.value) == (
        f"cannot open SQLite database sqlite:///{folder}: {folder} is a folder; "
        f"name a file in it, e.g. {folder / 'data.db'}"
    )


def test_a_sqlite_url_whose_folder_is_missing(tmp_path: Path) -> None:
    from agno_nb.errors import BackendUnavailableError

    missing = tmp_path / "nowhere" / "a.db"  # db_url: agno_nb creates no folder for it
    storage = SqliteStorage("agent_sessions", db_url=f"sqlite:///{missing}")
    assert not storage.table_exists()  # reading a file not there creates nothing (issue 21)
    with pytest.raises(BackendUnavailableError) as info:
        storage.create()  # the first write would create the file, not a folder
    assert str(info.value) == (
        f"cannot open SQLite database sqlite:///{missing}: the folder {missing.parent} does not "
        "exist; create it, or name a file in an existing one"
    )


def test_a_postgres_url_naming_a_missing_database_while_the_server_runs(
    ip: InteractiveShell, magics: Any
) -> None:
    url = make_url(require_postgres())
    name = f"no_such_db_{uuid.uuid4().hex[:8]}"
    missing = url.set(database=name).render_as_string(hide_password=False)
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("agno_storage", f"postgres {missing}")
    shown = url.set(database=name).render_as_string(hide_password=True)
    assert str(info.value) == (
        f"Postgres at {shown} runs but has no database {name!r}: create it "
        f"(createdb {name}) or name an existing database in the URL"
    )
    assert "start the server" not in str(info.value)


def test_status_with_no_agents_says_new_agents_will_use_it_once(
    ip: InteractiveShell, magics: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # not tmp_path: its folder is named after the test, and "with" is a password that
    # tests/backends/test_secrets_forms.py leaves remembered (masked in every line)
    db = tmp_path_factory.mktemp("status") / "a.db"
    with capture_output() as cap:
        ip.run_line_magic("agno_storage", f"sqlite {db}")
    data = the_output(cap)
    assert data["text/plain"] == (
        f"agno_nb storage 'sqlite': sqlite sqlite:///{db} table agent_sessions "
        "(table not created yet), 0 sessions; no agents yet: new agents will use it "
        f"(note: new database {db}: nothing there yet, created at the first write)"
    )
    assert "no agents use it" not in data["text/html"]
    assert "<li>no agents yet: new agents will use it</li>" in data["text/html"]


# -- %agno_sessions ---------------------------------------------------------------------


def test_sessions_matching_nothing_is_one_line(
    ip: InteractiveShell, magics: Any, tmp_path: Path
) -> None:
    db = tmp_path / "a.db"
    ip.run_line_magic("agno_storage", f"sqlite {db};")
    empty = ip.run_line_magic("agno_sessions", "")
    assert repr(empty) == ("no sessions yet in agent_sessions: run an agent, then list them again")
    one_session(magics.storage)
    frame = ip.run_line_magic("agno_sessions", "--user nobody")
    line = (
        "no sessions match --user 'nobody'; agent_sessions holds 1 session: "
        "run %agno_sessions without it to list them"
    )
    assert repr(frame) == line
    html = frame._repr_html_()
    assert html.count("no sessions") == 1 and "0 sessions" not in html
    assert line.replace("'", "&#x27;") in html
    frame = ip.run_line_magic("agno_sessions", "--user nobody --search zzz")
    assert repr(frame) == (
        "no sessions match --user 'nobody' --search 'zzz'; agent_sessions holds 1 session: "
        "run %agno_sessions without them to list them"
    )
    assert repr(ip.run_line_magic("agno_sessions", "--user alice")).endswith("\n1 session")


# -- counts: migrate plan, CLI ----------------------------------------------------------


def test_migrate_plan_counts_in_the_singular_and_plural() -> None:
    one = TableReport("chats", "agent", 1, sessions=1, runs=1, messages=2, new=1, runs_written=1)
    report = MigrationReport("sqlite:///x.db", "sqlite:///x.db", None, True, tables=[one])
    lines = str(report).splitlines()
    assert "  source: 1 session, 1 run, 2 messages" in lines
    assert "  to move: 1 session (1 new, 0 changed), 1 run; 0 unchanged" in lines
    many = TableReport("chats", "agent", 1, sessions=2, runs=3, messages=1, new=1, resynced=1)
    many.runs_written, many.verified = 3, True
    many.target_sessions, many.target_runs, many.target_messages = 2, 3, 1
    done = MigrationReport("sqlite:///x.db", "sqlite:///x.db", None, False, tables=[many])
    lines = str(done).splitlines()
    assert "  source: 2 sessions, 3 runs, 1 message" in lines
    assert "  moved: 2 sessions (1 new, 1 changed), 3 runs; 0 unchanged" in lines
    assert "  verified: OK: target holds 2 sessions, 3 runs, 1 message" in lines
    assert "(s)" not in str(report) + str(done) + report._repr_html_()


def test_migrate_dry_run_of_one_session(tmp_path: Path) -> None:
    db = tmp_path / "one.db"
    storage = SqliteStorage("chats", db_file=db, schema_version=1)
    one_session(storage)
    storage.close()
    out = io.StringIO()
    assert main(["migrate", f"sqlite:///{db}", "--table", "chats", "--dry-run"], out=out) == 0
    assert "  source: 1 session, 1 run, 2 messages" in out.getvalue().splitlines()


def test_cli_sessions_counts_without_s_in_parentheses(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    db = tmp_path_factory.mktemp("counts") / "c.db"  # not tmp_path: see above
    storage = SqliteStorage("agent_sessions", db_file=db)
    one_session(storage)
    out = io.StringIO()
    assert main(["sessions", str(db)], out=out) == 0
    assert out.getvalue().splitlines()[0] == f"sqlite:///{db} table agent_sessions: 1 session"
    one_session(storage, "s2")
    storage.close()
    out = io.StringIO()
    assert main(["sessions", str(db)], out=out) == 0
    assert out.getvalue().splitlines()[0] == f"sqlite:///{db} table agent_sessions: 2 sessions"


# -- the upgrade plan: the same facts in the notebook and the CLI ----------------------


def test_upgrade_dry_run_shows_the_cli_lock_estimate_and_label(
    ip: InteractiveShell, magics: Any, tmp_path: Path
) -> None:
    db = tmp_path / "old.db"
    legacy = SqliteStorage("chats", db_file=db, schema_version=1)
    one_session(legacy)
    legacy.close()
    out = io.StringIO()
    assert main(["upgrade", str(db), "--table", "chats", "--dry-run"], out=out) == 0
    cli = out.getvalue().splitlines()
    assert cli[0].endswith("(dry run, nothing changed)")
    lock = cli[1].strip()
    assert lock == (
        "expected write lock: about 0.1 s for 1 session; writers wait meanwhile "
        "(SQLite writers give up after 30 s): run it when the table is quiet"
    )

    ip.run_line_magic("agno_storage", f"sqlite {db} --table chats;")
    plan = ip.run_line_magic("agno_upgrade", "--dry-run")
    assert repr(plan).splitlines()[:2] == cli[:2]
    html = plan._repr_html_()
    assert f"{LATEST_VERSION - 1} steps planned (dry run, nothing changed):" in html
    assert lock in html


# -- transcripts ------------------------------------------------------------------------


def test_transcript_header_shortens_the_agent_uuid_like_the_session_id() -> None:
    agent_id = str(uuid.uuid4())
    session_id = str(uuid.uuid4())
    header = session_header_html(session_id, entity_id=agent_id)
    shown = re.sub(r"<[^>]+>", "", header)  # the visible text
    assert agent_id not in shown and session_id not in shown
    assert f'agent <code title="{agent_id}">{agent_id[:8]}…</code>'.replace("-", "-") in header


# -- %%agno_chat ------------------------------------------------------------------------


def test_chat_says_when_history_is_off(ip: InteractiveShell, magics: Any, tmp_path: Path) -> None:
    from agno_nb.demo import run_demo

    db = tmp_path / "tmp" / "data.db"
    run_demo(db, out=io.StringIO())
    ip.run_line_magic("agno_storage", f"sqlite {db};")
    ip.run_cell("from agno_nb import Agent\nagent = Agent(session_id='fixed_id_for_demo')")
    with capture_output() as cap:
        ip.run_cell("%%agno_chat\nWhat was my last question?")
    data = the_output(cap)
    note = (
        "agent has history off, so the model saw only this message, not the session's "
        "earlier runs: set agent.add_history_to_messages = True to send them"
    )
    assert data["text/plain"].splitlines()[-1] == f"({note})"
    assert note.replace("'", "&#x27;") in data["text/html"]

    ip.run_cell("agent.add_history_to_messages = True")
    with capture_output() as cap:
        ip.run_cell("%%agno_chat\nWhat was my last question?")
    data = the_output(cap)
    assert data["text/plain"] == 'agent: Your last question was: "What is the capital of France?"'
