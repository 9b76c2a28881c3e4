"""agno 2.x / 3.x databases opened in place: the databases agno 2.9.0 and 3.1.10 wrote
(``tests/fixtures/agno_*_sessions.db`` and, at test time, agno 3.1.10's PostgresDb in a
fresh schema) read through every storage call and matched against what agno returned
while writing them (the ``.json`` beside each file); rename and delete read back by
agno 3.1.10 itself; team/workflow writes, upgrades and drops refused in one line (agent
sessions are written as agno writes them: tests/agno3_live/); reading changes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from agno_nb.errors import AgnoNbError, CorruptSessionError, SessionNotFoundError
from agno_nb.sessions import content_text
from agno_nb.storage import PostgresStorage, SqliteStorage, open_storage
from agno_nb.storage.layouts.agnodb import AgnoDbLayout, decode_agno_json, run_from_agno
from agno_nb.summary import shorten
from tests import agno3_fixtures
from tests.conftest import Agno3Postgres, require_postgres, run_agno3

TESTS = Path(__file__).parent.parent
READ_SCRIPT = (TESTS / "agno3" / "read_sessions.py").read_text()
STEMS = ("agno_2_9_0_sessions", "agno_3_1_10_sessions", "agno_2_9_0_then_3_1_10_sessions")


def copy_fixture(stem: str, tmp_path: Path) -> Path:
    return agno3_fixtures.copy_fixture(stem, tmp_path / f"{stem}.db")


expected_of = agno3_fixtures.load_expected


def of_type(expected: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """Expected sessions of one session_type, newest first (as agno_nb lists them)."""
    found = [s for s in expected["sessions"] if s["session_type"] == kind]
    return sorted(found, key=lambda s: (s.get("created_at", 0), s["session_id"]), reverse=True)


def run_view(run: Any) -> dict[str, Any]:
    """What the expected JSON records of a run, taken from agno_nb's Run."""
    messages, tools = [], []
    for m in run.new_messages():
        if m.role == "system":
            continue
        messages.append([m.role, content_text(m.content)])
        tools += [str((c.get("function") or {}).get("name")) for c in m.tool_calls or []]
    source = run.raw.get("input") or {}
    return {
        "run_id": run.run_id,
        "input": source.get("input_content"),
        "content": run.content,
        "messages": messages,
        "tool_calls": tools,
    }


def message_count(session: dict[str, Any]) -> int:
    return sum(len(r["messages"]) + r["system_messages"] for r in session["runs"])


def matches(session: dict[str, Any], term: str) -> bool:
    texts = [session["session_id"], session["name"] or ""]
    texts += [str(r["input"]) for r in session["runs"]] + [
        str(r["content"]) for r in session["runs"]
    ]
    return any(term in t.lower() for t in texts)


def check_reads(storage: Any, expected: dict[str, Any], *, kind: str, ordered: bool) -> None:
    """Every read call against the expected sessions of ``kind`` (``ordered``: the
    fixtures' distinct creation times fix the newest-first order)."""
    want = of_type(expected, kind)
    ids = [s["session_id"] for s in want]
    got_ids = storage.get_all_session_ids()
    assert got_ids == ids if ordered else sorted(got_ids) == sorted(ids)
    for user in ("alice", "bob"):
        mine = [s["session_id"] for s in want if s["user_id"] == user]
        assert sorted(storage.get_all_session_ids(user_id=user)) == sorted(mine)
    assert storage.count_sessions() == len(want)

    summaries = {s.session_id: s for s in storage.list_sessions(limit=None)}
    assert sorted(summaries) == sorted(ids)
    for w in want:
        s = summaries[w["session_id"]]
        assert s.error is None
        assert (s.session_name, s.user_id) == (w["name"], w["user_id"])
        assert s.entity_id == (w["agent_id"] if kind == "agent" else w["team_id"])
        assert (s.run_count, s.message_count) == (len(w["runs"]), message_count(w))
        assert s.preview == shorten(w["runs"][0]["input"])
        if ordered:
            assert (s.created_at, s.updated_at) == (w["created_at"], w["updated_at"])

        session = storage.read(w["session_id"])
        assert session is not None and session.session_name == w["name"]
        views = [run_view(r) for r in session.runs]
        assert views == [{k: r[k] for k in views[0]} for r in w["runs"]], w["session_id"]
        assert storage.count_runs(w["session_id"]) == len(w["runs"])
        assert storage.read(w["session_id"], user_id="nobody") is None

    if ordered:
        page = storage.list_sessions(limit=3, offset=2)
        assert [s.session_id for s in page] == ids[2:5]
    for term in ("zürich", "42", "<script>", "renamed", "long question 7", "nothing-like-it"):
        found = {s.session_id for s in storage.list_sessions(search=term, limit=None)}
        assert found == {w["session_id"] for w in want if matches(w, term)}, term
        assert storage.count_sessions(search=term.upper() if term.isascii() else term) == len(found)

    frame = storage.sessions_df()
    assert sorted(frame["session_id"]) == sorted(ids)
    assert sorted(storage.messages_df()["session_id"].unique()) == sorted(ids)


def check_long_runs(storage: Any, expected: dict[str, Any]) -> None:
    [long] = [s for s in expected["sessions"] if s["session_id"] == "s-long"]
    run_ids = [r["run_id"] for r in long["runs"]]
    assert storage.count_runs("s-long") == 60
    page = storage.get_runs("s-long", limit=10, offset=25)
    assert [r["run_id"] for r in page] == run_ids[25:35]
    newest = storage.get_runs("s-long", limit=7, offset=3, newest_first=True)
    assert [r["run_id"] for r in newest] == run_ids[::-1][3:10]
    assert [r["run_id"] for r in storage.get_runs("s-long")] == run_ids
    assert storage.get_runs("s-long", offset=60) == []
    with pytest.raises(SessionNotFoundError, match="nope"):
        storage.get_runs("nope")


# -- the SQLite files agno wrote -----------------------------------------------------------


@pytest.mark.parametrize("stem", STEMS)
def test_every_read_matches_what_agno_wrote(stem: str, tmp_path: Path) -> None:
    db = copy_fixture(stem, tmp_path)
    expected = expected_of(stem)
    agents = SqliteStorage("agno_sessions", db_file=db)
    assert isinstance(agents._current(), AgnoDbLayout)
    check_reads(agents, expected, kind="agent", ordered=True)
    check_long_runs(agents, expected)
    tool = agents.messages_df("s-tool")
    assert list(tool["role"])[:4] == ["user", "assistant", "tool", "assistant"]
    assert list(tool["tool_name"])[1:3] == ["add", "add"]
    teams = SqliteStorage("agno_sessions", db_file=db, mode="team")
    check_reads(teams, expected, kind="team", ordered=True)
    assert teams.read("s-tool") is None  # mode picks the session type
    for storage in (agents, teams):
        storage.close()


def test_open_storage_url_and_default_table(tmp_path: Path) -> None:
    db = copy_fixture("agno_3_1_10_sessions", tmp_path)
    named = open_storage(f"sqlite:///{db}", table_name="agno_sessions")
    assert named.opened_note is None and named.count_sessions() == 7
    with pytest.warns(UserWarning, match="opened agno_sessions: this database has agno"):
        found = open_storage(f"sqlite:///{db}")
    assert found.table_name == "agno_sessions" and found.count_sessions() == 7
    own = open_storage(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert own.table_name == "agent_sessions" and not (tmp_path / "fresh.db").exists()
    for storage in (named, found, own):
        storage.close()


def test_export_and_analysis(tmp_path: Path) -> None:
    from agno_nb.analysis import activity
    from agno_nb.export import export_jsonl

    expected = expected_of("agno_2_9_0_then_3_1_10_sessions")
    storage = SqliteStorage(
        "agno_sessions", db_file=copy_fixture("agno_2_9_0_then_3_1_10_sessions", tmp_path)
    )
    out = tmp_path / "few_shot.jsonl"
    written = export_jsonl(storage, out)
    agent_runs = sum(len(s["runs"]) for s in of_type(expected, "agent"))
    assert written == agent_runs
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert [m["role"] for m in first["messages"]][-2:] == ["user", "assistant"]
    table = activity(storage)
    assert int(table["runs"].sum()) == agent_runs
    assert int(table["messages"].sum()) == sum(message_count(s) for s in of_type(expected, "agent"))


def test_cli_sessions_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from agno_nb.cli import main

    db = copy_fixture("agno_2_9_0_sessions", tmp_path)
    assert main(["sessions", str(db), "--limit", "3"]) == 0
    out, err = capsys.readouterr()
    assert "table agno_sessions: 7 sessions" in out and "s-late" in out
    assert "opened agno_sessions" in err
    assert main(["show", f"sqlite:///{db}", "s-tool", "--table", "agno_sessions"]) == 0
    out, _ = capsys.readouterr()
    assert "tool (add): 42" in out and "assistant: The tool said: 42" in out
    assert main(["sessions", str(db), "--table", "agno_sessions", "--mode", "team"]) == 0
    assert "t-team" in capsys.readouterr()[0]
    assert main(["sessions", str(db), "--schema", "ai"]) == 2
    assert "--schema only applies to postgres" in capsys.readouterr()[1]


def test_magics_and_widgets(tmp_path: Path, ip: Any, magics: Any) -> None:
    from agno_nb.widgets import SessionBrowser, SessionHistory

    db = copy_fixture("agno_3_1_10_sessions", tmp_path)
    with capture_output() as cap:
        storage = ip.run_line_magic("agno_storage", f"sqlite {db} --table agno_sessions")
    out = "\n".join([cap.stdout, *(str(o.data.get("text/plain")) for o in cap.outputs)])
    assert "agno 3.x tables agno_sessions + agno_runs), 7 sessions" in out
    assert "read in place: agents are not attached to it" in out
    from agno_nb.agent import get_default_storage

    assert get_default_storage() is not storage  # an agent's runs would be refused there
    frame = ip.run_line_magic("agno_sessions", "--user bob")
    assert set(frame["session_id"]) == {"s-html", "s-rename", "s-first-only"}
    browser = ip.run_line_magic("agno_history", "")
    assert isinstance(browser, SessionBrowser) and browser.selected == "s-late"
    static = ip.run_line_magic("agno_history", "s-html --static")
    html = static._repr_html_()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    before = storage.stats.rows
    history = SessionHistory(storage, "s-long", page_size=10)
    html = history.snapshot_html()
    assert "long question 59" in html and "long question 49" not in html
    assert storage.stats.rows - before < 20  # one page of runs, not 60
    browser = SessionBrowser(storage, page_size=3)
    browser.session_list.value = "s-late"
    browser.rename_text.value = "Grüße <i>renamed</i>"
    browser.rename_button.click()
    assert "Grüße &lt;i&gt;renamed&lt;/i&gt;" in browser.list_html
    [row] = [r for r in browser.session_list.rows if r["id"] == "s-late"]
    assert row["title"] == "Grüße <i>renamed</i>"
    with capture_output() as cap:
        ip.run_line_magic("agno_storage", f"sqlite {db} --as plain")  # no --table
    # one output: the note is part of the status, not printed above it
    assert cap.stdout == "" and len(cap.outputs) == 1
    assert "opened agno_sessions: this database has agno 2.x/3.x sessions" in str(
        cap.outputs[0].data["text/plain"]
    )
    with pytest.raises(UsageError, match="upgrade_schema refused: agno_sessions holds agno"):
        ip.run_line_magic("agno_upgrade", "--dry-run")


def test_a_page_of_a_1000_run_session_is_not_decoded_whole(tmp_path: Path) -> None:
    from agno_nb.sessions import AgentSession
    from tests.agno3_tables import write_agno

    runs = [
        {
            "run_id": f"r{i:04d}",
            "input": {"input_content": f"q{i}"},
            "content": f"a{i}",
            "messages": [
                {"role": "user", "content": f"q{i}"},
                {"role": "assistant", "content": f"a{i}"},
            ],
            "created_at": 1_750_000_000 + i,
        }
        for i in range(1000)
    ]
    session = AgentSession(session_id="big", user_id="u", agent_id="a", memory={"runs": runs})
    storage = SqliteStorage("agno_sessions", db_file=tmp_path / "agno.db")
    write_agno(storage.db_engine, "agno_sessions", [session], kind="3.x")
    assert storage.count_runs("big") == 1000
    before = storage.stats.rows
    page = storage.get_runs("big", limit=20, offset=40, newest_first=True)
    assert [r["run_id"] for r in page] == [f"r{i:04d}" for i in range(959, 939, -1)]
    assert storage.stats.rows - before == 20
    before = storage.stats.rows
    [summary] = storage.list_sessions()
    assert (summary.run_count, summary.message_count, summary.preview) == (1000, 2000, "q0")
    assert storage.stats.rows - before <= 3  # the session, its counts, its first run
    storage.close()


def test_the_runs_table_wins_over_the_runs_column(tmp_path: Path) -> None:
    """A run in both places is read from the runs table (agno's rule), in the column's order."""
    from agno_nb.sessions import AgentSession
    from tests.agno3_tables import write_agno

    runs = [
        {"run_id": f"r{i}", "content": f"old {i}", "input": {"input_content": f"q{i}"}}
        for i in range(4)
    ]
    storage = SqliteStorage("agno_sessions", db_file=tmp_path / "agno.db")
    session = AgentSession(session_id="m", agent_id="a", memory={"runs": runs})
    write_agno(storage.db_engine, "agno_sessions", [session], kind="mixed")
    with storage.db_engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE agno_runs SET run_data = json_set(run_data, '$.content', 'new 1') "
            "WHERE run_id = 'r1'"
        )
    assert [r.content for r in storage.read("m").runs] == ["old 0", "new 1", "old 2", "old 3"]
    assert [r["content"] for r in storage.get_runs("m", limit=2, offset=1)] == ["new 1", "old 2"]
    assert storage.count_runs("m") == 4 and storage.list_sessions()[0].run_count == 4
    storage.close()


# -- writes --------------------------------------------------------------------------------


def encoding(db: Path, session_id: str) -> int:
    """How many times the session's session_data cell is JSON-encoded."""
    con = sqlite3.connect(db)
    try:
        [data] = con.execute(
            "SELECT session_data FROM agno_sessions WHERE session_id = ?", (session_id,)
        ).fetchone()
    finally:
        con.close()
    return decode_agno_json(data, session_id=session_id, column="session_data")[1]


@pytest.mark.parametrize("stem", STEMS)
def test_agno_reads_back_a_rename_and_a_delete(stem: str, tmp_path: Path) -> None:
    db = copy_fixture(stem, tmp_path)
    before = {sid: encoding(db, sid) for sid in ("s-html", "s-first-only")}
    storage = SqliteStorage("agno_sessions", db_file=db)
    storage.rename_session("s-html", "Zürich <b>again</b> 🚀")
    storage.rename_session("s-first-only", "first only")
    storage.delete_session("s-long")
    with pytest.raises(SessionNotFoundError):
        storage.rename_session("s-long", "gone")
    storage.close()
    after = {sid: encoding(db, sid) for sid in ("s-html", "s-first-only")}
    assert after == before  # double-encoded rows stay double-encoded
    seen = {s["session_id"]: s for s in run_agno3(READ_SCRIPT, "sqlite", str(db))["sessions"]}
    assert seen["s-html"]["name"] == "Zürich <b>again</b> 🚀"
    assert seen["s-first-only"]["name"] == "first only"
    assert len(seen["s-html"]["runs"]) == 2 and "s-long" not in seen
    con = sqlite3.connect(db)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "agno_runs" in tables:
            left = con.execute("SELECT count(*) FROM agno_runs WHERE session_id='s-long'")
            assert left.fetchone()[0] == 0
    finally:
        con.close()


@pytest.mark.parametrize("stem", STEMS)
def test_other_writes_are_refused_in_one_line(stem: str, tmp_path: Path) -> None:
    from agno_nb.sessions import TeamSession

    db = copy_fixture(stem, tmp_path)
    storage = SqliteStorage("agno_sessions", db_file=db)
    teams = SqliteStorage("agno_sessions", db_file=db, mode="team")
    attempts = {
        "upgrade_schema": storage.upgrade_schema,
        "drop": storage.drop,
        "upsert": lambda: teams.upsert(TeamSession(session_id="x")),
        "append_run": lambda: teams.append_run("t-team", {"run_id": "x"}),
    }
    for operation, attempt in attempts.items():
        with pytest.raises(AgnoNbError) as info:
            attempt()
        line = str(info.value)
        assert "\n" not in line and line.startswith(f"{operation} refused")
        if operation in ("upsert", "append_run"):  # agent sessions are written (agno3_live/)
            assert "agno_nb writes agent sessions into agno 2.x/3.x's" in line
        else:
            assert "agno 2.x/3.x sessions, which agno_nb reads, renames and deletes" in line
    assert storage.count_sessions() == 7 and storage.count_runs("s-html") == 2
    assert teams.count_sessions() == 1 and teams.count_runs("t-team") >= 1
    storage.close()
    teams.close()


# -- reading changes nothing ---------------------------------------------------------------


def read_everything(storage: Any) -> None:
    ids = storage.get_all_session_ids()
    storage.list_sessions(search="zürich")
    storage.count_sessions(user_id="bob")
    storage.sessions_df()
    storage.messages_df()
    for sid in ids:
        storage.read(sid)
        storage.get_runs(sid, limit=5, newest_first=True)
        storage.count_runs(sid)
    _ = storage.current_version, storage.layout_label, storage.table_exists()


def sqlite_dump(db: Path) -> list[str]:
    con = sqlite3.connect(db)
    try:
        return list(con.iterdump())
    finally:
        con.close()


@pytest.mark.parametrize("stem", STEMS)
def test_reading_changes_nothing_in_sqlite(stem: str, tmp_path: Path) -> None:
    db = copy_fixture(stem, tmp_path)
    before = sqlite_dump(db)
    for mode in ("agent", "team", "workflow"):
        storage = SqliteStorage("agno_sessions", db_file=db, mode=mode)
        read_everything(storage)
        storage.close()
    after = sqlite_dump(db)
    assert after == before
    assert not any("agno_nb_schema_versions" in line for line in after)


@pytest.mark.parametrize("stem", STEMS)
def test_a_read_only_open_leaves_the_file_byte_for_byte(stem: str, tmp_path: Path) -> None:
    """Opened read-only (``--read-only``), agno's file is not even switched to WAL."""
    import hashlib

    from agno_nb.connect import open_from_args

    db = copy_fixture(stem, tmp_path)
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    storage = open_from_args("sqlite", str(db), read_only=True)
    assert storage.table_name == "agno_sessions" and storage.opened_note
    read_everything(storage)
    with pytest.raises(AgnoNbError, match="read-only here"):
        storage.rename_session("s-html", "x")
    storage.close()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == [db.name]


def pg_snapshot(url: str, schema: str) -> dict[str, Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            catalog = [
                tuple(r)
                for r in conn.execute(
                    sa.text(
                        "SELECT table_name, column_name, data_type, is_nullable, column_default "
                        "FROM information_schema.columns WHERE table_schema = :s ORDER BY 1, 2"
                    ),
                    {"s": schema},
                )
            ]
            indexes = [
                tuple(r)
                for r in conn.execute(
                    sa.text(
                        "SELECT indexname, indexdef FROM pg_indexes "
                        "WHERE schemaname = :s ORDER BY 1"
                    ),
                    {"s": schema},
                )
            ]
            rows = {
                table: sorted(
                    str(r)
                    for r in conn.execute(sa.text(f'SELECT t::text FROM "{schema}"."{table}" t'))
                )
                for table in sorted({c[0] for c in catalog})
            }
    finally:
        engine.dispose()
    return {"catalog": catalog, "indexes": indexes, "rows": rows}


def test_postgres_written_by_agno(agno3_postgres: Agno3Postgres) -> None:
    url, schema, expected = agno3_postgres
    before = pg_snapshot(url, schema)
    agents = PostgresStorage("agno_sessions", db_url=url, schema=schema)
    assert isinstance(agents._current(), AgnoDbLayout)
    check_reads(agents, expected, kind="agent", ordered=False)
    check_long_runs(agents, expected)
    teams = open_storage(url, table_name="agno_sessions", schema=schema, mode="team")
    check_reads(teams, expected, kind="team", ordered=False)
    for mode in ("agent", "team"):
        reader = PostgresStorage("agno_sessions", db_url=url, schema=schema, mode=mode)
        read_everything(reader)
        reader.close()
    assert pg_snapshot(url, schema) == before  # reading changed nothing
    assert "agno_nb_schema_versions" not in before["rows"]

    with pytest.warns(UserWarning, match="agno 2.x/3.x sessions"):
        found = open_storage(url, schema=schema)
    assert found.table_name == "agno_sessions"
    agents.rename_session("s-html", "Zürich <b>again</b> 🚀")
    agents.delete_session("s-long")
    seen = {s["session_id"]: s for s in run_agno3(READ_SCRIPT, "postgres", url, schema)["sessions"]}
    assert seen["s-html"]["name"] == "Zürich <b>again</b> 🚀" and "s-long" not in seen
    assert len(seen["s-html"]["runs"]) == 2
    after = pg_snapshot(url, schema)
    assert not any("'s-long'" in r or '"s-long"' in r for r in after["rows"]["agno_runs"])
    assert after["catalog"] == before["catalog"] and after["indexes"] == before["indexes"]
    for storage in (agents, teams, found):
        storage.close()


def test_cli_takes_a_postgres_schema(
    agno3_postgres: Agno3Postgres, capsys: pytest.CaptureFixture[str]
) -> None:
    from agno_nb.cli import main

    url, schema, expected = agno3_postgres
    assert main(["sessions", url, "--schema", schema, "--table", "agno_sessions", "--json"]) == 0
    listed = [json.loads(line)["session_id"] for line in capsys.readouterr()[0].splitlines()]
    assert sorted(listed) == sorted(s["session_id"] for s in of_type(expected, "agent"))
    assert main(["show", url, "s-tool", "--schema", schema]) == 0
    out, err = capsys.readouterr()
    assert "tool (add): 42" in out and f"opened {schema}.agno_sessions" in err


# -- bad input -----------------------------------------------------------------------------


def test_a_table_of_no_known_layout_names_the_columns_expected(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE agno_sessions (id INTEGER PRIMARY KEY, payload TEXT)")
    con.commit()
    con.close()
    storage = SqliteStorage("agno_sessions", db_file=db)
    with pytest.raises(AgnoNbError) as info:
        storage.list_sessions()
    line = str(info.value)
    assert "\n" not in line and "(its columns: id, payload)" in line
    assert "agno 2.x/3.x's (session_id, session_type, session_data, created_at)" in line
    assert "agno 1.x's (session_id, user_id, memory" in line
    storage.close()


def test_undecodable_json_is_an_error_row_naming_the_session(tmp_path: Path) -> None:
    db = copy_fixture("agno_2_9_0_then_3_1_10_sessions", tmp_path)
    con = sqlite3.connect(db)
    con.execute("UPDATE agno_runs SET run_data = '{broken' WHERE session_id = 's-html'")
    con.execute("UPDATE agno_sessions SET session_data = '[oops' WHERE session_id = 's-tool'")
    con.execute("UPDATE agno_sessions SET runs = '\"[nope\"' WHERE session_id = 's-first-only'")
    con.commit()
    con.close()
    storage = SqliteStorage("agno_sessions", db_file=db)
    rows = {s.session_id: s for s in storage.list_sessions(limit=None)}
    assert "'s-html' has corrupt JSON in 1 run of agno_runs" in str(rows["s-html"].error)
    assert "'s-tool' has corrupt JSON in column 'session_data'" in str(rows["s-tool"].error)
    assert rows["s-first-only"].error is None  # a JSON string that is no JSON: no runs
    assert rows["s-first-only"].run_count == 0
    assert rows["s-unicode"].error is None and rows["s-unicode"].run_count == 2
    with pytest.raises(CorruptSessionError, match="session 's-html' has corrupt JSON"):
        storage.read("s-html")
    storage.close()


def test_double_encoded_and_null_cells_decode() -> None:
    inner = json.dumps({"session_name": "x"})
    assert decode_agno_json(json.dumps(inner), session_id="s", column="c") == (
        {"session_name": "x"},
        2,
    )
    assert decode_agno_json(inner, session_id="s", column="c") == ({"session_name": "x"}, 1)
    assert decode_agno_json("null", session_id="s", column="c") == (None, 1)
    assert decode_agno_json(None, session_id="s", column="c") == (None, 0)
    assert decode_agno_json('"plain text"', session_id="s", column="c") == ("plain text", 1)
    with pytest.raises(CorruptSessionError, match="session 's' has corrupt JSON in column 'c'"):
        decode_agno_json("{", session_id="s", column="c")


def test_run_output_is_mapped_at_the_boundary() -> None:
    run = {
        "run_id": "r",
        "input": {"input_content": "hi"},
        "content": "hello",
        "metrics": {"input_tokens": 3, "duration": 0.5},
        "status": "COMPLETED",
    }
    mapped = run_from_agno(run)
    assert mapped["messages"] == [
        {"role": "user", "content": "hi", "created_at": None},
        {"role": "assistant", "content": "hello"},
    ]
    assert mapped["metrics"]["time"] == 0.5 and mapped["status"] == "COMPLETED"
    assert run_from_agno({"input": "workflow text"})["messages"][0]["content"] == "workflow text"
    kept = {"messages": [{"role": "user", "content": "q", "from_history": True}]}
    assert run_from_agno(kept) == kept


def test_postgres_double_encoded_row_stays_double_encoded(pg_schema: str) -> None:
    """A jsonb cell holding a JSON string (the text of the JSON) keeps that form when
    renamed (agno never writes one on Postgres, and its PostgresDb would not decode it)."""
    from agno_nb.sessions import AgentSession
    from tests.agno3_tables import write_agno
    from tests.conftest import postgres_url

    require_postgres()
    storage = PostgresStorage("agno_sessions", db_url=postgres_url(), schema=pg_schema)
    with storage.db_engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{pg_schema}"')
    session = AgentSession(
        session_id="d",
        user_id="u",
        agent_id="a",
        session_data={"session_state": {"k": 1}},
        memory={"runs": [{"run_id": "dr", "input": {"input_content": "q"}, "content": "a"}]},
    )
    write_agno(storage.db_engine, "agno_sessions", [session], schema=pg_schema, double=True)
    storage.rename_session("d", "double <b>name</b>")
    with storage.db_engine.connect() as conn:
        kind = conn.exec_driver_sql(
            f'SELECT jsonb_typeof(session_data) FROM "{pg_schema}".agno_sessions'
        ).scalar()
    assert kind == "string"
    assert storage.count_sessions(search="DOUBLE <b>") == 1  # SQL unwraps the string too
    assert storage.list_sessions()[0].session_name == "double <b>name</b>"
    assert storage.read("d").session_data == {
        "session_state": {"k": 1},
        "session_name": "double <b>name</b>",
    }
    storage.close()


def test_a_runs_table_agno_creates_later_is_found(tmp_path: Path) -> None:
    """agno 3.x creates ``agno_runs`` with the first run: a storage opened before sees it."""
    from agno_nb.sessions import AgentSession
    from tests.agno3_tables import write_agno

    storage = SqliteStorage("agno_sessions", db_file=tmp_path / "agno.db")
    first = AgentSession(session_id="s1", agent_id="a", memory={"runs": []}, created_at=1)
    write_agno(storage.db_engine, "agno_sessions", [first])
    with storage.db_engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE agno_runs")
    assert storage.layout_label == "agno 3.x table agno_sessions (no runs table yet)"
    assert storage.list_sessions()[0].run_count == 0 and storage.get_runs("s1") == []
    run = {"run_id": "r1", "input": {"input_content": "hi"}, "content": "hello"}
    later = AgentSession(session_id="s2", agent_id="a", memory={"runs": [run]}, created_at=2)
    write_agno(storage.db_engine, "agno_sessions", [later])
    assert [s.session_id for s in storage.list_sessions(search="HELLO")] == ["s2"]
    assert [r["run_id"] for r in storage.get_runs("s2")] == ["r1"]
    assert storage.list_sessions()[0].preview == "hi"
    storage.close()


def test_long_pages_are_fetched_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of a long page are fetched a chunk of sessions at a time (bound parameters
    stay within SQLite's limit); the page is the same."""
    from agno_nb.storage.layouts import agnodb

    stem = "agno_2_9_0_then_3_1_10_sessions"
    storage = SqliteStorage("agno_sessions", db_file=copy_fixture(stem, tmp_path))
    whole = storage.list_sessions(limit=None)
    sessions = [(s.session_id, len(s.runs)) for s in storage.get_all_sessions()]
    monkeypatch.setattr(agnodb, "CHUNK", 2)
    before = storage.stats.queries
    assert storage.list_sessions(limit=None) == whole
    assert storage.stats.queries - before > 6  # several chunks, not one query each
    assert [(s.session_id, len(s.runs)) for s in storage.get_all_sessions()] == sessions
    storage.close()


@pytest.mark.parametrize("stem", STEMS)
def test_get_summary_looks_up_by_key_and_user(stem: str, tmp_path: Path) -> None:
    """%agno_history ID finds any session by its key, never another user's."""
    storage = SqliteStorage(table_name="agno_sessions", db_file=str(copy_fixture(stem, tmp_path)))
    listed = {s.session_id: s for s in storage.list_sessions(limit=None)}
    assert listed
    for sid, expected in listed.items():
        found = storage.get_summary(sid)
        assert found is not None and found.session_id == sid
        assert (found.session_name, found.run_count, found.preview) == (
            expected.session_name,
            expected.run_count,
            expected.preview,
        )
        assert storage.get_summary(sid, user_id=expected.user_id) is not None
        assert storage.get_summary(sid, user_id="nobody-" + str(expected.user_id)) is None
    assert storage.get_summary("no-such-session") is None
    storage.close()
