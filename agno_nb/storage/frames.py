"""pandas DataFrames of sessions and messages (pandas imported on first use)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, fields
from typing import TYPE_CHECKING, Any

from agno_nb.codec import SessionSummary
from agno_nb.sessions import Session, content_text

if TYPE_CHECKING:
    import pandas as pd

MESSAGE_COLUMNS = (
    "session_id",
    "user_id",
    "run_id",
    "run_index",
    "message_index",
    "role",
    "content",
    "tool_name",
    "from_history",
    "created_at",
    "input_tokens",
    "output_tokens",
    "total_tokens",
)


SUMMARY_COLUMNS = tuple(f.name for f in fields(SessionSummary))


def to_utc(frame: pd.DataFrame) -> pd.DataFrame:
    """Epoch-second columns as UTC datetimes."""
    import pandas as pd

    for name in ("created_at", "updated_at"):
        frame[name] = pd.to_datetime(frame[name], unit="s", utc=True)
    return frame


def summaries_frame(summaries: Iterable[SessionSummary]) -> pd.DataFrame:
    """One row per session summary, timestamps as UTC datetimes."""
    import pandas as pd

    frame = pd.DataFrame([asdict(s) for s in summaries], columns=list(SUMMARY_COLUMNS))
    return to_utc(frame)


def _tool_name(message: Mapping[str, Any]) -> str | None:
    if message.get("role") == "tool":
        return message.get("tool_name") or message.get("name")
    calls = message.get("tool_calls") or []
    names = [str((c.get("function") or {}).get("name")) for c in calls if isinstance(c, Mapping)]
    return ",".join(names) or None


def _tokens(message: Mapping[str, Any], key: str) -> int | None:
    metrics = message.get("metrics")
    if not isinstance(metrics, Mapping):
        return None
    value = metrics.get(key)
    if isinstance(value, list):  # agno's run-level metrics keep lists
        value = sum(v for v in value if isinstance(v, (int, float)))
    return int(value) if isinstance(value, (int, float)) else None


def message_rows(sessions: Iterable[Session]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for session in sessions:
        for run_index, run in enumerate(session.runs):
            for message_index, message in enumerate(run.new_messages()):
                raw = message.raw
                rows.append(
                    {
                        "session_id": session.session_id,
                        "user_id": session.user_id,
                        "run_id": run.run_id,
                        "run_index": run_index,
                        "message_index": message_index,
                        "role": message.role,
                        "content": content_text(message.content),
                        "tool_name": _tool_name(raw),
                        "from_history": message.from_history,
                        "created_at": message.created_at or run.created_at,
                        "input_tokens": _tokens(raw, "input_tokens"),
                        "output_tokens": _tokens(raw, "output_tokens"),
                        "total_tokens": _tokens(raw, "total_tokens"),
                    }
                )
    return rows


def messages_frame(sessions: Iterable[Session], *, page: int = 200) -> pd.DataFrame:
    """One row per message of the given sessions (history copies left out).

    ``sessions`` is consumed ``page`` sessions at a time, each page turned into
    a typed frame before the next is read, so an iterator of sessions (such as
    ``storage.iter_sessions()``) never has more than one page of sessions, or
    of per-message dicts, in memory besides the frame.
    """
    import pandas as pd

    frames: list[pd.DataFrame] = []
    batch: list[Session] = []
    for session in sessions:
        batch.append(session)
        if len(batch) >= page:
            frames.append(_typed_messages(message_rows(batch)))
            batch = []
    if batch or not frames:
        frames.append(_typed_messages(message_rows(batch)))
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _typed_messages(rows: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(MESSAGE_COLUMNS))
    frame["created_at"] = pd.to_datetime(frame["created_at"], unit="s", utc=True)
    for name in ("input_tokens", "output_tokens", "total_tokens"):
        frame[name] = frame[name].astype("Int64")
    return frame
