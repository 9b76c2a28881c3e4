"""The Agent runtime on real storage (SQLite, DuckDB, Postgres via the backend fixture)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from agno_nb.agent import Agent, RunResponse, get_default_storage, set_default_storage
from agno_nb.models import OfflineModel, ScriptedModel, ToolCall


def user_texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["content"] for m in messages if m["role"] == "user"]


# ---------------------------------------------------------------- without storage


def test_run_returns_an_agno_shaped_response() -> None:
    agent = Agent(model=OfflineModel(), name="helper", user_id="u1", instructions="Be brief.")
    run = agent.run("hello")
    assert isinstance(run, RunResponse)
    assert run.content == "[offline] You said: hello"
    assert str(run) == run.content
    assert [m["role"] for m in run.messages] == ["system", "user", "assistant"]
    assert run.messages[0]["content"] == "Be brief."
    data = run.to_dict()
    for key in ("run_id", "agent_id", "session_id", "content", "messages", "metrics", "created_at"):
        assert data[key] is not None, key
    assert "user_id" not in data and data["agent_name"] == "helper"  # agno has no user_id
    assert data["model"] == "offline" and data["model_provider"] == "agno_nb"
    assert data["content_type"] == "str" and data["status"] == "COMPLETED"
    assert set(data["metrics"]) >= {"input_tokens", "output_tokens", "total_tokens", "time"}
    assert data["metrics"]["input_tokens"] == [3]  # "Be brief." + "hello"
    assistant = data["messages"][-1]
    assert assistant["metrics"]["output_tokens"] == 4  # "[offline] You said: hello"
    assert all(m["from_history"] is False for m in data["messages"])
    json.dumps(data)  # storable as is


def test_without_storage_history_stays_in_memory() -> None:
    agent = Agent(model=OfflineModel(), add_history_to_messages=True)
    agent.run("What is the capital of France?")
    assert "capital of France" in str(agent.run("What was my last question?").content)
    assert len(agent.get_messages_for_session()) == 4


def test_no_history_unless_asked() -> None:
    model = ScriptedModel(["a", "b"])
    agent = Agent(model=model)
    agent.run("one")
    agent.run("two")
    assert user_texts(model.calls[1]["messages"]) == ["two"]


def test_markdown_asks_for_markdown_and_history_skips_system_messages() -> None:
    model = ScriptedModel(["a", "b"])
    agent = Agent(
        model=model,
        markdown=True,
        instructions=["Be kind", "Be brief"],
        add_history_to_messages=True,
    )
    agent.run("one")
    agent.run("two")
    seen = model.calls[1]["messages"]
    assert [m["role"] for m in seen] == ["system", "user", "assistant", "user"]
    assert seen[0]["content"] == "- Be kind\n- Be brief\nUse markdown to format your answers."


def test_duplicate_tool_names_are_refused() -> None:
    def f() -> str:
        """F."""
        return ""

    with pytest.raises(ValueError, match="two tools are named 'f'"):
        Agent(tools=[f, f])


def test_print_response_in_a_terminal_prints_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    agent = Agent(model=ScriptedModel(["**bold** answer"]))
    assert agent.print_response("hi") is None
    assert capsys.readouterr().out == "**bold** answer\n"


def test_importing_the_agent_does_not_import_ipython() -> None:
    code = "import sys, agno_nb.agent, agno_nb.models; print('IPython' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.fixture
def no_shell_yet() -> Iterator[None]:
    """No IPython shell singleton while the test runs (an in-process kernel makes its
    own, and refuses to when another test module's shell is still the instance);
    the earlier shell is the instance again afterwards."""
    from IPython.core.interactiveshell import InteractiveShell

    held = InteractiveShell.instance() if InteractiveShell.initialized() else None
    InteractiveShell.clear_instance()
    yield
    InteractiveShell.clear_instance()
    if held is not None:
        for cls in type(held).mro():
            if isinstance(cls, type) and issubclass(cls, InteractiveShell):
                cls._instance = held


@pytest.mark.usefixtures("no_shell_yet")
def test_print_response_in_a_kernel_displays_safe_markdown() -> None:
    from ipykernel.inprocess.manager import InProcessKernelManager

    manager = InProcessKernelManager()
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    try:
        client.execute(
            "from agno_nb.agent import Agent\n"
            "from agno_nb.models import ScriptedModel\n"
            "Agent(model=ScriptedModel(['# Title\\n\\n*hello* <script>x()</script>']))"
            ".print_response('hi')\n"
            "Agent(model=ScriptedModel(['plain'])).print_response('hi', markdown=False)\n"
        )
        displayed, printed, errors = [], [], []
        while True:
            try:
                msg = client.get_iopub_msg(timeout=0.1)
            except Exception:  # queue empty: the in-process kernel ran synchronously
                break
            kind, content = msg["msg_type"], msg["content"]
            if kind == "display_data":
                displayed.append(content["data"])
            elif kind == "stream":
                printed.append(content["text"])
            elif kind == "error":
                errors.append(content["evalue"])
        assert errors == []
        assert len(displayed) == 1
        html = displayed[0]["text/html"]
        assert "<h1>Title</h1>" in html and "<em>hello</em>" in html
        assert "<script>" not in html and "&lt;script&gt;" in html
        assert displayed[0]["text/plain"] == "# Title\n\n*hello* <script>x()</script>"
        assert "".join(printed) == "plain\n"
    finally:
        client.stop_channels()
        manager.shutdown_kernel()


# ---------------------------------------------------------------- with storage


def test_a_new_agent_continues_the_stored_session(storage: Any) -> None:
    first = Agent(
        model=OfflineModel(),
        session_id="s1",
        storage=storage,
        user_id="ann",
        name="bot",
        add_history_to_messages=True,
    )
    first.run("What is the capital of France?")
    first.run("What was my last question?")
    stored = storage.read("s1")
    assert stored.user_id == "ann"
    assert stored.agent_id == first.agent_id
    assert stored.agent_data["model"] == {
        "id": "offline",
        "name": "OfflineModel",
        "provider": "agno_nb",
    }
    assert stored.agent_data["name"] == "bot"
    assert [len(r.messages) for r in stored.runs] == [2, 4]  # second run holds history copies
    assert [m.from_history for m in stored.runs[1].messages] == [True, True, False, False]

    again = Agent(
        model=OfflineModel(), session_id="s1", storage=storage, add_history_to_messages=True
    )
    reply = again.run("What was my last question?")
    assert reply.content == 'Your last question was: "What is the capital of France?"'
    assert again.user_id == "ann" and again.agent_id == first.agent_id and again.name == "bot"
    assert storage.count_runs("s1") == 3
    assert user_texts(again.get_messages_for_session()) == [
        "What is the capital of France?",
        "What was my last question?",
        "What was my last question?",
    ]


def test_runs_after_the_first_append_without_reading_the_session(storage: Any) -> None:
    agent = Agent(model=OfflineModel(), storage=storage, add_history_to_messages=True)
    queries, rows = [], []
    for i in range(8):
        before = (storage.stats.queries, storage.stats.rows)
        agent.run(f"message {i}")
        queries.append(storage.stats.queries - before[0])
        rows.append(storage.stats.rows - before[1])
    assert storage.count_runs(agent.session_id) == 8
    assert rows[1:] == [0] * 7  # no run re-reads the session
    assert len(set(queries[2:])) == 1  # run 3 costs what run 8 costs


def test_two_agents_on_one_session_keep_each_others_runs(storage: Any) -> None:
    a = Agent(model=OfflineModel(), session_id="shared", storage=storage)
    b = Agent(model=OfflineModel(), session_id="shared", storage=storage)
    a.run("from a, 1")
    b.run("from b")  # b loads the session (a's run) and appends
    a.run("from a, 2")  # a appends; it must not overwrite b's run
    stored = [m.text for m in storage.read("shared").messages() if m.role == "user"]
    assert stored == ["from a, 1", "from b", "from a, 2"]


def test_history_window_keeps_the_last_n_runs(storage: Any) -> None:
    model = ScriptedModel(["a1", "a2", "a3", "a4", "a5"])
    agent = Agent(model=model, storage=storage, add_history_to_messages=True, num_history_runs=2)
    for text in ("q1", "q2", "q3", "q4"):
        agent.run(text)
    assert user_texts(model.calls[3]["messages"]) == ["q2", "q3", "q4"]

    fresh = Agent(
        model=model,
        session_id=agent.session_id,
        storage=storage,
        add_history_to_messages=True,
        num_history_runs=2,
    )
    fresh.run("q5")
    assert user_texts(model.calls[4]["messages"]) == ["q3", "q4", "q5"]
    last = storage.read(agent.session_id).runs[-1]
    assert [(m.role, m.text, m.from_history) for m in last.messages] == [
        ("user", "q3", True),
        ("assistant", "a3", True),
        ("user", "q4", True),
        ("assistant", "a4", True),
        ("user", "q5", False),
        ("assistant", "a5", False),
    ]


def test_history_window_of_none_means_all_runs() -> None:
    model = ScriptedModel(["a", "b", "c", "d"])
    agent = Agent(model=model, add_history_to_messages=True, num_history_runs=None)
    for text in ("q1", "q2", "q3", "q4"):
        agent.run(text)
    assert user_texts(model.calls[3]["messages"]) == ["q1", "q2", "q3", "q4"]


def test_read_chat_history_gives_the_model_a_tool(storage: Any) -> None:
    Agent(model=OfflineModel(), session_id="s2", storage=storage).run(
        "What is the capital of France?"
    )
    agent = Agent(model=OfflineModel(), session_id="s2", storage=storage, read_chat_history=True)
    run = agent.run("What was my last question?")
    assert run.content == 'Your last question was: "What is the capital of France?"'
    assert [m["role"] for m in run.messages] == ["user", "assistant", "tool", "assistant"]
    call = run.messages[1]["tool_calls"][0]
    assert call["function"]["name"] == "get_chat_history"
    tool_message = run.messages[2]
    assert tool_message["tool_call_id"] == call["id"]
    assert json.loads(tool_message["content"])[0] == {
        "role": "user",
        "content": "What is the capital of France?",
    }
    stored = storage.read("s2").runs[-1]
    assert [m.role for m in stored.messages] == ["user", "assistant", "tool", "assistant"]
    assert stored.raw["tools"][0]["tool_name"] == "get_chat_history"


def test_session_state_persists_across_agents(storage: Any) -> None:
    def add_item(item: str, agent: Agent) -> str:
        """Add an item to the shopping list.

        Args:
            item: What to add.
        """
        agent.session_state.setdefault("items", []).append(item)
        return f"added {item}"

    script = [ToolCall(name="add_item", arguments={"item": "milk"}), "ok"]
    first = Agent(
        model=ScriptedModel(script),
        session_id="s3",
        storage=storage,
        tools=[add_item],
        session_state={"owner": "ann"},
    )
    first.run("add milk")
    assert first.session_state == {"owner": "ann", "items": ["milk"]}

    second = Agent(
        model=ScriptedModel(["fine"]),
        session_id="s3",
        storage=storage,
        session_state={"owner": "bob", "theme": "dark"},
    )
    assert second.session_state == {"owner": "ann", "theme": "dark", "items": ["milk"]}
    second.session_state["visits"] = 1
    second.run("hello")
    assert storage.read("s3").session_state == {
        "owner": "ann",
        "theme": "dark",
        "items": ["milk"],
        "visits": 1,
    }


def test_rename_session(storage: Any) -> None:
    agent = Agent(model=OfflineModel(), storage=storage)
    agent.rename_session("Before any run")  # creates the row
    assert storage.read(agent.session_id).session_name == "Before any run"
    agent.run("hi")
    agent.rename_session("Trip planning")
    assert storage.read(agent.session_id).session_name == "Trip planning"
    assert [s.session_name for s in storage.list_sessions()] == ["Trip planning"]
    agent.run("again")  # a later run keeps the name
    assert storage.read(agent.session_id).session_name == "Trip planning"
    assert Agent(session_id=agent.session_id, storage=storage).session_name == "Trip planning"


def test_delete_session(storage: Any) -> None:
    agent = Agent(model=OfflineModel(), storage=storage, session_state={"n": 1})
    agent.run("hi")
    agent.session_state["n"] = 2
    agent.delete_session()
    assert storage.read(agent.session_id) is None
    assert agent.get_messages_for_session() == []
    assert agent.session_state == {"n": 1}
    agent.run("start over")
    assert storage.count_runs(agent.session_id) == 1


def test_new_session(storage: Any) -> None:
    model = ScriptedModel(["a", "b"])
    agent = Agent(model=model, storage=storage, add_history_to_messages=True)
    agent.run("old question")
    old_id = agent.session_id
    new_id = agent.new_session()
    assert new_id == agent.session_id != old_id
    agent.run("new question")
    assert user_texts(model.calls[1]["messages"]) == ["new question"]
    assert set(storage.get_all_session_ids()) == {old_id, new_id}
    assert user_texts(agent.get_messages_for_session(old_id)) == ["old question"]
    assert agent.get_messages_for_session("no-such-session") == []


def test_a_model_failing_mid_run_leaves_the_session_as_it_was(storage: Any) -> None:
    def lookup(q: str, agent: Agent) -> str:
        """Look something up."""
        agent.session_state["looked_up"] = q
        return "found"

    model = ScriptedModel(
        ["first answer", ToolCall(name="lookup", arguments={"q": "x"}), RuntimeError("model down")]
    )
    # the tool changes the state before the model fails: the change must not stick
    agent = Agent(
        model=model, session_id="s4", storage=storage, tools=[lookup], session_state={"k": 1}
    )
    agent.run("first")
    before = storage.read("s4").to_dict()
    agent.session_state["k"] = 2
    with pytest.raises(RuntimeError, match="model down"):
        agent.run("second")
    after = storage.read("s4").to_dict()
    assert after["memory"] == before["memory"]
    assert after["session_data"] == before["session_data"]
    assert storage.count_runs("s4") == 1
    assert len(agent.get_messages_for_session()) == 2
    assert agent.session_state == {"k": 2}  # set before the run: kept; the tool's change: undone

    fresh = Agent(
        model=ScriptedModel([RuntimeError("down at once")]), session_id="s5", storage=storage
    )
    with pytest.raises(RuntimeError):
        fresh.run("hello")
    assert storage.read("s5") is None


def test_unknown_and_failing_tools_are_recorded_not_raised(storage: Any) -> None:
    def explode() -> str:
        """Always fails."""
        raise ValueError("kaput")

    model = ScriptedModel(
        [[ToolCall(name="nope", arguments={"a": 1}), ToolCall(name="explode")], "recovered"]
    )
    agent = Agent(model=model, storage=storage, tools=[explode])
    run = agent.run("go")
    assert run.content == "recovered"
    tool_messages = [m for m in run.messages if m["role"] == "tool"]
    assert [m["tool_name"] for m in tool_messages] == ["nope", "explode"]
    assert all(m["tool_call_error"] for m in tool_messages)
    assert "unknown tool 'nope'" in tool_messages[0]["content"]
    assert "available tools: explode" in tool_messages[0]["content"]
    assert tool_messages[1]["content"] == "error: explode raised ValueError: kaput"
    stored = storage.read(agent.session_id).runs[0]
    assert [m.role for m in stored.messages] == ["user", "assistant", "tool", "tool", "assistant"]
    assert stored.messages[2].raw["tool_call_error"] is True
    assert model.calls[1]["messages"][2]["content"].startswith("error: unknown tool")


def test_tool_rounds_are_limited() -> None:
    def ping() -> str:
        """Ping."""
        return "pong"

    model = ScriptedModel([ToolCall(name="ping")] * 3 + ["final"])
    run = Agent(model=model, tools=[ping], max_tool_rounds=2).run("go")
    assert run.content is None  # the last allowed turn still asked for a tool
    assert model.calls[2]["tools"] is None  # the model was told it has no tools left
    assert [m["role"] for m in run.messages].count("tool") == 2
    assert run.messages[-1].get("tool_calls") is None


@pytest.fixture
def default_storage(storage: Any) -> Iterator[Any]:
    set_default_storage(storage)
    yield storage
    set_default_storage(None)


def test_agents_without_storage_use_the_default_one(default_storage: Any) -> None:
    assert get_default_storage() is default_storage
    agent = Agent(model=OfflineModel())
    agent.run("remember me")
    assert default_storage.count_runs(agent.session_id) == 1
    assert repr(default_storage.display_url) in repr(agent)


def test_a_storage_in_another_mode_is_refused(make_storage: Any) -> None:
    team_storage = make_storage("team_sessions", mode="team")
    with pytest.raises(Exception, match="mode='agent'"):
        Agent(storage=team_storage).run("hi")
