"""JSON in and out of stored rows: encoding for the engines agno_nb creates, and
decoding with errors that name the session."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ujson

from agno_nb.errors import CorruptSessionError


def encode_json(value: Any) -> str:
    """``json.dumps(value)``, about three times faster.

    ujson writes the same text as the standard library (same separators and
    escapes, NaN and big integers included; only a one-digit negative exponent
    differs in form, ``1e-5`` for ``1e-05``, with the same value). What ujson
    refuses is handed to ``json.dumps``, so an unsupported value fails with the
    standard library's own TypeError. Reading stays with ``json.loads``.
    """
    try:
        return ujson.dumps(value, escape_forward_slashes=False, separators=(", ", ": "))
    except (TypeError, ValueError, OverflowError):
        return json.dumps(value)


@dataclass
class SessionSummary:
    """One line of a session listing; built without loading run payloads."""

    session_id: str
    user_id: str | None = None
    entity_id: str | None = None
    session_name: str | None = None
    run_count: int = 0
    message_count: int = 0
    created_at: int | None = None
    updated_at: int | None = None
    preview: str | None = None
    error: str | None = None

    @property
    def title(self) -> str:
        """What a list shows for this session: its name, else its first question."""
        return self.session_name or self.preview or self.session_id


def decode_json(text: Any, *, session_id: str, column: str) -> Any:
    """Parse one JSON column value; a bad value raises CorruptSessionError."""
    if text is None:
        return None
    if not isinstance(text, (str, bytes, bytearray)):
        return text  # already decoded by the driver
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptSessionError(
            f"session {session_id!r} has corrupt JSON in column {column!r} ({exc.msg} at "
            f"char {exc.pos}); other sessions are unaffected: fix or delete this row"
        ) from None


def decode_row(row: Mapping[str, Any], json_columns: tuple[str, ...]) -> dict[str, Any]:
    """A row mapping with its JSON columns decoded."""
    data = dict(row)
    session_id = str(data.get("session_id"))
    for column in json_columns:
        if column in data:
            data[column] = decode_json(data[column], session_id=session_id, column=column)
    return data
