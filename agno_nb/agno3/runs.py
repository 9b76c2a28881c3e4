"""One agno 1.x run (with its messages and tool calls) as agno 3.x's run dict.

Pure functions, deterministic: a rerun converts a run to the same dict.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from agno_nb.agno3.metrics import convert_metrics

#: Where 1.x values without a 3.x field are kept, inside ``metadata``.
LEFTOVER_KEY = "agno_v1"
_STATUSES = {"PENDING", "RUNNING", "COMPLETED", "PAUSED", "CANCELLED", "ERROR"}
#: 1.x run fields whose value moves elsewhere, or has no 3.x field at all.
_RUN_LEFTOVERS = ("formatted_tool_calls", "team_session_id", "event", "events", "extra_data")
_ENTITY = {"agent": "agent_id", "team": "team_id", "workflow": "workflow_id"}
_NAMESPACE = uuid.UUID("6f1c6c0e-7a4d-4a53-9a55-5d1d3c1c0a11")


def stable_id(*parts: object) -> str:
    """A UUID derived from ``parts``: the same input gives the same id on a rerun."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def rename_run(run: dict[str, Any], session_id: str, index: int) -> None:
    """Give an ``agno_runs`` row (and its ``run_data``) a run id derived from the
    session and position, keeping the original under ``metadata["agno_v1"]["run_id"]``:
    for a run whose id another session holds (a conversation copied to branch it)."""
    original = run["run_id"]
    new_id = stable_id(session_id, original, index)
    run["run_id"] = new_id
    data = dict(run["run_data"])
    data["run_id"] = new_id
    metadata = data.get("metadata")
    metadata = dict(metadata) if isinstance(metadata, Mapping) else {}
    leftovers = metadata.get(LEFTOVER_KEY)
    leftovers = dict(leftovers) if isinstance(leftovers, Mapping) else {}
    leftovers.setdefault("run_id", original)
    metadata[LEFTOVER_KEY] = leftovers
    data["metadata"] = metadata
    run["run_data"] = data


# -- messages and tools --------------------------------------------------------------------


def convert_message(message: Any, *, run_id: str, index: int) -> Any:
    """A 1.x message dict for agno 3.x: metric names, reasoning fields, a stable id.

    agno 3.x's Message keeps unknown keys, so every other key stays as it is.
    """
    if type(message) is not dict and not isinstance(message, Mapping):
        return message
    out = dict(message)
    if "metrics" in out:
        extra: dict[str, Any] = {}
        metrics = convert_metrics(out["metrics"], leftovers=extra)
        out["metrics"] = metrics or {}
        if extra:
            out[LEFTOVER_KEY] = extra
    thinking = out.pop("thinking", None)
    if thinking:
        reasoning = out.get("reasoning_content")
        out["reasoning_content"] = f"{thinking}\n{reasoning}" if reasoning else thinking
    redacted = out.pop("redacted_thinking", None)
    if redacted and not out.get("redacted_reasoning_content"):
        out["redacted_reasoning_content"] = redacted
    if not out.get("id"):  # agno 3.x gives id-less messages a random one on every read
        out["id"] = f"{run_id}-{index}"
    return out


def convert_tool(tool: Any) -> Any:
    """A 1.x tool execution for agno 3.x (its ``time`` metric becomes ``duration``)."""
    if not isinstance(tool, Mapping):
        return tool
    out = dict(tool)
    metrics = out.get("metrics")
    if isinstance(metrics, Mapping):
        extra: dict[str, Any] = {}
        converted = convert_metrics(metrics, leftovers=extra)
        out["metrics"] = {k: v for k, v in converted.items() if k == "duration"}
        rest = {k: v for k, v in converted.items() if k != "duration"}
        if rest or extra:
            out[LEFTOVER_KEY] = {**rest, **extra}
    return out


# -- runs ----------------------------------------------------------------------------------


def _status(value: Any, leftovers: dict[str, Any]) -> str:
    text = str(getattr(value, "value", value) or "").upper()
    if text in ("", "RUNNING", "PENDING"):
        if value is not None:
            leftovers["status"] = value
        return "COMPLETED"
    if text in _STATUSES:
        return text
    leftovers["status"] = value
    return "COMPLETED"


def _first_user_message(messages: list[Any]) -> Any:
    for message in messages:
        if (
            type(message) is dict
            and message.get("role") == "user"
            and not message.get("from_history")
        ):
            return message
    return None


def convert_run(
    run: Mapping[str, Any],
    *,
    session_type: str,
    session_id: str,
    entity_id: str | None,
    position: int,
) -> dict[str, Any]:
    """One 1.x run dict as agno 3.x's run dict (``run_data``)."""
    leftovers: dict[str, Any] = {}
    data = dict(run)
    for key in _RUN_LEFTOVERS:
        if key in data:
            value = data.pop(key)
            if value not in (None, [], {}):
                leftovers[key] = value
    extra = leftovers.get("extra_data")
    if isinstance(extra, Mapping):  # agno's converter facts: extra_data fields moved up
        moves = {
            "add_messages": "additional_input",
            "references": "references",
            "reasoning_steps": "reasoning_steps",
            "reasoning_content": "reasoning_content",
            "reasoning_messages": "reasoning_messages",
        }
        for old, new in moves.items():
            if old in extra and new not in data:
                data[new] = extra[old]
    thinking = data.pop("thinking", None)
    if thinking:
        reasoning = data.get("reasoning_content")
        data["reasoning_content"] = f"{thinking}\n{reasoning}" if reasoning else thinking
    run_id = data.get("run_id")
    if not run_id:
        run_id = stable_id(session_id, "run", position)
        leftovers["run_id"] = None
    data["run_id"] = str(run_id)
    data["session_id"] = session_id
    data["status"] = _status(data.get("status"), leftovers)
    messages = data.get("messages")
    if isinstance(messages, list):
        data["messages"] = [
            convert_message(m, run_id=data["run_id"], index=i) for i, m in enumerate(messages)
        ]
        first = _first_user_message(data["messages"])
        if first is not None and not data.get("input"):
            content = first.get("content")  # a workflow run's input is the value itself
            data["input"] = content if session_type == "workflow" else {"input_content": content}
    elif messages is not None:
        leftovers["messages"] = data.pop("messages")
    if isinstance(data.get("tools"), list):
        data["tools"] = [convert_tool(t) for t in data["tools"]]
    if "metrics" in data:
        metrics = convert_metrics(data.pop("metrics"), leftovers=leftovers)
        if session_type == "workflow":  # agno 3.x's WorkflowMetrics: steps + duration
            if metrics:
                leftovers.setdefault("metrics", metrics)
            data["metrics"] = {"steps": {}, "duration": (metrics or {}).get("duration")}
        elif metrics is not None:
            data["metrics"] = metrics
    if session_type == "team":
        members = data.get("member_responses")
        if isinstance(members, list):
            data["member_responses"] = [
                convert_run(
                    m,
                    session_type="agent",
                    session_id=session_id,
                    entity_id=m.get("agent_id"),
                    position=i,
                )
                if isinstance(m, Mapping)
                else m
                for i, m in enumerate(members)
            ]
    _fix_owner(data, session_type, entity_id, leftovers)
    if leftovers:
        metadata = data.get("metadata")
        metadata = dict(metadata) if isinstance(metadata, Mapping) else {}
        metadata[LEFTOVER_KEY] = leftovers
        data["metadata"] = metadata
    return data


def _fix_owner(
    data: dict[str, Any], session_type: str, entity_id: str | None, leftovers: dict[str, Any]
) -> None:
    """agno 3.x tells runs apart by which id key they hold: an agent run has
    ``agent_id``, a team run ``team_id`` (and no ``agent_id``), a workflow run
    neither. Ids that would mislead it go to the leftovers."""
    own = _ENTITY[session_type]
    for key in ("agent_id", "team_id", "agent_name", "team_name"):
        if key == own or key not in data:
            continue
        if session_type == "agent" and key == "agent_name":
            continue
        if session_type == "team" and key == "team_name":
            continue
        value = data.pop(key)
        if value is not None:
            leftovers[key] = value
    if data.get(own) is None:
        data[own] = entity_id


def count_messages(run: Mapping[str, Any]) -> int:
    """Messages in one run (history copies included)."""
    messages = run.get("messages")
    return len(messages) if isinstance(messages, list) else 0
