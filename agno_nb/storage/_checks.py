"""What a session must look like to be written: shapes that every layout reads
back exactly as given. Anything else is refused before any SQL runs, with one
line naming the session and the field, instead of being changed on the way in
(a dict of runs stored as its keys, a string as its characters)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agno_nb.errors import InvalidSessionError
from agno_nb.schema import DICT_FIELDS


def check_session(session: Any) -> None:
    """Refuse a session whose JSON fields would not read back as given.

    ``memory``, ``session_data``, ``extra_data`` and the entity's data must each
    be a dict or None; ``memory["runs"]`` (when the key is there) and a workflow
    session's ``runs`` must be a list or None; ``created_at`` and ``updated_at``
    whole seconds (an int) or None.

    Raises:
        InvalidSessionError: the first field that breaks these rules.
    """
    sid = getattr(session, "session_id", None)
    if not isinstance(sid, str) or not sid:
        raise InvalidSessionError(
            f"a session needs a non-empty string session_id, got {sid!r}: set session_id"
        )
    fields = session.__dict__
    for name in DICT_FIELDS:
        value = fields.get(name)
        if value is not None and not isinstance(value, dict):
            raise _refused(sid, name, value, "a dict or None")
    memory = fields.get("memory")
    if memory is not None and "runs" in memory:
        runs = memory["runs"]
        if runs is not None and not isinstance(runs, list):
            raise _refused(sid, "memory['runs']", runs, "a list of runs or None")
    for name in ("created_at", "updated_at"):
        value = fields.get(name)
        if value is not None and (type(value) is bool or not isinstance(value, int)):
            raise _refused(sid, name, value, "whole seconds since 1970 (an int) or None")
    runs_v2 = fields.get("runs_v2")
    if runs_v2 is not None and not isinstance(runs_v2, list):
        raise _refused(sid, "runs", runs_v2, "a list of runs or None")


def check_run(session_id: str, run: Any) -> None:
    """Refuse a run given to ``append_run`` that is not a mapping.

    Raises:
        InvalidSessionError: ``run`` is not a mapping.
    """
    if not isinstance(run, Mapping):
        raise _refused(session_id, "the run", run, "a dict")


def _refused(session_id: str, field: str, value: Any, wanted: str) -> InvalidSessionError:
    return InvalidSessionError(
        f"session {session_id!r}: {field} is a {type(value).__name__}, not {wanted}, so it "
        f"would not read back as given; nothing was written: make it {wanted}"
    )
