"""agno_nb's sessions and runs in the shape agno 2.x/3.x writes them (no SQL here).

agno_nb's :class:`~agno_nb.agent.Agent` makes runs shaped like agno 1.x's
``RunResponse.to_dict()`` (metrics as lists per model call, history copies and
the system message among ``messages``). agno 3.1.10 stores ``RunOutput.to_dict()``
instead; :func:`agno_run` makes that from either shape, so that agno's own
``RunOutput.from_dict(d).to_dict()`` gives ``d`` back key for key (keys in
agno's order, ``None`` values left out where agno leaves them out):

- ``messages``: this run's own messages only (agno does not store the history it
  put into the context), each as ``Message.to_dict()`` (an ``id``, no ``None``
  or empty values, ``metrics`` without zeros, ``created_at`` last);
- ``metrics``: ``RunMetrics.to_dict()``: token sums, ``duration`` (seconds),
  ``details.model`` with the run's model;
- ``tools``: ``ToolExecution.to_dict()`` (every field, ``None`` included), ``[]``
  for a run without tool calls (agno stores the empty list);
- ``input``: ``{"input_content": <the user's message>}``.

Keys agno does not know are kept, after agno's own (agno ignores them when it
reads). :func:`session_values` gives the ``agno_sessions`` columns of an agent
session and :func:`add_run_metrics` keeps ``session_data["session_metrics"]``
the way agno accumulates it. Facts: tests/fixtures/AGNO_DB_FORMAT.md.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["add_run_metrics", "agno_run", "session_metrics", "session_values"]

#: ``RunOutput`` fields agno serialises with ``asdict`` (in field order), before the
#: fields it serialises by hand (:data:`_RUN_HAND`), which follow in this order.
_RUN_PLAIN = (
    "run_id", "agent_id", "agent_name", "session_id", "parent_run_id", "workflow_id",
    "user_id", "content", "content_type", "reasoning_content", "model_provider_data",
    "model", "model_provider", "session_state", "created_at", "status", "queue_attempt",
    "cancellation_stage", "last_checkpoint_at_message_index", "forked_from_run_id",
    "forked_from_message_index", "forked_from_session_id", "regenerated_from",
    "workflow_step_id",
)  # fmt: skip
_RUN_HAND = (
    "metrics", "compaction", "events", "messages", "metadata", "additional_input",
    "reasoning_messages", "reasoning_steps", "references", "followups", "images", "videos",
    "audio", "files", "response_audio", "citations", "tools", "requirements", "input",
)  # fmt: skip
#: ``Message.to_dict()``'s keys in order (media and ``metrics`` follow, ``created_at`` last).
_MESSAGE_KEYS = (
    "id", "content", "reasoning_content", "from_history", "compressed_content",
    "stop_after_tool_call", "role", "name", "tool_call_id", "tool_name", "tool_args",
    "tool_call_error", "tool_calls", "redacted_reasoning_content", "provider_data",
    "checkpoint_status", "checkpoint_created_at",
)  # fmt: skip
_MESSAGE_MEDIA = ("images", "audio", "videos", "files", "audio_output", "references")
#: Token counters every agno metrics object has (``BaseMetrics``), in order.
_TOKENS = (
    "input_tokens", "output_tokens", "total_tokens", "audio_input_tokens",
    "audio_output_tokens", "audio_total_tokens", "cache_read_tokens", "cache_write_tokens",
    "reasoning_tokens",
)  # fmt: skip
_MESSAGE_METRICS = (*_TOKENS, "cost", "duration", "time_to_first_token", "provider_metrics")
_RUN_METRICS = (*_TOKENS, "cost", "time_to_first_token", "duration", "details")
_RUN_METRICS_ALL = (*_RUN_METRICS, "additional_metrics")
_MODEL_METRICS = (*_TOKENS, "cost", "id", "provider", "provider_metrics")
#: ``ToolExecution.to_dict()``: every field, in order, ``None`` included.
_TOOL_KEYS = (
    "tool_call_id", "tool_name", "tool_args", "tool_call_error", "result", "metrics",
    "child_run_id", "stop_after_tool_call", "created_at", "requires_confirmation",
    "confirmed", "confirmation_note", "requires_user_input", "user_input_schema",
    "user_feedback_schema", "answered", "external_execution_required",
    "external_execution_silent", "approval_type", "approval_id", "parent_tool_call_id",
)  # fmt: skip
_TOOL_DEFAULTS = {"stop_after_tool_call": False}
#: What agno_nb's run reader (``run_from_agno``) adds to a stored run's metrics.
_READER_ADDED = ("time",)


def _kept(value: Any) -> bool:
    """agno's test for a metrics value worth storing: not None, not int 0, not empty."""
    if value is None or isinstance(value, bool):
        return value is not None
    if isinstance(value, int) and value == 0:
        return False
    return not (isinstance(value, (dict, list)) and len(value) == 0)


def _ordered(data: Mapping[str, Any], keys: tuple[str, ...], keep: Any) -> dict[str, Any]:
    return {k: data[k] for k in keys if k in data and keep(data[k])}


# -- metrics -------------------------------------------------------------------------------


def _as_scalar(key: str, value: Any) -> Any:
    """agno 1.x keeps one value per model call in a list; agno 3 keeps the run's total."""
    if not isinstance(value, list):
        return value
    numbers = [v for v in value if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if key == "time_to_first_token":
        return numbers[0] if numbers else None
    return sum(numbers) if numbers else None


def run_metrics(metrics: Any, *, model: Any, provider: Any) -> dict[str, Any] | None:
    """``RunMetrics.to_dict()`` of a run's metrics (either shape); None when empty."""
    if not isinstance(metrics, Mapping):
        return None
    flat = {k: _as_scalar(k, v) for k, v in metrics.items()}
    if "duration" not in flat and "time" in flat:
        flat["duration"] = flat["time"]  # agno 1.x's seconds per call, summed
    for key in _READER_ADDED:
        flat.pop(key, None)
    if "details" not in flat and model is not None and any(_kept(flat.get(k)) for k in _TOKENS):
        entry = {k: flat[k] for k in _TOKENS if k in flat}
        entry.update(id=model, provider=provider or "")
        flat["details"] = {"model": [entry]}
    if isinstance(flat.get("details"), Mapping):
        flat["details"] = {
            kind: [_ordered(m, _MODEL_METRICS, _kept) for m in entries if isinstance(m, Mapping)]
            for kind, entries in flat["details"].items()
            if isinstance(entries, list)
        }
    out = _ordered(flat, _RUN_METRICS_ALL, _kept)
    return out or None


def _message_metrics(metrics: Any) -> dict[str, Any] | None:
    if not isinstance(metrics, Mapping):
        return None
    flat = {k: _as_scalar(k, v) for k, v in metrics.items()}
    if "duration" not in flat and "time" in flat:
        flat["duration"] = flat["time"]
    out = _ordered(flat, _MESSAGE_METRICS, _kept)
    return out or None


def session_metrics(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """``session_data["session_metrics"]`` for these agno-shaped runs (None when empty)."""
    total: dict[str, Any] | None = None
    for run in runs:
        total = add_run_metrics(total, run.get("metrics"))
    return total


def add_run_metrics(session: Any, run: Any) -> dict[str, Any] | None:
    """``SessionMetrics`` after one more run, as agno accumulates it: tokens and cost
    summed, ``details`` entries summed per (provider, id)."""
    out: dict[str, Any] = copy.deepcopy(dict(session)) if isinstance(session, Mapping) else {}
    if not isinstance(run, Mapping):
        return out or None
    for key in (*_TOKENS, "cost"):
        value = run.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = (out.get(key) or 0) + value
    extra = run.get("additional_metrics")
    if isinstance(extra, Mapping):
        merged = dict(out.get("additional_metrics") or {})
        for k, v in extra.items():
            old = merged.get(k)
            numeric = isinstance(v, (int, float)) and isinstance(old, (int, float))
            merged[k] = old + v if numeric else v
        out["additional_metrics"] = merged
    details = run.get("details")
    if isinstance(details, Mapping):
        kept = {k: [dict(m) for m in v] for k, v in (out.get("details") or {}).items()}
        for kind, entries in details.items():
            mine = kept.setdefault(kind, [])
            for entry in entries or []:
                which = (entry.get("provider"), entry.get("id"))
                same = next((m for m in mine if (m.get("provider"), m.get("id")) == which), None)
                if same is None:
                    mine.append(_ordered(entry, _MODEL_METRICS, _kept))
                    continue
                for key in (*_TOKENS, "cost"):
                    if isinstance(entry.get(key), (int, float)):
                        same[key] = (same.get(key) or 0) + entry[key]
                kept[kind] = [_ordered(m, _MODEL_METRICS, _kept) for m in mine]
        out["details"] = kept
    order = (*_TOKENS, "cost", "details", "additional_metrics")
    result = _ordered(out, order, _kept)
    return result or None


# -- runs ----------------------------------------------------------------------------------


def _message(message: Mapping[str, Any], created_at: Any) -> dict[str, Any]:
    """One message as agno 3's ``Message.to_dict()`` writes it."""
    src = dict(message)
    src.setdefault("id", str(uuid.uuid4()))
    src.setdefault("from_history", False)
    src.setdefault("stop_after_tool_call", False)
    out = {
        k: src[k]
        for k in _MESSAGE_KEYS
        if k in src and src[k] is not None and not (isinstance(src[k], (list, dict)) and not src[k])
    }
    for key in _MESSAGE_MEDIA:
        if src.get(key):
            out[key] = src[key]
    metrics = _message_metrics(src.get("metrics"))
    if metrics:
        out["metrics"] = metrics
    known = {*_MESSAGE_KEYS, *_MESSAGE_MEDIA, "metrics", "created_at"}
    out.update({k: v for k, v in src.items() if k not in known and v is not None})
    out["created_at"] = src.get("created_at") if src.get("created_at") is not None else created_at
    return out


def _tool(tool: Mapping[str, Any], created_at: Any) -> dict[str, Any]:
    """One tool execution as agno's ``ToolExecution.to_dict()`` writes it."""
    out = {k: tool.get(k, _TOOL_DEFAULTS.get(k)) for k in _TOOL_KEYS}
    if out["created_at"] is None:
        out["created_at"] = created_at
    if isinstance(out["result"], (dict, list)):
        out["result"] = json.dumps(out["result"], default=str)
    out.update({k: v for k, v in tool.items() if k not in out})
    return out


def _user_input(messages: list[Any]) -> Any:
    """The content of the run's own (last) user message."""
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") == "user":
            return message.get("content")
    return None


def agno_run(
    run: Mapping[str, Any],
    *,
    session_id: str,
    user_id: str | None,
    agent_id: str | None,
    session_state: Any = None,
    now: int,
) -> dict[str, Any]:
    """``run`` (agno 1.x's or agno 3's shape) as agno 3.1.10's ``RunOutput.to_dict()``.

    ``session_id``, ``user_id``, ``agent_id`` and ``session_state`` fill in what agno
    keeps in every run and agno_nb's runs may not carry (values the run has win):
    agno reads a run without ``agent_id`` in an agent session as no run at all.
    ``now`` is its ``created_at`` when it has none (agno's default).
    """
    src = copy.deepcopy(dict(run))
    if src.get("created_at") is None:
        src["created_at"] = now
    created = src["created_at"]
    if src.get("agent_id") is None and agent_id is not None:
        src["agent_id"] = agent_id
    src.setdefault("session_id", session_id)
    if user_id is not None:
        src.setdefault("user_id", user_id)
    if session_state is not None:
        src.setdefault("session_state", copy.deepcopy(session_state))
    src.setdefault("content_type", "str")
    src.setdefault("status", "COMPLETED")
    own = [
        m for m in src.get("messages") or [] if isinstance(m, Mapping) and not m.get("from_history")
    ]
    out: dict[str, Any] = {k: src[k] for k in _RUN_PLAIN if src.get(k) is not None}
    hand: dict[str, Any] = {}
    metrics = run_metrics(
        src.get("metrics"), model=src.get("model"), provider=src.get("model_provider")
    )
    if metrics is not None:
        hand["metrics"] = metrics
    if own:  # (agno reads an empty list back as none)
        hand["messages"] = [_message(m, created) for m in own]
    tools = src.get("tools")
    if tools is None:
        tools = []  # an agent's RunOutput has a (maybe empty) tools list
    if isinstance(tools, list):
        hand["tools"] = [_tool(t, created) if isinstance(t, Mapping) else t for t in tools]
    if not isinstance(src.get("input"), Mapping):
        question = src.get("input") if src.get("input") is not None else _user_input(own)
        if question is not None:
            src["input"] = {"input_content": question}
    for key in _RUN_HAND:
        if key in hand:
            out[key] = hand[key]
        elif key not in ("metrics", "messages", "tools") and src.get(key) is not None:
            out[key] = src[key]
    known = {*_RUN_PLAIN, *_RUN_HAND}
    out.update({k: v for k, v in src.items() if k not in known and v is not None})
    return out


# -- the session row -----------------------------------------------------------------------


def agent_data(data: Any, agent_id: Any) -> dict[str, Any]:
    """``agent_data`` as agno writes it: ``name`` (when set), ``agent_id``, ``model``
    (``provider``, ``id``, ``name``)."""
    src = dict(data) if isinstance(data, Mapping) else {}
    out: dict[str, Any] = {}
    if src.get("name") is not None:
        out["name"] = src["name"]
    if (src.get("agent_id") or agent_id) is not None:
        out["agent_id"] = src.get("agent_id") or agent_id
    model = src.get("model")
    if isinstance(model, Mapping):  # Model.to_dict(): the fields that are set
        out["model"] = {k: model[k] for k in ("name", "id", "provider") if model.get(k) is not None}
    out.update({k: v for k, v in src.items() if k not in ("name", "agent_id", "model")})
    return out


def session_data(
    data: Any, *, kept: Any = None, runs: Sequence[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """``session_data`` as agno writes it: ``session_state``, ``session_metrics``,
    then ``session_name`` (only once named) and other keys.

    ``kept`` is what the row holds now (its ``session_metrics`` and keys agno_nb does
    not set survive); ``runs`` (agno-shaped), when given, recompute the metrics.
    """
    old = dict(kept) if isinstance(kept, Mapping) else {}
    new = dict(data) if isinstance(data, Mapping) else {}
    merged = {**old, **{k: v for k, v in new.items() if v is not None or k not in old}}
    if new.get("session_name") is None and old.get("session_name") is not None:
        merged["session_name"] = old["session_name"]
    if runs is not None:
        merged["session_metrics"] = session_metrics(runs)
    out: dict[str, Any] = {"session_state": merged.pop("session_state", None) or {}}
    metrics = merged.pop("session_metrics", None)
    if metrics:
        out["session_metrics"] = metrics
    name = merged.pop("session_name", None)
    if name is not None:
        out["session_name"] = name
    out.update(merged)
    return out


def session_values(session: Any, runs: list[dict[str, Any]], *, kept: Any = None) -> dict[str, Any]:
    """The ``agno_sessions`` values (JSON columns as Python values) of an agno_nb
    agent session whose runs, agno-shaped, are ``runs``; ``kept`` is the row's
    ``session_data`` now, if it exists."""
    memory = session.memory if isinstance(getattr(session, "memory", None), Mapping) else {}
    return {
        "session_id": session.session_id,
        "session_type": "agent",
        "agent_id": session.agent_id,
        "user_id": session.user_id,
        "session_data": session_data(session.session_data, kept=kept, runs=runs),
        "agent_data": agent_data(session.agent_data, session.agent_id),
        "metadata": session.extra_data or None,
        "summary": memory.get("summary"),
    }
