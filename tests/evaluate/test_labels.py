"""Run labels (``storage.label_run`` & co.): every backend, agno 1.x's layout,
agno_nb's latest layout and agno 3.x's tables; upgrades, migrations, deletes and
other processes; agno's own rows never change."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agno_nb.errors import InvalidArgumentError, SessionNotFoundError
from agno_nb.sessions import AgentSession
from agno_nb.storage import SqliteStorage, open_storage

FIXTURES = Path(__file__).parents[1] / "fixtures"
AGNO3_DB = FIXTURES / "agno_3_1_10_sessions.db"


def make_session(sid: str, runs: int = 2) -> AgentSession:
    return AgentSession(
        session_id=sid,
        user_id="alice",
        agent_id="agent-1",
        memory={
            "runs": [
                {
                    "run_id": f"{sid}-r{i}",
                    "session_id": sid,
                    "content": f"answer {i}",
                    "created_at": 1_700_000_000 + i,
                    "messages": [
                        {"role": "user", "content": f"question {i}"},
                        {"role": "assistant", "content": f"answer {i}"},
                    ],
                }
                for i in range(runs)
            ]
        },
    )


@pytest.fixture(params=[None, 1], ids=["latest", "agno1"])
def layout_storage(request: pytest.FixtureRequest, make_storage: Any) -> Any:
    """A storage on agno_nb's latest layout, or on agno 1.x's table (v1), with two sessions."""
    storage = make_storage(schema_version=request.param)
    storage.upsert_many([make_session("s1", runs=3), make_session("s2")])
    return storage


def test_label_read_replace_delete(layout_storage: Any) -> None:
    storage = layout_storage
    assert storage.labels() == []
    label = storage.label_run("s1", "s1-r1", "good", score=4, note="clear", tags=["tone"])
    assert (label.rating, label.score, label.run_index) == ("good", 4.0, 1)
    assert label.labelled_by and label.labelled_at
    storage.label_run("s2", "s2-r0", "bad", correction="the right answer")
    (got,) = storage.labels("s1")
    assert (got.run_id, got.rating, got.score, got.note, got.tags) == (
        "s1-r1",
        "good",
        4.0,
        "clear",
        ("tone",),
    )
    # a second call replaces the label (fields not given are cleared)
    storage.label_run("s1", "s1-r1", "bad", correction="fixed")
    (got,) = storage.labels("s1")
    assert (got.rating, got.score, got.correction, got.note, got.tags) == (
        "bad",
        None,
        "fixed",
        None,
        (),
    )
    assert [x.run_id for x in storage.labels()] == ["s1-r1", "s2-r0"]
    assert storage.delete_label("s1", "s1-r1") is True
    assert storage.delete_label("s1", "s1-r1") is False
    assert [x.run_id for x in storage.labels()] == ["s2-r0"]


def test_labels_df_joins_messages_df(layout_storage: Any) -> None:
    storage = layout_storage
    storage.label_run("s1", "s1-r2", "good", score=1.5)
    storage.label_run("s2", "s2-r0", "bad", correction="no")
    frame = storage.labels_df()
    assert list(frame["run_id"]) == ["s1-r2", "s2-r0"]
    assert str(frame["labelled_at"].dt.tz) == "UTC"
    joined = storage.messages_df().merge(frame, on=["session_id", "run_id"])
    assert len(joined) == 4  # two messages per labelled run
    assert set(joined["rating"]) == {"good", "bad"}
    assert list(joined[joined.run_id == "s2-r0"]["content"]) == ["question 0", "answer 0"]


def test_deleted_session_takes_its_labels(layout_storage: Any) -> None:
    storage = layout_storage
    storage.label_run("s1", "s1-r0", "good")
    storage.label_run("s2", "s2-r0", "bad")
    storage.delete_session("s1")
    assert [x.session_id for x in storage.labels()] == ["s2"]
    storage.upsert(make_session("s1", runs=3))  # same id again: the old label is gone
    assert storage.labels("s1") == []


@pytest.mark.parametrize(
    ("args", "kw", "says"),
    [
        (("nope", "r"), {"rating": "good"}, "no session 'nope'"),
        (("s1", "nope"), {"rating": "good"}, "has no run 'nope'"),
        (("s1", "s1-r0"), {"rating": "meh"}, "rating='meh' is not a rating"),
        (("s1", "s1-r0"), {"rating": "good", "score": "high"}, "score='high' is not a number"),
        (("s1", "s1-r0"), {"rating": "good", "score": float("nan")}, "is not a number"),
        (("s1", "s1-r0"), {"rating": "good", "score": True}, "is not a number"),
        (("s1", "s1-r0"), {"rating": "good", "tags": "tone"}, "is not a list of tags"),
        (("s1", "s1-r0"), {}, "nothing to label"),
    ],
)
def test_bad_input_is_one_line(
    layout_storage: Any, args: tuple[str, str], kw: dict[str, Any], says: str
) -> None:
    with pytest.raises((InvalidArgumentError, SessionNotFoundError)) as info:
        layout_storage.label_run(*args, **kw)
    message = str(info.value)
    assert says in message and "\n" not in message
    assert layout_storage.labels() == []


def test_labels_survive_upgrade_schema(make_storage: Any) -> None:
    old = make_storage(schema_version=1)
    old.upsert(make_session("s1"))
    old.label_run("s1", "s1-r1", "good", correction="better")
    old.close()
    storage = make_storage(old.table_name[len(make_storage.prefix) :])
    storage.upgrade_schema()
    assert storage.current_version == storage.latest_version
    (label,) = storage.labels()
    assert (label.run_id, label.rating, label.correction) == ("s1-r1", "good", "better")


def test_labels_are_per_table_and_gone_with_drop(make_storage: Any) -> None:
    a = make_storage("a")
    b = make_storage("b")
    for storage in (a, b):
        storage.upsert(make_session("s1"))
    a.label_run("s1", "s1-r0", "good")
    assert b.labels() == []
    b.label_run("s1", "s1-r0", "bad")
    a.drop()
    assert a.labels() == []
    assert [x.rating for x in b.labels()] == ["bad"]
    a.upsert(make_session("s1"))
    assert a.labels() == []  # the dropped table's labels went with it


def test_another_process_reads_the_labels(make_storage: Any, tmp_path: Path) -> None:
    storage = make_storage()
    storage.upsert(make_session("s1"))
    storage.label_run("s1", "s1-r0", "bad", score=2, correction="x", tags=("a", "b"))
    if make_storage.backend == "postgres":
        kw = f"db_url={storage.db_engine.url.render_as_string(hide_password=False)!r}, "
        kw += f"schema={storage.schema!r}"
    else:
        kw = f"db_file={storage.db_engine.url.database!r}"
    storage.close()
    cls = type(storage).__name__
    script = (
        f"from agno_nb.storage import {cls}\n"
        f"s = {cls}({storage.table_name!r}, {kw})\n"
        "print([x.to_dict() for x in s.labels()])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    out = done.stdout
    assert "'rating': 'bad'" in out and "'tags': ['a', 'b']" in out and "'score': 2.0" in out


# -- agno 2.x/3.x's tables ----------------------------------------------------------------


def _agno_rows(path: Path) -> list[str]:
    """Every statement and row of agno's own tables (agno_nb's side tables left out)."""
    return [line for line in _dump(path) if "agno_nb_" not in line]


def _dump(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def test_agno3_tables_unchanged_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "agno3.db"
    shutil.copyfile(AGNO3_DB, path)
    before = _agno_rows(path)
    storage = SqliteStorage("agno_sessions", db_file=path)
    sid = "s-tool"
    runs = storage.get_runs(sid)
    storage.label_run(sid, runs[0]["run_id"], "good", note="uses the tool")
    storage.label_run(sid, runs[1]["run_id"], "bad", correction="4")
    storage.label_run(sid, runs[1]["run_id"], "bad", correction="four")  # replaced
    storage.delete_label(sid, runs[0]["run_id"])
    assert [(x.run_id, x.correction) for x in storage.labels()] == [(runs[1]["run_id"], "four")]
    storage.close()
    after = _agno_rows(path)
    assert after == before
    assert any("agno_nb_labels" in line for line in _dump(path))
    # the run rows agno wrote are byte for byte the same (not only as dumped text)
    con = sqlite3.connect(path)
    try:
        assert con.execute("SELECT count(*) FROM agno_runs").fetchone()[0] > 0
    finally:
        con.close()


def test_agno3_postgres_tables(agno3_postgres: Any) -> None:
    import sqlalchemy as sa

    storage = open_storage(
        agno3_postgres.url, table_name="agno_sessions", schema=agno3_postgres.schema
    )
    sid = storage.get_all_session_ids()[0]
    run_id = storage.get_runs(sid)[0]["run_id"]
    engine = sa.create_engine(agno3_postgres.url)

    def snapshot() -> list[Any]:
        with engine.connect() as conn:
            return [
                list(conn.execute(sa.text(f'SELECT t::text FROM "{agno3_postgres.schema}".{t} t')))
                for t in ("agno_sessions", "agno_runs")
            ]

    before = snapshot()
    storage.label_run(sid, run_id, "good", score=5)
    assert [(x.session_id, x.run_id, x.score) for x in storage.labels()] == [(sid, run_id, 5.0)]
    assert snapshot() == before
    storage.delete_session(sid)
    assert storage.labels() == []
    storage.close()
    engine.dispose()


# -- through agno-nb migrate ----------------------------------------------------------------


def test_labels_follow_the_migration(tmp_path: Path) -> None:
    from agno_nb.agno3 import migrate
    from tests.migrate_helpers import pinned_copy

    db = pinned_copy(tmp_path / "agno1.db")
    source = SqliteStorage("agent_sessions", db_file=db.path)
    sid = source.get_all_session_ids()[0]
    run_id = source.get_runs(sid)[1]["run_id"]
    source.label_run(sid, run_id, "bad", correction="the right one", tags=["math"])
    source.close()
    target = tmp_path / "agno3.db"
    migrate(f"sqlite:///{db.path}", target_url=f"sqlite:///{target}")
    migrated = SqliteStorage("agno_sessions", db_file=target)
    assert migrated.layout_label and "agno 3.x" in migrated.layout_label
    (label,) = migrated.labels()
    assert (label.session_id, label.run_id, label.correction, label.tags) == (
        sid,
        run_id,
        "the right one",
        ("math",),
    )
    # a rerun does not duplicate them
    migrate(f"sqlite:///{db.path}", target_url=f"sqlite:///{target}")
    assert len(migrated.labels()) == 1
    migrated.close()


def test_labels_follow_the_migration_into_postgres(tmp_path: Path, pg_schema: str) -> None:
    from agno_nb.agno3 import migrate
    from tests.conftest import require_postgres
    from tests.migrate_helpers import pinned_copy

    url = require_postgres()
    db = pinned_copy(tmp_path / "agno1.db")
    source = SqliteStorage("agent_sessions", db_file=db.path)
    sid = source.get_all_session_ids()[-1]
    run_id = source.get_runs(sid)[0]["run_id"]
    source.label_run(sid, run_id, "good")
    source.close()
    target_schema = pg_schema + "_mig"
    try:
        migrate(f"sqlite:///{db.path}", target_url=url, target_schema=target_schema)
        migrated = open_storage(url, table_name="agno_sessions", schema=target_schema)
        assert [(x.session_id, x.run_id, x.rating) for x in migrated.labels()] == [
            (sid, run_id, "good")
        ]
        migrated.close()
    finally:
        import sqlalchemy as sa

        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{target_schema}" CASCADE'))
        engine.dispose()


# -- datasets from labels -------------------------------------------------------------------


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    import json

    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_export_good_and_corrected_runs(layout_storage: Any, tmp_path: Path) -> None:
    from agno_nb.export import export_jsonl

    storage = layout_storage
    storage.label_run("s1", "s1-r0", "good")
    storage.label_run("s1", "s1-r2", "bad", correction="the fixed answer")
    storage.label_run("s2", "s2-r1", "bad")
    storage.label_run("s2", "s2-r0", "good", correction="an even better answer")
    good = tmp_path / "good.jsonl"
    assert export_jsonl(storage, good, rating="good") == 2
    assert [e["messages"] for e in _read_jsonl(good)] == [
        [{"role": "user", "content": "question 0"}, {"role": "assistant", "content": "answer 0"}],
        [{"role": "user", "content": "question 0"}, {"role": "assistant", "content": "answer 0"}],
    ]
    both = tmp_path / "both.jsonl"
    assert export_jsonl(storage, both, rating="good", corrections=True) == 3
    finals = [e["messages"][-1]["content"] for e in _read_jsonl(both)]
    assert finals == ["answer 0", "the fixed answer", "an even better answer"]
    assert [e["messages"][0]["content"] for e in _read_jsonl(both)] == [
        "question 0",
        "question 2",
        "question 0",
    ]
    fixed = tmp_path / "fixed.jsonl"
    assert export_jsonl(storage, fixed, corrections=True, session_ids=["s1"]) == 1
    assert export_jsonl(storage, tmp_path / "bad.jsonl", rating="bad") == 2
    with pytest.raises(InvalidArgumentError, match="not a rating"):
        export_jsonl(storage, tmp_path / "x.jsonl", rating="great")
    assert not (tmp_path / "x.jsonl").exists()
    # without a label filter every run is exported, as before
    assert export_jsonl(storage, tmp_path / "all.jsonl") == 5


def test_corrected_example_keeps_tool_calls() -> None:
    from agno_nb.export import corrected_example

    run = {
        "run_id": "r",
        "messages": [
            {"role": "user", "content": "2+2?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "function": {"name": "add", "arguments": "{}"}}],
            },
            {"role": "tool", "content": "5", "tool_call_id": "c1", "name": "add"},
            {"role": "assistant", "content": "5"},
        ],
    }
    example = corrected_example(run, "4")
    assert example is not None
    roles = [m["role"] for m in example["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert example["messages"][-1] == {"role": "assistant", "content": "4"}
