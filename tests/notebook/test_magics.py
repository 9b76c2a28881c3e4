"""The %agno_* magics through a real IPython InteractiveShell, on every backend."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from agno_nb import agent as agent_module
from agno_nb.agent import Agent
from agno_nb.schema import LATEST_VERSION
from agno_nb.sessions import AgentSession

BASE_TIME = 1_700_000_000


def fill(storage: Any, count: int = 3) -> None:
    for i in range(count):
        storage.upsert(
            AgentSession(
                session_id=f"s{i}",
                user_id="alice" if i % 2 == 0 else "bob",
                agent_id="helper" if i else "planner",
                memory={
                    "runs": [
                        {
                            "run_id": f"r{i}",
                            "messages": [
                                {"role": "user", "content": f"question {i}"},
                                {"role": "assistant", "content": f"answer {i}"},
                            ],
                        }
                    ]
                },
                created_at=BASE_TIME + i,
            )
        )


def output_text(cap: Any) -> str:
    parts = [cap.stdout, cap.stderr]
    for out in cap.outputs:
        parts.extend(str(v) for v in out.data.values())
    return "\n".join(parts)


# -- %agno_storage ----------------------------------------------------------------------


def status_of(cap: Any) -> str:
    """The one status %agno_storage displayed (its plain line), checking there is one."""
    shown = [o for o in cap.outputs if "text/plain" in o.data]
    assert len(shown) == 1, [o.data for o in cap.outputs]
    assert "text/html" in shown[0].data
    text = str(shown[0].data["text/plain"])
    assert "\n" not in text
    return text


def test_storage_attaches_agents_and_sets_default(
    ip: InteractiveShell, magics: Any, target: Callable[..., str], backend: str
) -> None:
    from agno.agent import Agent as AgnoAgent

    other = agent_module.Agent()  # stand-in storage holder
    ip.user_ns["bare"] = Agent(name="bare")
    ip.user_ns["kept"] = Agent(name="kept", storage=other)
    ip.user_ns["legacy"] = AgnoAgent()
    with capture_output() as cap:
        storage = ip.run_line_magic("agno_storage", target())
    line = status_of(cap)
    assert cap.stdout == ""
    # a file not there yet: said in the status, created at the first write (issue 21)
    assert ("created at the first write" in line) == (backend != "postgres")
    assert line.startswith(f"agno_nb storage '{backend}': {backend} ")
    assert storage.display_url in line and "table not created yet" in line
    assert "0 sessions" in line and "attached to bare, legacy" in line
    assert "new agents use it" in line
    assert ip.user_ns["bare"].storage is storage
    assert ip.user_ns["kept"].storage is other
    assert ip.user_ns["legacy"].storage.storage is storage
    assert agent_module.get_default_storage() is storage
    assert Agent().storage is storage
    assert magics.last_agent is ip.user_ns["legacy"]

    # the attached agent writes there
    ip.user_ns["bare"].run("hello")
    assert storage.count_sessions() == 1


def test_storage_show_list_close(
    ip: InteractiveShell, magics: Any, target: Callable[..., str], tmp_path: Path
) -> None:
    with capture_output() as cap:
        assert ip.run_line_magic("agno_storage", "") is None
    assert "no agno_nb storage is open" in cap.stdout
    first = ip.run_line_magic("agno_storage", target() + " --as main")
    fill(first)
    with capture_output() as cap:
        assert ip.run_line_magic("agno_storage", "") is first
    assert "'main'" in status_of(cap) and "3 sessions" in status_of(cap)
    ip.user_ns["bot"] = Agent()
    second = ip.run_line_magic("agno_storage", f"sqlite {tmp_path / 'two.db'} --as scratch")
    with capture_output() as cap:
        ip.run_line_magic("agno_storage", "--list")
    lines = cap.stdout.splitlines()
    assert lines[0].startswith("  main: ") and lines[1].startswith("* scratch: sqlite")
    assert lines[0].endswith("(mode agent; agents: bot, new agents)")
    assert lines[1].endswith("(mode agent; agents: none)")
    assert magics.storage is second
    with capture_output() as cap:
        ip.run_line_magic("agno_storage", "--close scratch")
    assert "closed agno_nb storage 'scratch'" in cap.stdout
    assert magics.current == "main"
    with capture_output() as cap:
        ip.run_line_magic("agno_storage", "--close main")
    assert "bot still uses it" in cap.stdout
    with pytest.raises(UsageError, match="no open storage named 'nope'"):
        ip.run_line_magic("agno_storage", "--close nope")


def test_trailing_semicolon_hides_output_not_an_argument(
    ip: InteractiveShell, magics: Any, tmp_path: Path
) -> None:
    with capture_output() as cap:
        ip.run_cell(f"%agno_storage sqlite {tmp_path / 'semi.db'} --table chats_v1;")
    assert magics.storage.table_name == "chats_v1"
    assert cap.outputs == []


def test_storage_shows_one_output_in_a_cell(
    ip: InteractiveShell, magics: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13.4: the status (HTML in Jupyter, the plain line elsewhere), not also the repr."""
    ip.user_ns["bot"] = Agent()
    formats: list[Any] = []  # what the shell's displayhook shows for the cell's result
    compute = ip.displayhook.compute_format_data
    monkeypatch.setattr(
        ip.displayhook, "compute_format_data", lambda r: formats.append(compute(r)) or formats[-1]
    )
    with capture_output() as cap:
        result = ip.run_cell(f"%agno_storage sqlite {tmp_path / 'one.db'}")
    # the cell's result is the storage (Out and _ keep it), displayed as its status, once
    assert result.result is magics.storage
    assert cap.outputs == []  # the magic displayed nothing else
    [(data, _)] = formats
    line = data["text/plain"]
    assert line.startswith("agno_nb storage 'sqlite': sqlite ") and "\n" not in line
    assert "attached to bot" in line and "SqliteStorage(" not in line
    assert "<li>attached to bot</li>" in data["text/html"]
    assert "<strong>agno_nb storage &#x27;sqlite&#x27;</strong>" in data["text/html"]
    monkeypatch.undo()
    # in the next cell a storage shows as usual
    ip.run_cell("pass")
    data, _ = ip.display_formatter.format(result.result)
    assert data["text/plain"] == repr(result.result) and "text/html" not in data
    # assigned, the storage is returned and the status still shows, once
    with capture_output() as cap:
        ip.run_cell(f"s = %agno_storage sqlite {tmp_path / 'one.db'}", store_history=True)
    assert "agno_nb storage 'sqlite'" in status_of(cap)
    assert ip.user_ns.pop("s") is magics.storage
    # Called from code (no cell to read) the magic cannot tell whether its result will be
    # shown: it displays the status, and a kernel displayhook hook drops a repeated repr.
    with capture_output():
        shown = ip.run_line_magic("agno_storage", "")
    duplicate = {"content": {"data": {"text/plain": repr(shown)}}}
    other = {"content": {"data": {"text/plain": "42"}}}
    assert magics.drop_duplicate_result(other) is other
    assert magics.drop_duplicate_result(duplicate) is None
    assert magics.drop_duplicate_result(duplicate) is duplicate  # only once


def test_a_second_storage_never_moves_agents(
    ip: InteractiveShell, magics: Any, tmp_path: Path
) -> None:
    """Issue 13.1: inspecting another table must not split an agent's session."""
    ip.run_cell("%agno_storage sqlite " + str(tmp_path / "data.db"), store_history=True)
    data = magics.storage
    ip.user_ns["agent"] = Agent()  # created after: takes the open storage
    ip.user_ns["a"] = Agent()
    ip.user_ns["agent"].run("first")
    with capture_output() as cap:
        legacy = ip.run_line_magic("agno_storage", f"sqlite {tmp_path / 'agno_app.db'} --as legacy")
    line = status_of(cap)
    assert "no agents use it" in line
    assert "agent, a stay on 'sqlite' (--attach moves them)" in line
    assert "new agents use it" not in line
    ip.user_ns["agent"].run("second")
    assert data.count_runs(ip.user_ns["agent"].session_id) == 2
    assert legacy.count_sessions() == 0
    assert Agent().storage is data  # new agents keep the first storage too
    with capture_output() as cap:
        ip.run_line_magic("agno_storage", "")
    assert "'legacy'" in status_of(cap)  # the current storage is the one just opened

    # --attach NAME moves only that agent, and says so
    with capture_output() as cap:
        ip.run_line_magic("agno_storage", "--attach a")
    line = status_of(cap)
    assert "moved a here (from 'sqlite')" in line
    assert "agent stays on 'sqlite'" in line and "new agents use it" in line
    assert ip.user_ns["a"].storage is legacy and ip.user_ns["agent"].storage is data
    # --attach with no names moves every agent
    with capture_output() as cap:
        ip.run_line_magic("agno_storage", f"sqlite {tmp_path / 'data.db'} --as main --attach")
    main = magics.storage
    assert "moved agent, a here (from 'sqlite', 'legacy')" in status_of(cap)
    assert ip.user_ns["agent"].storage is main and ip.user_ns["a"].storage is main
    with pytest.raises(UsageError, match=r"--attach: no agent named 'zed' \(agents: agent, a\)"):
        ip.run_line_magic("agno_storage", "--attach zed")


def test_an_agent_keeps_its_storage_when_the_default_changes(tmp_path: Path) -> None:
    from agno_nb.storage import SqliteStorage

    first = SqliteStorage("agent_sessions", db_file=str(tmp_path / "1.db"))
    second = SqliteStorage("agent_sessions", db_file=str(tmp_path / "2.db"))
    early = Agent()  # no default yet: takes the first one it sees
    try:
        agent_module.set_default_storage(first)
        late = Agent()
        assert early.storage is first and late.storage is first
        agent_module.set_default_storage(second)
        assert early.storage is first and late.storage is first and Agent().storage is second
        late.storage = second  # a call moves it
        assert late.storage is second
    finally:
        agent_module.set_default_storage(None)
        first.close()
        second.close()


def test_reopening_a_name(
    ip: InteractiveShell, magics: Any, target: Callable[..., str], tmp_path: Path
) -> None:
    ip.user_ns["bot"] = Agent()
    first = ip.run_line_magic("agno_storage", f"sqlite {tmp_path / 'a.db'} --as db")
    assert ip.user_ns["bot"].storage is first
    # the same table again (e.g. with --auto-upgrade): its agents follow
    with capture_output() as cap:
        again = ip.run_line_magic("agno_storage", f"sqlite {tmp_path / 'a.db'} --as db")
    assert ip.user_ns["bot"].storage is again
    assert "attached to bot" in status_of(cap)
    # another table under the same name: refused while an agent uses it
    with pytest.raises(UsageError, match=r"bot uses the open storage 'db'.*add --attach"):
        ip.run_line_magic("agno_storage", f"sqlite {tmp_path / 'b.db'} --as db")
    assert magics.storages["db"] is again and ip.user_ns["bot"].storage is again
    moved = ip.run_line_magic("agno_storage", f"sqlite {tmp_path / 'b.db'} --as db --attach")
    assert ip.user_ns["bot"].storage is moved
    assert list(magics.storages) == ["db"]


def test_upgrade_available_dry_run_and_apply(
    ip: InteractiveShell, magics: Any, target: Callable[..., str], make_storage: Any
) -> None:
    legacy = make_storage("legacy", schema_version=1)
    fill(legacy, 4)
    with capture_output() as cap:
        storage = ip.run_line_magic("agno_storage", target(legacy.table_name))
    assert f"layout v1, upgrade available to v{LATEST_VERSION}" in status_of(cap)
    assert "4 sessions" in status_of(cap)

    plan = ip.run_line_magic("agno_upgrade", "--dry-run")
    assert "dry run, nothing changed" in repr(plan)
    assert f"{LATEST_VERSION - 1} steps planned" in plan._repr_html_()
    assert storage.current_version == 1

    with capture_output() as cap:
        result = ip.run_line_magic("agno_upgrade", "")
    assert storage.current_version == LATEST_VERSION
    assert "4 sessions, " in repr(result)
    assert "4 sessions migrated" in result._repr_html_()
    assert any("IntProgress" in str(o.data.get("text/plain")) for o in cap.outputs)
    again = ip.run_line_magic("agno_upgrade", "")
    assert "up to date" in repr(again)
    with capture_output() as cap:
        ip.run_line_magic("agno_storage", "")
    assert f"layout v{LATEST_VERSION})" in status_of(cap)


# -- %agno_sessions / %agno_history -----------------------------------------------------


def test_sessions_dataframe(ip: InteractiveShell, magics: Any, target: Callable[..., str]) -> None:
    storage = ip.run_line_magic("agno_storage", target())
    fill(storage, 5)
    df = ip.run_line_magic("agno_sessions", "")
    assert list(df["session_id"]) == ["s4", "s3", "s2", "s1", "s0"]
    alice = ip.run_line_magic("agno_sessions", "--user alice --limit 2")
    assert list(alice["session_id"]) == ["s4", "s2"]
    assert list(ip.run_line_magic("agno_sessions", "--agent planner")["session_id"]) == ["s0"]
    found = ip.run_line_magic("agno_sessions", "--search 'question 3'")
    assert list(found["session_id"]) == ["s3"]
    ip.run_line_magic("config", "AgnoMagics.display_limit = 2")
    assert magics.display_limit == 2
    assert len(ip.run_line_magic("agno_sessions", "")) == 2
    ip.run_cell("df = %agno_sessions --user bob")
    assert list(ip.user_ns.pop("df")["session_id"]) == ["s3", "s1"]


def test_sessions_display_is_compact_and_says_what_the_limit_hid(
    ip: InteractiveShell, magics: Any, target: Callable[..., str]
) -> None:
    """Issue 13.3: short ids, the columns read first, "showing N of M", still a DataFrame."""
    import pandas as pd

    storage = ip.run_line_magic("agno_storage", target())
    fill(storage, 5)
    long_id = "0f3c2a9e-5b7d-4c1e-9a8b-1234567890ab"
    storage.upsert(AgentSession(session_id=long_id, user_id="carol", created_at=BASE_TIME + 9))
    df = ip.run_line_magic("agno_sessions", "--limit 4")
    assert isinstance(df, pd.DataFrame) and len(df) == 4
    assert df["session_id"].iloc[0] == long_id  # the data keeps full ids and every column
    assert {"error", "message_count", "created_at"} <= set(df.columns)
    html = df._repr_html_()
    text = repr(df)
    assert "showing 4 of 6 sessions (--limit N for more)" in html
    assert text.endswith("showing 4 of 6 sessions (--limit N for more)")
    assert f'<td title="{long_id}"><code>0f3c2a9e…</code></td>' in html
    assert long_id not in text and "0f3c2a9e…" in text
    heads = re.findall(r"<th>([^<]*)</th>", html)
    assert heads == ["session", "name / first question", "user", "runs", "last active"]
    assert "None" not in html and "nan" not in html
    assert "question 4" in text and all(len(line) < 100 for line in text.splitlines())
    # derived frames are plain DataFrames with pandas' display
    assert type(df.head(2)) is pd.DataFrame
    everything = ip.run_line_magic("agno_sessions", "")
    assert repr(everything).endswith("\n6 sessions")
    # the agent column appears when the rows belong to more than one agent
    assert "<th>agent</th><th>runs</th>" in everything._repr_html_()
    # what the shell shows for it: the compact text and HTML only
    data, _ = ip.display_formatter.format(ip.run_line_magic("agno_sessions", "--limit 2"))
    assert data["text/plain"].endswith("showing 2 of 6 sessions (--limit N for more)")
    assert "message_count" not in data["text/plain"] + data["text/html"]


def test_sessions_error_column_only_when_a_row_has_an_error(
    ip: InteractiveShell, magics: Any, tmp_path: Path
) -> None:
    import sqlalchemy as sa

    from agno_nb.storage import SqliteStorage

    path = tmp_path / "c.db"
    writer = SqliteStorage("legacy", db_file=str(path), schema_version=1)
    fill(writer, 3)
    ip.run_line_magic("agno_storage", f"sqlite {path} --table legacy")
    clean = ip.run_line_magic("agno_sessions", "")._repr_html_()
    assert "<th>error</th>" not in clean
    with writer.db_engine.begin() as conn:
        conn.execute(sa.text("UPDATE legacy SET memory = '{broken' WHERE session_id = 's1'"))
    broken = ip.run_line_magic("agno_sessions", "")
    assert "<th>error</th>" in broken._repr_html_() and "corrupt JSON" in broken._repr_html_()
    assert "s1: cannot read this session" in repr(broken)
    writer.close()


def test_history_browser_and_static(
    ip: InteractiveShell, magics: Any, target: Callable[..., str]
) -> None:
    from agno_nb.widgets import SessionBrowser

    storage = ip.run_line_magic("agno_storage", target())
    with pytest.raises(UsageError, match="no sessions yet"):
        ip.run_line_magic("agno_history", "")
    fill(storage, 3)
    ip.run_line_magic("config", "AgnoMagics.page_size = 2")
    browser = ip.run_line_magic("agno_history", "")
    assert isinstance(browser, SessionBrowser)
    assert browser.selected == "s2" and browser.page_size == 2
    assert "answer 2" in browser._repr_mimebundle_()["text/html"]
    older = ip.run_line_magic("agno_history", "s0")
    assert older.selected == "s0" and "question 0" in older.snapshot_html()
    # s0 is on page 2: the browser opens there, with s0 selected and highlighted
    assert older.page == 1 and older.session_list.value == "s0"
    assert '<tr class="agno-nb-selected"><td title="s0">' in older.snapshot_html()
    bob = ip.run_line_magic("agno_history", "--user bob")
    assert bob.selected == "s1" and bob.user_filter.value == "bob"

    static = ip.run_line_magic("agno_history", "s1 --static")
    assert "answer 1" in static._repr_html_() and "<code>r1</code>" in static._repr_html_()
    assert "assistant: answer 1" in repr(static)
    with pytest.raises(UsageError, match="no session 'nope'"):
        ip.run_line_magic("agno_history", "nope")
    with pytest.raises(UsageError, match="of user 'alice'"):
        ip.run_line_magic("agno_history", "s1 --user alice")
    with pytest.raises(UsageError, match="of user 'alice'"):
        ip.run_line_magic("agno_history", "s1 --user alice --static")
    magics.page_size = 20


# -- %%agno_chat ------------------------------------------------------------------------


def test_chat_cell(ip: InteractiveShell, magics: Any, target: Callable[..., str]) -> None:
    storage = ip.run_line_magic("agno_storage", target())
    ip.run_cell("from agno_nb import Agent as _A\nfirst = _A(name='first', user_id='u1')")
    ip.run_cell("second = _A(name='second', user_id='u2')")
    with capture_output() as cap:
        ip.run_cell("%%agno_chat\nHello <b>there</b>")
    shown = output_text(cap)
    assert "second: [offline] You said: Hello <b>there</b>" in shown
    html = next(o.data["text/html"] for o in cap.outputs if "text/html" in o.data)
    assert "You said: Hello &lt;b&gt;there&lt;/b&gt;" in html
    assert [s.user_id for s in storage.list_sessions()] == ["u2"]

    with capture_output() as cap:
        ip.run_cell("%%agno_chat first\nWhat was my last question?")
    assert "first:" in output_text(cap)
    assert sorted(s.user_id for s in storage.list_sessions()) == ["u1", "u2"]
    # the default follows the agent used last
    with capture_output() as cap:
        ip.run_cell("%%agno_chat\nagain")
    assert "first: [offline] You said: again" in output_text(cap)
    assert storage.count_runs(ip.user_ns["first"].session_id) == 2
    ip.user_ns.pop("_A", None)


def test_chat_errors(ip: InteractiveShell, magics: Any) -> None:
    with pytest.raises(UsageError, match="no agent yet"):
        ip.run_cell_magic("agno_chat", "", "hi")
    ip.user_ns["helper"] = Agent()
    with pytest.raises(UsageError, match=r"no agent named 'nobody' \(agents: helper\)"):
        ip.run_cell_magic("agno_chat", "nobody", "hi")
    with pytest.raises(UsageError, match="the cell is empty"):
        ip.run_cell_magic("agno_chat", "helper", "  \n")
    with pytest.raises(UsageError, match="unrecognized arguments"):
        ip.run_cell_magic("agno_chat", "helper extra", "hi")


# -- errors -----------------------------------------------------------------------------

BAD_LINES = [
    ("agno_storage", "foo bar", "unknown backend 'foo'"),
    ("agno_storage", "sqlite", "missing TARGET for sqlite"),
    ("agno_storage", "duckdb", "missing TARGET for duckdb"),
    ("agno_storage", "sqlite x.db --bogus", "unrecognized arguments: --bogus"),
    ("agno_storage", "sqlite x.db --table 'a\"b'", "invalid table name 'a\"b': give the name"),
    ("agno_storage", "sqlite x.db --table ' t'", "invalid table name ' t': give the name"),
    ("agno_storage", f"sqlite x.db --table {'x' * 64}", "(1 to 63 bytes, no control"),
    ("agno_storage", "sqlite x.db --table 'a%b'", 'no " or %'),
    ("agno_storage", "sqlite x.db --mode robots", "unknown mode 'robots'"),
    ("agno_storage", "sqlite x.db --schema ai", "--schema only applies to postgres"),
    ("agno_storage", "postgres x.db", "postgres needs a URL TARGET"),
    ("agno_storage", "mysql://u:p@h/db", "unsupported URL scheme 'mysql'"),
    ("agno_storage", "sqlite:///x.db extra", "a URL takes no TARGET"),
    ("agno_storage", "sqlite x.db --as 'two words'", "--as 'two words'"),
    ("agno_storage", "sqlite 'x.db", "cannot parse the line"),
    ("agno_storage", "postgresql+psycopg://postgres@127.0.0.1:1/test", "cannot reach"),
    ("agno_storage", "duckdb /nonexistent_dir/x.duckdb --read-only", "does not exist"),
    ("agno_storage", "sqlite /nonexistent_dir/x.db --read-only", "does not exist"),
    ("agno_sessions", "", "no agno_nb storage is open"),
    ("agno_history", "", "no agno_nb storage is open"),
    ("agno_upgrade", "", "no agno_nb storage is open"),
]


@pytest.mark.parametrize(("magic", "line", "message"), BAD_LINES)
def test_bad_lines_are_one_usage_error(
    ip: InteractiveShell, magics: Any, magic: str, line: str, message: str
) -> None:
    with pytest.raises(UsageError) as info:
        ip.run_line_magic(magic, line)
    text = str(info.value)
    assert message in text
    assert "\n" not in text
    with capture_output() as cap:
        ip.run_cell(f"%{magic} {line}")
    shown = cap.stdout + cap.stderr
    assert "Traceback" not in shown and "UsageError" in shown


@pytest.mark.parametrize("table", ["agent-sessions", "'x; drop table y'", "1abc", "s" * 60])
def test_agno_storage_opens_tables_with_names_agno_accepts(
    ip: InteractiveShell, magics: Any, target: Callable[..., str], table: str
) -> None:
    """Issue 21: names agno 1.x accepts (quoted by the database) open, write and
    list; before, they were refused as "invalid table name"."""
    storage = ip.run_line_magic("agno_storage", target(table))
    assert storage.table_name == table.strip("'")
    fill(storage, 2)
    assert list(ip.run_line_magic("agno_sessions", "")["session_id"]) == ["s1", "s0"]
    assert list(ip.run_line_magic("agno_sessions", "--search r0")["session_id"]) == ["s0"]
    assert storage.current_version == LATEST_VERSION


def test_bad_options_of_other_magics(
    ip: InteractiveShell, magics: Any, target: Callable[..., str]
) -> None:
    storage = ip.run_line_magic("agno_storage", target())
    fill(storage, 1)
    for magic, line, message in [
        ("agno_sessions", "--limit 0", "must be 1 or more"),
        ("agno_sessions", "--limit many", "is not a whole number"),
        ("agno_sessions", "--color red", "unrecognized arguments"),
        ("agno_history", "s0 s1", "unrecognized arguments"),
        ("agno_upgrade", "--now", "unrecognized arguments"),
    ]:
        with pytest.raises(UsageError, match=message) as info:
            ip.run_line_magic(magic, line)
        assert "\n" not in str(info.value)


def test_read_only_storage_refuses_writes_with_one_line(
    ip: InteractiveShell, magics: Any, tmp_path: Path
) -> None:
    from agno_nb.storage import SqliteStorage

    path = tmp_path / "ro.db"
    writer = SqliteStorage("agent_sessions", db_file=str(path), schema_version=1)
    fill(writer, 2)
    writer.close()
    with capture_output() as cap:
        storage = ip.run_line_magic("agno_storage", f"sqlite {path} --read-only")
    assert "upgrade available" in status_of(cap)
    assert len(ip.run_line_magic("agno_sessions", "")) == 2
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("agno_upgrade", "")
    assert "read-only" in str(info.value) and "\n" not in str(info.value)
    assert storage.current_version == 1


def test_config_lists_options(ip: InteractiveShell, magics: Any) -> None:
    with capture_output() as cap:
        ip.run_line_magic("config", "AgnoMagics")
    for option in ("default_table", "display_limit", "page_size", "history_page_size"):
        assert option in cap.stdout
    ip.run_line_magic("config", "AgnoMagics.default_table = 'custom_sessions'")
    assert magics.default_table == "custom_sessions"


def test_only_user_fixable_errors_become_usage_errors() -> None:
    import sqlite3

    from agno_nb.connect import is_expected_error
    from agno_nb.errors import SessionNotFoundError

    assert is_expected_error(SessionNotFoundError("x"))
    assert is_expected_error(ValueError("bad input"))
    assert is_expected_error(sqlite3.OperationalError("locked"))
    assert not is_expected_error(RuntimeError("a bug"))
    assert not is_expected_error(AttributeError("a bug"))


def test_non_agent_mode_attaches_nothing(ip: InteractiveShell, magics: Any, tmp_path: Path) -> None:
    ip.user_ns["solo"] = Agent()
    with capture_output() as cap:
        teams = ip.run_line_magic("agno_storage", f"sqlite {tmp_path / 't.db'} --mode team")
    assert teams.mode == "team"
    assert "holds team sessions: agents are not attached to it" in status_of(cap)
    with pytest.raises(UsageError, match="agents need --mode agent"):
        ip.run_line_magic("agno_storage", f"sqlite {tmp_path / 't.db'} --mode team --attach")
    assert ip.user_ns["solo"].storage is None
    assert agent_module.get_default_storage() is None
