"""Issue 19 (part B): agno 3.1.10's own Agent/Team in the notebook loop, in a real
IPython shell, on SQLite and Postgres.

``%agno_storage`` gives agno objects agno's own db (before and after the magic),
``%agno_sessions`` / ``%agno_history`` / an open ``SessionBrowser`` show their runs as
they happen, and ``%%agno_chat`` renders an agno agent's answer inline.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from tests.agno3_fixtures import AGENT_ID, DELEGATE_PREFIX, HOSTILE_HTML, add, fake_model_class
from tests.agno3_live.conftest import Agno3Place

SETUP = """
from agno.agent import Agent
from agno.team import Team
from tests.agno3_fixtures import add, fake_model_class, AGENT_ID
FakeModel = fake_model_class()
"""


@pytest.fixture
def shell(ip: Any) -> Iterator[Any]:
    """The module's IPython shell with agno_nb loaded, its magics reset around the test."""
    magics = ip.magics_manager.registry["AgnoMagics"]
    ip.run_cell(SETUP)
    yield ip
    from agno_nb.integrations.agno_db import entities_in

    for name, _ in entities_in(ip.user_ns):
        ip.user_ns.pop(name, None)
    for name in list(magics.storages):
        magics.storages.pop(name).close()
    magics.current = None
    magics.last_agent = None
    magics.agno_home = None
    magics.agno_async = False
    magics._seen_agno.clear()
    from agno_nb.agent import set_default_storage

    set_default_storage(None)


def line(place: Agno3Place, *extra: str) -> str:
    """%agno_storage's arguments for ``place`` (no --table: agno's own table)."""
    if place.backend == "sqlite":
        return " ".join(["sqlite", str(place.db_file), *extra])
    return " ".join(["postgres", str(place.url), "--schema", str(place.schema), *extra])


def run(ip: Any, cell: str) -> Any:
    """Run a cell as a notebook does (hooks included); fail on its exception."""
    result = ip.run_cell(cell, store_history=True)
    if result.error_before_exec or result.error_in_exec:
        raise result.error_before_exec or result.error_in_exec
    return result.result


def text_of(cap: Any) -> str:
    parts = [cap.stdout, cap.stderr]
    for out in cap.outputs:
        parts.extend(str(v) for v in out.data.values())
    return "\n".join(parts)


def assert_on(db: Any, place: Agno3Place) -> None:
    """``db`` is agno's own sync db on ``place``'s agno_sessions."""
    assert db is not None
    assert db.session_table_name == "agno_sessions"
    if place.backend == "sqlite":
        assert type(db).__name__ == "SqliteDb"
        assert Path(db.db_file).resolve() == Path(str(place.db_file)).resolve()
    else:
        assert type(db).__name__ == "PostgresDb"
        assert db.db_schema == place.schema


def test_agents_made_before_and_after_get_agnos_db(shell: Any, agno3_place: Agno3Place) -> None:
    """Done when, 1st line: both agents' db is on PATH, their sessions are listed,
    ``%agno_history ID --static`` shows their runs; agno reads them back."""
    run(shell, "before = Agent(model=FakeModel(), id=AGENT_ID, tools=[add], telemetry=False)")
    with capture_output() as cap:
        storage = run(shell, f"%agno_storage {line(agno3_place)}")
    card = text_of(cap)
    assert storage.table_name == "agno_sessions"
    assert "agno db attached to before" in card
    assert "agno agents made later get it" in card
    assert "needs agno 1.x" not in card
    assert_on(shell.user_ns["before"].db, agno3_place)

    run(shell, "after = Agent(model=FakeModel(), id='after-agent', telemetry=False)")
    assert shell.user_ns["after"].db is shell.user_ns["before"].db  # the post-cell hook
    run(shell, "r1 = before.run('add 2 3', session_id='s-before')")
    run(shell, "r2 = after.run('hello <b>there</b>', session_id='s-after')")
    assert shell.user_ns["r1"].content == "The tool said: 5"

    frame = run(shell, "%agno_sessions")
    assert set(frame["session_id"]) == {"s-before", "s-after"}
    shown = run(shell, "%agno_history s-before --static")
    html_text = shown._repr_html_()
    assert "tool call: add" in html_text and "The tool said: 5" in html_text
    assert "first token" in html_text  # agno 3's metrics
    escaped = run(shell, "%agno_history s-after --static")._repr_html_()
    assert "hello &lt;b&gt;there&lt;/b&gt;" in escaped and "<b>there</b>" not in escaped

    with capture_output() as cap:
        run(shell, "%agno_storage")
    assert "used by agno before, after" in text_of(cap)

    reader = agno3_place.agno_db()  # a fresh agno db reads what the notebook wrote
    session = reader.get_session("s-before", session_type="agent")
    assert [r.content for r in session.runs] == ["The tool said: 5"]


def test_agent_with_a_db_keeps_it_and_attach_moves_it(
    shell: Any, agno3_place: Agno3Place, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere.db"
    run(
        shell,
        "from agno.db.sqlite import SqliteDb\n"
        f"kept = Agent(model=FakeModel(), db=SqliteDb(db_file={str(elsewhere)!r}), "
        "telemetry=False)\nbare = Agent(model=FakeModel(), telemetry=False)",
    )
    with capture_output() as cap:
        run(shell, f"%agno_storage {line(agno3_place)}")
    card = text_of(cap)
    assert "kept (SqliteDb) keep their own db (--attach moves them)" in card
    assert Path(shell.user_ns["kept"].db.db_file) == elsewhere
    assert_on(shell.user_ns["bare"].db, agno3_place)

    with capture_output() as cap:
        run(shell, "%agno_storage --attach kept")
    assert "moved agno kept here (from SqliteDb)" in text_of(cap)
    assert shell.user_ns["kept"].db is shell.user_ns["bare"].db


def test_async_gives_agnos_async_db(shell: Any, agno3_place: Agno3Place) -> None:
    if agno3_place.backend == "postgres":
        pytest.importorskip("psycopg")
    run(shell, "a = Agent(model=FakeModel(), id=AGENT_ID, telemetry=False)")
    run(shell, f"%agno_storage {line(agno3_place, '--async')}")
    expected = "AsyncSqliteDb" if agno3_place.backend == "sqlite" else "AsyncPostgresDb"
    assert type(shell.user_ns["a"].db).__name__ == expected
    run(shell, "b = Agent(model=FakeModel(), telemetry=False)")
    assert shell.user_ns["b"].db is shell.user_ns["a"].db
    run(shell, "out = await a.arun('hello async', session_id='s-async')")
    assert shell.user_ns["out"].content == "echo: hello async"
    assert list(run(shell, "%agno_sessions")["session_id"]) == ["s-async"]


def test_duckdb_with_agno_agents_is_one_line(shell: Any, tmp_path: Path) -> None:
    run(shell, "a = Agent(model=FakeModel(), telemetry=False)")
    with pytest.raises(UsageError) as caught:
        shell.run_line_magic("agno_storage", f"duckdb {tmp_path / 'x.duckdb'}")
    message = str(caught.value)
    assert "\n" not in message
    assert "agno has no DuckDB db" in message and "%agno_storage sqlite PATH" in message


def test_team_run_shows_member_runs_nested(shell: Any, agno3_place: Agno3Place) -> None:
    run(shell, f"%agno_storage {line(agno3_place, '--mode team')}")
    run(
        shell,
        "member = Agent(model=FakeModel(), id=AGENT_ID, name='calc', tools=[add], "
        "telemetry=False)\nteam = Team(members=[member], model=FakeModel(), id='t1', "
        "name='Desk', telemetry=False)",
    )
    assert shell.user_ns["team"].db is not None
    run(shell, f"out = team.run('{DELEGATE_PREFIX} add 4 5', session_id='s-team')")
    from agno_nb.render import session_html

    storage = agno3_place.storage(mode="team")
    try:
        html_text = session_html(storage.read("s-team"))
    finally:
        storage.close()
    # the member's run (stored first, with parent_run_id) sits inside the team's run
    team_at = html_text.index("<strong>Desk</strong>")
    member_at = html_text.index('<div class="agno-nb-member">')
    assert team_at < member_at
    assert "tool call: delegate_task_to_member" in html_text[:member_at]
    assert "tool call: add" in html_text[member_at:]
    assert html_text.count('class="agno-nb-run"') == 2
    # the session's first question is the team's, not its member's task
    frame = run(shell, "%agno_sessions")
    assert list(frame["preview"]) == [f"{DELEGATE_PREFIX} add 4 5"]


def test_workflow_made_later_gets_the_db_and_shows_its_steps(
    shell: Any, agno3_place: Agno3Place
) -> None:
    run(shell, f"%agno_storage {line(agno3_place, '--mode workflow')}")
    run(
        shell,
        "from agno.workflow import Step, Workflow\n"
        "calc = Agent(model=FakeModel(), name='calc', tools=[add], telemetry=False)\n"
        "echo = Agent(model=FakeModel(), name='echoer', telemetry=False)\n"
        "flow = Workflow(name='pipeline', steps=[Step(name='compute', agent=calc), "
        "Step(name='report', agent=echo)], telemetry=False)",
    )
    assert_on(shell.user_ns["flow"].db, agno3_place)
    run(shell, "out = flow.run('add 2 3', session_id='wf-1')")
    assert shell.user_ns["out"].content == "echo: The tool said: 5"
    shown = run(shell, "%agno_history wf-1 --static")._repr_html_()
    assert "workflow steps" in shown
    steps = shown[shown.index("workflow steps") :]
    assert steps.index("compute") < steps.index("report")
    assert "agent calc" in steps and "The tool said: 5" in steps and "30 tokens" in steps


def test_open_browser_shows_new_runs_after_the_cell(shell: Any, agno3_place: Agno3Place) -> None:
    """Live history: no Refresh click between the cell that ran the agent and the browser."""
    run(shell, "a = Agent(model=FakeModel(), id=AGENT_ID, tools=[add], telemetry=False)")
    run(shell, f"%agno_storage {line(agno3_place)}")
    run(shell, "a.run('first question', session_id='s1');")
    browser = run(shell, "browser = %agno_history\nbrowser")
    assert browser.selected == "s1" and browser.history.total_runs == 1

    run(shell, "a.run('add 20 22', session_id='s1');")  # same session, one more run
    assert browser.history.total_runs == 2
    assert "The tool said: 42" in browser.snapshot_html()

    time.sleep(1.1)  # agno stamps whole seconds: make s2 the newer session
    run(shell, "a.run('a new session', session_id='s2');")  # a newer session: followed
    assert browser.total == 2 and browser.selected == "s2"
    assert "echo: a new session" in browser.snapshot_html()

    browser.select("s1")  # a click pins the selection
    time.sleep(1.1)
    run(shell, "a.run('third', session_id='s3');")
    assert browser.total == 3 and browser.selected == "s1"

    before = browser.snapshot_html()
    run(shell, "x = 1")  # nothing written: nothing re-shown
    assert browser.snapshot_html() == before


def test_agno_chat_renders_an_agno_agents_answer(shell: Any, agno3_place: Agno3Place) -> None:
    run(shell, f"%agno_storage {line(agno3_place)}")
    run(shell, "calc = Agent(model=FakeModel(), id=AGENT_ID, tools=[add], telemetry=False)")
    with capture_output() as cap:
        run(shell, "%%agno_chat calc\nadd 1 2")
    html_parts = [o.data.get("text/html", "") for o in cap.outputs]
    shown = "".join(html_parts)
    assert "The tool said: 3" in shown and "tool call: add" in shown
    with capture_output() as cap:
        run(shell, f"%%agno_chat calc\n{HOSTILE_HTML}")
    shown = "".join(o.data.get("text/html", "") for o in cap.outputs)
    assert "&lt;script&gt;" in shown and "<script>alert" not in shown
    assert shell.user_ns["calc"].db is not None
    assert len(run(shell, "%agno_sessions")) == 1


def test_trace_spans_show_as_a_timeline(shell: Any, agno3_place: Agno3Place) -> None:
    """agno_traces/agno_spans (tables made by agno's own DDL) show under their run."""
    import sqlalchemy as sa

    run(shell, "a = Agent(model=FakeModel(), id=AGENT_ID, tools=[add], telemetry=False)")
    run(shell, f"%agno_storage {line(agno3_place)}")
    out = run(shell, "a.run('add 1 1', session_id='s-traced')")
    db = shell.user_ns["a"].db
    traces = db._get_table("traces", create_table_if_not_found=True)
    spans = db._get_table("spans", create_table_if_not_found=True)
    t0 = "2026-01-01T00:00:00.000000+00:00"
    rows = [
        ("sp-root", None, "Agent.run", t0, 200),
        ("sp-tool", "sp-root", "add <x>", "2026-01-01T00:00:00.050000+00:00", 20),
    ]
    with db.db_engine.begin() as conn:
        conn.execute(
            sa.insert(traces).values(
                trace_id="tr1", name="Agent.run", status="OK", start_time=t0, end_time=t0,
                duration_ms=200, run_id=out.run_id, session_id="s-traced", created_at=t0,
            )
        )  # fmt: skip
        for span_id, parent, name, start, ms in rows:
            conn.execute(
                sa.insert(spans).values(
                    span_id=span_id, trace_id="tr1", parent_span_id=parent, name=name,
                    span_kind="INTERNAL", status_code="OK", start_time=start, end_time=start,
                    duration_ms=ms, attributes={}, created_at=start,
                )
            )  # fmt: skip
    shown = run(shell, "%agno_history s-traced --static")._repr_html_()
    assert "trace: 2 spans, 200 ms" in shown
    assert "add &lt;x&gt;" in shown
    assert re.search(r"left:25\.00%;width:10\.00%", shown)  # 50 ms in, 20 of 200 ms


def test_agno_1x_bridge_is_not_used_for_agno3(shell: Any, agno3_place: Agno3Place) -> None:
    """Today's failure: an agno 3 Agent in the namespace broke %agno_storage."""
    from agno_nb.attachments import agents_in

    run(shell, "a = Agent(model=FakeModel(), telemetry=False)")
    assert agents_in(shell.user_ns) == []  # not an agno 1.x Agent
    run(shell, f"%agno_storage {line(agno3_place)}")
    assert type(shell.user_ns["a"].db).__module__.startswith("agno.db.")


def test_fake_model_is_offline() -> None:
    """The fixtures' model makes the tool call without any network."""
    from agno.agent import Agent

    agent = Agent(model=fake_model_class()(), id=AGENT_ID, tools=[add], telemetry=False)
    assert agent.run("add 2 2").content == "The tool said: 4"
