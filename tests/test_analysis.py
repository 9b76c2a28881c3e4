"""agno_nb.analysis: runs and tokens per user and UTC day, and the activity plot."""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd
import pytest

from agno_nb import analysis
from agno_nb.sessions import AgentSession

DAY1 = 1_700_006_400  # 2023-11-15 00:00:00 UTC
DAY2 = DAY1 + 86_400


def run(at: int, tokens: int, *, history: bool = False) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    if history:
        messages.append(
            {
                "role": "assistant",
                "content": "old",
                "from_history": True,
                "created_at": at - 10,
                "metrics": {"input_tokens": 1000, "output_tokens": 1000, "total_tokens": 2000},
            }
        )
    messages += [
        {"role": "user", "content": "q", "created_at": at},
        {
            "role": "assistant",
            "content": "a",
            "created_at": at + 1,
            "metrics": {"input_tokens": tokens, "output_tokens": 1, "total_tokens": tokens + 1},
        },
    ]
    return {"run_id": f"r{at}", "created_at": at, "messages": messages}


@pytest.fixture
def active(storage: Any) -> Any:
    """alice: 2 runs on day 1 (one session), 1 run on day 2; bob: 1 run on day 2."""
    sessions = [
        ("s1", "alice", [run(DAY1 + 100, 10), run(DAY1 + 200, 20, history=True)]),
        ("s2", "alice", [run(DAY2 + 300, 5)]),
        ("s3", "bob", [run(DAY2 + 50, 7)]),
    ]
    for i, (sid, user, runs) in enumerate(sessions):
        storage.upsert(
            AgentSession(session_id=sid, user_id=user, memory={"runs": runs}, created_at=DAY1 + i)
        )
    return storage


def test_activity_per_user_and_day(active: Any) -> None:
    table = analysis.activity(active)
    assert list(table.columns) == [
        "user_id",
        "day",
        "runs",
        "messages",
        "input_tokens",
        "output_tokens",
        "total_tokens",
    ]
    rows = [
        (r.user_id, r.day.strftime("%Y-%m-%d"), r.runs, r.messages, r.input_tokens, r.total_tokens)
        for r in table.itertuples()
    ]
    assert rows == [
        ("alice", "2023-11-15", 2, 4, 30, 32),  # history copies (2000 tokens) not counted
        ("alice", "2023-11-16", 1, 2, 5, 6),
        ("bob", "2023-11-16", 1, 2, 7, 8),
    ]


def test_runs_and_tokens_helpers(active: Any) -> None:
    runs = analysis.runs_per_user_day(active)
    assert list(runs.columns) == ["user_id", "day", "runs"]
    assert runs["runs"].tolist() == [2, 1, 1]
    tokens = analysis.tokens_per_user_day(active, user_id="bob")
    assert tokens[["user_id", "input_tokens", "output_tokens", "total_tokens"]].values.tolist() == [
        ["bob", 7, 1, 8]
    ]


def test_accepts_a_dataframe_and_filters_history_rows(active: Any) -> None:
    df = active.messages_df()
    extra = df.iloc[[0]].copy()
    extra["from_history"] = True
    extra["total_tokens"] = 999
    mixed = pd.concat([df, extra], ignore_index=True)
    table = analysis.activity(mixed, user_id="alice")
    assert table["total_tokens"].tolist() == [32, 6]
    assert set(table["user_id"]) == {"alice"}


def test_epoch_seconds_are_accepted() -> None:
    df = pd.DataFrame(
        {
            "session_id": ["a", "a"],
            "user_id": [None, None],
            "run_index": [0, 0],
            "created_at": [DAY1 + 5, DAY1 + 6],
            "from_history": [False, False],
            "input_tokens": [None, 3],
            "output_tokens": [None, 2],
            "total_tokens": [None, 5],
        }
    )
    table = analysis.activity(df)
    assert table[["user_id", "runs", "messages", "total_tokens"]].values.tolist() == [
        ["(none)", 1, 2, 5]
    ]
    assert str(table["day"].iloc[0].date()) == "2023-11-15"


def test_empty_storage(storage: Any) -> None:
    table = analysis.activity(storage)
    assert table.empty
    assert list(table.columns)[:3] == ["user_id", "day", "runs"]


def test_plot_activity(active: Any) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = analysis.plot_activity(active, metric="total_tokens")
    try:
        labels = sorted(line.get_label() for line in ax.get_lines())
        assert labels == ["alice", "bob"]
        alice = next(line for line in ax.get_lines() if line.get_label() == "alice")
        assert list(alice.get_ydata()) == [32, 6]
        assert ax.get_ylabel() == "total tokens"
    finally:
        plt.close(ax.figure)
    with pytest.raises(ValueError, match="unknown metric"):
        analysis.plot_activity(active, metric="bogus")


def test_plot_without_matplotlib_names_the_extra(
    active: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError) as info:
        analysis.plot_activity(active)
    message = str(info.value)
    assert "agno_nb[plot]" in message and "\n" not in message
