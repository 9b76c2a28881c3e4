"""Data integrity: what is written reads back exactly, what cannot be read back is
refused on write, and an upgrade moves every row or stops and names the ones it
cannot move (issue 14, items 1, 2, 6, 11, 12 and part of 13)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from agno_nb.errors import (
    CorruptSessionError,
    CorruptSessionWarning,
    InvalidSessionError,
    MigrationError,
)
from agno_nb.schema import LATEST_VERSION
from agno_nb.sessions import WorkflowSession
from agno_nb.storage import BaseStorage
from tests.contract.helpers import execute, make_run, make_session, one_line, qualified

MakeStorage = Callable[..., Any]

# SQLite stores any text in a JSON column; DuckDB's JSON type takes trailing commas,
# which Python's json (and every other reader) refuses. Postgres' JSONB refuses both.
CORRUPT = {"sqlite": '{"session_name": "x", ', "duckdb": '{"session_name": "x",}'}


# -- 1: the upgrade moves every row, or stops and names the ones it cannot ---------------


@pytest.mark.parametrize("backend", ["sqlite", "duckdb"])  # Postgres' JSONB refuses bad JSON
def test_upgrade_stops_on_a_corrupt_row_and_a_skipped_row_never_loses_its_runs(
    make_storage: MakeStorage, backend: str
) -> None:
    old = make_storage("skip", schema_version=1)
    for sid in ("good", "bad"):
        old.upsert(make_session(sid, runs=3))
    execute(
        old,
        f"UPDATE {qualified(old)} SET session_data = :bad WHERE session_id = 'bad'",
        bad=CORRUPT[backend],
    )
    storage = make_storage("skip")
    with pytest.raises(MigrationError) as info:
        storage.upgrade_schema()
    message = one_line(info.value)
    assert "'bad'" in message and "session_data" in message and "skip_corrupt=True" in message
    assert storage.current_version == 1  # rolled back: nothing moved
    good = old.read("good")
    assert good is not None and good.run_dicts == make_session("good", runs=3).run_dicts

    result = storage.upgrade_schema(skip_corrupt=True)
    assert result.applied and [sid for sid, _ in result.skipped] == ["bad"]
    assert "skipped" in str(result) and "'bad'" in str(result)
    from agno_nb.render import plan_html

    assert "skipped" in plan_html(result) and "<code>bad</code>" in plan_html(result)
    assert storage.current_version == LATEST_VERSION
    with pytest.raises(CorruptSessionError, match="'bad'"):
        storage.read("bad")

    # the user fixes the row as the error says: every run is still there
    execute(
        storage,
        f"UPDATE {qualified(storage)} SET session_data = :ok WHERE session_id = 'bad'",
        ok='{"session_name": "fixed"}',
    )
    runs = make_session("bad", runs=3).run_dicts
    fixed = storage.read("bad")
    assert fixed is not None and fixed.run_dicts == runs
    assert fixed.memory == make_session("bad", runs=3).memory
    assert storage.get_runs("bad") == runs and storage.count_runs("bad") == 3
    assert storage.get_runs("bad", newest_first=True, limit=1) == [runs[-1]]
    listed = {s.session_id: s for s in storage.list_sessions()}
    assert (listed["bad"].run_count, listed["bad"].session_name) == (3, "fixed")
    assert listed["bad"].preview == "question 0"
    assert len(storage.sessions_df()) == 2
    assert sorted(s.session_id for s in storage.get_all_sessions()) == ["bad", "good"]

    # the next writes keep them: an append moves them, an upsert of what was read keeps them
    assert storage.append_run("bad", make_run(3)) == 3
    assert storage.get_runs("bad") == [*runs, make_run(3)]
    assert storage.count_runs("bad") == 4
    again = storage.read("bad")
    assert again is not None
    storage.upsert(again)
    final = make_storage("skip").read("bad")
    assert final is not None and final.run_dicts == [*runs, make_run(3)]
    assert final.memory == {"summary": "kept", "runs": [*runs, make_run(3)]}
    assert {s.session_id: s.run_count for s in storage.list_sessions()}["bad"] == 4


@pytest.mark.parametrize("memory", ['{"runs": "abc", "k": 1}', '[{"run_id": "r"}]'])
def test_upgrade_stops_on_a_row_whose_runs_are_not_a_list(
    make_storage: MakeStorage, memory: str
) -> None:
    """Valid JSON in a shape that holds no list of runs (every backend stores it):
    the upgrade names it instead of moving its characters or dropping it."""
    old = make_storage("shape_up", schema_version=1)
    for sid in ("good", "odd"):
        old.upsert(make_session(sid))
    execute(old, f"UPDATE {qualified(old)} SET memory = :m WHERE session_id = 'odd'", m=memory)
    storage = make_storage("shape_up")
    with pytest.raises(MigrationError, match="'odd'") as info:
        storage.upgrade_schema()
    assert "not a" in one_line(info.value)
    assert storage.current_version == 1
    result = storage.upgrade_schema(skip_corrupt=True)
    assert [sid for sid, _ in result.skipped] == ["odd"] and result.sessions_migrated == 1
    back = storage.read("odd")
    assert back is not None and back.memory == json.loads(memory)
    good = storage.read("good")
    assert good is not None and good.run_dicts == make_session("good").run_dicts


@pytest.mark.parametrize("backend", ["sqlite", "duckdb"])
def test_rerunning_the_upgrade_moves_a_skipped_row_once_it_is_fixed(
    make_storage: MakeStorage, backend: str
) -> None:
    old = make_storage("rerun", schema_version=1)
    for sid in ("good", "bad"):
        old.upsert(make_session(sid, runs=2))
    execute(
        old,
        f"UPDATE {qualified(old)} SET memory = :bad WHERE session_id = 'bad'",
        bad='{"runs": [1,],}' if backend == "duckdb" else '{"runs": [',
    )
    storage = make_storage("rerun")
    storage.upgrade_schema(skip_corrupt=True)
    again = storage.upgrade_schema()  # still corrupt: still skipped, no error
    assert [sid for sid, _ in again.skipped] == ["bad"] and again.sessions_migrated == 0
    assert "still skipped" in str(again)
    memory = make_session("bad", runs=2).memory
    execute(
        storage,
        f"UPDATE {qualified(storage)} SET memory = :ok WHERE session_id = 'bad'",
        ok=json.dumps(memory),
    )
    done = storage.upgrade_schema()
    assert (done.sessions_migrated, done.runs_moved, done.skipped) == (1, 2, [])
    with storage.db_engine.connect() as conn:
        moved = conn.execute(
            sa.text(
                f"SELECT count(*) FROM {qualified(storage, storage.table_name + '_runs')} "
                "WHERE session_id = 'bad'"
            )
        ).scalar()
    assert moved == 2
    back = make_storage("rerun").read("bad")
    assert back is not None and back.memory == memory
    assert storage.upgrade_schema().sessions_migrated == 0  # nothing left to move


def test_cli_upgrade_stops_with_one_line_then_skips(tmp_path: Any, capsys: Any) -> None:
    import io

    from agno_nb.cli import main
    from agno_nb.storage import SqliteStorage

    path = tmp_path / "cli.db"
    storage = SqliteStorage("agent_sessions", db_file=path, schema_version=1)
    for sid in ("ok", "bad"):
        storage.upsert(make_session(sid))
    execute(storage, "UPDATE agent_sessions SET memory = '{' WHERE session_id = 'bad'")
    storage.close()
    assert main(["upgrade", str(path)], out=io.StringIO()) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'bad'" in err and "--skip-corrupt" in err
    out = io.StringIO()
    assert main(["upgrade", str(path), "--skip-corrupt"], out=out) == 0
    assert "skipped" in out.getvalue() and "'bad'" in out.getvalue()
    assert SqliteStorage("agent_sessions", db_file=path).current_version == LATEST_VERSION


def test_migrate_reads_a_skipped_rows_runs_from_its_json(tmp_path: Any) -> None:
    """agno-nb migrate's reader keeps what agno_nb's reader keeps: a row an upgrade
    skipped (fixed since) brings its runs, and memory without runs stays so."""
    from agno_nb.agno3.source import SourceTable
    from agno_nb.storage import SqliteStorage

    path = tmp_path / "m.db"
    storage = SqliteStorage("s", db_file=path, schema_version=1)
    for sid in ("bad", "good"):
        storage.upsert(make_session(sid))
    storage.upsert(make_session("plain", memory={"k": "v"}))
    execute(storage, "UPDATE s SET session_data = '{' WHERE session_id = 'bad'")
    storage.upgrade_schema(skip_corrupt=True)
    execute(storage, "UPDATE s SET session_data = '{}' WHERE session_id = 'bad'")
    source = SourceTable(storage.db_engine, "sqlite", "s", None, "agent", LATEST_VERSION)
    rows = {r.session_id: r for batch in source.batches(batch_size=10) for r in batch}
    assert all(r.error is None for r in rows.values())
    for sid in ("bad", "good"):
        assert rows[sid].row["memory"] == make_session(sid).memory
    assert rows["plain"].row["memory"] == {"k": "v"}
    storage.close()


def test_upgrade_names_a_row_whose_created_at_is_not_a_time(tmp_path: Any) -> None:
    from agno_nb.storage import SqliteStorage

    storage = SqliteStorage("when", db_file=tmp_path / "w.db", schema_version=1)
    for sid in ("ok", "odd"):
        storage.upsert(make_session(sid))
    execute(storage, "UPDATE \"when\" SET created_at = 'yesterday' WHERE session_id = 'odd'")
    with pytest.raises(MigrationError) as info:
        storage.upgrade_schema()
    assert "'odd'" in one_line(info.value) and "created_at" in str(info.value)
    result = storage.upgrade_schema(skip_corrupt=True)
    assert [sid for sid, _ in result.skipped] == ["odd"]
    odd = storage.read("odd")
    assert odd is not None and odd.run_dicts == make_session("odd").run_dicts
    storage.close()


# -- 2: table names that differ only in case ----------------------------------------------


def test_case_variant_names_are_compared_as_the_database_does(
    make_storage: MakeStorage, backend: str
) -> None:
    lower = make_storage("agent_sessions", schema_version=1)
    lower.upsert(make_session("s1"))
    upper = make_storage("Agent_Sessions")
    if backend == "postgres":  # quoted names are case-sensitive: another table
        assert upper.current_version is None and upper.read("s1") is None
        upper.upsert(make_session("s2"))
        assert lower.current_version == 1 and upper.current_version == LATEST_VERSION
        assert lower.get_all_session_ids() == ["s1"] and upper.get_all_session_ids() == ["s2"]
        return
    # SQLite and DuckDB: one table whatever the case, so one version record
    assert upper.current_version == 1
    result = upper.upgrade_schema()
    assert result.sessions_migrated == 1
    for storage in (upper, lower, make_storage("agent_sessions")):
        assert storage.current_version == LATEST_VERSION
        session = storage.read("s1")
        assert session is not None and session.run_dicts == make_session("s1").run_dicts
    assert lower.upgrade_schema().steps == []


# -- 6: JSON nested too deeply to read back ------------------------------------------------


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("layout", [1, LATEST_VERSION])
def test_json_too_deep_to_read_back_is_refused_on_write(
    make_storage: MakeStorage, layout: int
) -> None:
    storage = make_storage("deep", schema_version=layout)
    storage.upsert(make_session("keep"))
    too_deep = make_session("deep")
    assert too_deep.memory is not None
    too_deep.memory["deep"] = nested(1000)
    with pytest.raises(InvalidSessionError) as info:
        storage.upsert(too_deep)
    assert "levels deep" in one_line(info.value)
    with pytest.raises(InvalidSessionError):
        storage.append_run("keep", {"run_id": "r", "deep": nested(1000)})
    assert storage.read("deep") is None
    kept = storage.read("keep")
    assert kept is not None and kept.run_dicts == make_session("keep").run_dicts
    fine = make_session("fine")
    assert fine.memory is not None
    fine.memory["deep"] = nested(400)  # deeper than orjson writes, still readable
    storage.upsert(fine)
    back = storage.read("fine")
    assert back is not None and back.memory == fine.memory
    assert len(storage.list_sessions()) == 2


def test_a_stored_row_too_deep_to_read_is_one_error_row(tmp_path: Any) -> None:
    from agno_nb.storage import SqliteStorage

    storage = SqliteStorage("deep", db_file=tmp_path / "d.db", schema_version=1)
    for sid in ("a", "b"):
        storage.upsert(make_session(sid))
    deep = '{"runs": [], "x": ' + "[" * 5000 + "]" * 5000 + "}"
    execute(storage, "UPDATE deep SET memory = :m WHERE session_id = 'b'", m=deep)
    listed = {s.session_id: s for s in storage.list_sessions()}
    assert listed["a"].error is None and listed["a"].run_count == 2
    assert listed["b"].error and "too deeply" in listed["b"].error
    with pytest.raises(CorruptSessionError, match="'b'"):
        storage.read("b")
    storage.close()


# -- 11: shapes that would be changed on the way in are refused --------------------------

BAD_SHAPES: list[tuple[str, dict[str, Any]]] = [
    ("runs a dict", {"memory": {"runs": {"a": {"run_id": "a"}}}}),
    ("runs a string", {"memory": {"runs": "abc"}}),
    ("memory a list", {"memory": [make_run(0)]}),
    ("memory a string", {"memory": "abc"}),
    ("session_data a list", {"memory": None, "session_data": ["x"]}),
    ("extra_data a string", {"memory": None, "extra_data": "x"}),
    ("created_at a string", {"created_at": "yesterday"}),
    ("created_at a float", {"created_at": 1_700_000_000.5}),
]


@pytest.mark.parametrize("layout", [1, LATEST_VERSION])
@pytest.mark.parametrize(("label", "fields"), BAD_SHAPES, ids=[b[0] for b in BAD_SHAPES])
def test_malformed_shapes_are_refused_on_write(
    make_storage: MakeStorage, layout: int, label: str, fields: dict[str, Any]
) -> None:
    storage = make_storage("shapes", schema_version=layout)
    session = make_session("odd")
    for name, value in fields.items():
        setattr(session, name, value)
    with pytest.raises(InvalidSessionError) as info:
        storage.upsert(session)
    message = one_line(info.value)
    assert "'odd'" in message and "nothing was written" in message
    assert storage.read("odd") is None
    with pytest.raises(InvalidSessionError):
        storage.upsert_many([make_session("fine"), session])
    assert storage.read("fine") is None  # the whole batch is refused


@pytest.mark.parametrize("backend", ["sqlite", "duckdb"])
@pytest.mark.parametrize("memory", ['[{"run_id": "r"}]', '"abc"', '{"runs": "abc"}'])
def test_a_stored_odd_memory_reads_as_stored_and_is_never_mangled(
    make_storage: MakeStorage, backend: str, memory: str
) -> None:
    """Written outside agno_nb (agno_nb refuses these shapes): read as stored, no
    AttributeError, no string split into runs, and an append says what is wrong."""
    storage = make_storage("odd", schema_version=1)
    storage.upsert(make_session("odd"))
    execute(
        storage, f"UPDATE {qualified(storage)} SET memory = :m WHERE session_id = 'odd'", m=memory
    )
    back = storage.read("odd")
    assert back is not None and back.memory == json.loads(memory)
    assert back.run_dicts == [] and storage.get_runs("odd") == []
    assert storage.list_sessions()[0].run_count == 0
    with pytest.raises(CorruptSessionError) as info:
        storage.append_run("odd", make_run(1))
    assert "'odd'" in one_line(info.value) and "fix or delete" in str(info.value)
    assert storage.read("odd") == back


@pytest.mark.parametrize("layout", [1, LATEST_VERSION])
def test_workflow_runs_must_be_a_list(make_storage: MakeStorage, layout: int) -> None:
    storage = make_storage("wf", mode="workflow_v2", schema_version=layout)
    with pytest.raises(InvalidSessionError, match="runs"):
        storage.upsert(WorkflowSession(session_id="w", runs_v2="abc"))  # type: ignore[arg-type]
    assert storage.read("w") is None


def test_append_run_refuses_a_run_that_is_not_a_dict(storage: BaseStorage) -> None:
    storage.upsert(make_session("s"))
    with pytest.raises(InvalidSessionError, match="'s'"):
        storage.append_run("s", ["not", "a", "run"])  # type: ignore[arg-type]
    with pytest.raises(InvalidSessionError, match="session_data"):
        storage.append_run("s", make_run(5), session_data=["x"])  # type: ignore[arg-type]
    assert storage.count_runs("s") == 2


# -- 12: exact round trips (examples; the property test is in test_roundtrip.py) ----------

SHAPES: list[tuple[str, Any]] = [
    ("no runs key", {"key": "value"}),
    ("runs None", {"key": "value", "runs": None}),
    ("runs empty", {"runs": []}),
    ("memory None", None),
    ("memory empty", {}),
    ("runs", {"runs": [make_run(0), make_run(1)], "summary": "s"}),
]


@pytest.mark.parametrize("layout", [0, 1, LATEST_VERSION])
@pytest.mark.parametrize(("label", "memory"), SHAPES, ids=[s[0] for s in SHAPES])
def test_memory_reads_back_exactly(
    make_storage: MakeStorage, layout: int, label: str, memory: Any
) -> None:
    storage = make_storage("exact", schema_version=layout)
    storage.upsert(make_session("s", memory=memory))
    for reader in (storage, make_storage("exact")):
        back = reader.read("s")
        assert back is not None and back.memory == memory
        assert [s.memory for s in reader.get_all_sessions()] == [memory]
        runs = (memory or {}).get("runs") or []
        assert reader.get_runs("s") == runs and reader.count_runs("s") == len(runs)
        assert reader.list_sessions()[0].run_count == len(runs)
    # appending to a session without runs makes the runs list, as on agno's layout
    storage.append_run("s", make_run(7))
    back = storage.read("s")
    assert back is not None
    assert back.memory == {
        **(memory or {}),
        "runs": [*((memory or {}).get("runs") or []), make_run(7)],
    }


@pytest.mark.parametrize("layout", [1, LATEST_VERSION])
@pytest.mark.parametrize("runs", [None, [], [make_run(0)]], ids=["None", "empty", "one"])
def test_workflow_runs_read_back_exactly(make_storage: MakeStorage, layout: int, runs: Any) -> None:
    storage = make_storage("wfx", mode="workflow_v2", schema_version=layout)
    storage.upsert(WorkflowSession(session_id="w", runs_v2=runs, memory={"k": 1}))
    back = make_storage("wfx", mode="workflow_v2").read("w")
    assert back is not None and back.runs_v2 == runs and back.memory == {"k": 1}


# -- 13: one corrupt row does not break bulk reads; duplicate ids; layout changes --------


@pytest.mark.parametrize("backend", ["sqlite", "duckdb"])
@pytest.mark.parametrize(
    ("layout", "column"), [(1, "memory"), (LATEST_VERSION, "memory"), (LATEST_VERSION, "run")]
)
def test_bulk_reads_leave_a_corrupt_session_out_and_say_so(
    make_storage: MakeStorage, backend: str, layout: int, column: str
) -> None:
    storage = make_storage("bulk", schema_version=layout)
    for sid in ("a", "bad", "c"):
        storage.upsert(make_session(sid))
    bad = '{"run_id": ' if backend == "sqlite" else '{"run_id": 1,}'
    if column == "run":
        execute(
            storage,
            f"UPDATE {qualified(storage, storage.table_name + '_runs')} SET run = :bad "
            "WHERE session_id = 'bad' AND run_index = 0",
            bad=bad,
        )
    else:
        execute(
            storage,
            f"UPDATE {qualified(storage)} SET memory = :bad WHERE session_id = 'bad'",
            bad=bad,
        )
    for call in (
        storage.get_all_sessions,
        lambda: storage.get_recent_sessions(limit=3),
    ):
        with pytest.warns(CorruptSessionWarning) as caught:
            sessions = call()
        assert sorted(s.session_id for s in sessions) == ["a", "c"]
        text = one_line(caught[0].message)
        assert "'bad'" in text and "list_sessions()" in text
    with pytest.warns(CorruptSessionWarning, match="'bad'"):
        frame = storage.messages_df()
    assert sorted(set(frame["session_id"])) == ["a", "c"] and len(frame) == 8
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(storage.get_recent_sessions(limit=1)) == 1  # only good rows: no warning


def test_invalid_utf8_blob_is_one_error_row(tmp_path: Any) -> None:
    from agno_nb.storage import SqliteStorage

    for layout in (1, LATEST_VERSION):
        storage = SqliteStorage(f"blob{layout}", db_file=tmp_path / "b.db", schema_version=layout)
        for sid in ("a", "bad"):
            storage.upsert(make_session(sid))
        execute(
            storage,
            f"UPDATE blob{layout} SET session_data = :b WHERE session_id = 'bad'",
            b=b'{"session_name": "\xff\xfe"}',
        )
        with pytest.raises(CorruptSessionError) as info:
            storage.read("bad")
        assert "not UTF-8" in one_line(info.value)
        listed = {s.session_id: s for s in storage.list_sessions()}
        assert listed["a"].error is None
        if layout == 1:
            assert listed["bad"].error and "not UTF-8" in listed["bad"].error
        with pytest.warns(CorruptSessionWarning):
            assert [s.session_id for s in storage.get_all_sessions()] == ["a"]
        storage.close()


def test_invalid_utf8_in_a_text_column_is_one_clear_line(tmp_path: Any) -> None:
    from agno_nb.storage import SqliteStorage

    storage = SqliteStorage("blobid", db_file=tmp_path / "i.db")
    storage.upsert(make_session("a"))
    execute(storage, "UPDATE blobid SET user_id = :b WHERE session_id = 'a'", b=b"\xff")
    execute(storage, "UPDATE blobid SET user_id = CAST(user_id AS TEXT)")
    with pytest.raises(CorruptSessionError) as info:
        storage.list_sessions()
    message = one_line(info.value)
    assert "not UTF-8" in message and "'user_id'" in message
    storage.close()


@pytest.mark.parametrize("layout", [1, LATEST_VERSION])
def test_upsert_many_with_a_repeated_id_keeps_the_last(
    make_storage: MakeStorage, layout: int
) -> None:
    storage = make_storage("dups", schema_version=layout)
    first, last = make_session("s", runs=1), make_session("s", runs=3)
    assert storage.upsert_many([first, make_session("t"), last]) == 2
    back = storage.read("s")
    assert back is not None and back.run_dicts == last.run_dicts
    assert storage.count_runs("s") == 3
    assert sorted(storage.get_all_session_ids()) == ["s", "t"]


def test_duckdb_sessions_df_follows_an_upgrade_by_another_storage(tmp_path: Any) -> None:
    from agno_nb.storage import DuckDbStorage

    path = tmp_path / "up.duckdb"
    reader = DuckDbStorage("sessions", db_file=path, schema_version=2)
    reader.upsert(make_session("s1"))
    assert len(reader.sessions_df()) == 1  # the v2 layout (built in SQL) is cached here
    upgrader = DuckDbStorage("sessions", db_file=path)
    upgrader.upgrade_schema()
    frame = reader.sessions_df()
    assert list(frame["session_id"]) == ["s1"] and int(frame["run_count"][0]) == 2
    upgrader.close()
    reader.close()


def test_a_held_session_upgraded_to_v4_is_found_by_its_runs_text(
    make_storage: MakeStorage,
) -> None:
    """A v3 row whose runs are still in its JSON (run_count NULL: skipped by an
    upgrade and fixed since) has no run rows: the v3 -> v4 step keeps its runs'
    text with its name, so search finds it, and keeps finding it by run text
    after a rename and after an append moves its runs."""
    old = make_storage("held_search", schema_version=3)
    old.upsert(make_session("held", memory={"summary": "kept"}))  # stored as given
    old.upsert(make_session("other", runs=1))
    memory = {"summary": "kept", "runs": [make_run(0), make_run(7)]}
    execute(  # the fix of a skipped row: its runs are back in its JSON
        old,
        f"UPDATE {qualified(old)} SET memory = :m WHERE session_id = 'held'",
        m=json.dumps(memory),
    )
    assert old.current_version == 3
    storage = make_storage("held_search")
    assert storage.upgrade_schema().applied and storage.current_version == LATEST_VERSION

    def found(term: str, limit: int | None = None) -> list[str]:
        hits = storage.list_sessions(search=term, limit=limit)
        assert storage.count_sessions(search=term) == len(hits) or limit is not None
        return sorted(s.session_id for s in hits)

    for limit in (None, 10):  # the matched-set path and the newest-window path
        assert found("QUESTION 7", limit) == ["held"]
        assert found("answer 0", limit) == ["held", "other"]
        assert found("run-7", limit) == ["held"]
    held = {s.session_id: s for s in storage.list_sessions()}["held"]
    assert (held.run_count, held.preview) == (2, "question 0")

    storage.rename_session("held", "Renamed")
    assert found("question 7") == ["held"] and found("renamed") == ["held"]
    assert storage.append_run("held", make_run(8)) == 2  # moves its runs into rows
    assert found("question 7") == ["held"] and found("question 8") == ["held"]
    assert found("renamed") == ["held"]
    back = storage.read("held")
    assert back is not None and back.run_dicts == [make_run(0), make_run(7), make_run(8)]
