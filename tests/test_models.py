"""Models without storage: the offline model, the scripted model, tool schemas."""

from __future__ import annotations

import json
from enum import Enum
from typing import Literal

import pytest

from agno_nb.errors import ModelError
from agno_nb.models import (
    Model,
    ModelResponse,
    OfflineModel,
    OpenAIChat,
    ScriptedModel,
    TokenMetrics,
    Tool,
    ToolCall,
)


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict:
    return {"role": "assistant", "content": text}


# ---------------------------------------------------------------- OfflineModel


def test_offline_model_echo_is_marked_and_counts_words() -> None:
    reply = OfflineModel().response([user("hello there world")])
    assert reply.content == "[offline] You said: hello there world"
    assert reply.tool_calls == []
    assert reply.metrics.input_tokens == 3
    assert reply.metrics.output_tokens == 6
    assert reply.metrics.total_tokens == 9


def test_offline_model_is_deterministic() -> None:
    messages = [user("My name is Ada"), assistant("Nice to meet you, Ada."), user("tell me more")]
    first = OfflineModel().response(messages)
    second = OfflineModel().response([dict(m) for m in messages])
    assert first == second


def test_offline_model_last_question_without_history_says_so() -> None:
    reply = OfflineModel().response([user("What was my last question?")])
    assert "don't know your last question" in (reply.content or "")


def test_offline_model_last_question_from_history_skips_meta_questions() -> None:
    messages = [
        user("What was my last question?"),
        assistant("I don't know."),
        user("What is the capital of France?"),
        assistant("[offline] You said: What is the capital of France?"),
        user("What was my last question?"),
        assistant("..."),
        user("What was my last question?"),
    ]
    reply = OfflineModel().response(messages)
    assert reply.content == 'Your last question was: "What is the capital of France?"'


def test_offline_model_uses_only_the_history_it_is_given() -> None:
    # the system message is not a question and the current prompt is not history
    messages = [{"role": "system", "content": "Be brief."}, user("What was my last question?")]
    assert "don't know" in (OfflineModel().response(messages).content or "")


def test_offline_model_name_from_history() -> None:
    model = OfflineModel()
    assert model.response([user("My name is Ada Lovelace")]).content == (
        "Nice to meet you, Ada Lovelace."
    )
    messages = [user("Hi, my name is Ada."), assistant("Hello"), user("What is my name?")]
    assert model.response(messages).content == "Your name is Ada."
    messages = [user("MY NAME IS bob and I live in Paris"), user("what's my name?")]
    assert model.response(messages).content == "Your name is bob."
    unknown = model.response([user("What is my name?")]).content or ""
    assert "don't know your name" in unknown


def _weather(city: str, days: int = 1) -> str:
    """Get the weather forecast.

    Args:
        city: The city to look up.
        days: How many days ahead.
    """
    return f"sunny in {city} for {days} day(s)"


def test_offline_model_calls_a_named_tool_then_answers_with_its_result() -> None:
    tools = [Tool(_weather).schema()]
    model = OfflineModel()
    prompt = [user('Use _weather for "Paris" with days=2 please')]
    first = model.response(prompt, tools=tools)
    assert first.content is None
    assert [(c.name, c.arguments) for c in first.tool_calls] == [
        ("_weather", {"city": "Paris", "days": 2})
    ]
    assert first.tool_calls[0].id.startswith("call_")
    again = model.response(prompt, tools=tools)
    assert again.tool_calls[0].id == first.tool_calls[0].id  # deterministic ids

    call = first.tool_calls[0]
    followup = [
        *prompt,
        {"role": "assistant", "content": None, "tool_calls": [call.to_dict()]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny in Paris for 2 day(s)"},
    ]
    answer = model.response(followup, tools=tools)
    assert answer.tool_calls == []
    assert answer.content == "[offline] _weather returned: sunny in Paris for 2 day(s)"


def test_offline_model_does_not_call_unmentioned_tools() -> None:
    reply = OfflineModel().response([user("how is it outside?")], tools=[Tool(_weather).schema()])
    assert reply.tool_calls == []
    assert reply.content == "[offline] You said: how is it outside?"


def test_offline_model_reads_chat_history_tool_when_it_has_no_history() -> None:
    def get_chat_history(num_chats: int | None = None) -> str:
        """History."""
        return ""

    tools = [Tool(get_chat_history).schema()]
    model = OfflineModel()
    first = model.response([user("What was my last question?")], tools=tools)
    assert [c.name for c in first.tool_calls] == ["get_chat_history"]
    history = json.dumps([user("Is water wet?"), assistant("yes")])
    call = first.tool_calls[0]
    answer = model.response(
        [
            user("What was my last question?"),
            {"role": "assistant", "content": None, "tool_calls": [call.to_dict()]},
            {"role": "tool", "tool_call_id": call.id, "content": history},
        ],
        tools=tools,
    )
    assert answer.content == 'Your last question was: "Is water wet?"'


def test_models_satisfy_the_protocol() -> None:
    assert isinstance(OfflineModel(), Model)
    assert isinstance(ScriptedModel([]), Model)
    assert isinstance(OpenAIChat(api_key="k"), Model)


# ---------------------------------------------------------------- ScriptedModel


def test_scripted_model_returns_responses_in_order_and_records_calls() -> None:
    model = ScriptedModel(
        [
            "first",
            ToolCall(name="lookup", arguments={"q": "x"}),
            {"tool": "other", "args": {"n": 1}},
            [ToolCall(name="a"), ToolCall(name="b")],
            ModelResponse(content="done", metrics=TokenMetrics(input_tokens=7, output_tokens=1)),
        ]
    )
    assert model.response([user("one two")]).content == "first"
    second = model.response([user("x")], tools=[{"type": "function"}])
    assert second.tool_calls[0].name == "lookup"
    assert second.tool_calls[0].arguments == {"q": "x"}
    third = model.response([user("x")])
    assert (third.tool_calls[0].name, third.tool_calls[0].arguments) == ("other", {"n": 1})
    fourth = model.response([user("x")])
    assert [c.name for c in fourth.tool_calls] == ["a", "b"]
    assert len({c.id for c in [*second.tool_calls, *fourth.tool_calls]}) == 3
    fifth = model.response([user("x")])
    assert (fifth.content, fifth.metrics.input_tokens) == ("done", 7)
    assert model.calls[0]["messages"] == [user("one two")]
    assert model.calls[1]["tools"] == [{"type": "function"}]
    assert model.remaining == 0
    with pytest.raises(ModelError, match="no response left"):
        model.response([user("x")])


def test_scripted_model_raises_scripted_exceptions() -> None:
    model = ScriptedModel([RuntimeError("boom")])
    with pytest.raises(RuntimeError, match="boom"):
        model.response([user("x")])


# ---------------------------------------------------------------- tool schema


class Unit(Enum):
    C = "celsius"
    F = "fahrenheit"


def convert(
    value: float,
    unit: Unit,
    places: int = 1,
    tags: list[str] | None = None,
    mode: Literal["fast", "exact"] = "fast",
    agent: object = None,
) -> str:
    """Convert a temperature.

    More words that are not part of the summary.

    Args:
        value: The temperature.
        unit: The unit to convert to.
            Continues on the next line.
        places: Decimal places.

    Returns:
        The converted value.
    """
    return f"{value} {unit.value} {places} {tags} {mode} {agent is not None}"


def test_tool_schema_from_name_docstring_and_hints() -> None:
    schema = Tool(convert).schema()
    assert schema["type"] == "function"
    function = schema["function"]
    assert function["name"] == "convert"
    assert function["description"] == "Convert a temperature."
    params = function["parameters"]
    assert params["required"] == ["value", "unit"]
    props = params["properties"]
    assert props["value"] == {"type": "number", "description": "The temperature."}
    assert props["unit"] == {
        "enum": ["celsius", "fahrenheit"],
        "description": "The unit to convert to. Continues on the next line.",
    }
    assert props["places"] == {"type": "integer", "description": "Decimal places."}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["mode"] == {"enum": ["fast", "exact"]}
    assert "agent" not in props  # injected by the Agent, hidden from the model


def test_tool_call_injects_agent_and_passes_arguments() -> None:
    tool = Tool(convert)
    sentinel = object()
    assert tool({"value": 1.5, "unit": Unit.C}, agent=sentinel) == "1.5 celsius 1 None fast True"


def test_tool_rejects_non_callables() -> None:
    with pytest.raises(TypeError, match="callable"):
        Tool("not a function")  # type: ignore[arg-type]


def test_tool_call_round_trips_through_the_chat_completions_form() -> None:
    call = ToolCall(name="f", arguments={"a": [1, 2]}, id="call_1")
    data = call.to_dict()
    assert data == {
        "id": "call_1",
        "type": "function",
        "function": {"name": "f", "arguments": '{"a": [1, 2]}'},
    }
    assert ToolCall.from_dict(data) == call
    broken = ToolCall.from_dict({"id": "x", "function": {"name": "f", "arguments": "{nope"}})
    assert broken.arguments == {}
