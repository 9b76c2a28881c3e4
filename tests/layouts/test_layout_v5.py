"""Layout v5: on Postgres each run is stored as ``json`` (its text as written)
instead of ``jsonb``; the v4 -> v5 step converts the runs table in place there
and only stamps on SQLite and DuckDB. (An upgrade of a v4 table goes on to the
latest layout, v6, whose step only adds the sessions table's ``insert_seq``:
see ``tests/migrations/test_insert_order.py``.)"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import sqlalchemy as sa

from agno_nb.cli import main
from agno_nb.codec import encode_json
from agno_nb.errors import InvalidSessionError
from agno_nb.render import plan_html
from agno_nb.schema import INSERT_SEQ, LATEST_VERSION, RUNS_SUFFIX
from agno_nb.sessions import AgentSession
from tests.conftest import postgres_url
from tests.session_factory import make_run, make_session

#: Runs holding what a conversion could lose: integers beyond 64 bits (as
#: numbers and as long digit strings), unicode and escapes, deep nesting, empty
#: containers, and floats of magnitudes jsonb writes back exactly.
EDGE_RUNS: list[dict[str, Any]] = [
    {
        "run_id": "big",
        "n": 2**70,
        "neg": -(2**100),
        "i64": 2**63 - 1,
        "u64": 2**64,
        "digits": "1" * 40,
        "messages": [{"role": "user", "content": "numbers 12345678901234567890123"}],
    },
    {
        "run_id": "unicode",
        "content": 'é€😀 中文 "quoted" \\ </script> \t\n\u2028 \u00ad',
        "keys": {"ключ": "значение", "": "empty key", "a b": ["ÉCOLE", "Straße"]},
        "messages": [{"role": "user", "content": "ÉCOLE"}, {"role": "assistant", "content": "ok"}],
    },
    {
        "run_id": "nested",
        "deep": {"a": [1, [2, [3, {"b": None, "c": [True, False]}]]]},
        "empty": {"list": [], "dict": {}, "text": ""},
        "floats": [0.1, -2.5, 1e-07, 123456.789, 1.0, -0.5],
        "zz": 1,
        "a": 2,
    },
]


def exact(value: Any) -> str:
    """``value`` as JSON with sorted keys: tells 1 from 1.0 and True from 1."""
    return json.dumps(value, sort_keys=True)


def sessions() -> list[AgentSession]:
    """Sessions with the edge runs, ordinary ones, a long one and two stored as given."""
    out = [make_session(f"s{i}", runs=i) for i in range(4)]
    out.append(
        AgentSession(session_id="edge", user_id="u", memory={"runs": EDGE_RUNS, "summary": {}})
    )
    out.append(AgentSession(session_id="long", memory={"runs": [make_run(i) for i in range(600)]}))
    out.append(AgentSession(session_id="held-none", memory=None))
    out.append(AgentSession(session_id="held-no-list", memory={"runs": None, "note": 2**70}))
    return out


def reads(storage: Any) -> dict[str, str]:
    """What a reader gets for every session: the session and its runs, paged too."""
    out = {}
    for sid in sorted(storage.get_all_session_ids()):
        session = storage.read(sid)
        newest = storage.get_runs(sid, limit=3, newest_first=True)
        out[sid] = exact([session.to_dict(), newest, storage.count_runs(sid)])
    return out


def run_column_type(storage: Any) -> str:
    """The database's own name for the runs table's ``run`` column type."""
    name = storage.table_name + RUNS_SUFFIX
    with storage.db_engine.connect() as conn:
        if storage.backend == "postgres":  # from the catalog, not SQLAlchemy's reflection
            return str(
                conn.execute(
                    sa.text(
                        "SELECT data_type FROM information_schema.columns WHERE "
                        "table_schema = :s AND table_name = :t AND column_name = 'run'"
                    ),
                    {"s": storage.schema, "t": name},
                ).scalar_one()
            )
        if storage.backend == "sqlite":
            rows = conn.exec_driver_sql(f'PRAGMA table_info("{name}")').all()
            return str(next(r[2] for r in rows if r[1] == "run"))
        return str(
            conn.execute(
                sa.text(
                    "SELECT data_type FROM information_schema.columns "
                    "WHERE table_name = :t AND column_name = 'run'"
                ),
                {"t": name},
            ).scalar_one()
        )


def raw(storage: Any) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """Every stored row of the sessions and runs tables, each value as text (v6's
    insertion number left out: the step after v5 adds it)."""
    out = []
    for name in (storage.table_name, storage.table_name + RUNS_SUFFIX):
        with storage.db_engine.connect() as conn:
            probe = sa.select(sa.text("*")).select_from(sa.table(name, schema=storage.schema))
            found = conn.execute(probe.limit(0)).keys()
            names = [c for c in found if c != INSERT_SEQ]
            table = sa.table(name, *(sa.column(c) for c in names), schema=storage.schema)
            rows = conn.execute(sa.select(*(sa.cast(c, sa.Text) for c in table.c))).all()
        out.append(sorted(tuple(str(v) for v in row) for row in rows))
    return out[0], out[1]


def reopen(storage: Any, **kw: Any) -> Any:
    """A new storage object (empty run cache) on the same table."""
    where = {"db_engine": storage.db_engine}
    if storage.backend == "postgres":
        where["schema"] = storage.schema
    return type(storage)(storage.table_name, **where, **kw)


@pytest.mark.parametrize("backend", ["postgres"])
def test_new_postgres_table_stores_runs_as_json(make_storage: Any, backend: str) -> None:
    storage = make_storage()
    storage.upsert(AgentSession(session_id="s", memory={"runs": EDGE_RUNS}))
    assert storage.current_version == LATEST_VERSION
    assert run_column_type(storage) == "json"
    with storage.db_engine.connect() as conn:
        catalog = conn.execute(
            sa.text(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = CAST(:t AS regclass) AND attname = :c"
            ),
            {"t": f'"{storage.schema}"."{storage.table_name}{RUNS_SUFFIX}"', "c": "run"},
        ).scalar_one()
        memory = conn.execute(
            sa.text(
                "SELECT data_type FROM information_schema.columns WHERE "
                "table_schema = :s AND table_name = :t AND column_name = 'memory'"
            ),
            {"s": storage.schema, "t": storage.table_name},
        ).scalar_one()
        texts = [
            r[0]
            for r in conn.execute(
                sa.text(
                    f'SELECT run::text FROM "{storage.schema}"."{storage.table_name}{RUNS_SUFFIX}"'
                    " ORDER BY run_index"
                )
            )
        ]
    assert catalog == "json" and memory == "jsonb"  # only the runs change type
    # stored as written: the text the storage's encoder wrote, key order and all
    assert texts == [encode_json(run) for run in EDGE_RUNS]
    assert exact(reopen(storage).read("s").memory["runs"]) == exact(EDGE_RUNS)


def compressions(storage: Any) -> dict[str, str]:
    """How the server compresses each text column of the runs table (a
    column's own setting; "" is the server's default, pglz) and the stored
    long run texts."""
    name = f'"{storage.schema}"."{storage.table_name}{RUNS_SUFFIX}"'
    with storage.db_engine.connect() as conn:
        settings = dict(
            conn.execute(
                sa.text(
                    "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = "
                    "CAST(:t AS regclass) AND attname IN ('run', 'search_text')"
                ),
                {"t": name},
            ).all()
        )
        used = conn.execute(
            sa.text(f"SELECT DISTINCT pg_column_compression(run) FROM {name}")
        ).scalars()
        settings["stored"] = ",".join(sorted(filter(None, used)))
    return {k: str(v) for k, v in settings.items()}


@pytest.mark.parametrize("backend", ["postgres"])
def test_runs_text_is_compressed_with_lz4_new_and_upgraded(make_storage: Any, backend: str) -> None:
    """Where the server has lz4 (this one does: Postgres 15), runs are compressed
    with it, which a cold read decompresses several times faster than pglz."""
    long_run = {"run_id": "long", "content": "a fairly repetitive answer " * 400}
    new = make_storage("new")
    new.upsert(AgentSession(session_id="s", memory={"runs": [long_run]}))
    assert compressions(new) == {"run": "l", "search_text": "l", "stored": "lz4"}
    old = make_storage("old", schema_version=4)
    old.upsert(AgentSession(session_id="s", memory={"runs": [long_run]}))
    assert compressions(old) == {"run": "", "search_text": "", "stored": "pglz"}
    old.upgrade_schema()
    assert compressions(old) == {"run": "l", "search_text": "l", "stored": "lz4"}
    assert reopen(old).read("s").memory["runs"] == [long_run]


@pytest.mark.parametrize("backend", ["postgres"])
def test_v4_table_keeps_jsonb_until_upgraded(make_storage: Any, backend: str) -> None:
    v4 = make_storage(schema_version=4)
    v4.upsert(make_session("a"))
    assert v4.current_version == 4 and run_column_type(v4) == "jsonb"
    reader = reopen(v4)  # no auto upgrade: reads and writes the v4 layout
    reader.append_run("a", EDGE_RUNS[0])
    reader.upsert(AgentSession(session_id="b", memory={"runs": EDGE_RUNS}))
    assert reader.current_version == 4 and run_column_type(v4) == "jsonb"
    assert exact(reader.read("b").memory["runs"]) == exact(EDGE_RUNS)
    assert exact(reader.get_runs("a", limit=1, newest_first=True)) == exact(EDGE_RUNS[:1])
    reader.close()


@pytest.mark.parametrize("backend", ["postgres"])
def test_v4_to_v5_on_postgres_converts_in_place_and_keeps_every_run(
    make_storage: Any, backend: str
) -> None:
    storage = make_storage(schema_version=4)
    given = sessions()
    storage.upsert_many(given)
    before = reads(reopen(storage))
    sessions_before, runs_before = raw(storage)
    assert len(runs_before) == sum(range(4)) + len(EDGE_RUNS) + 600

    result = storage.upgrade_schema()
    assert result.applied and [s.version for s in result.steps] == [5, 6]
    assert storage.current_version == 6 and run_column_type(storage) == "json"
    # in place: the same rows, each run's text exactly what jsonb gave for it
    assert raw(storage) == (sessions_before, runs_before)
    assert reads(storage) == before
    fresh = reopen(storage)
    assert reads(fresh) == before
    edge = fresh.read("edge").memory["runs"]
    assert exact(edge) == exact(EDGE_RUNS) and edge[0]["n"] == 2**70
    assert exact(fresh.read("long").memory["runs"]) == exact([make_run(i) for i in range(600)])
    by_id = {s.session_id: s for s in given}
    for sid in ("held-none", "held-no-list"):
        assert exact(fresh.read(sid).memory) == exact(by_id[sid].memory)

    # written after the upgrade: stored as written, read back exactly
    fresh.append_run("s1", EDGE_RUNS[0])
    fresh.upsert(AgentSession(session_id="new", memory={"runs": EDGE_RUNS[::-1]}))
    assert exact(reopen(storage).read("new").memory["runs"]) == exact(EDGE_RUNS[::-1])
    assert exact(reopen(storage).get_runs("s1")[-1]) == exact(EDGE_RUNS[0])
    assert fresh.list_sessions(search="école")[0].session_id in {"edge", "new"}
    fresh.close()


@pytest.mark.parametrize("backend", ["postgres"])
def test_nan_is_refused_on_postgres_the_same_before_and_after_v5(
    make_storage: Any, backend: str
) -> None:
    """Postgres' jsonb refuses NaN (as agno 1.x's tables do), and so does json: a
    session or run holding NaN is not saved, at v4 and at v5 alike, and the
    caller gets one line naming the value instead of the driver's SQL."""
    storage = make_storage(schema_version=4)
    storage.upsert(make_session("kept"))
    nan_run = {"run_id": "nan", "score": float("nan")}

    def refusals() -> list[tuple[Any, ...]]:
        found = []
        attempts = (
            lambda: storage.upsert(AgentSession(session_id="nan", memory={"runs": [nan_run]})),
            lambda: storage.append_run("kept", nan_run),
            lambda: storage.upsert(AgentSession(session_id="nan", session_data={"x": nan_run})),
        )
        for attempt in attempts:
            with pytest.raises(InvalidSessionError) as caught:
                attempt()
            found.append((type(caught.value), str(caught.value)))
        return found

    before = refusals()
    for _, message in before:  # one line that names the value and what to do
        assert "\n" not in message and "(the token NaN)" in message
        assert "nothing was saved" in message and "SELECT" not in message
    kept = reads(storage)
    storage.upgrade_schema()
    assert storage.current_version == LATEST_VERSION
    assert refusals() == before
    assert reads(storage) == kept and storage.read("nan") is None
    assert storage.count_runs("kept") == 2
    with pytest.raises(InvalidSessionError, match=r"cannot store this session's JSON \("):
        storage.upsert(AgentSession(session_id="nul", session_data={"x": "a\u0000b"}))
    nul_run = {"run_id": "nul", "messages": [{"role": "user", "content": "a\u0000b"}]}
    with pytest.raises(InvalidSessionError, match=r"holds a NUL character") as caught:
        storage.upsert(AgentSession(session_id="nul", memory={"runs": [nul_run]}))
    assert "\n" not in str(caught.value) and "INSERT" not in str(caught.value)
    assert storage.read("nul") is None


def test_v4_dry_run_lists_v5_and_changes_nothing(make_storage: Any) -> None:
    storage = make_storage(schema_version=4)
    storage.upsert_many(sessions())
    stored, kind = raw(storage), run_column_type(storage)
    dry = storage.upgrade_schema(dry_run=True)
    assert (dry.from_version, dry.to_version, dry.applied) == (4, 6, False) and dry.pending
    assert [s.version for s in dry.steps] == [5, 6] and dry.sessions == len(sessions())
    text = str(dry)
    runs = f"{storage.schema}.{storage.table_name}{RUNS_SUFFIX}"
    if storage.backend == "postgres":
        assert f"rewrites every row of {runs}" in text
        assert f"ALTER TABLE {runs} ALTER COLUMN run TYPE JSON USING run::text::JSON" in text
        assert dry.expected_lock_s is not None and dry.expected_lock_s > 0
    else:
        v5 = text.split("step v5")[1].split("step v6")[0]
        assert "no data changes" in v5 and "ALTER" not in v5
    assert raw(storage) == stored and run_column_type(storage) == kind
    assert storage.current_version == 4


@pytest.mark.parametrize("backend", ["sqlite", "duckdb"])
def test_v4_to_v5_only_stamps_on_sqlite_and_duckdb(make_storage: Any, backend: str) -> None:
    storage = make_storage(schema_version=4)
    storage.upsert_many(sessions())
    stored, kind, before = raw(storage), run_column_type(storage), reads(storage)
    with storage.db_engine.connect() as conn:
        tables = sorted(sa.inspect(conn).get_table_names())
    result = storage.upgrade_schema()
    assert result.applied and result.steps[0].sql == [] and storage.current_version == 6
    assert (result.sessions_migrated, result.runs_moved) == (0, 0)
    assert raw(storage) == stored and run_column_type(storage) == kind
    with storage.db_engine.connect() as conn:
        assert sorted(sa.inspect(conn).get_table_names()) == tables
    assert reads(reopen(storage)) == before


def test_auto_upgrade_takes_v4_to_v5(make_storage: Any) -> None:
    old = make_storage(schema_version=4)
    old.upsert_many(sessions())
    before = reads(old)
    auto = reopen(old, auto_upgrade_schema=True)
    assert reads(auto) == before and auto.current_version == LATEST_VERSION
    expected = "json" if old.backend == "postgres" else run_column_type(reopen(old))
    assert run_column_type(auto) == expected
    auto.close()


@pytest.mark.parametrize("backend", ["postgres"])
def test_storage_opened_at_v4_follows_an_upgrade_by_another(
    make_storage: Any, backend: str
) -> None:
    """A storage that read the table at v4 writes and reads v5 once another
    process upgraded it (its statements bound ``jsonb``; now ``json``)."""
    first = make_storage(schema_version=4)
    first.upsert_many(sessions())
    held = reopen(first)
    assert held.read("edge") is not None and held.current_version == 4
    reopen(first).upgrade_schema()
    held.append_run("edge", EDGE_RUNS[1])
    held.upsert(AgentSession(session_id="later", memory={"runs": EDGE_RUNS}))
    assert exact(reopen(first).read("later").memory["runs"]) == exact(EDGE_RUNS)
    assert exact(held.read("edge").memory["runs"]) == exact([*EDGE_RUNS, EDGE_RUNS[1]])
    held.close()


@pytest.mark.parametrize("backend", ["postgres"])
def test_cli_and_panel_dry_runs_describe_the_rewrite(
    make_storage: Any, backend: str, pg_schema: str
) -> None:
    storage = make_storage(schema_version=4)
    storage.upsert(make_session("a"))
    out = io.StringIO()
    argv = ["upgrade", postgres_url(), "--schema", pg_schema, "--table", storage.table_name]
    assert main([*argv, "--dry-run"], out=out) == 0
    text = out.getvalue()
    assert "layout v4 -> v6 (dry run, nothing changed)" in text
    assert "ALTER COLUMN run TYPE JSON USING run::text::JSON" in text
    assert "rewrites every row of" in text and "expected write lock" in text
    html = plan_html(storage.upgrade_schema(dry_run=True))
    assert "2 steps planned" in html and "rewrites every row of" in html
    assert "ALTER TABLE" in html and run_column_type(storage) == "jsonb"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sqlite_v4_table_keeps_the_fast_paths_until_upgraded(
    make_storage: Any, backend: str
) -> None:
    """v4 -> v5 only stamps on SQLite, so a v4 table not yet upgraded (auto
    upgrade is off by default) has the latest shape: its reads stay lazy and a
    turn writes one run, as on v5."""
    from agno_nb.storage.lazy_runs import RunList
    from tests.layouts.test_run_cache import log_inserts, rewritten

    make_storage(schema_version=4).upsert(make_session("a", runs=20))
    storage = reopen(make_storage(schema_version=4))
    assert storage.current_version == 4
    log_inserts(storage)
    session = storage.read("a")
    runs = session.memory["runs"]
    assert type(runs) is RunList and runs.stored_count() == 20
    runs.append(make_run(20))
    assert rewritten(storage, "a", lambda: storage.upsert(session)) == [20]
    assert storage.current_version == 4
    assert reopen(storage).read("a").memory["runs"] == [make_run(i) for i in range(21)]
