"""A client for any OpenAI-compatible chat-completions endpoint.

Uses the official ``openai`` package (optional extra ``agno_nb[openai]``),
imported on first use. Every failure becomes one
:class:`agno_nb.errors.ModelError` line; the API key never appears in a
message or a repr.
"""

from __future__ import annotations

import json
import os
from typing import Any

from agno_nb.errors import ModelError
from agno_nb.models.base import ModelResponse, TokenMetrics, ToolCall
from agno_nb.urls import mask_url

__all__ = ["OpenAIChat"]

_MODEL_KEYS = ("role", "content", "name", "tool_calls", "tool_call_id")


class OpenAIChat:
    """Chat completions through the ``openai`` package, with tool calling.

    Args:
        id: The model name sent to the endpoint.
        api_key: The key; defaults to the ``OPENAI_API_KEY`` environment variable.
        base_url: The endpoint (e.g. ``http://localhost:11434/v1``); defaults to
            ``OPENAI_BASE_URL`` or OpenAI's own.
        temperature: Sampling temperature, sent when given.
        timeout: Seconds to wait for one request.
        max_retries: Retries the ``openai`` client makes on connection errors.
    """

    name = "OpenAIChat"
    provider = "OpenAI"

    def __init__(
        self,
        id: str = "gpt-4o-mini",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        temperature: float | None = None,
        timeout: float = 60.0,
        max_retries: int = 1,
    ) -> None:
        self.id = id
        self.base_url = base_url
        self.temperature = temperature
        self.timeout = timeout
        self.max_retries = max_retries
        self.__api_key = api_key
        self._client: Any = None

    def __repr__(self) -> str:
        where = f", base_url={mask_url(self.base_url)!r}" if self.base_url else ""
        return f"OpenAIChat(id={self.id!r}{where})"

    def __getstate__(self) -> dict[str, Any]:  # never pickle the key or the client
        state = dict(self.__dict__)
        state.pop("_OpenAIChat__api_key", None)
        state["_client"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__api_key = None

    # ------------------------------------------------------------------ client

    def _key(self) -> str:
        key = self.__api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            raise ModelError(
                "OpenAIChat has no API key: pass api_key=... or set the OPENAI_API_KEY "
                "environment variable"
            )
        return key

    def _get_client(self) -> Any:
        if self._client is None:
            key = self._key()
            try:
                import openai
            except ImportError:
                raise ModelError(
                    "OpenAIChat needs the openai package: pip install 'agno_nb[openai]'"
                ) from None
            self._client = openai.OpenAI(
                api_key=key,
                base_url=self.base_url,
                timeout=self.timeout,
                max_retries=self.max_retries,
            )
        return self._client

    def _endpoint(self) -> str:
        return mask_url(self.base_url or os.environ.get("OPENAI_BASE_URL") or "api.openai.com")

    def _clean(self, text: str) -> str:
        """One line, without the key."""
        key = self.__api_key or os.environ.get("OPENAI_API_KEY")
        if key:
            text = text.replace(key, "***")
        return mask_url(" ".join(text.split()))[:300]

    # ------------------------------------------------------------------ protocol

    def response(
        self, messages: list[dict[str, Any]], *, tools: list[dict[str, Any]] | None = None
    ) -> ModelResponse:
        """Send ``messages`` (and ``tools``) to the endpoint and parse the reply.

        Raises:
            agno_nb.errors.ModelError: no key, endpoint unreachable, HTTP error,
                or a reply that is not a chat completion.
        """
        client = self._get_client()
        import openai

        request: dict[str, Any] = {
            "model": self.id,
            "messages": [_for_api(m) for m in messages],
        }
        if tools:
            request["tools"] = tools
        if self.temperature is not None:
            request["temperature"] = self.temperature
        try:
            completion = client.chat.completions.create(**request)
        except openai.APIStatusError as exc:
            detail = self._clean(_error_detail(exc))
            hint = " (check the API key)" if exc.status_code in (401, 403) else ""
            raise ModelError(
                f"{self._endpoint()} answered HTTP {exc.status_code} for model "
                f"{self.id!r}{hint}: {detail}"
            ) from None
        except openai.APIConnectionError as exc:
            reason = self._clean(str(exc.__cause__ or exc)).rstrip(".") or "connection error"
            raise ModelError(
                f"cannot reach the chat-completions endpoint {self._endpoint()} ({reason}): "
                "check base_url and that the server is running"
            ) from None
        except openai.OpenAIError as exc:
            raise ModelError(f"OpenAIChat failed: {self._clean(str(exc))}") from None
        return _parse(completion, self._endpoint())


def _for_api(message: dict[str, Any]) -> dict[str, Any]:
    """A stored message reduced to what the chat-completions API accepts."""
    out = {k: message[k] for k in _MODEL_KEYS if message.get(k) is not None}
    if out.get("role") == "tool":
        out.pop("name", None)
        content = out.get("content")
        out["content"] = content if isinstance(content, str) else json.dumps(content, default=str)
    if out.get("role") == "assistant" and "content" not in out:
        out["content"] = None
    return out


def _error_detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return str(getattr(exc, "message", None) or exc)


def _parse(completion: Any, endpoint: str) -> ModelResponse:
    try:
        message = completion.choices[0].message
    except (AttributeError, IndexError, TypeError):
        raise ModelError(
            f"{endpoint} sent a reply with no choices: is it a chat-completions API?"
        ) from None
    calls = []
    for call in getattr(message, "tool_calls", None) or []:
        function = getattr(call, "function", None)
        raw = getattr(function, "arguments", None) or "{}"
        try:
            arguments = json.loads(raw) if isinstance(raw, str) else dict(raw)
        except (json.JSONDecodeError, TypeError, ValueError):
            arguments = {"_unparsed_arguments": str(raw)}
        if not isinstance(arguments, dict):
            arguments = {"value": arguments}
        calls.append(
            ToolCall(
                name=str(getattr(function, "name", "") or ""),
                arguments=arguments,
                id=str(getattr(call, "id", "") or ""),
            )
        )
    usage = getattr(completion, "usage", None)
    metrics = TokenMetrics(
        input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
    )
    return ModelResponse(content=message.content, tool_calls=calls, metrics=metrics)
