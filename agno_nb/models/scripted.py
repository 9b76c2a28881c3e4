"""A model that returns canned responses in order (for tests and recipes)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from agno_nb.errors import ModelError
from agno_nb.models.base import ModelResponse, TokenMetrics, ToolCall, count_tokens
from agno_nb.sessions import content_text

__all__ = ["ScriptedModel"]

Scripted = Any  # str | ToolCall | list[ToolCall] | ModelResponse | Mapping | BaseException


class ScriptedModel:
    """Return ``responses`` one per call, in order.

    Each response may be:

    - a string: the answer;
    - a :class:`ToolCall` or a list of them: ask for those tool calls;
    - a mapping ``{"tool": name, "args": {...}}`` (or a list of such): the same;
    - a :class:`ModelResponse`: returned as is;
    - an exception instance: raised (to test failures mid-run).

    Every call is recorded in ``calls`` as ``{"messages": [...], "tools": [...]}``
    so a test can check what the model saw.

    Raises:
        agno_nb.errors.ModelError: when called more times than there are responses.
    """

    name = "ScriptedModel"
    provider = "agno_nb"

    def __init__(self, responses: Iterable[Scripted], *, id: str = "scripted") -> None:
        self.id = id
        self.responses: list[Scripted] = list(responses)
        self.calls: list[dict[str, Any]] = []

    def __repr__(self) -> str:
        return f"ScriptedModel({len(self.responses)} responses, {len(self.calls)} used)"

    @property
    def remaining(self) -> int:
        """How many responses are left."""
        return len(self.responses) - len(self.calls)

    def response(
        self, messages: list[dict[str, Any]], *, tools: list[dict[str, Any]] | None = None
    ) -> ModelResponse:
        """Return (or raise) the next canned response."""
        index = len(self.calls)
        self.calls.append({"messages": copy.deepcopy(messages), "tools": copy.deepcopy(tools)})
        if index >= len(self.responses):
            raise ModelError(
                f"ScriptedModel has no response left (call {index + 1}, "
                f"{len(self.responses)} scripted): add more responses"
            )
        item = self.responses[index]
        if isinstance(item, BaseException):
            raise item
        result = _to_response(item, index)
        input_tokens = sum(count_tokens(content_text(m.get("content"))) for m in messages)
        output_tokens = count_tokens(result.content) + sum(
            count_tokens(c.name) + count_tokens(c.arguments) for c in result.tool_calls
        )
        if result.metrics == TokenMetrics():
            result.metrics = TokenMetrics(input_tokens=input_tokens, output_tokens=output_tokens)
        return result


def _to_call(item: Any, call: int, index: int) -> ToolCall:
    if isinstance(item, ToolCall):
        result = ToolCall(name=item.name, arguments=dict(item.arguments), id=item.id)
    elif isinstance(item, Mapping):
        result = ToolCall(name=str(item["tool"]), arguments=dict(item.get("args") or {}))
    else:
        raise TypeError(f"cannot script a tool call from {type(item).__name__}")
    if not result.id:
        result.id = f"call_scripted_{call}_{index}"
    return result


def _to_response(item: Scripted, call: int) -> ModelResponse:
    if isinstance(item, ModelResponse):
        return copy.deepcopy(item)
    if isinstance(item, str):
        return ModelResponse(content=item)
    if isinstance(item, (ToolCall, Mapping)):
        return ModelResponse(tool_calls=[_to_call(item, call, 0)])
    if isinstance(item, list):
        return ModelResponse(tool_calls=[_to_call(c, call, i) for i, c in enumerate(item)])
    raise TypeError(f"cannot script a response from {type(item).__name__}")
