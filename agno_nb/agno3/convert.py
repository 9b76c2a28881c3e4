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

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agno_nb.agno3.metrics import convert_metrics, is_number
from agno_nb.agno3.runs import LEFTOVER_KEY, convert_run, count_messages, stable_id
from agno_nb.errors import AgnoNbError

_SESSION_TYPE = {
    "agent": "agent",
    "team": "team",
    "workflow": "workflow",
    "workflow_v2": "workflow",
}
_ENTITY = {"agent": "agent_id", "team": "team_id", "workflow": "workflow_id"}


class ConversionError(AgnoNbError):
    """A source session cannot be converted (its message names the session)."""


@dataclass
class ConvertedSession:
    """The target rows of one source session."""

    session: dict[str, Any]
    runs: list[dict[str, Any]] = field(default_factory=list)
    messages: int = 0


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
    if not isinstance(text, str):  # no 3.x shape for it: kept whole, topics and all
        memory["summary"] = found
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
        if not is_number(run_created):
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
        if isinstance(run, Mapping) and is_number(run.get("created_at")):
            return int(run["created_at"])
    return None
