"""OpenAIChat against a small chat-completions server on 127.0.0.1 (no network)."""

from __future__ import annotations

import json
import pickle
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agno_nb.agent import Agent
from agno_nb.errors import ModelError
from agno_nb.models import OpenAIChat

KEY = "sk-test-very-secret-key-123"


class FakeServer:
    """Answers POST /v1/chat/completions with queued (status, body) replies."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.replies: list[tuple[int, dict[str, Any]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server.requests.append(json.loads(self.rfile.read(length) or b"{}"))
                server.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path.rstrip("/") != "/v1/chat/completions":
                    status, body = 404, {"error": {"message": f"no route {self.path}"}}
                elif server.replies:
                    status, body = server.replies.pop(0)
                else:
                    status, body = 500, {"error": {"message": "no reply queued"}}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def reply(self, message: dict[str, Any], *, prompt: int = 10, completion: int = 3) -> None:
        self.replies.append(
            (
                200,
                {
                    "id": f"chatcmpl-{len(self.replies)}",
                    "object": "chat.completion",
                    "created": 1700000000,
                    "model": "fake-model",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", **message},
                            "finish_reason": "tool_calls" if "tool_calls" in message else "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": prompt,
                        "completion_tokens": completion,
                        "total_tokens": prompt + completion,
                    },
                },
            )
        )


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
    fake.thread.start()
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


def model_for(server: FakeServer, **kw: Any) -> OpenAIChat:
    return OpenAIChat("fake-model", api_key=KEY, base_url=server.url, max_retries=0, **kw)


def test_plain_answer(server: FakeServer) -> None:
    server.reply({"content": "Paris."}, prompt=12, completion=2)
    reply = model_for(server, temperature=0.0).response(
        [
            {
                "role": "user",
                "content": "Capital of France?",
                "from_history": False,
                "created_at": 1,
            },
        ]
    )
    assert reply.content == "Paris."
    assert reply.tool_calls == []
    assert (reply.metrics.input_tokens, reply.metrics.output_tokens) == (12, 2)
    sent = server.requests[0]
    assert sent["model"] == "fake-model"
    assert sent["temperature"] == 0.0
    assert sent["messages"] == [{"role": "user", "content": "Capital of France?"}]
    assert "tools" not in sent
    assert server.headers[0]["authorization"] == f"Bearer {KEY}"


def test_tool_call_round_trip_through_an_agent(server: FakeServer) -> None:
    def get_weather(city: str) -> str:
        """Get the weather in a city.

        Args:
            city: The city name.
        """
        return f"It is sunny in {city}."

    server.reply(
        {
            "content": None,
            "tool_calls": [
                {
                    "id": "call_abc",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                }
            ],
        }
    )
    server.reply({"content": "Sunny in Oslo today."}, prompt=30, completion=5)
    agent = Agent(model=model_for(server), tools=[get_weather])
    run = agent.run("Weather in Oslo?")

    assert run.content == "Sunny in Oslo today."
    first, second = server.requests
    assert first["tools"][0]["function"]["name"] == "get_weather"
    assert first["tools"][0]["function"]["parameters"]["required"] == ["city"]
    roles = [m["role"] for m in second["messages"]]
    assert roles == ["user", "assistant", "tool"]
    assert second["messages"][1]["tool_calls"][0]["id"] == "call_abc"
    assert second["messages"][2] == {
        "role": "tool",
        "content": "It is sunny in Oslo.",
        "tool_call_id": "call_abc",
    }
    assert [m["role"] for m in run.messages] == ["user", "assistant", "tool", "assistant"]
    assert run.messages[2]["tool_name"] == "get_weather"
    assert run.metrics["input_tokens"] == [10, 30]
    assert run.metrics["output_tokens"] == [3, 5]


def test_http_error_is_one_clear_line_without_the_key(server: FakeServer) -> None:
    server.replies.append(
        (401, {"error": {"message": f"Incorrect API key provided: {KEY}", "type": "auth"}})
    )
    with pytest.raises(ModelError) as info:
        model_for(server).response([{"role": "user", "content": "hi"}])
    text = str(info.value)
    assert "HTTP 401" in text
    assert "check the API key" in text
    assert "Incorrect API key provided" in text
    assert KEY not in text
    assert "\n" not in text


def test_server_error_names_the_status(server: FakeServer) -> None:
    server.replies.append((500, {"error": {"message": "model overloaded"}}))
    with pytest.raises(ModelError, match=r"HTTP 500 .*model overloaded"):
        model_for(server).response([{"role": "user", "content": "hi"}])


def test_a_reply_without_choices_is_a_clear_error(server: FakeServer) -> None:
    server.replies.append((200, {"id": "x", "object": "chat.completion", "choices": []}))
    with pytest.raises(ModelError, match="no choices"):
        model_for(server).response([{"role": "user", "content": "hi"}])


def test_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelError, match=r"no API key.*OPENAI_API_KEY"):
        OpenAIChat(base_url="http://127.0.0.1:9/v1").response([{"role": "user", "content": "x"}])


def test_key_from_environment(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server.reply({"content": "ok"})
    model = OpenAIChat("fake-model", base_url=server.url, max_retries=0)
    assert model.response([{"role": "user", "content": "x"}]).content == "ok"
    assert server.headers[0]["authorization"] == f"Bearer {KEY}"


def test_unreachable_endpoint_is_a_clear_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    model = OpenAIChat(api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    with pytest.raises(ModelError) as info:
        model.response([{"role": "user", "content": "x"}])
    text = str(info.value)
    assert "cannot reach" in text and f"127.0.0.1:{port}" in text
    assert KEY not in text


def test_repr_and_pickle_never_hold_the_key() -> None:
    model = OpenAIChat("gpt-4o-mini", api_key=KEY, base_url="http://user:pw@example.test/v1")
    assert KEY not in repr(model)
    assert "pw" not in repr(model)
    assert KEY.encode() not in pickle.dumps(model)
