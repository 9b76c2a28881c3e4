"""Light views over agno's run and message dicts: :class:`Run`, :class:`Message`
and :func:`content_text`. Below ``sessions`` (whose sessions hand them out) and
``render`` (which shows them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agno_nb.summary import content_text as content_text

__all__ = ["Message", "Run", "content_text"]


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
