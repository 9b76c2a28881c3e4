"""The agent runtime: a chat session with a model, tools and persistent storage.

An :class:`Agent` talks to a model (see :mod:`agno_nb.models`) and keeps its
session in an agno_nb storage. What it writes is agno 1.x's session JSON: the
runs in ``memory["runs"]`` (each shaped like agno's ``RunResponse.to_dict()``),
``session_data`` with ``session_name`` and ``session_state``, and
``agent_data`` with the model. A run is written only once it has finished, so
a model failing mid-run leaves the stored session as it was.
"""

from __future__ import annotations

import copy
import json
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agno_nb.errors import AgnoNbError, SessionNotFoundError
from agno_nb.models.base import Model, Tool, ToolCall, model_info
from agno_nb.sessions import AgentSession, content_text

__all__ = ["Agent", "RunResponse", "get_default_storage", "set_default_storage"]

_default_storage: Any = None


def set_default_storage(storage: Any) -> None:
    """Make ``storage`` the one new ``Agent(storage=None)`` objects take (``None`` to unset).

    An agent keeps the storage it was given or first took: changing the
    default later never moves an existing agent (assign ``agent.storage``
    to move one).
    """
    global _default_storage
    _default_storage = storage


def get_default_storage() -> Any:
    """The storage set with :func:`set_default_storage`, or ``None``."""
    return _default_storage


@dataclass
class RunResponse:
    """The result of :meth:`Agent.run`, shaped like agno 1.x's ``RunResponse``."""

    content: Any
    run_id: str
    session_id: str
    agent_id: str | None = None
    agent_name: str | None = None
    user_id: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, list[Any]] = field(default_factory=dict)
    tools: list[dict[str, Any]] = field(default_factory=list)
    model: str | None = None
    model_provider: str | None = None
    content_type: str = "str"
    status: str = "COMPLETED"
    created_at: int = field(default_factory=lambda: int(time.time()))

    def to_dict(self) -> dict[str, Any]:
        """The run as agno 1.x stores it (``None`` values and empty tools left out)."""
        out: dict[str, Any] = {
            "content": self.content,
            "content_type": self.content_type,
            "metrics": self.metrics,
            "model": self.model,
            "model_provider": self.model_provider,
            "run_id": self.run_id,
            "agent_id": self.agent_id,
            "agent_name": self.agent_name,
            "session_id": self.session_id,
            "created_at": self.created_at,
            "status": self.status,
            "messages": copy.deepcopy(self.messages),
        }
        if self.tools:
            out["tools"] = copy.deepcopy(self.tools)
        return {k: v for k, v in out.items() if v is not None}

    def __str__(self) -> str:
        return content_text(self.content)


def _message(role: str, content: Any, **extra: Any) -> dict[str, Any]:
    """A message dict in agno 1.x ``Message.to_dict()`` form."""
    out: dict[str, Any] = {
        "content": content,
        "from_history": False,
        "stop_after_tool_call": False,
        "role": role,
    }
    out.update({k: v for k, v in extra.items() if v is not None})
    out["created_at"] = int(time.time())
    return out


def _for_model(message: dict[str, Any]) -> dict[str, Any]:
    """What a model is shown of a stored message."""
    keys = ("role", "content", "tool_calls", "tool_call_id", "tool_name")
    # agno leaves "content" out of a message whose content is None (a tool call)
    return {k: message.get(k) for k in keys if message.get(k) is not None or k == "content"}


def _tool_output(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (without importing IPython when it isn't loaded)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class Agent:
    """A chat agent whose session continues across runs, kernels and processes.

    Args:
        model: The model (default :class:`agno_nb.models.OfflineModel`).
        name: The agent's name (stored in ``agent_data``).
        agent_id: Stable id of this agent; a new UUID by default.
        session_id: The session to continue; a new UUID by default.
        user_id: The user the session belongs to.
        storage: An agno_nb storage; ``None`` takes the default storage set with
            :func:`set_default_storage` (at creation, or at first use when there
            was none yet) and keeps it; without one nothing is persisted.
        add_history_to_messages: Show the model the last ``num_history_runs`` runs.
        num_history_runs: How many earlier runs the model sees (``None``: all).
        read_chat_history: Give the model a ``get_chat_history`` tool instead.
        session_state: Initial state; values stored in the session take precedence.
        instructions: A system instruction (string or list of strings).
        tools: Plain Python functions the model may call (see :class:`Tool`).
        markdown: Ask the model to answer in Markdown.
        max_tool_rounds: Most model turns with tool calls in one run.
    """

    def __init__(
        self,
        *,
        model: Model | None = None,
        name: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        user_id: str | None = None,
        storage: Any = None,
        add_history_to_messages: bool = False,
        num_history_runs: int | None = 3,
        read_chat_history: bool = False,
        session_state: dict[str, Any] | None = None,
        instructions: str | Sequence[str] | None = None,
        tools: Sequence[Callable[..., Any] | Tool] | None = None,
        markdown: bool = False,
        max_tool_rounds: int = 10,
    ) -> None:
        if model is None:
            from agno_nb.models.offline import OfflineModel

            model = OfflineModel()
        if not callable(getattr(model, "response", None)):
            raise TypeError(f"model must have a response(messages, *, tools) method: {model!r}")
        self.model: Model = model
        self.name = name
        self._agent_id_given = agent_id is not None
        self.agent_id: str = agent_id or str(uuid.uuid4())
        self.session_id: str = session_id or str(uuid.uuid4())
        self.user_id = user_id
        self._storage = storage if storage is not None else _default_storage
        self.add_history_to_messages = add_history_to_messages
        self.num_history_runs = num_history_runs
        self.read_chat_history = read_chat_history
        self.instructions = instructions
        self.markdown = markdown
        self.max_tool_rounds = max_tool_rounds
        self.tools: dict[str, Tool] = {}
        for item in tools or []:
            tool = item if isinstance(item, Tool) else Tool(item)
            if tool.name in self.tools:
                raise ValueError(f"two tools are named {tool.name!r}: give each a unique name")
            self.tools[tool.name] = tool
        self._initial_state: dict[str, Any] = copy.deepcopy(session_state or {})
        self._state: dict[str, Any] = copy.deepcopy(self._initial_state)
        self._name_of_session: str | None = None
        self._runs: list[dict[str, Any]] = []
        self._exists = False  # does the session row exist in storage?
        self._loaded = False
        self._loaded_storage: Any = None
        self._loaded_session_id: str | None = None

    def __repr__(self) -> str:
        storage = self.storage
        where = getattr(storage, "display_url", type(storage).__name__) if storage else None
        return (
            f"Agent(name={self.name!r}, session_id={self.session_id!r}, "
            f"model={self.model!r}, storage={where!r})"
        )

    # ------------------------------------------------------------------ session

    @property
    def storage(self) -> Any:
        """The storage in use: the one given or first taken from the default, else ``None``.

        An agent created before any default exists takes the default the first
        time it needs a storage, and keeps it from then on.
        """
        if self._storage is None:
            self._storage = _default_storage
        return self._storage

    @storage.setter
    def storage(self, value: Any) -> None:
        self._storage = value

    @property
    def session_state(self) -> dict[str, Any]:
        """The session's state dict (loaded from storage; saved with every run)."""
        self._ensure_loaded()
        return self._state

    @session_state.setter
    def session_state(self, value: dict[str, Any]) -> None:
        self._ensure_loaded()
        self._state = dict(value)

    @property
    def session_name(self) -> str | None:
        """The session's name (see :meth:`rename_session`)."""
        self._ensure_loaded()
        return self._name_of_session

    def _reset_session(self) -> None:
        self._runs = []
        self._name_of_session = None
        self._state = copy.deepcopy(self._initial_state)
        self._exists = False

    def _ensure_loaded(self) -> None:
        """Read the session from storage the first time (or when storage/session changed)."""
        storage = self.storage
        if (
            self._loaded
            and self._loaded_storage is storage
            and self._loaded_session_id == self.session_id
        ):
            return
        if self._loaded_session_id != self.session_id:
            self._reset_session()
        self._exists = False
        if storage is not None:
            mode = getattr(storage, "mode", "agent")
            if mode != "agent":
                raise AgnoNbError(
                    f"this storage holds {mode} sessions (mode={mode!r}); an Agent needs "
                    "a storage opened with mode='agent'"
                )
            session = storage.read(self.session_id)
            if session is not None:
                self._adopt(session)
        self._loaded = True
        self._loaded_storage = storage
        self._loaded_session_id = self.session_id

    def _adopt(self, session: Any) -> None:
        self._exists = True
        # a new list of the session's runs; those read from a runs table stay
        # stored text until a turn takes them (its history takes the last few)
        self._runs = session.run_dicts
        self._name_of_session = session.session_name or self._name_of_session
        state = copy.deepcopy(self._initial_state)
        state.update(session.session_state)
        self._state = state
        if self.user_id is None:
            self.user_id = session.user_id
        if not self._agent_id_given and getattr(session, "agent_id", None):
            self.agent_id = session.agent_id
        if self.name is None:
            self.name = (getattr(session, "agent_data", None) or {}).get("name")

    def _session_data(self) -> dict[str, Any]:
        return {"session_name": self._name_of_session, "session_state": copy.deepcopy(self._state)}

    def _record(self, runs: list[dict[str, Any]]) -> AgentSession:
        now = int(time.time())
        return AgentSession(
            session_id=self.session_id,
            user_id=self.user_id,
            agent_id=self.agent_id,
            memory={"runs": runs},
            session_data=self._session_data(),
            agent_data={
                "agent_id": self.agent_id,
                "name": self.name,
                "model": model_info(self.model),
            },
            created_at=now,
            updated_at=now,
        )

    def _save_run(self, run: dict[str, Any]) -> None:
        """Write a finished run: O(1) append when the row exists, else create the row."""
        storage = self.storage
        if storage is None:
            self._runs.append(run)
            return
        if self._exists:
            try:
                storage.append_run(self.session_id, run, session_data=self._session_data())
                self._runs.append(run)
                return
            except SessionNotFoundError:  # deleted elsewhere: start the row again
                self._runs = []
        storage.upsert(self._record([*self._runs, run]))
        self._runs.append(run)
        self._exists = True

    def new_session(self) -> str:
        """Start a fresh session (new id, no runs, initial state); returns its id."""
        self.session_id = str(uuid.uuid4())
        self._reset_session()
        self._loaded = True
        self._loaded_storage = self.storage
        self._loaded_session_id = self.session_id
        return self.session_id

    def rename_session(self, name: str) -> None:
        """Name the current session (saved right away when there is a storage)."""
        self._ensure_loaded()
        self._name_of_session = name
        storage = self.storage
        if storage is None:
            return
        if self._exists:
            try:
                storage.rename_session(self.session_id, name)
                return
            except SessionNotFoundError:
                self._runs = []
        storage.upsert(self._record(list(self._runs)))
        self._exists = True

    def delete_session(self) -> None:
        """Delete the current session from storage and forget its runs and state."""
        storage = self.storage
        if storage is not None:
            storage.delete_session(self.session_id)
        self._reset_session()
        self._loaded = True
        self._loaded_storage = storage
        self._loaded_session_id = self.session_id

    def get_messages_for_session(self, session_id: str | None = None) -> list[dict[str, Any]]:
        """Every message of a session's runs, oldest first, history copies left out."""
        if session_id is None or session_id == self.session_id:
            self._ensure_loaded()
            runs = self._runs
        else:
            session = self.storage.read(session_id) if self.storage is not None else None
            runs = session.run_dicts if session is not None else []
        return [
            copy.deepcopy(m)
            for run in runs
            for m in run.get("messages") or []
            if isinstance(m, dict) and not m.get("from_history")
        ]

    def get_chat_history(self, num_chats: int | None = None) -> list[dict[str, Any]]:
        """The user and assistant messages with content, oldest first.

        Args:
            num_chats: Keep only the last ``num_chats`` runs' messages (``None``: all).
        """
        self._ensure_loaded()
        runs = self._runs if num_chats is None else self._runs[-num_chats:] if num_chats else []
        return [
            {"role": m["role"], "content": m.get("content")}
            for run in runs
            for m in run.get("messages") or []
            if m.get("role") in ("user", "assistant")
            and m.get("content") is not None
            and not m.get("from_history")
        ]

    # ------------------------------------------------------------------ running

    def _system_message(self) -> dict[str, Any] | None:
        lines: list[str] = []
        if isinstance(self.instructions, str):
            lines.append(self.instructions)
        elif self.instructions:
            lines.extend(f"- {line}" for line in self.instructions)
        if self.markdown:
            lines.append("Use markdown to format your answers.")
        return _message("system", "\n".join(lines)) if lines else None

    def _history(self) -> list[dict[str, Any]]:
        if not self.add_history_to_messages or self.num_history_runs == 0:
            return []
        runs = self._runs if self.num_history_runs is None else self._runs[-self.num_history_runs :]
        history = []
        for run in runs:
            for m in run.get("messages") or []:
                if isinstance(m, dict) and m.get("role") != "system" and not m.get("from_history"):
                    history.append({**copy.deepcopy(m), "from_history": True})
        return history

    def _chat_history_tool(self) -> Tool:
        def get_chat_history(num_chats: int | None = None) -> str:
            """Get the chat history between the user and the agent, oldest first.

            Args:
                num_chats: How many earlier exchanges to return (all when not given).
            """
            return json.dumps(self.get_chat_history(num_chats), default=str)

        return Tool(get_chat_history)

    def _run_tool(self, call: ToolCall, tools: dict[str, Tool]) -> tuple[str, bool]:
        tool = tools.get(call.name)
        if tool is None:
            known = ", ".join(sorted(tools)) or "none"
            return f"error: unknown tool {call.name!r}; available tools: {known}", True
        try:
            return _tool_output(tool(call.arguments, agent=self)), False
        except Exception as exc:  # a tool's failure is reported to the model, not raised
            return f"error: {call.name} raised {type(exc).__name__}: {exc}", True

    def _converse(
        self, messages: list[dict[str, Any]], tools: dict[str, Tool]
    ) -> tuple[Any, dict[str, list[Any]], list[dict[str, Any]]]:
        """Call the model, run the tools it asks for, repeat; extends ``messages``."""
        schemas = [t.schema() for t in tools.values()] or None
        metrics: dict[str, list[Any]] = {}
        executions: list[dict[str, Any]] = []
        content: Any = None
        for round_number in range(self.max_tool_rounds + 1):
            last_round = round_number == self.max_tool_rounds
            started = time.perf_counter()
            reply = self.model.response(
                [_for_model(m) for m in messages], tools=None if last_round else schemas
            )
            elapsed = round(time.perf_counter() - started, 6)
            calls = [] if last_round else list(reply.tool_calls)
            token_metrics = {**reply.metrics.to_dict(), "time": elapsed}
            for key, value in token_metrics.items():
                metrics.setdefault(key, []).append(value)
            messages.append(
                _message(
                    "assistant",
                    reply.content,
                    tool_calls=[c.to_dict() for c in calls] or None,
                    metrics=token_metrics,
                )
            )
            content = reply.content
            if not calls:
                break
            for call in calls:
                output, failed = self._run_tool(call, tools)
                messages.append(
                    _message(
                        "tool",
                        output,
                        tool_call_id=call.id,
                        tool_name=call.name,
                        tool_args=call.arguments,
                        tool_call_error=failed,
                    )
                )
                executions.append(
                    {
                        "tool_call_id": call.id,
                        "tool_name": call.name,
                        "tool_args": call.arguments,
                        "tool_call_error": failed,
                        "result": output,
                        "created_at": int(time.time()),
                    }
                )
        return content, metrics, executions

    def run(self, message: str) -> RunResponse:
        """Send ``message`` to the model (with history and tools) and save the run.

        The run is written once it has finished. If the model (or the storage)
        raises, nothing is written and ``session_state`` is put back as it was.

        Raises:
            agno_nb.errors.ModelError: the model failed.
        """
        self._ensure_loaded()
        tools = dict(self.tools)
        if self.read_chat_history:
            tools.setdefault("get_chat_history", self._chat_history_tool())
        system = self._system_message()
        messages: list[dict[str, Any]] = [system] if system else []
        messages.extend(self._history())
        messages.append(_message("user", str(message)))
        state_before = copy.deepcopy(self._state)
        try:
            content, metrics, executions = self._converse(messages, tools)
            info = model_info(self.model)
            response = RunResponse(
                content=content,
                run_id=str(uuid.uuid4()),
                session_id=self.session_id,
                agent_id=self.agent_id,
                agent_name=self.name,
                user_id=self.user_id,
                messages=messages,
                metrics=metrics,
                tools=executions,
                model=info["id"],
                model_provider=info["provider"],
            )
            self._save_run(response.to_dict())
        except BaseException:
            self._state = state_before
            raise
        return response

    def print_response(self, message: str, *, markdown: bool | None = None) -> None:
        """Run ``message`` and show the answer.

        In a Jupyter kernel the answer is displayed as rendered Markdown (unless
        ``markdown=False``) through a renderer that shows raw HTML as text, so
        model output is data, never markup; in a terminal it is printed as is.
        """
        text = content_text(self.run(message).content)
        if _in_notebook() and markdown is not False:
            from IPython.display import display

            from agno_nb.render import markdown_to_safe_html

            html = f'<div class="agno-nb-answer">{markdown_to_safe_html(text)}</div>'
            display({"text/html": html, "text/plain": text}, raw=True)
        else:
            print(text)
