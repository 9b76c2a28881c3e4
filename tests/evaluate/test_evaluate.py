"""``agno_nb.evaluate.compare``: every prompt through every agent in fresh
evaluation sessions, the result as a DataFrame, static HTML and a widget whose
picks are stored as labels; datasets exported from labels as the prompts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agno_nb.agent import Agent
from agno_nb.errors import InvalidArgumentError
from agno_nb.evaluate import (
    EVAL_STATE_KEY,
    Comparison,
    compare,
    is_evaluation_session,
    load_prompts,
)
from agno_nb.models import OfflineModel, ScriptedModel
from agno_nb.models.base import ToolCall
from agno_nb.render_compare import diff_html


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def two_agents(storage: Any) -> dict[str, Agent]:
    v1 = Agent(name="v1", model=OfflineModel(), storage=storage, tools=[add])
    v2 = Agent(
        name="v2",
        storage=storage,
        model=ScriptedModel(
            [
                "Hello there <b>friend</b>",
                ToolCall(name="add", arguments={"a": 2, "b": 2}),
                "The sum is 4",
            ]
        ),
        tools=[add],
    )
    return {"v1": v1, "v2": v2}


def test_every_prompt_in_a_fresh_evaluation_session(storage: Any) -> None:
    agents = two_agents(storage)
    home = agents["v1"].session_id
    agents["v1"].run("a real conversation")
    seen: list[tuple[int, int]] = []
    result = compare(agents, ["hello", "add a=2 b=2"], progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    frame = result.df
    assert list(frame["prompt"]) == ["hello", "add a=2 b=2"]
    assert frame.loc[0, "v2_answer"] == "Hello there <b>friend</b>"
    assert frame.loc[1, "v2_answer"] == "The sum is 4"
    assert frame.loc[1, "v2_tool_calls"] == 1 and frame.loc[1, "v1_tool_calls"] == 1
    assert frame.loc[0, "v1_tool_calls"] == 0
    assert all(frame[f"{v}_tokens"].notna().all() for v in ("v1", "v2"))
    assert (frame["v1_latency_s"] >= 0).all()
    sessions = [frame.loc[i, f"{v}_session_id"] for i in range(2) for v in ("v1", "v2")]
    assert len(set(sessions)) == 4 and home not in sessions
    for sid in sessions:
        session = storage.read(sid)
        assert len(session.runs) == 1  # no history from another prompt
        assert is_evaluation_session(session)
        assert session.session_state[EVAL_STATE_KEY]["comparison"] == result.comparison_id
        assert is_evaluation_session(storage.get_summary(sid))
    assert not is_evaluation_session(storage.get_summary(home))
    # the agent is back on its own session, its history intact
    assert agents["v1"].session_id == home
    assert len(storage.read(home).runs) == 1


def test_pick_stores_labels_and_the_widget_clicks(storage: Any) -> None:
    from agno_nb.widgets.compare_view import CompareView

    result = compare(two_agents(storage), ["hello", "add a=2 b=2"], progress=False)
    view = result.widget()
    assert isinstance(view, CompareView)
    view.pick_buttons[1][1].click()  # prompt 2: "v2 is better"
    row = result.rows[1]
    labels = {(x.session_id, x.run_id): x for x in storage.labels()}
    good = labels[(row.answers["v2"].session_id, row.answers["v2"].run_id)]
    bad = labels[(row.answers["v1"].session_id, row.answers["v1"].run_id)]
    assert (good.rating, bad.rating) == ("good", "bad")
    assert good.tags == ("compare", result.comparison_id)
    assert result.df.loc[1, "picked"] == "v2"
    assert "v2 picked" in view.status.value
    assert view.pick_buttons[1][1].button_style == "success"
    assert "agno-nb-picked" in view.row_views[1].value
    # a new pick replaces the labels
    view.pick_buttons[1][0].click()
    ratings = {x.run_id: x.rating for x in storage.labels()}
    assert ratings[row.answers["v1"].run_id] == "good"
    assert ratings[row.answers["v2"].run_id] == "bad"
    with pytest.raises(InvalidArgumentError, match="no variant 'v3'"):
        result.pick(0, "v3")
    with pytest.raises(InvalidArgumentError, match="no prompt 5"):
        result.pick(5, "v1")


def test_static_html_escapes_and_highlights(storage: Any) -> None:
    result = compare(two_agents(storage), ["hello"], progress=False)
    page = result._repr_html_()
    assert "<b>friend</b>" not in page and "&lt;b&gt;friend&lt;/b&gt;" in page
    assert "<ins>" in page
    assert "v1" in page and "v2" in page and "tokens" in page
    assert diff_html("the cat sat", "the dog sat") == "the <ins>dog</ins> sat"
    assert diff_html("a b", "a new words b") == "a <ins>new</ins> <ins>words</ins> b"
    assert diff_html("a b c", "a c") == "a c"  # what is missing is not shown
    assert diff_html("a <x>", "a <x>") == "a &lt;x&gt;"


def test_a_failing_agent_is_one_answer_with_an_error(storage: Any) -> None:
    broken = Agent(storage=storage, model=ScriptedModel([RuntimeError("model down\nmore")]))
    result = compare({"ok": Agent(storage=storage), "broken": broken}, ["hi"], progress=False)
    (row,) = result.rows
    assert row.answers["broken"].error == "RuntimeError: model down"
    assert row.answers["ok"].content == "[offline] You said: hi"
    assert "model down" in result._repr_html_()


def test_a_dataset_exported_from_labels_is_the_prompts(storage: Any, tmp_path: Path) -> None:
    from agno_nb.export import export_jsonl

    agent = Agent(storage=storage)
    first = agent.run("What is the capital of France?")
    second = agent.run("Say hello")
    storage.label_run(agent.session_id, first.run_id, "bad", correction="Paris")
    storage.label_run(agent.session_id, second.run_id, "good")
    path = tmp_path / "dataset.jsonl"
    assert export_jsonl(storage, path, rating="good", corrections=True) == 2
    prompts = load_prompts(path)
    assert [(p.text, p.expected) for p in prompts] == [
        ("What is the capital of France?", "Paris"),
        ("Say hello", "[offline] You said: Say hello"),
    ]
    result = compare({"a": Agent(storage=storage), "b": Agent(storage=storage)}, path)
    assert list(result.df["expected"]) == ["Paris", "[offline] You said: Say hello"]
    assert "expected:" in result._repr_html_()


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    agent = Agent()
    cases = [
        (lambda: compare({}, ["x"]), "pass the agents as a dict"),
        (lambda: compare({"a": object()}, ["x"]), "has no run() method"),
        (lambda: compare({"a": agent}, "just a string"), "pass the prompts as a list"),
        (lambda: compare({"a": agent}, [42]), "prompt 0 is not a prompt"),
        (lambda: compare({"a": agent}, tmp_path / "none.jsonl"), "no dataset file"),
    ]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "ok"}\nnot json\n')
    cases.append((lambda: compare({"a": agent}, bad), "bad.jsonl line 2 is not JSON"))
    for call, says in cases:
        with pytest.raises(InvalidArgumentError) as info:
            call()
        assert says in str(info.value) and "\n" not in str(info.value)


def test_without_storage_the_pick_is_kept_in_the_result() -> None:
    result = compare({"a": Agent(), "b": Agent()}, [{"prompt": "hi", "expected": "hello"}])
    assert isinstance(result, Comparison)
    assert result.pick(0, "b") == []
    assert result.rows[0].picked == "b"
    assert result.rows[0].prompt.expected == "hello"


def test_agno_1x_agent(tmp_path: Path, make_storage: Any) -> None:
    pytest.importorskip("agno.agent")
    from agno_nb.integrations.agno import as_agno_storage
    from tests.agno_fixtures import make_agent

    storage = make_storage()
    storage.create()
    agno_agent = make_agent(as_agno_storage(storage), session_id="home", user_id="u")
    ours = Agent(storage=storage, model=OfflineModel())
    result = compare({"agno": agno_agent, "agno_nb": ours}, ["hello", "add 2 3"], progress=False)
    frame = result.df
    assert list(frame["agno_answer"]) == ["echo: hello", "The tool said: 5"]
    assert list(frame["agno_tokens"]) == [15, 30]
    assert list(frame["agno_tool_calls"]) == [0, 1]
    for i in range(2):
        session = storage.read(frame.loc[i, "agno_session_id"])
        assert len(session.runs) == 1
        assert is_evaluation_session(session)
        assert session.session_state[EVAL_STATE_KEY]["variant"] == "agno"
    assert agno_agent.session_id == "home"  # back on its own session
    agno_agent.run("hello again")
    assert len(storage.read("home").runs) == 1  # the next run continues "home", not an eval
    stored = result.pick(0, "agno")
    assert [x.rating for x in stored] == ["good", "bad"]
    json.dumps(result.df.to_dict(orient="records"), default=str)
