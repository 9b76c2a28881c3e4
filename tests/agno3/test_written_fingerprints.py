"""The fingerprints of a migrated batch computed from the values bound
(``written.written_fingerprints``) are byte for byte those of the rows read back
(``guard.target_fingerprints``), on real rows of SQLite and Postgres: awkward
text, NaN and infinities, big ints, floats, empty strings, None, nested JSON.
Where SQLite would not store a value as given (a float, a bool, JSON text that
reads as a number, text in an INTEGER column), that session is read back."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agno_nb.agno3 import written
from agno_nb.agno3.guard import target_fingerprints
from agno_nb.agno3.tables import TargetTables
from agno_nb.agno3.target import engine_for, write_transaction
from agno_nb.agno3.written import insert_rows, written_fingerprints
from tests.agno3.strategies import json_values
from tests.conftest import require_postgres

TEXTS = [
    "",
    "plain",
    "é",
    "日本語",
    "\U0001f600 emoji",
    "quote ' and \" and \\ backslash",
    "\n\t\r",
    "\x7f\x01",
    "NaN",
    "1",
    "1.0",
    "-5",
    " 7 ",
    "0x10",
    "null",
    "true",
    "\u2028\ufeff",
]
JSONS = [
    None,
    {},
    [],
    "",
    "text",
    "é\U0001f600",
    {"k": [1, 2.5, None, "é\u2028", {"deep": [[[]]]}], "": ""},
    {"big": 10**40, "neg": -(2**63), "tiny": 1e-07, "huge": 1e300},
    [[[[{"a": [True, False, None]}]]]],
    "a\\b\"c'd",
    True,
    False,
]
#: top-level JSON SQLite's NUMERIC affinity may turn into a number: read back
NUMBER_JSONS = [0, 1, -1, 1.0, 1.5, 1e300, 10**30]
#: what Postgres' jsonb refuses (migrate lists such sessions as bad) but SQLite stores
SQLITE_ONLY_JSONS = [
    float("nan"),
    float("inf"),
    {"nan": float("nan"), "inf": [float("-inf")]},
    "nul \x00 inside",
]


@pytest.fixture(params=["sqlite", "postgres"])
def target(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[sa.Engine, TargetTables]]:
    """An engine and agno 3.x's tables, created, on each database."""
    if request.param == "postgres":
        url, schema = require_postgres(), "agno_nb_test_written"
    else:
        url, schema = f"sqlite:///{tmp_path / 'target.db'}", None
    engine = engine_for(url, request.param)
    t = TargetTables.build(request.param, schema)
    if schema is not None:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    with write_transaction(engine) as conn:
        t.create(conn)
    try:
        yield engine, t
    finally:
        if schema is not None:
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def _session(sid: str, n: int, *, json_values: list[Any], texts: list[str]) -> dict[str, Any]:
    pick = json_values[n % len(json_values)]
    return {
        "session_id": sid,
        "session_type": "agent",
        "agent_id": texts[n % len(texts)],
        "user_id": texts[(n + 3) % len(texts)],
        "session_data": pick,
        "agent_data": json_values[(n + 1) % len(json_values)],
        "metadata": {"n": n, "text": texts[n % len(texts)]},
        "summary": None,
        "created_at": 1_700_000_000 + n,
        "updated_at": None if n % 4 == 0 else 2**63 - 1 - n,
    }


def _runs(sid: str, n: int, *, json_values: list[Any], texts: list[str]) -> list[dict[str, Any]]:
    out = []
    for index in range(n % 4):  # 0 to 3 runs, ids in no particular order
        out.append(
            {
                "run_id": f"{texts[(n + index) % len(texts)]}-{sid}-{3 - index}",
                "session_id": sid,
                "run_type": "agent",
                "agent_id": texts[index % len(texts)],
                "user_id": None,
                "status": "COMPLETED",
                "run_index": index if index != 2 else None,
                "run_data": {
                    "content": texts[(n + index) % len(texts)],
                    "value": json_values[(n + index) % len(json_values)],
                },
                "created_at": -(2**63) + n if index == 1 else 1_700_000_000,
                "updated_at": 0,
            }
        )
    return out


def _write(
    engine: sa.Engine,
    t: TargetTables,
    sessions: list[dict[str, Any]],
    runs: list[dict[str, Any]],
    *,
    upsert: bool = False,
) -> tuple[dict[str, str], dict[str, str]]:
    """Write a batch as the migration does; (computed, read back) fingerprints."""
    ids = [s["session_id"] for s in sessions]
    with write_transaction(engine) as conn:
        conn.execute(t.runs.delete().where(t.runs.c.session_id.in_(ids)))
        bound = insert_rows(conn, t, t.sessions, sessions, upsert=upsert)
        bound_runs = insert_rows(conn, t, t.runs, runs) if runs else []
        computed = written_fingerprints(conn, t, ids, bound, bound_runs)
        read = target_fingerprints(conn, t, ids)
    return computed, read


def test_computed_fingerprints_are_those_read_back(
    target: tuple[sa.Engine, TargetTables], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, t = target
    json_values = JSONS + NUMBER_JSONS
    texts = TEXTS
    if not t.dialect.json_allows_nan:  # Postgres
        texts = [x for x in TEXTS if "\x00" not in x]
    else:
        json_values += SQLITE_ONLY_JSONS
    sessions = [
        _session(f"s{n:03d}-{texts[n % len(texts)]}", n, json_values=json_values, texts=texts)
        for n in range(60)
    ]
    runs = [
        r
        for n, s in enumerate(sessions)
        for r in _runs(s["session_id"], n, json_values=json_values, texts=texts)
    ]
    read_back: list[str] = []
    real = written.target_fingerprints

    def spy(conn: Any, tables: TargetTables, ids: list[str], **kw: Any) -> dict[str, str]:
        read_back.extend(ids)
        return real(conn, tables, ids, **kw)

    monkeypatch.setattr(written, "target_fingerprints", spy)
    computed, read = _write(engine, t, sessions, runs)
    assert computed == read
    assert len(read) == len(sessions)
    if t.dialect.native_json:  # jsonb rewrites its text: always read back
        assert sorted(read_back) == sorted(read)
        return
    # SQLite: only sessions holding a value it may not keep as given are read
    numbers = {agno_text(v) for v in NUMBER_JSONS + SQLITE_ONLY_JSONS[:2]}
    uncertain = {
        s["session_id"]
        for s in sessions
        if {agno_text(s["session_data"]), agno_text(s["agent_data"])} & numbers
    }
    assert uncertain and set(read_back) == uncertain

    # a rerun replacing the sessions (upsert, runs deleted first), with other values
    read_back.clear()
    again = [dict(s, summary={"summary": "x"}, updated_at=1) for s in sessions[::2]]
    more = [
        dict(r, status="ERROR") for r in runs if r["session_id"] in {s["session_id"] for s in again}
    ]
    computed, read = _write(engine, t, again, more, upsert=True)
    assert computed == read and len(read) == len(again)


def agno_text(value: Any) -> str:
    from agno_nb.agno3.target import agno_json

    return agno_json(value)


def test_values_sqlite_converts_are_read_back(tmp_path: Path) -> None:
    """A float, a bool, text in an INTEGER column, a non-text id: read back, and
    still the same fingerprint."""
    engine = engine_for(f"sqlite:///{tmp_path / 't.db'}", "sqlite")
    t = TargetTables.build("sqlite")
    with write_transaction(engine) as conn:
        t.create(conn)
    base = {"session_type": "agent", "created_at": 1, "updated_at": 2}
    sessions = [
        {**base, "session_id": "float", "created_at": 1.5},
        {**base, "session_id": "whole float", "updated_at": 2.0},
        {**base, "session_id": "bool", "agent_id": True},
        {**base, "session_id": "int text", "user_id": 5},
        {**base, "session_id": "text int", "updated_at": "7"},
        {**base, "session_id": "fine"},
    ]
    runs = [
        {
            "run_id": "r1",
            "session_id": "fine",
            "run_type": "agent",
            "run_data": {},
            "created_at": 1,
        },
        {"run_id": 2, "session_id": "bool", "run_type": "agent", "run_data": {}, "created_at": 1},
    ]
    computed, read = _write(engine, t, sessions, runs)
    assert computed == read and len(read) == len(sessions)
    engine.dispose()


def test_a_trigger_or_collation_means_reading_back(tmp_path: Path) -> None:
    """What SQLite itself may change after the bind (a trigger) or order
    otherwise (a collation): the dialect says so, and every session is read."""
    engine = engine_for(f"sqlite:///{tmp_path / 't.db'}", "sqlite")
    t = TargetTables.build("sqlite")
    with write_transaction(engine) as conn:
        t.create(conn)
        assert t.dialect.kept_as_bound(conn, t.runs) is not None
        conn.exec_driver_sql(
            "CREATE TRIGGER stamp AFTER INSERT ON agno_runs BEGIN "
            "UPDATE agno_runs SET status = 'CHANGED' WHERE run_id = new.run_id; END"
        )
        assert t.dialect.kept_as_bound(conn, t.runs) is None
        assert t.dialect.kept_as_bound(conn, t.sessions) is not None
    sessions = [{"session_id": "s", "session_type": "agent", "created_at": 1}]
    runs = [
        {"run_id": "r", "session_id": "s", "run_type": "agent", "run_data": [], "created_at": 1}
    ]
    computed, read = _write(engine, t, sessions, runs)
    assert computed == read
    engine.dispose()

    engine = engine_for(f"sqlite:///{tmp_path / 'nocase.db'}", "sqlite")
    with engine.begin() as conn:
        ddl = t.ddl([t.runs], conn.dialect)[0]
        t.create(conn)
        conn.exec_driver_sql("DROP TABLE agno_runs")
        conn.exec_driver_sql(
            ddl.replace("run_id VARCHAR NOT NULL", "run_id VARCHAR NOT NULL COLLATE NOCASE")
        )
        assert t.dialect.kept_as_bound(conn, t.runs) is None
    engine.dispose()


_JSON = json_values(size=3, leaves=12)
_INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
#: what a column may be given: mostly its own kind, sometimes another
_TEXTISH = st.none() | st.text() | _INT64 | st.booleans() | st.floats()
_INTISH = st.none() | _INT64 | st.floats() | st.text(max_size=4) | st.booleans()
_NOT_NULL_INT = _INT64 | st.floats(allow_nan=False) | st.text(min_size=1, max_size=4)


@st.composite
def _batch(draw: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    ids = draw(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=4, unique=True))
    sessions = [
        {
            "session_id": sid,
            "session_type": draw(st.text(max_size=5)),
            "agent_id": draw(_TEXTISH),
            "user_id": draw(_TEXTISH),
            "session_data": draw(_JSON),
            "metadata": draw(_JSON),
            "created_at": draw(_NOT_NULL_INT),
            "updated_at": draw(_INTISH),
        }
        for sid in ids
    ]
    run_ids = draw(st.lists(st.text(min_size=1, max_size=6), max_size=6, unique=True))
    runs = [
        {
            "run_id": rid,
            "session_id": draw(st.sampled_from(ids)),
            "run_type": "agent",
            "status": draw(_TEXTISH),
            "run_index": draw(_INTISH),
            "run_data": draw(_JSON),
            "created_at": draw(_NOT_NULL_INT),
        }
        for rid in run_ids
    ]
    return sessions, runs


def test_hypothesis_computed_equals_read_back_on_sqlite() -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = engine_for(f"sqlite:///{Path(folder) / 't.db'}", "sqlite")
        t = TargetTables.build("sqlite")
        with write_transaction(engine) as conn:
            t.create(conn)

        @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(_batch())
        def check(batch: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
            sessions, runs = batch
            with write_transaction(engine) as conn:
                conn.execute(t.runs.delete())
                conn.execute(t.sessions.delete())
            computed, read = _write(engine, t, sessions, runs)
            assert computed == read

        try:
            check()
        finally:
            engine.dispose()


@settings(max_examples=500, deadline=None)
@given(_JSON)
def test_dumps_text_repr_is_repr_of_what_json_dumps_writes(value: Any) -> None:
    from agno_nb.agno3.guard import dumps_text_repr
    from agno_nb.agno3.target import agno_json

    text = agno_json(value)
    assert dumps_text_repr(text) == repr(text)


def test_dumps_text_repr_on_the_quotes_and_backslashes() -> None:
    from agno_nb.agno3.guard import dumps_text_repr
    from agno_nb.agno3.target import agno_json

    for value in ["", "'", '"', "'\"", "\\", 'it\'s \\ "quoted"', {"k'": ["\\'\""]}, "é'\x7f"]:
        text = agno_json(value)
        assert dumps_text_repr(text) == repr(text)
    assert dumps_text_repr("é'") == repr("é'")  # not ASCII: repr itself


def test_the_collector_is_as_the_caller_left_it(tmp_path: Path) -> None:
    """migrate pauses Python's cycle collector per batch and switches it back on,
    unless the caller had switched it off."""
    import gc

    from agno_nb.agno3 import migrate
    from tests.migrate_helpers import clone_sessions, pinned_copy, url_of

    path = tmp_path / "agno.db"
    pinned_copy(path)
    clone_sessions(path, 30)
    assert gc.isenabled()
    assert migrate(url_of(path), batch_size=7).ok
    assert gc.isenabled()
    gc.disable()
    try:
        assert migrate(url_of(path), batch_size=7, target_url=url_of(tmp_path / "t.db")).ok
        assert not gc.isenabled()
    finally:
        gc.enable()
