"""Widgets on a real storage: filters, paging, buttons, snapshots, exports."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from agno_nb.export import few_shot_example, few_shot_examples
from agno_nb.schema import LATEST_VERSION
from agno_nb.sessions import AgentSession
from agno_nb.widgets import SessionBrowser, SessionHistory, UpgradePanel

BASE_TIME = 1_700_000_000
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(1)>"


def assert_safe(html_text: str) -> None:
    """No hostile tag or event handler appears as markup."""
    assert not re.search(r"<\s*(script|img|iframe|svg)", html_text, re.I), html_text
    for tag in re.findall(r"<[^>]*>", html_text):
        assert not re.search(r"\bon\w+\s*=", tag, re.I), tag


def make_run(question: str, answer: str, *, run_id: str, history: int = 0) -> dict[str, Any]:
    old = [
        {"role": "user", "content": f"old question {i}", "from_history": True}
        for i in range(history)
    ]
    return {
        "run_id": run_id,
        "created_at": BASE_TIME,
        "metrics": {"input_tokens": [3], "output_tokens": [4], "total_tokens": [7]},
        "messages": [
            {"role": "system", "content": "Be brief."},
            *old,
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ],
    }


def add_session(
    storage: Any,
    session_id: str,
    *,
    index: int,
    user: str = "alice",
    agent: str = "agent-1",
    runs: int = 1,
    name: str | None = None,
    question: str = "question",
) -> None:
    session = AgentSession(
        session_id=session_id,
        user_id=user,
        agent_id=agent,
        memory={
            "runs": [
                make_run(f"{question} {i}", f"answer {i}", run_id=f"{session_id}-r{i}")
                for i in range(runs)
            ]
        },
        session_data={"session_name": name} if name else None,
        created_at=BASE_TIME + index * 60,
    )
    storage.upsert(session)


@pytest.fixture
def filled(storage: Any) -> Any:
    """25 sessions: s00 oldest ... s24 newest; odd ones are bob's, every 5th agent-2's."""
    for i in range(25):
        add_session(
            storage,
            f"s{i:02d}",
            index=i,
            user="bob" if i % 2 else "alice",
            agent="agent-2" if i % 5 == 0 else "agent-1",
            runs=2,
            question=f"topic{i}",
        )
    return storage


# -- SessionBrowser ---------------------------------------------------------------------


def test_browser_pages_newest_first(filled: Any) -> None:
    browser = SessionBrowser(filled, page_size=10)
    assert browser.total == 25
    assert [s.session_id for s in browser.summaries][:2] == ["s24", "s23"]
    assert "sessions 1-10 of 25" in browser.position.value
    assert browser.prev_button.disabled and not browser.next_button.disabled
    assert browser.selected == "s24"
    assert browser.history is not None and browser.history.session_id == "s24"

    browser.next_button.click()
    assert browser.page == 1
    assert browser.summaries[0].session_id == "s14"
    browser.next_button.click()
    assert [s.session_id for s in browser.summaries] == ["s04", "s03", "s02", "s01", "s00"]
    assert browser.next_button.disabled
    assert "sessions 21-25 of 25" in browser.snapshot_html()
    browser.prev_button.click()
    assert browser.page == 1


def test_browser_filters_reset_paging(filled: Any) -> None:
    browser = SessionBrowser(filled, page_size=5)
    browser.next_button.click()
    browser.user_filter.value = "bob"
    assert browser.page == 0
    assert browser.total == 12
    assert {s.user_id for s in browser.summaries} == {"bob"}
    browser.entity_filter.value = "agent-2"
    assert [s.session_id for s in browser.summaries] == ["s15", "s05"]
    browser.user_filter.value = ""
    browser.entity_filter.value = ""
    browser.search_box.value = "TOPIC17"
    assert [s.session_id for s in browser.summaries] == ["s17"]
    assert "filters: search = TOPIC17" in browser.snapshot_html()
    browser.search_box.value = "no such thing"
    assert browser.total == 0 and browser.selected is None and browser.history is None
    assert "no sessions" in browser.snapshot_html()


def test_browser_initial_user_filter_and_selection(filled: Any) -> None:
    browser = SessionBrowser(filled, user_id="bob", session_id="s01", page_size=3)
    assert browser.user_filter.value == "bob"
    # s01 is bob's oldest session: the browser opens on the page that holds it, selected.
    assert browser.page == 3 and browser.page_count == 4
    assert [s.session_id for s in browser.summaries] == ["s05", "s03", "s01"]
    assert browser.selected == "s01" and browser.session_list.value == "s01"
    assert browser.history is not None and "topic1 0" in browser.history.snapshot_html()
    assert '<tr class="agno-nb-selected"><td title="s01"><code>s01</code>' in browser.list_html
    # Selecting a row (a click or an arrow key in the list) shows its transcript.
    browser.session_list.value = "s03"
    assert browser.history is not None and browser.history.session_id == "s03"
    assert '<tr class="agno-nb-selected"><td title="s03"><code>s03</code>' in browser.list_html
    transcript = browser.history.snapshot_html()
    assert "topic3 0" in transcript and "topic1 0" not in transcript
    # with a search filter the page is found too
    found = SessionBrowser(filled, search="topic", session_id="s10", page_size=4)
    assert found.page == 3 and found.session_list.value == "s10"
    # a session the filters exclude: page 1, nothing listed is highlighted, its transcript shows
    other = SessionBrowser(filled, user_id="bob", session_id="s02", page_size=3)
    assert other.page == 0 and other.session_list.value is None
    assert other.history is not None and other.history.session_id == "s02"


def test_browser_list_is_one_calm_line_per_session(filled: Any) -> None:
    add_session(
        filled, "0f3c2a9e-5b7d-4c1e-9a8b-1234567890ab", index=30, user="carol", name="A " * 40
    )
    browser = SessionBrowser(filled, page_size=5)
    first = browser.session_list.rows[0]
    assert first["id"] == "0f3c2a9e-5b7d-4c1e-9a8b-1234567890ab"
    assert first["title"] == "A " * 39 + "A" and first["user"] == "carol"
    assert first["runs"] == "1" and first["when"] == "just now"
    assert first["when_title"].endswith(" UTC") and first["id"] in first["hover"]
    assert browser.session_list.ids == [s.session_id for s in browser.summaries]
    lines = browser.session_list.lines()
    assert lines[0].startswith("A A A") and "…" in lines[0] and "0f3c2a9e" not in lines[0]
    assert len({line.rindex(" run") for line in lines}) == 1  # aligned columns
    with pytest.raises(Exception, match="no session 'nope' in the list"):
        browser.session_list.value = "nope"
    # the snapshot shows a short id with the full one a hover away
    assert '<td title="0f3c2a9e-5b7d-4c1e-9a8b-1234567890ab"><code>0f3c2a9e…</code>' in (
        browser.snapshot_html()
    )
    assert "<th>error</th>" not in browser.snapshot_html()
    # pagers point the same way in the list and in the transcript: newer left, older right
    assert browser.history is not None
    toolbar = [c.description for c in browser.history.children[0].children[:2]]
    assert toolbar == ["◀ Newer runs", "Older runs ▶"]
    assert [browser.prev_button.description, browser.next_button.description] == [
        "◀ Newer",
        "Older ▶",
    ]
    # the export file box shows the whole default file name
    assert browser.export_path.value == "agno_sessions.jsonl"
    assert browser.export_path.layout.width == "340px"


def test_browser_rename(filled: Any) -> None:
    browser = SessionBrowser(filled, page_size=5)
    browser.session_list.value = "s22"
    browser.rename_text.value = "Quarterly <b>review</b>"
    browser.rename_button.click()
    [summary] = [s for s in filled.list_sessions(limit=5) if s.session_id == "s22"]
    assert summary.session_name == "Quarterly <b>review</b>"
    assert "Quarterly &lt;b&gt;review&lt;/b&gt;" in browser.list_html
    [row] = [r for r in browser.session_list.rows if r["id"] == "s22"]
    assert row["title"] == "Quarterly <b>review</b>"  # set as text by the list, never markup
    assert "renamed s22" in browser.status.value
    browser.rename_button.click()  # empty name: an error line, nothing renamed
    assert "type a new name first" in browser.status.value
    assert "agno-nb-error" in browser.status.value


def test_browser_delete_needs_confirmation(filled: Any) -> None:
    browser = SessionBrowser(filled, page_size=5)
    browser.session_list.value = "s23"
    browser.delete_button.click()
    assert browser.confirming
    assert "s23" in browser.confirm_label.value and "2 runs" in browser.confirm_label.value
    assert filled.count_sessions() == 25
    browser.cancel_delete_button.click()
    assert not browser.confirming
    browser.confirm_delete_button.click()  # not asked: refused
    assert filled.count_sessions() == 25
    assert "click Delete" in browser.status.value

    browser.delete_button.click()
    browser.confirm_delete_button.click()
    assert filled.count_sessions() == 24
    assert filled.read("s23") is None
    assert "s23" not in [s.session_id for s in browser.summaries]
    assert browser.total == 24
    assert "deleted session s23" in browser.status.value


def test_browser_export_session_and_filtered(filled: Any, tmp_path: Path) -> None:
    browser = SessionBrowser(filled, page_size=5)
    target = tmp_path / "out" / "one.jsonl"
    browser.export_path.value = str(target)
    browser.session_list.value = "s20"
    browser.export_session_button.click()
    lines = [json.loads(x) for x in target.read_text().splitlines()]
    assert len(lines) == 2
    assert lines[0]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "topic20 0"},
        {"role": "assistant", "content": "answer 0"},
    ]
    assert "wrote 2 examples of s20" in browser.status.value

    browser.user_filter.value = "bob"
    browser.export_path.value = str(tmp_path / "bob.jsonl")
    browser.export_filtered_button.click()
    bob = [json.loads(x) for x in (tmp_path / "bob.jsonl").read_text().splitlines()]
    assert len(bob) == 12 * 2
    assert all(e["messages"][1]["content"].startswith("topic") for e in bob)
    assert "wrote 24 examples of 12 sessions" in browser.status.value


def test_widget_mimebundle_has_deterministic_html(filled: Any) -> None:
    one = SessionBrowser(filled, page_size=5)
    two = SessionBrowser(filled, page_size=5)
    bundle = one._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/html"] == two._repr_mimebundle_()["text/html"]
    assert "topic24 1" in bundle["text/html"]
    assert bundle["text/plain"].startswith("SessionBrowser(")
    assert bundle["text/html"].count("<style>") == 1
    history = SessionHistory(filled, "s03")
    h_bundle = history._repr_mimebundle_()
    assert h_bundle["text/html"] == SessionHistory(filled, "s03").snapshot_html()
    assert "application/vnd.jupyter.widget-view+json" in h_bundle


# -- SessionHistory ---------------------------------------------------------------------


def test_history_pages_from_newest_backwards(storage: Any) -> None:
    add_session(storage, "long", index=0, runs=7, name="Long chat")
    history = SessionHistory(storage, "long", page_size=3)
    assert history.total_runs == 7 and history.page_count == 3
    assert "runs 5-7 of 7" in history.position.value
    html = history.transcript.value
    assert html.index("question 4") < html.index("question 6")  # oldest first on a page
    assert "question 3" not in html
    assert "run #5" in html and "Long chat" in html
    assert history.newer_button.disabled and not history.older_button.disabled

    history.older_button.click()
    assert "runs 2-4 of 7" in history.position.value
    history.older_button.click()
    assert "runs 1-1 of 7" in history.position.value
    assert "question 0" in history.transcript.value
    assert history.older_button.disabled
    history.newer_button.click()
    assert history.page == 1


def test_history_shows_tools_metrics_and_history_once(storage: Any) -> None:
    run = make_run("second question", "second answer", run_id="r2", history=2)
    run["messages"].insert(
        -1,
        {
            "role": "assistant",
            "tool_calls": [{"id": "c1", "function": {"name": "lookup", "arguments": '{"q": 1}'}}],
        },
    )
    run["messages"].insert(-1, {"role": "tool", "tool_call_id": "c1", "content": "found it"})
    session = AgentSession(session_id="t", memory={"runs": [run]}, created_at=BASE_TIME)
    storage.upsert(session)
    html = SessionHistory(storage, "t").snapshot_html()
    assert "tool call: lookup" in html and "found it" in html and "&quot;q&quot;: 1" in html
    assert "2 messages from history" in html
    assert html.count("old question 0") == 1
    assert "in 3 · out 4 · total 7 tokens" in html
    assert "<code>r2</code>" in html


def test_history_unknown_session(storage: Any) -> None:
    from agno_nb.errors import SessionNotFoundError

    add_session(storage, "exists", index=0)
    with pytest.raises(SessionNotFoundError):
        SessionHistory(storage, "missing")


def test_hostile_content_escaped_in_widgets(storage: Any) -> None:
    session = AgentSession(
        session_id="evil",
        user_id=HOSTILE,
        agent_id=HOSTILE,
        memory={"runs": [make_run(HOSTILE, "**" + HOSTILE + "**", run_id=HOSTILE)]},
        session_data={"session_name": HOSTILE},
        created_at=BASE_TIME,
    )
    storage.upsert(session)
    browser = SessionBrowser(storage)
    panel = UpgradePanel(storage)
    assert browser.history is not None
    views = [
        browser.snapshot_html(),
        browser.list_html,
        browser.history.transcript.value,
        panel.snapshot_html(),
    ]
    browser.delete_button.click()
    views.append(browser.confirm_label.value)
    for html in views:
        assert_safe(html)
    assert "&lt;script&gt;" in views[0]


# -- UpgradePanel -----------------------------------------------------------------------


def test_upgrade_panel_upgrades_with_progress(make_storage: Callable[..., Any]) -> None:
    old = make_storage("legacy", schema_version=1)
    for i in range(3):
        add_session(old, f"u{i}", index=i, runs=2)
    panel = UpgradePanel(old)
    assert "upgrade available" in panel.versions.value
    assert f"layout v1 → latest v{LATEST_VERSION}" in panel.plan_view.value
    assert not panel.upgrade_button.disabled
    snapshot = panel.snapshot_html()
    assert snapshot == UpgradePanel(old).snapshot_html()

    panel.upgrade_button.click()
    assert old.current_version == LATEST_VERSION
    assert panel.result is not None and panel.result.applied
    assert panel.result.sessions_migrated == 3
    assert panel.progress.value == panel.progress.max
    assert "3 sessions migrated, 6 runs moved" in panel.result_view.value
    assert "up to date" in panel.versions.value
    assert panel.upgrade_button.disabled
    assert old.count_runs("u1") == 2 and old.get_runs("u1")[1]["run_id"] == "u1-r1"
    assert "3 sessions migrated" in panel._repr_mimebundle_()["text/html"]


def test_upgrade_panel_on_latest_and_missing_tables(storage: Any) -> None:
    panel = UpgradePanel(storage)
    assert "table missing" in panel.versions.value and panel.upgrade_button.disabled
    add_session(storage, "x", index=0)
    panel.refresh_button.click()
    assert "up to date" in panel.versions.value and panel.upgrade_button.disabled
    panel.upgrade()
    assert "nothing to upgrade" in panel.status.value


# -- corrupt rows (only SQLite can hold invalid JSON; DuckDB and Postgres refuse it) -----


def test_corrupt_row_shows_as_error_line(tmp_path: Path) -> None:
    from agno_nb.storage import SqliteStorage

    storage = SqliteStorage("legacy", db_file=str(tmp_path / "c.db"), schema_version=1)
    for i in range(3):
        add_session(storage, f"c{i}", index=i)
    with storage.db_engine.begin() as conn:
        conn.execute(sa.text("UPDATE legacy SET memory = '{broken' WHERE session_id = 'c1'"))
    browser = SessionBrowser(storage)
    assert [s.session_id for s in browser.summaries] == ["c2", "c1", "c0"]
    assert "<th>error</th>" in browser.list_html
    assert browser.session_list.rows[1]["title"] == "⚠ cannot read session c1"
    assert "corrupt JSON" in browser.session_list.rows[1]["hover"]
    assert browser.selected == "c2"
    browser.session_list.value = "c1"
    assert browser.history is None
    assert "cannot be shown" in browser.status.value
    browser.session_list.value = "c0"
    assert browser.history is not None and "question 0" in browser.history.snapshot_html()
    storage.close()


def test_corrupt_run_shows_in_status(tmp_path: Path) -> None:
    from agno_nb.storage import SqliteStorage

    storage = SqliteStorage("t", db_file=str(tmp_path / "r.db"))
    add_session(storage, "good", index=1)
    add_session(storage, "bad", index=0)
    with storage.db_engine.begin() as conn:
        conn.execute(sa.text("UPDATE t_runs SET run = '{broken' WHERE session_id = 'bad'"))
    browser = SessionBrowser(storage)
    browser.session_list.value = "bad"
    assert "corrupt JSON" in browser.status.value and "bad" in browser.status.value
    browser.session_list.value = "good"
    assert browser.history is not None and browser.history.session_id == "good"
    storage.close()


# -- 100,000 sessions: one page fetched -------------------------------------------------

BIG = 100_000


@pytest.fixture(scope="module")
def big_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file with 100,000 sessions (bulk-inserted) and one long session."""
    from agno_nb.storage import SqliteStorage

    path = str(tmp_path_factory.mktemp("big") / "big.db")
    storage = SqliteStorage("agent_sessions", db_file=path)
    storage.create()
    rows = [
        {
            "sid": f"big{i:06d}",
            "user": f"user{i % 100}",
            "agent": "agent-1",
            "created": BASE_TIME + i,
            "ms": (BASE_TIME + i) * 1000,
            "preview": f"question number {i}",
        }
        for i in range(BIG)
    ]
    insert = sa.text(
        "INSERT INTO agent_sessions (session_id, user_id, agent_id, memory, session_data, "
        "created_at, updated_at, session_name, run_count, message_count, preview, created_ms, "
        "active_ms) VALUES (:sid, :user, :agent, '{}', '{}', :created, :created, NULL, 0, 0, "
        ":preview, :ms, :ms)"
    )
    with storage.db_engine.begin() as conn:
        conn.execute(insert, rows)
    newest = f"big{BIG - 1:06d}"
    for i in range(120):
        storage.append_run(newest, make_run(f"q{i}", f"a{i}", run_id=f"r{i}"))
    storage.close()
    return path


def test_browser_pages_100k_sessions_one_page_at_a_time(big_db: str) -> None:
    from agno_nb.storage import SqliteStorage

    storage = SqliteStorage("agent_sessions", db_file=big_db)
    browser = SessionBrowser(storage, page_size=20, history_page_size=50)
    assert browser.total == BIG
    assert browser.summaries[0].session_id == f"big{BIG - 1:06d}"
    assert browser.history is not None and browser.history.total_runs == 120
    assert "runs 71-120 of 120" in browser.history.position.value
    # one page of summaries and one page of the newest session's runs
    assert storage.stats.rows <= 20 + 50 + 5, storage.stats.rows
    before = storage.stats.rows
    browser.next_button.click()
    assert browser.summaries[0].session_id == f"big{BIG - 21:06d}"
    assert storage.stats.rows - before <= 20 + 50 + 5
    browser.go_to(10_000)  # clamped to the last page
    assert browser.page == BIG // 20 - 1
    assert browser.summaries[-1].session_id == "big000000"
    browser.user_filter.value = "user7"
    assert browser.total == BIG // 100
    assert storage.stats.rows < 1000
    storage.close()


# -- few-shot export (pure) -------------------------------------------------------------


def test_few_shot_example_keeps_tools_and_drops_history() -> None:
    run = make_run("q", "a", run_id="r", history=2)
    run["messages"].insert(
        -1,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": {"x": 1}}}],
        },
    )
    run["messages"].insert(
        -1, {"role": "tool", "tool_call_id": "c", "tool_name": "f", "content": "42"}
    )
    example = few_shot_example(run)
    assert example is not None
    roles = [m["role"] for m in example["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant"]
    call = example["messages"][2]
    assert call["content"] is None
    assert call["tool_calls"] == [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}
    ]
    assert example["messages"][3] == {
        "role": "tool",
        "content": "42",
        "tool_call_id": "c",
        "name": "f",
    }
    no_system = few_shot_example(run, system=False)
    assert no_system is not None and no_system["messages"][0]["role"] == "user"
    # a run without an assistant turn is no example; content-only runs are
    assert few_shot_examples([{"messages": [{"role": "user", "content": "hi"}]}]) == []
    only_content = few_shot_example(
        {"messages": [{"role": "user", "content": "hi"}], "content": {"k": 1}}
    )
    assert only_content is not None
    assert only_content["messages"][-1] == {"role": "assistant", "content": '{"k": 1}'}


def test_a_live_browser_follows_a_newer_session_but_not_an_evaluation_one(
    make_storage: Any,
) -> None:
    """poll() after a cell: a browser opened without a session id selects a newer
    session that appeared, but not one of compare()'s evaluation sessions, and a
    browser the user labelled in stays where it is."""
    from tests.session_factory import make_session

    storage = make_storage()
    storage.upsert(make_session("first"))
    browser = SessionBrowser(storage)
    assert browser.selected == "first"
    assert browser.poll() is False  # nothing changed: nothing re-shown

    storage.upsert(make_session("second"))
    assert browser.poll() is True
    assert browser.selected == "second"

    evaluation = make_session("eval-1")
    evaluation.session_data = {**(evaluation.session_data or {}), "session_name": "[eval] v1 #1"}
    storage.upsert(evaluation)
    storage.rename_session("eval-1", "[eval] v1 #1: a prompt")
    assert browser.poll() is True
    assert browser.selected == "second"

    browser.on_label()  # a run was labelled in this browser: it stops following
    storage.upsert(make_session("third"))
    browser.poll()
    assert browser.selected == "second"
