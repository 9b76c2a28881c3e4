"""One agno 1.x session -> one ``agno_sessions`` row and its ``agno_runs`` rows.

Pure functions: no I/O, deterministic (a rerun converts a session to the same
rows). Every 1.x field has a home in agno 3.x:

- runs (``memory["runs"]``, or the ``runs`` column of workflow v2 tables) become
  ``agno_runs`` rows with ``run_index`` in conversation order, each run's own
  ``created_at``, its status (a 1.x run stored as ``RUNNING`` had finished:
  nothing runs once the 1.x app is stopped, so it becomes ``COMPLETED``), an
  ``input`` taken from its first user message, its messages (history copies
  kept, marked ``from_history``) and tool calls;
- metrics get agno's own 1.x -> 2.x names (``time`` -> ``duration``,
  ``audio_tokens`` -> ``audio_total_tokens``, ``input_audio_tokens`` ->
  ``audio_input_tokens``, ``output_audio_tokens`` -> ``audio_output_tokens``,
  ``cached_tokens`` -> ``cache_read_tokens``), and a run's per-model-call lists
  become the scalars agno 3.x expects (tokens and durations summed, the first
  time to first token);
- ``session_data`` keeps the session name and state; ``memory["summaries"]``
  (or agno's older ``memory["summary"]``) becomes ``summary``; ``extra_data``
  becomes ``metadata``; ``agent_data`` / ``team_data`` / ``workflow_data`` are
  kept;
- whatever has no 3.x field (a run's ``formatted_tool_calls``, the per-call
  metric lists, other users' memories, ``team_session_id``...) is kept under
  ``metadata["agno_v1"]`` of the session or of the run. Nothing is dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agno_nb.errors import AgnoNbError

#: Where 1.x values without a 3.x field are kept, inside ``metadata``.
LEFTOVER_KEY = "agno_v1"
#: agno's own 1.x -> 2.x metric renames (agno.db.migrations.v1_to_v2).
METRIC_RENAMES = {
    "time": "duration",
    "audio_tokens": "audio_total_tokens",
    "input_audio_tokens": "audio_input_tokens",
    "output_audio_tokens": "audio_output_tokens",
    "cached_tokens": "cache_read_tokens",
}
_METRIC_NUMBERS = {
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "audio_input_tokens",
    "audio_output_tokens",
    "audio_total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "duration",
    "cost",
}
_METRIC_FIELDS = _METRIC_NUMBERS | {"time_to_first_token", "additional_metrics", "provider_metrics"}
_STATUSES = {"PENDING", "RUNNING", "COMPLETED", "PAUSED", "CANCELLED", "ERROR"}
#: 1.x run fields whose value moves elsewhere, or has no 3.x field at all.
_RUN_LEFTOVERS = ("formatted_tool_calls", "team_session_id", "event", "events", "extra_data")
_SESSION_TYPE = {
    "agent": "agent",
    "team": "team",
    "workflow": "workflow",
    "workflow_v2": "workflow",
}
_ENTITY = {"agent": "agent_id", "team": "team_id", "workflow": "workflow_id"}
_NAMESPACE = uuid.UUID("6f1c6c0e-7a4d-4a53-9a55-5d1d3c1c0a11")


class ConversionError(AgnoNbError):
    """A source session cannot be converted (its message names the session)."""


@dataclass
class ConvertedSession:
    """The target rows of one source session."""

    session: dict[str, Any]
    runs: list[dict[str, Any]] = field(default_factory=list)
    messages: int = 0


def stable_id(*parts: object) -> str:
    """A UUID derived from ``parts``: the same input gives the same id on a rerun."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(str(p) for p in parts)))


# -- metrics -------------------------------------------------------------------------------


_NUMBER_TYPES = (int, float)


def _number(value: Any) -> bool:
    return type(value) in _NUMBER_TYPES


def convert_metrics(metrics: Any, *, leftovers: dict[str, Any]) -> Any:
    """A 1.x metrics dict in agno 3.x's names, lists summed to scalars.

    What has no 3.x field (``prompt_tokens``, per-call lists of more than one
    value, unknown keys) is added to ``leftovers``.
    """
    if type(metrics) is not dict:
        if isinstance(metrics, Mapping):
            metrics = dict(metrics)
        else:
            if metrics is not None:
                leftovers["metrics"] = metrics
            return None
    out: dict[str, Any] = {}
    kept: dict[str, Any] = {}
    per_call: dict[str, Any] = {}
    rename = METRIC_RENAMES.get
    for key, value in metrics.items():
        name = rename(key, key)
        kind = type(value)
        if name in _METRIC_FIELDS:
            if kind is int or kind is float or value is None:
                if value is not None:
                    out[name] = value
                continue
            if kind is list:
                value = _from_list(key, name, value, kept, per_call)
                if value is not None:
                    out[name] = value
            elif name in _METRIC_NUMBERS:
                kept[key] = value
            else:
                out[name] = value
        elif _meaningful(value):
            kept[key] = value
    if kept:
        leftovers["metrics"] = kept
    if per_call:
        leftovers["metrics_per_call"] = per_call
    return out


def _from_list(
    key: str, name: str, value: list[Any], kept: dict[str, Any], per_call: dict[str, Any]
) -> Any:
    """One per-model-call list as a scalar: summed (the first time to first token)."""
    if not all(type(v) in _NUMBER_TYPES for v in value):
        kept[key] = value
        return None
    if len(value) > 1:
        per_call[key] = value
    if not value:
        return None
    return value[0] if name == "time_to_first_token" else sum(value)


def _meaningful(value: Any) -> bool:
    """Whether a dropped metric holds information (not None, 0 or all zeros)."""
    if value in (None, 0, [], {}):
        return False
    return not (isinstance(value, list) and all(v in (0, None) for v in value))


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
            data["input"] = {"input_content": first.get("content")}
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


def run_type_of(session_type: str) -> str:
    """The ``run_type`` column of a session type's runs."""
    return session_type


def count_messages(run: Mapping[str, Any]) -> int:
    """Messages in one run (history copies included)."""
    messages = run.get("messages")
    return len(messages) if isinstance(messages, list) else 0


# -- sessions ------------------------------------------------------------------------------


def _summary(memory: dict[str, Any], session_id: str, user_id: Any) -> Any:
    """The session's summary (3.x shape), removed from ``memory``; None if absent."""
    found: Any = None
    summaries = memory.get("summaries")
    if isinstance(summaries, Mapping):
        users = summaries.get(user_id) if user_id in summaries else None
        if isinstance(users, Mapping) and isinstance(users.get(session_id), Mapping):
            found = users[session_id]
            rest = {k: v for k, v in users.items() if k != session_id}
            others = {k: v for k, v in summaries.items() if k != user_id}
            if rest:
                others[user_id] = rest
            if others:
                memory["summaries"] = others
            else:
                memory.pop("summaries")
        elif not summaries:
            memory.pop("summaries")
    if found is None and isinstance(memory.get("summary"), Mapping):
        found = memory.pop("summary")
    if found is None:
        return None
    text = found.get("summary")
    if not isinstance(text, str):
        return None
    out: dict[str, Any] = {"summary": text}
    if found.get("topics") is not None:
        out["topics"] = found["topics"]
    when = found.get("updated_at") or found.get("last_updated")
    if isinstance(when, str):
        out["updated_at"] = when
    extra = {
        k: v
        for k, v in found.items()
        if k not in ("summary", "topics", "updated_at", "last_updated", "session_id", "user_id")
    }
    if extra:
        memory["summary_extra"] = extra
    return out


def _session_data(value: Any, leftovers: dict[str, Any]) -> Any:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        leftovers["session_data"] = value
        return None
    data = dict(value)
    if "session_metrics" in data:
        extra: dict[str, Any] = {}
        data["session_metrics"] = convert_metrics(data["session_metrics"], leftovers=extra)
        if extra:
            leftovers["session_metrics"] = extra
    return data


def convert_session(row: Mapping[str, Any], *, mode: str) -> ConvertedSession:
    """Convert one decoded 1.x session row (runs inside ``memory``, or in ``runs``
    for workflow v2) into agno 3.x rows.

    Raises:
        ConversionError: the row cannot be converted (the message names the session).
    """
    session_id = row.get("session_id")
    try:
        return _convert(row, mode)
    except ConversionError:
        raise
    except Exception as exc:  # any shape problem in the stored JSON
        raise ConversionError(
            f"session {session_id!r} cannot be converted ({type(exc).__name__}: {exc}); "
            "fix or delete that row, or rerun with skip_bad=True (--skip-bad) to list it"
        ) from None


def _convert(row: Mapping[str, Any], mode: str) -> ConvertedSession:
    session_id = row.get("session_id")
    if not isinstance(session_id, str) or not session_id:
        raise ConversionError(f"session {session_id!r} has no usable session_id")
    session_type = _SESSION_TYPE[mode]
    entity_column = _ENTITY[session_type]
    entity_id = row.get(entity_column)
    user_id = row.get("user_id")
    leftovers: dict[str, Any] = {}
    memory_value = row.get("memory")
    if memory_value is None:
        memory: dict[str, Any] = {}
    elif isinstance(memory_value, Mapping):
        memory = dict(memory_value)
    else:
        raise ConversionError(
            f"session {session_id!r}: column 'memory' holds {type(memory_value).__name__}, "
            "not an object; fix or delete that row, or rerun with --skip-bad"
        )
    if mode == "workflow_v2":
        runs_value = row.get("runs")
        if memory:
            leftovers["memory"] = memory
        memory = {}
    else:
        runs_value = memory.pop("runs", None)
    if runs_value is None:
        runs_value = []
    if not isinstance(runs_value, list):
        raise ConversionError(
            f"session {session_id!r}: its runs are {type(runs_value).__name__}, not a list; "
            "fix or delete that row, or rerun with --skip-bad"
        )
    summary = _summary(memory, session_id, user_id) if memory else None
    for key in ("memories", "messages"):
        if key in memory and memory[key] in (None, {}, []):
            memory.pop(key)
    if memory:
        leftovers["memory"] = memory
    session_data = _session_data(row.get("session_data"), leftovers)
    extra = row.get("extra_data")
    metadata: dict[str, Any] | None
    if isinstance(extra, Mapping):
        metadata = dict(extra)
    else:
        metadata = None
        if extra is not None:
            leftovers["extra_data"] = extra
    for key in ("team_session_id", "workflow_name"):
        if row.get(key) is not None:
            leftovers[key] = row[key]
    created_at = row.get("created_at")
    updated_at = row.get("updated_at")
    if created_at is None:
        created_at = updated_at if updated_at is not None else _first_run_time(runs_value)
    if created_at is None:
        raise ConversionError(
            f"session {session_id!r} has no created_at and no timestamped run; set its "
            "created_at, or rerun with --skip-bad"
        )
    runs: list[dict[str, Any]] = []
    messages = 0
    seen: set[str] = set()
    for index, run in enumerate(runs_value):
        if not isinstance(run, Mapping):
            raise ConversionError(
                f"session {session_id!r}: run {index} is {type(run).__name__}, not an object; "
                "fix or delete that row, or rerun with --skip-bad"
            )
        data = convert_run(
            run,
            session_type=session_type,
            session_id=session_id,
            entity_id=entity_id,
            position=index,
        )
        if data["run_id"] in seen:  # a run stored twice: keep both, the copy renamed
            original = data["run_id"]
            data["run_id"] = stable_id(session_id, original, index)
            data.setdefault("metadata", {}).setdefault(LEFTOVER_KEY, {})["run_id"] = original
        seen.add(data["run_id"])
        run_created: Any = data.get("created_at")
        if not _number(run_created):
            run_created = created_at
        messages += count_messages(data)
        runs.append(
            {
                "run_id": data["run_id"],
                "session_id": session_id,
                "run_type": session_type,
                "agent_id": data.get("agent_id"),
                "team_id": data.get("team_id"),
                "workflow_id": data.get("workflow_id"),
                "user_id": user_id,
                "parent_run_id": data.get("parent_run_id"),
                "status": data.get("status"),
                "run_index": index,
                "run_data": data,
                "created_at": int(run_created),
                "updated_at": int(run_created),
            }
        )
    if leftovers:
        metadata = dict(metadata or {})
        metadata[LEFTOVER_KEY] = leftovers
    entity_data_column = f"{session_type}_data"
    entity_data = row.get(entity_data_column)
    if mode == "workflow_v2" and row.get("workflow_name") is not None:
        entity_data = dict(entity_data) if isinstance(entity_data, Mapping) else {}
        entity_data.setdefault("name", row["workflow_name"])
    session: dict[str, Any] = {
        "session_id": session_id,
        "session_type": session_type,
        entity_column: entity_id,
        "user_id": user_id,
        entity_data_column: entity_data,
        "session_data": session_data,
        "metadata": metadata,
        "summary": summary,
        "created_at": int(created_at),
        "updated_at": int(updated_at) if updated_at is not None else int(created_at),
    }
    return ConvertedSession(session=session, runs=runs, messages=messages)


def _first_run_time(runs: list[Any]) -> int | None:
    for run in runs:
        if isinstance(run, Mapping) and _number(run.get("created_at")):
            return int(run["created_at"])
    return None
