"""Runs read from a runs table are decoded when taken (``lazy_runs.py``).

The list a read hands out must behave as a list of plain dicts for everything a
caller does with it, never show one read's edits to another, and leave the runs
nobody took undecoded, so a turn (read, append, upsert) neither decodes nor
rewrites them. Storage tests run on SQLite and Postgres (change tokens).
"""

from __future__ import annotations

import copy
import json
import math
import pickle
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from agno_nb.codec import StoredRun, encode_json
from agno_nb.integrations.agno import as_agno_storage
from agno_nb.storage.lazy_runs import RunList
from tests.layouts import test_run_cache
from tests.layouts.test_run_cache import log_inserts, make_run, make_session, rewritten, stored_runs

tokened = test_run_cache.tokened  # storages of one table, nothing shared between them


def lazy(count: int = 4) -> RunList:
    return RunList(StoredRun(orjson.dumps(make_run(i)), "s1") for i in range(count))


def plain(count: int = 4) -> list[dict[str, Any]]:
    return [make_run(i) for i in range(count)]


# -- the list, without a database -----------------------------------------------------


def test_taking_an_item_decodes_it_in_place_and_only_it() -> None:
    runs = lazy()
    assert runs.stored_count() == 4
    assert runs[1] == make_run(1) and type(runs[1]) is dict
    assert runs[-1]["run_id"] == "run-3"
    assert runs.stored_count() == 2
    runs[1]["content"] = "edited"
    assert runs[1]["content"] == "edited"  # the caller's dict, kept in the list


def test_slices_iteration_and_reversal_give_plain_dicts() -> None:
    runs = lazy()
    assert runs[1:3] == plain()[1:3] and all(type(r) is dict for r in runs[1:3])
    assert runs[::-2] == plain()[::-2]
    assert list(reversed(lazy())) == plain()[::-1]
    assert [r["run_id"] for r in lazy()] == [r["run_id"] for r in plain()]
    assert all(type(r) is dict for r in lazy())


def test_list_methods_behave_as_on_a_list_of_dicts() -> None:
    runs = lazy()
    assert runs.pop() == make_run(3) and runs.pop(0) == make_run(0) and len(runs) == 2
    runs = lazy()
    runs.sort(key=lambda r: -r["created_at"])
    assert runs == plain()[::-1]
    assert lazy() == plain() and plain() == lazy() and lazy() != plain(3)
    assert make_run(2) in lazy() and lazy().index(make_run(2)) == 2
    assert repr(lazy()) == repr(plain())
    joined = lazy(2) + [make_run(9)]  # noqa: RUF005 - the operator is under test
    assert type(joined) is RunList and joined == [*plain(2), make_run(9)]
    assert lazy(1) * 2 == plain(1) * 2
    runs = lazy()
    runs.append(make_run(4))
    del runs[0]
    assert runs == plain(5)[1:]


def test_copies_are_independent_and_pickles_are_plain() -> None:
    runs = lazy()
    shallow = runs.copy()
    assert type(shallow) is RunList and shallow.stored_count() == 4
    shallow[0]["content"] = "in the copy"
    assert runs[0] == make_run(0)
    deep = copy.deepcopy(runs)
    deep[0]["messages"].append({"role": "user"})
    assert runs[0] == make_run(0) and deep.stored_count() == 0
    again = pickle.loads(pickle.dumps(lazy()))
    assert type(again) is list and again == plain()
    item = pickle.loads(pickle.dumps(StoredRun(b'{"a": [1]}', "s")))
    assert item == {"a": [1]} and type(item) is dict


def test_encoders_write_the_stored_text_or_refuse_loudly() -> None:
    assert json.loads(json.dumps({"runs": lazy()})) == {"runs": plain()}
    nan = RunList([StoredRun(b'{"x":NaN}', "s"), StoredRun(b'{"n":123456789012345678901}', "s")])
    text = encode_json({"runs": nan, "summary": "kept"})
    assert text == '{"runs":[{"x":NaN},{"n":123456789012345678901}],"summary":"kept"}'
    assert json.loads(encode_json({"runs": lazy()})) == {"runs": plain()}
    with pytest.raises(TypeError, match="StoredRun"):  # never an empty or wrong run
        orjson.dumps(lazy())


def test_pandas_and_pydantic_see_plain_runs() -> None:
    import pandas as pd
    import pydantic

    frame = pd.DataFrame(lazy())
    assert list(frame["run_id"]) == [r["run_id"] for r in plain()]
    assert pydantic.TypeAdapter(list[dict]).validate_python(lazy()) == plain()


def test_a_stored_run_is_read_only_and_decodes_afresh() -> None:
    item = StoredRun(orjson.dumps(make_run(0)), "s")
    with pytest.raises(TypeError):
        item["content"] = "x"  # type: ignore[index]
    item["messages"].append({"role": "user"})  # a fresh value: nothing shared
    assert item == make_run(0) and dict(item) == make_run(0) and len(item) == len(make_run(0))
    assert math.isnan(StoredRun("NaN", "s").decode())


# -- through a storage --------------------------------------------------------------


def test_a_cold_read_decodes_nothing(tokened: Callable[..., Any]) -> None:
    tokened().upsert(make_session(runs=50))
    runs = tokened().read("s1").memory["runs"]
    assert type(runs) is RunList and runs.stored_count() == 50
    assert runs == plain(50)


@pytest.mark.parametrize("through", ["agno_nb", "agno"])
def test_a_turn_leaves_stored_runs_undecoded_and_writes_one(
    tokened: Callable[..., Any], through: str
) -> None:
    storage = tokened()
    storage.upsert(make_session(runs=30))
    log_inserts(storage)
    reader = storage if through == "agno_nb" else as_agno_storage(storage)
    for n in range(30, 33):
        session = reader.read("s1")
        runs = session.memory["runs"]
        assert runs.stored_count() == n  # a warm read hands out the stored runs
        runs.append(make_run(n))
        assert rewritten(storage, "s1", lambda s=session: reader.upsert(s)) == [n]
        assert runs.stored_count() == n  # the write decoded none of them
    assert stored_runs(tokened, "s1") == plain(33)


def test_runs_read_from_one_table_copy_exactly_into_another_layout(
    tokened: Callable[..., Any], tmp_path: Any
) -> None:
    from agno_nb.storage import SqliteStorage

    source = tokened()
    session = make_session(runs=3)
    session.memory["runs"][1]["metrics"] = {"beyond": 2**70}
    source.upsert(session)
    read = tokened().read("s1")
    for version in (1, None):  # agno 1.x's layout (runs inside memory) and ours
        target = SqliteStorage(f"copy_v{version}", db_file=str(tmp_path / "copy.db"))
        if version == 1:
            target = SqliteStorage("copy_v1", db_file=str(tmp_path / "copy.db"), schema_version=1)
        target.create()
        target.upsert(copy.copy(read))
        got = SqliteStorage(target.table_name, db_file=str(tmp_path / "copy.db")).read("s1")
        assert got.memory["runs"] == session.memory["runs"]
        assert isinstance(got.memory["runs"][1]["metrics"]["beyond"], int)
        target.close()


def test_agno_nb_agent_turn_decodes_only_its_history(tokened: Callable[..., Any]) -> None:
    from agno_nb import Agent

    tokened().upsert(make_session(runs=200))
    storage = tokened()
    agent = Agent(
        session_id="s1", storage=storage, add_history_to_messages=True, num_history_runs=3
    )
    agent.run("one more question")
    runs = agent._runs
    assert type(runs) is RunList and runs.stored_count() == 200 - 3
    assert stored_runs(tokened, "s1")[:200] == plain(200)
    assert len(stored_runs(tokened, "s1")) == 201
    assert agent.get_chat_history()[-1]["role"] == "assistant"  # takes them all, as asked
    assert runs.stored_count() == 0
