"""Session records as agno 1.x stores them, plus light Run/Message views.

The dataclasses carry exactly agno 1.x's fields, so ``to_dict()`` output can be
handed to agno and agno's ``to_dict()`` output can be read here. Runs live in
``memory["runs"]`` (agent, team, workflow modes) or in ``runs`` (workflow_v2),
each a plain dict with ``run_id``, ``messages``, ``metrics``, ``created_at``...
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

from agno_nb.messages import Message as Message
from agno_nb.messages import Run as Run
from agno_nb.messages import content_text as content_text

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
