"""Search matches what a person reads (issue 14, item 9), on every backend and layout,
and a session is looked up by its key (item 10)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from agno_nb.errors import InvalidArgumentError
from agno_nb.schema import LATEST_VERSION
from agno_nb.sessions import AgentSession
from tests.session_factory import make_run, make_session

#: agno 1.x's table (searched in Python), agno_nb's v3 (Python, runs table) and the latest
LAYOUTS = (1, 3, LATEST_VERSION)


def chat(sid: str, *texts: str, name: str | None = None, user: str = "alice") -> AgentSession:
    """A session with one run per text: the user says the text, the assistant 'ok'."""
    runs = []
    for i, text in enumerate(texts):
        run = make_run(i, question=text)
        run["messages"][-1]["content"] = "ok"
        run["extra"] = None  # a null anywhere makes the JSON encoder escape non-ASCII
        runs.append(run)
    session = make_session(sid, runs=0, user=user, name=name, created_at=1_000 + len(sid))
    session.memory = {"runs": runs}
    return session


def found(storage: Any, search: str, **kw: Any) -> list[str]:
    ids = [s.session_id for s in storage.list_sessions(search=search, limit=None, **kw)]
    assert storage.count_sessions(search=search, **kw) == len(ids)
    return sorted(ids)


@pytest.fixture(params=LAYOUTS, ids=lambda v: f"v{v}")
def searchable(make_storage: Any, request: pytest.FixtureRequest) -> Any:
    storage = make_storage(schema_version=request.param)
    storage.create()
    assert storage.current_version == request.param
    storage.upsert_many(
        [
            chat("quote", 'please say "yes" now'),
            chat("path", "open C:\\temp\\new.txt", "line one\nline two\tend"),
            chat("zurich", "Trip to Zürich 🚀 tomorrow"),
            chat("ecole", "Where is the École?", name="Straße talk"),
            chat("plain", "nothing special"),
        ]
    )
    return storage


def test_search_matches_the_text_people_read(searchable: Any) -> None:
    storage = searchable
    assert found(storage, 'say "yes"') == ["quote"]
    assert found(storage, "C:\\temp\\new") == ["path"]
    assert found(storage, "one\nline two\tend") == ["path"]
    assert found(storage, "zürich 🚀") == ["zurich"]
    assert found(storage, "ZÜRICH") == ["zurich"]
    assert found(storage, "école") == ["ecole"]
    assert found(storage, "ÉCOLE") == ["ecole"]
    assert found(storage, "STRASSE") == ["ecole"]  # full case folding, the name included
    assert found(storage, "role") == []  # JSON keys are not text anyone reads
    assert found(storage, "null") == []
    assert found(storage, "session_name") == []
    assert found(storage, "now\x1fok") == []  # never across two messages
    assert found(storage, "zurich") == ["zurich"]  # the session's id
    assert found(storage, "run-1") == ["path"]  # a run's id
    assert found(storage, "100%_") == []  # LIKE wildcards are plain characters
    assert (
        found(storage, "   ")
        == found(storage, "")
        == sorted(["quote", "path", "zurich", "ecole", "plain"])
    )


def test_search_takes_a_very_long_query(searchable: Any) -> None:
    long = "x" * 50_000
    assert found(searchable, long) == []
    searchable.rename_session("plain", long)
    assert found(searchable, long) == ["plain"]


@pytest.mark.parametrize("window", [None, 1, 5])
def test_search_pages_newest_first(
    make_storage: Any, window: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agno_nb.storage.layouts import rows

    if window is not None:  # pages found among the newest sessions, or not
        monkeypatch.setattr(rows, "SEARCH_WINDOW", window)
    storage = make_storage()
    for i in range(30):
        session = chat(f"s{i:02d}", f"topic {'blue' if i % 3 else 'red'} {i}")
        session.created_at = 10_000 + i
        storage.upsert(session)
    blue = [f"s{i:02d}" for i in reversed(range(30)) if i % 3]
    red = [f"s{i:02d}" for i in reversed(range(30)) if not i % 3]
    for term, expected in (("BLUE", blue), ("red", red), ("red 3", ["s03"])):
        for limit, offset in ((3, 0), (3, 3), (1, 9), (50, 0), (5, 18)):
            page = storage.list_sessions(search=term, limit=limit, offset=offset)
            assert [s.session_id for s in page] == expected[offset : offset + limit]
    assert storage.count_sessions(search="blue") == len(blue) == 20


def test_search_follows_every_write(make_storage: Any, backend: str) -> None:
    storage = make_storage()
    storage.upsert(chat("w1", "first words"))
    assert found(storage, "first") == ["w1"]
    storage.append_run("w1", make_run(5, question="Ünïcode later"))
    assert found(storage, "ünïcode") == ["w1"]
    storage.append_run("w1", make_run(6), session_data={"session_name": "Renamed Été"})
    assert found(storage, "renamed été") == ["w1"]
    storage.rename_session("w1", "Final Name")
    assert found(storage, "final name") == ["w1"]
    assert found(storage, "renamed") == []
    storage.upsert(chat("w1", "replaced text"))
    assert found(storage, "first") == [] and found(storage, "replaced") == ["w1"]
    storage.upsert_many([chat("w2", "batch one"), chat("w3", "batch two")])
    assert found(storage, "batch") == ["w2", "w3"]
    storage.delete_session("w2")
    assert found(storage, "batch") == ["w3"]


def test_upgrade_fills_search_text(make_storage: Any) -> None:
    old = make_storage(schema_version=1)
    old.upsert_many([chat("u1", "Grüße aus Köln"), chat("u2", "other", name="Ça va")])
    assert found(old, "GRÜSSE") == ["u1"]  # agno's layout: decoded and searched in Python
    old.upgrade_schema()
    assert old.current_version == LATEST_VERSION
    assert found(old, "GRÜSSE") == ["u1"] and found(old, "ça va") == ["u2"]
    assert found(old, "u2") == ["u2"]


def test_search_filters_by_user(searchable: Any) -> None:
    searchable.upsert(chat("bob1", "say yes please", user="bob"))
    assert found(searchable, "say", user_id="bob") == ["bob1"]
    assert found(searchable, "say", user_id="alice") == ["quote"]


def test_fold_is_the_same_everywhere() -> None:
    from agno_nb.summary import fold, run_text, session_text

    assert fold("École STRASSE ﬁ") == fold("école straße fi") == "école strasse fi"
    assert "\x1f" not in fold("a\x1fb") and "\0" not in fold("a\0b")
    text = session_text("S1", "Name", [make_run(0)])
    assert "question 0" in text and "role" not in text and "s1" in text
    assert run_text(None) == "" and run_text({"message": {"content": "Hi"}}) == "hi"


# -- lookup by key (item 10) ----------------------------------------------------------


@pytest.mark.parametrize("version", [1, LATEST_VERSION])
def test_get_summary_looks_up_by_key(make_storage: Any, version: int) -> None:
    storage = make_storage(schema_version=version)
    storage.upsert(make_session("target", runs=2, user="alice", created_at=100, name="T"))
    # 25 newer sessions whose text holds the target's id: a search would find them first
    for i in range(25):
        storage.upsert(chat(f"other{i:02d}", "about target", user="bob", name=f"target {i}"))
    summary = storage.get_summary("target")
    assert summary is not None
    assert (summary.session_id, summary.run_count, summary.session_name) == ("target", 2, "T")
    assert storage.get_summary("target", user_id="alice") is not None
    assert storage.get_summary("target", user_id="bob") is None  # another user's
    assert storage.get_summary("missing") is None
    from agno_nb.widgets.session_history import find_summary

    assert find_summary(storage, "target", user_id="bob") is None  # %agno_history --user
    assert find_summary(storage, "target", user_id="alice").session_id == "target"


# -- bulk reads page by page (item 15) ------------------------------------------------


@pytest.mark.parametrize("version", [1, LATEST_VERSION])
def test_iter_sessions_reads_a_page_at_a_time(make_storage: Any, version: int) -> None:
    storage = make_storage(schema_version=version)
    storage.upsert_many(make_session(f"p{i:02d}", runs=2, created_at=500 + i) for i in range(20))
    before = storage.stats.rows
    sessions = storage.iter_sessions(page_size=2)
    first = next(sessions)
    # the 20 ids, then 2 sessions (and their 4 runs on the runs-table layout): not all 20
    assert storage.stats.rows - before <= 20 + 2 + 4
    rest = list(sessions)
    assert [s.session_id for s in [first, *rest]] == [f"p{i:02d}" for i in reversed(range(20))]
    assert [s.session_id for s in storage.get_all_sessions()] == [first.session_id] + [
        s.session_id for s in rest
    ]
    assert [s.session_id for s in storage.iter_sessions(limit=3)] == ["p19", "p18", "p17"]
    assert all(len(s.run_dicts) == 2 for s in rest)
    with pytest.raises(InvalidArgumentError, match="page_size=0"):
        storage.iter_sessions(page_size=0)  # checked at the call, not on first next()
    with pytest.raises(InvalidArgumentError, match="limit=-1"):
        storage.iter_sessions(limit=-1)


def test_messages_df_builds_the_frame_page_by_page(make_storage: Any) -> None:
    from agno_nb.storage.frames import messages_frame

    storage = make_storage()
    storage.upsert_many(make_session(f"m{i}", runs=2, created_at=500 + i) for i in range(5))
    pulled: list[str] = []

    def sessions() -> Any:
        for session in storage.iter_sessions():
            pulled.append(session.session_id)
            yield session

    frame = messages_frame(sessions(), page=2)
    assert len(frame) == 5 * 2 * 3 and pulled == [f"m{i}" for i in reversed(range(5))]
    assert frame.equals(storage.messages_df())
    assert str(frame["input_tokens"].dtype) == "Int64"
    assert list(storage.messages_df(limit=1)["session_id"].unique()) == ["m4"]


def test_ascii_text_in_any_case_is_found_in_any_case(make_storage: Any, backend: str) -> None:
    """SQLite keeps all-ASCII search text as written (its LIKE ignores ASCII case);
    the others keep it lower-cased. Every write path and a query longer than
    SQLite's LIKE limit find it either way."""
    storage = make_storage()
    long = "Ab" * 15_000  # 30,000 bytes: SQLite compares with instr(), not LIKE
    storage.upsert(chat("one", f"Quarterly REVENUE {long}"))
    storage.upsert_many([chat("two", "MiXeD Case"), chat("three", "x")])
    storage.append_run("three", make_run(4, question="Appended TEXT"))
    storage.rename_session("two", "Board MEETING")
    for term in ("revenue", "REVENUE", "Revenue", long, long.lower(), long.upper()):
        assert found(storage, term) == ["one"], term[:20]
    assert found(storage, "mixed case") == ["two"] and found(storage, "MEETING") == ["two"]
    assert found(storage, "appended text") == ["three"]
    assert found(storage, "ONE") == ["one"]  # the session id
    runs = storage.run_table
    text = sa.table(
        runs.name, sa.column("search_text"), sa.column("session_id"), schema=runs.schema
    )
    with storage.db_engine.connect() as conn:
        query = sa.select(text.c.search_text).where(text.c.session_id == "two")
        stored = conn.execute(query).scalar_one()
    assert ("MiXeD Case" in stored) == (backend == "sqlite")
    assert ("mixed case" in stored) == (backend != "sqlite")
