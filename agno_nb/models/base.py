"""The model protocol, its response types and tool schemas.

A model is anything with ``id``, ``name``, ``provider`` and a
``response(messages, *, tools=None) -> ModelResponse`` method. ``messages`` are
chat-completions style dicts (``role``, ``content``, ``tool_calls``,
``tool_call_id``); ``tools`` are chat-completions tool schemas as made by
:class:`Tool`.
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "Model",
    "ModelResponse",
    "TokenMetrics",
    "Tool",
    "ToolCall",
    "count_tokens",
    "model_info",
]


def count_tokens(text: Any) -> int:
    """Count tokens the offline way: whitespace-separated words (deterministic)."""
    if text is None:
        return 0
    if not isinstance(text, str):
        text = json.dumps(text, sort_keys=True, default=str)
    return len(text.split())


@dataclass
class TokenMetrics:
    """Token counts of one model call."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass
class ToolCall:
    """A model's request to call one tool with some arguments."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The chat-completions form (arguments as a JSON string), as agno stores it."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": json.dumps(self.arguments)},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolCall:
        """Read the chat-completions form back (bad JSON arguments become ``{}``)."""
        function = data.get("function") or {}
        raw = function.get("arguments")
        arguments: Any = raw
        if isinstance(raw, str):
            try:
                arguments = json.loads(raw) if raw.strip() else {}
            except json.JSONDecodeError:
                arguments = {}
        if not isinstance(arguments, dict):
            arguments = {}
        return cls(
            name=str(function.get("name") or ""), arguments=arguments, id=str(data.get("id") or "")
        )


@dataclass
class ModelResponse:
    """What one model call returns: content and/or tool calls, plus token counts."""

    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    metrics: TokenMetrics = field(default_factory=TokenMetrics)


@runtime_checkable
class Model(Protocol):
    """A chat model the :class:`agno_nb.Agent` can talk to."""

    id: str
    name: str
    provider: str

    def response(
        self, messages: list[dict[str, Any]], *, tools: list[dict[str, Any]] | None = None
    ) -> ModelResponse:
        """Answer ``messages``; may ask for ``tools`` to be called.

        Raises:
            agno_nb.errors.ModelError: the model could not be reached or refused.
        """
        ...


def model_info(model: Any) -> dict[str, Any]:
    """``{"id", "name", "provider"}`` of a model, as agno stores it in ``agent_data``."""
    return {
        "id": getattr(model, "id", None),
        "name": getattr(model, "name", type(model).__name__),
        "provider": getattr(model, "provider", None),
    }


# --------------------------------------------------------------------------- tools

_SIMPLE_TYPES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    dict: "object",
    list: "array",
    tuple: "array",
    set: "array",
}


def json_schema_for(hint: Any) -> dict[str, Any]:
    """A JSON schema for a Python type hint (unknown types give ``{}``: anything)."""
    if hint is inspect.Parameter.empty or hint is Any:
        return {}
    if hint is None or hint is type(None):
        return {"type": "null"}
    if hint in _SIMPLE_TYPES:
        return {"type": _SIMPLE_TYPES[hint]}
    if isinstance(hint, type) and issubclass(hint, Enum):
        return {"enum": [member.value for member in hint]}
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin is typing.Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        options = [json_schema_for(a) for a in args if a is not type(None)]
        if len(options) == 1:
            return options[0]
        return {"anyOf": options}
    if origin in (list, tuple, set, frozenset):
        schema: dict[str, Any] = {"type": "array"}
        if args and args[0] is not Ellipsis:
            schema["items"] = json_schema_for(args[0])
        return schema
    if origin in (dict, Mapping):
        schema = {"type": "object"}
        if len(args) == 2:
            schema["additionalProperties"] = json_schema_for(args[1])
        return schema
    return {}


_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters):\s*$")
_SECTION_HEADER = re.compile(r"^\s*[A-Z][A-Za-z ]*:\s*$")
_ARG_LINE = re.compile(r"^\s*(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into (description, {param: description})."""
    lines = inspect.cleandoc(doc).splitlines() if doc else []
    description: list[str] = []
    params: dict[str, str] = {}
    current: str | None = None
    in_args = False
    for line in lines:
        if _ARGS_HEADER.match(line):
            in_args, current = True, None
            continue
        if in_args and _SECTION_HEADER.match(line):
            in_args, current = False, None
            continue
        if in_args:
            match = _ARG_LINE.match(line)
            indent = len(line) - len(line.lstrip())
            if match and (current is None or indent <= 4):
                current = match.group(1).lstrip("*")
                params[current] = match.group(3).strip()
            elif current and line.strip():
                params[current] = (params[current] + " " + line.strip()).strip()
            continue
        if current is None and not params and not _SECTION_HEADER.match(line):
            description.append(line)
    text = "\n".join(description).strip()
    first_paragraph = text.split("\n\n")[0].replace("\n", " ").strip()
    return first_paragraph, params


#: Parameter names filled in by the agent, never shown to the model.
INJECTED_PARAMS = frozenset({"agent"})


class Tool:
    """A plain Python function offered to a model.

    The name is the function's ``__name__``, the description the first paragraph
    of its docstring, and the parameters come from its type hints (parameters
    without a default are required). A parameter called ``agent`` receives the
    calling :class:`agno_nb.Agent` and is hidden from the model.
    """

    def __init__(self, function: Callable[..., Any], *, name: str | None = None) -> None:
        if not callable(function):
            raise TypeError(f"a tool must be a callable, got {type(function).__name__}")
        self.function = function
        self.name: str = str(name or getattr(function, "__name__", type(function).__name__))
        self.description, param_docs = _parse_docstring(inspect.getdoc(function) or "")
        try:
            hints = typing.get_type_hints(function)
        except Exception:  # unresolvable forward references: fall back to "anything"
            hints = {}
        properties: dict[str, Any] = {}
        required: list[str] = []
        self.injected: list[str] = []
        for pname, param in inspect.signature(function).parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if pname in INJECTED_PARAMS:
                self.injected.append(pname)
                continue
            schema = dict(json_schema_for(hints.get(pname, param.annotation)))
            if param_docs.get(pname):
                schema["description"] = param_docs[pname]
            properties[pname] = schema
            if param.default is inspect.Parameter.empty:
                required.append(pname)
        self.parameters: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "required": required,
        }

    def schema(self) -> dict[str, Any]:
        """The chat-completions tool schema."""
        function: dict[str, Any] = {"name": self.name, "parameters": self.parameters}
        if self.description:
            function["description"] = self.description
        return {"type": "function", "function": function}

    def __call__(self, arguments: Mapping[str, Any], **injected: Any) -> Any:
        kwargs = dict(arguments)
        for pname in self.injected:
            if pname in injected:
                kwargs[pname] = injected[pname]
        return self.function(**kwargs)

    def __repr__(self) -> str:
        return f"Tool({self.name!r})"


def tool_names(tools: list[dict[str, Any]] | None) -> list[str]:
    """The function names in a list of tool schemas."""
    names = []
    for tool in tools or []:
        name = (tool.get("function") or {}).get("name")
        if name:
            names.append(str(name))
    return names
