"""Property: ``read()`` returns exactly what ``upsert()`` was given, on every
backend and layout, for many shapes of session (issue 14, item 12).

Hypothesis draws the sessions: memory with and without a list of runs (or with
``"runs": None``, or none at all), runs of any JSON, nested data, unicode,
big and negative numbers. Example counts are bounded and derandomized, so the
suite stays fast and repeatable.

What the databases themselves change is left out of the drawn values, and said
here: Postgres' JSONB cannot hold ``\\u0000`` and rewrites numbers as decimals
(``1e300`` reads back as the integer ``10**300``), so its floats are kept to
magnitudes JSONB writes back exactly; no backend stores lone surrogates.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agno_nb.schema import LATEST_VERSION
from agno_nb.sessions import AgentSession, WorkflowSession

MakeStorage = Callable[..., Any]
EXAMPLES = 12
#: few examples, the same on every run, no example database
BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=12,
)


def json_values(backend: str) -> st.SearchStrategy[Any]:
    floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
    if backend == "postgres":
        floats = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, width=64)
    scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | floats | TEXT
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
        max_leaves=12,
    )


def objects(backend: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(TEXT, json_values(backend), max_size=4)


def runs(backend: str) -> st.SearchStrategy[list[Any]]:
    message = st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "tool"]), "content": TEXT | st.none()},
        optional={"from_history": st.booleans(), "metrics": objects(backend)},
    )
    run = st.fixed_dictionaries(
        {"run_id": TEXT},
        optional={
            "messages": st.lists(message, max_size=3),
            "created_at": st.integers(0, 2**40),
            "extra": json_values(backend),
        },
    )
    return st.lists(run | objects(backend), max_size=3)


def memories(backend: str) -> st.SearchStrategy[Any]:
    with_runs = st.builds(lambda rest, r: {**rest, "runs": r}, objects(backend), runs(backend))
    runs_none = st.builds(lambda rest: {**rest, "runs": None}, objects(backend))
    without = objects(backend).map(lambda d: {k: v for k, v in d.items() if k != "runs"})
    return st.none() | with_runs | runs_none | without


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


@pytest.mark.parametrize("layout", [0, 1, LATEST_VERSION])
def test_agent_sessions_read_back_exactly(
    make_storage: MakeStorage, backend: str, layout: int
) -> None:
    writer = make_storage("rt", schema_version=layout)
    ids = itertools.count()
    written: dict[str, AgentSession] = {}

    @BOUNDED
    @given(
        memory=memories(backend),
        session_data=optional(objects(backend)),
        extra_data=optional(objects(backend)),
        agent_data=optional(objects(backend)),
        user_id=optional(TEXT),
        agent_id=optional(TEXT),
        team_session_id=optional(TEXT) if layout >= 1 else st.none(),  # v0 has no column
        created_at=st.integers(1, 2**40),
    )
    def check(**fields: Any) -> None:
        session = AgentSession(session_id=f"s{next(ids)}", **fields)
        writer.upsert(session)
        fresh = make_storage("rt")  # no cached layout or statements
        try:
            for reader in (writer, fresh):
                back = reader.read(session.session_id)
                assert back == session
                assert reader.get_runs(session.session_id) == session.run_dicts
                assert reader.count_runs(session.session_id) == len(session.run_dicts)
        finally:
            fresh.close()  # gives its connection back (Postgres' are counted)
        assert back is not None
        writer.upsert(back)  # writing back what was read changes nothing
        assert writer.read(session.session_id) == back
        written[session.session_id] = back

    check()
    assert {s.session_id: s for s in writer.get_all_sessions()} == written
    listed = writer.list_sessions(limit=None)
    assert {s.session_id: s.run_count for s in listed} == {
        sid: len(s.run_dicts) for sid, s in written.items()
    }
    assert all(s.error is None for s in listed)


@pytest.mark.parametrize("layout", [1, LATEST_VERSION])
def test_workflow_sessions_read_back_exactly(
    make_storage: MakeStorage, backend: str, layout: int
) -> None:
    writer = make_storage("rtw", mode="workflow_v2", schema_version=layout)
    ids = itertools.count()

    @BOUNDED
    @given(
        runs_v2=optional(runs(backend)),
        memory=optional(objects(backend)),
        workflow_data=optional(objects(backend)),
        workflow_name=optional(TEXT),
        created_at=st.integers(1, 2**40),
    )
    def check(**fields: Any) -> None:
        session = WorkflowSession(session_id=f"w{next(ids)}", **fields)
        writer.upsert(session)
        fresh = make_storage("rtw", mode="workflow_v2")
        try:
            assert fresh.read(session.session_id) == session
        finally:
            fresh.close()

    check()
