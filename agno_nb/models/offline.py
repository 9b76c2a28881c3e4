"""A deterministic, network-free model for notebooks, demos and tests.

It reads the conversation it is given the way a real model would and answers a
few kinds of prompt:

- "What was my last question?" from the user messages in its history (questions
  about the conversation itself are skipped); with none it says so.
- "What is my name?" from a "my name is X" earlier in the conversation.
- A prompt that names one of its tools calls that tool (arguments from
  ``key=value`` pairs or a quoted string), then answers with the result.
- Anything else gets a clearly marked echo: ``[offline] You said: ...``.

The same messages always give the same answer and the same token counts
(whitespace-separated words).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from agno_nb.models.base import ModelResponse, TokenMetrics, ToolCall, count_tokens
from agno_nb.sessions import content_text

__all__ = ["OfflineModel"]

_LAST_QUESTION = re.compile(r"\b(last|previous|earlier)\s+(question|message)\b", re.I)
_ASK_NAME = re.compile(r"\bwhat(?:'s| is)\s+my\s+name\b", re.I)
_TELL_NAME = re.compile(r"\b(?i:my name is)\s+([A-Za-z][\w'-]*(?:\s+[A-Z][\w'-]*)*)")
_KEY_VALUE = re.compile(r"\b(\w+)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s,;]+)")
_QUOTED = re.compile(r"\"([^\"]*)\"|'([^']*)'")
_CHAT_HISTORY_TOOL = "get_chat_history"


def _is_meta(text: str) -> bool:
    """A question about the conversation itself (not a 'real' question)."""
    return bool(_LAST_QUESTION.search(text) or _ASK_NAME.search(text))


class OfflineModel:
    """A model that needs no network and no key: reproducible answers.

    Args:
        id: The model id recorded in runs (``"offline"``).
    """

    name = "OfflineModel"
    provider = "agno_nb"

    def __init__(self, id: str = "offline") -> None:
        self.id = id

    def __repr__(self) -> str:
        return f"OfflineModel(id={self.id!r})"

    # ------------------------------------------------------------------ protocol

    def response(
        self, messages: list[dict[str, Any]], *, tools: list[dict[str, Any]] | None = None
    ) -> ModelResponse:
        """Answer the last user message of ``messages`` (see the module docstring)."""
        input_tokens = sum(count_tokens(content_text(m.get("content"))) for m in messages)
        prompt_index = _last_index(messages, "user")
        prompt = content_text(messages[prompt_index].get("content")) if prompt_index >= 0 else ""
        earlier = [
            content_text(m.get("content"))
            for m in messages[: max(prompt_index, 0)]
            if m.get("role") == "user"
        ]
        tool_results = [m for m in messages[prompt_index + 1 :] if m.get("role") == "tool"]

        if tool_results:
            content = self._after_tools(prompt, earlier, tool_results, messages)
        else:
            call = self._pick_tool(prompt, earlier, tools)
            if call is not None:
                output = count_tokens(call.name) + count_tokens(call.arguments)
                return ModelResponse(
                    content=None,
                    tool_calls=[call],
                    metrics=TokenMetrics(input_tokens=input_tokens, output_tokens=output),
                )
            content = self._answer(prompt, earlier)
        return ModelResponse(
            content=content,
            metrics=TokenMetrics(input_tokens=input_tokens, output_tokens=count_tokens(content)),
        )

    # ------------------------------------------------------------------ answers

    def _answer(self, prompt: str, earlier: list[str]) -> str:
        if _LAST_QUESTION.search(prompt):
            real = [text for text in earlier if text.strip() and not _is_meta(text)]
            asked = real or [text for text in earlier if text.strip()]
            if not asked:
                return (
                    "I don't know your last question: there is none in the conversation "
                    "history I was given."
                )
            return f'Your last question was: "{asked[-1]}"'
        if _ASK_NAME.search(prompt):
            for text in reversed(earlier):
                match = _TELL_NAME.search(text)
                if match:
                    return f"Your name is {match.group(1)}."
            return 'I don\'t know your name yet: tell me with "My name is ...".'
        told = _TELL_NAME.search(prompt)
        if told:
            return f"Nice to meet you, {told.group(1)}."
        return f"[offline] You said: {prompt}"

    def _pick_tool(
        self, prompt: str, earlier: list[str], tools: list[dict[str, Any]] | None
    ) -> ToolCall | None:
        schemas = {
            str(t["function"]["name"]): t["function"]
            for t in tools or []
            if isinstance(t.get("function"), dict) and t["function"].get("name")
        }
        lowered = prompt.lower()
        for name in sorted(schemas, key=lambda n: (-len(n), n)):
            if re.search(rf"(?<![\w]){re.escape(name.lower())}(?![\w])", lowered):
                arguments = _arguments_for(schemas[name], prompt)
                return ToolCall(
                    name=name, arguments=arguments, id=_call_id(name, arguments, prompt)
                )
        # A question about the conversation with no history at hand: read it.
        if _CHAT_HISTORY_TOOL in schemas and _is_meta(prompt) and not earlier:
            return ToolCall(
                name=_CHAT_HISTORY_TOOL, arguments={}, id=_call_id("history", {}, prompt)
            )
        return None

    def _after_tools(
        self,
        prompt: str,
        earlier: list[str],
        results: list[dict[str, Any]],
        messages: list[dict[str, Any]],
    ) -> str:
        names = _tool_names_by_call_id(messages)
        history_users: list[str] = []
        lines: list[str] = []
        for result in results:
            name = result.get("tool_name") or names.get(str(result.get("tool_call_id")), "tool")
            text = content_text(result.get("content"))
            if name == _CHAT_HISTORY_TOOL:
                history_users.extend(_user_messages_in(text))
            else:
                lines.append(f"{name} returned: {text}")
        if not lines:  # only chat history was read: answer the question from it
            return self._answer(prompt, history_users + earlier)
        return "[offline] " + "\n".join(lines)


def _last_index(messages: list[dict[str, Any]], role: str) -> int:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == role:
            return index
    return -1


def _call_id(name: str, arguments: dict[str, Any], prompt: str) -> str:
    digest = hashlib.sha1(
        json.dumps([name, arguments, prompt], sort_keys=True).encode(), usedforsecurity=False
    )
    return "call_" + digest.hexdigest()[:16]


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value
    if kind == "boolean":
        return value.lower() in ("1", "true", "yes", "on")
    return value


def _arguments_for(function: dict[str, Any], prompt: str) -> dict[str, Any]:
    """Fill a tool's arguments from ``key=value`` pairs, else from one quoted string."""
    properties: dict[str, Any] = (function.get("parameters") or {}).get("properties") or {}
    required: list[str] = (function.get("parameters") or {}).get("required") or []
    arguments: dict[str, Any] = {}
    for key, raw in _KEY_VALUE.findall(prompt):
        if key in properties:
            arguments[key] = _coerce(raw.strip("\"'"), properties[key])
    missing = [name for name in required if name not in arguments]
    if len(missing) == 1:
        quoted = _QUOTED.search(prompt)
        if quoted:
            arguments[missing[0]] = _coerce(
                quoted.group(1) or quoted.group(2) or "", properties[missing[0]]
            )
    return arguments


def _tool_names_by_call_id(messages: list[dict[str, Any]]) -> dict[str, str]:
    names: dict[str, str] = {}
    for message in messages:
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            names[str(call.get("id"))] = str(function.get("name") or "tool")
    return names


def _user_messages_in(text: str) -> list[str]:
    """User messages in a ``get_chat_history`` result (JSON list of messages)."""
    try:
        data = json.loads(text) if text.strip() else []
    except json.JSONDecodeError:
        return []
    if not isinstance(data, list):
        return []
    return [
        content_text(item.get("content"))
        for item in data
        if isinstance(item, dict) and item.get("role") == "user"
    ]
