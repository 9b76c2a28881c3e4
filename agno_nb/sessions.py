"""Session records as agno 1.x stores them, plus light Run/Message views.

The dataclasses carry exactly agno 1.x's fields, so ``to_dict()`` output can be
handed to agno and agno's ``to_dict()`` output can be read here. Runs live in
``memory["runs"]`` (agent, team, workflow modes) or in ``runs`` (workflow_v2),
each a plain dict with ``run_id``, ``messages``, ``metrics``, ``created_at``...
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal

Mode = Literal["agent", "team", "workflow", "workflow_v2"]
MODES: tuple[str, ...] = ("agent", "team", "workflow", "workflow_v2")

#: The id column of the entity a session belongs to, per mode.
ENTITY_COLUMN: dict[str, str] = {
    "agent": "agent_id",
    "team": "team_id",
    "workflow": "workflow_id",
    "workflow_v2": "workflow_id",
}


@dataclass
class Message:
    """One chat message of a run (a view over agno's message dict)."""

    role: str
    content: Any = None
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    from_history: bool = False
    created_at: int | None = None
    metrics: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        return cls(
            role=str(data.get("role") or "unknown"),
            content=data.get("content"),
            name=data.get("name") or data.get("tool_name"),
            tool_call_id=data.get("tool_call_id"),
            tool_calls=data.get("tool_calls"),
            from_history=bool(data.get("from_history", False)),
            created_at=data.get("created_at"),
            metrics=data.get("metrics"),
            raw=dict(data),
        )

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.raw)
        for key in ("role", "content", "name", "tool_call_id", "tool_calls", "created_at"):
            value = getattr(self, key)
            if value is not None or key in out:
                out[key] = value
        if self.from_history or "from_history" in out:
            out["from_history"] = self.from_history
        if self.metrics is not None:
            out["metrics"] = self.metrics
        return out

    @property
    def text(self) -> str:
        """The content as plain text (lists of parts are joined)."""
        return content_text(self.content)


@dataclass
class Run:
    """One agent run: the messages the model saw and produced, and metrics."""

    run_id: str | None
    messages: list[Message]
    content: Any = None
    metrics: dict[str, Any] | None = None
    created_at: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Run:
        # agno's older AgentMemory stored {"message": ..., "messages": ..., "response": {...}}
        response = data.get("response") if isinstance(data.get("response"), Mapping) else None
        source: Mapping[str, Any] = response if response and "messages" not in data else data
        messages = source.get("messages") or data.get("messages") or []
        return cls(
            run_id=source.get("run_id") or data.get("run_id"),
            messages=[Message.from_dict(m) for m in messages if isinstance(m, Mapping)],
            content=source.get("content"),
            metrics=source.get("metrics"),
            created_at=source.get("created_at") or data.get("created_at"),
            raw=dict(data),
        )

    def new_messages(self) -> list[Message]:
        """The messages this run added (those not marked ``from_history``)."""
        return [m for m in self.messages if not m.from_history]

    @property
    def user_message(self) -> Message | None:
        """The first user message this run added, if any."""
        return next((m for m in self.new_messages() if m.role == "user"), None)


def content_text(content: Any) -> str:
    """Flatten message content (str, list of parts, None) to text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, Mapping):
                parts.append(str(part.get("text", "")))
            else:
                parts.append(str(part))
        return " ".join(p for p in parts if p)
    return str(content)


@dataclass
class _SessionBase:
    """Fields and helpers shared by every session kind."""

    mode: ClassVar[str] = "agent"
    entity_field: ClassVar[str] = "agent_id"

    session_id: str
    user_id: str | None = None
    memory: dict[str, Any] | None = None
    session_data: dict[str, Any] | None = None
    extra_data: dict[str, Any] | None = None
    created_at: int | None = None
    updated_at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Any:
        """Build from a dict or row mapping; unknown keys are ignored."""
        if data is None or data.get("session_id") is None:
            raise ValueError("a session needs a session_id")
        names = cls.__dataclass_fields__
        kwargs: dict[str, Any] = {k: data.get(k) for k in names if k in data}
        return cls(**kwargs)

    @property
    def entity_id(self) -> str | None:
        return getattr(self, self.entity_field, None)

    @property
    def run_dicts(self) -> list[dict[str, Any]]:
        """The stored runs as dicts, oldest first (a new list; runs read from a
        runs table stay undecoded until taken, see ``storage.lazy_runs``)."""
        memory = self.memory
        runs = memory.get("runs") if isinstance(memory, dict) else None
        return runs.copy() if isinstance(runs, list) else []

    @property
    def runs(self) -> list[Run]:
        return [Run.from_dict(r) for r in self.run_dicts if isinstance(r, Mapping)]

    @property
    def session_name(self) -> str | None:
        return (self.session_data or {}).get("session_name")

    @property
    def session_state(self) -> dict[str, Any]:
        return dict((self.session_data or {}).get("session_state") or {})

    def messages(self) -> list[Message]:
        """Every message of every run, each once (history copies left out)."""
        return [m for run in self.runs for m in run.new_messages()]

    def _repr_html_(self) -> str:
        from agno_nb.render import session_html

        return session_html(self)


@dataclass
class AgentSession(_SessionBase):
    """A session of one agent (agno 1.x ``AgentSession``)."""

    mode: ClassVar[str] = "agent"
    entity_field: ClassVar[str] = "agent_id"

    team_session_id: str | None = None
    workflow_session_id: str | None = None
    agent_id: str | None = None
    agent_data: dict[str, Any] | None = None


@dataclass
class TeamSession(_SessionBase):
    """A session of a team (agno 1.x ``TeamSession``)."""

    mode: ClassVar[str] = "team"
    entity_field: ClassVar[str] = "team_id"

    team_session_id: str | None = None
    workflow_session_id: str | None = None
    team_id: str | None = None
    team_data: dict[str, Any] | None = None


@dataclass
class WorkflowSession(_SessionBase):
    """A workflow session (agno 1.x ``WorkflowSession``; ``runs`` and
    ``workflow_name`` are used by the ``workflow_v2`` mode)."""

    mode: ClassVar[str] = "workflow"
    entity_field: ClassVar[str] = "workflow_id"

    workflow_id: str | None = None
    workflow_data: dict[str, Any] | None = None
    workflow_name: str | None = None
    runs_v2: list[dict[str, Any]] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkflowSession:
        session: WorkflowSession = super().from_dict(data)
        runs = data.get("runs")
        if runs is not None:
            session.runs_v2 = runs.copy() if isinstance(runs, list) else list(runs)
        return session

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["runs"] = out.pop("runs_v2")
        return out

    @property
    def run_dicts(self) -> list[dict[str, Any]]:
        if isinstance(self.runs_v2, list):
            return self.runs_v2.copy()
        return super().run_dicts


Session = AgentSession | TeamSession | WorkflowSession

SESSION_CLASSES: dict[str, type[_SessionBase]] = {
    "agent": AgentSession,
    "team": TeamSession,
    "workflow": WorkflowSession,
    "workflow_v2": WorkflowSession,
}
