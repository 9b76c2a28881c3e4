"""Which agents use which storage, and attaching storages to agents on request.

The rule (issue 13): an agent keeps the storage it was given or first attached
to. Opening another storage never moves an agent; :func:`attach` moves the
agents it is asked to move and returns their names. Works on a plain namespace
dict (no IPython), for agno_nb Agents and agno 1.x Agents alike.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["agents_in", "attach", "same_table", "storage_of", "users_of"]


def _kinds() -> tuple[type, ...]:
    from agno_nb.agent import Agent

    kinds: tuple[type, ...] = (Agent,)
    agno_agent = sys.modules.get("agno.agent")
    from agno_nb.integrations.agno_db import agno_major

    # agno >= 2's Agent takes agno's own db (agno_nb.integrations.agno_db), not a storage
    agno_class = getattr(agno_agent, "Agent", None) if agno_agent is not None else None
    if isinstance(agno_class, type) and (agno_major() or 1) < 2:
        kinds = (*kinds, agno_class)
    return kinds


def agents_in(namespace: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(variable name, agent) for every agno_nb or agno 1.x Agent in ``namespace``
    (agno 2.x/3.x objects: :func:`agno_nb.integrations.agno_db.entities_in`)."""
    kinds = _kinds()
    return [
        (name, value)
        for name, value in list(namespace.items())
        if not name.startswith("_") and isinstance(value, kinds)
    ]


def storage_of(agent: Any) -> Any:
    """The agno_nb storage ``agent`` uses (or will take at first use), or None.

    An agno 1.x agent's storage counts when it is agno_nb's adapter; any other
    storage object is returned as it is.
    """
    from agno_nb.agent import Agent, get_default_storage

    if isinstance(agent, Agent):
        own = agent.__dict__.get("_storage")
        return own if own is not None else get_default_storage()
    current = getattr(agent, "storage", None)
    inner = getattr(current, "storage", None)
    return inner if inner is not None and type(current).__name__ == "AgnoNbStorage" else current


def same_table(one: Any, other: Any) -> bool:
    """True when two storage objects open the same table of the same database."""
    if one is other:
        return True

    def key(storage: Any) -> tuple[Any, ...]:
        return tuple(getattr(storage, a, None) for a in ("display_url", "schema", "table_name"))

    return one is not None and other is not None and key(one) == key(other)


def users_of(
    storage: Any, agents: Iterable[tuple[str, Any]], *, same_data: bool = False
) -> list[str]:
    """Names of the agents among ``agents`` that use ``storage`` (that object; with
    ``same_data``, any storage object on the same table)."""
    if same_data:
        return [name for name, agent in agents if same_table(storage_of(agent), storage)]
    return [name for name, agent in agents if storage_of(agent) is storage]


def attach(storage: Any, agents: Iterable[tuple[str, Any]], *, only_unattached: bool) -> list[str]:
    """Give ``storage`` to ``agents``; returns the names of those that changed storage.

    Args:
        storage: an agno_nb storage opened with ``mode="agent"``.
        agents: (name, agent) pairs, e.g. from :func:`agents_in`.
        only_unattached: leave agents that already have a storage where they are
            (what opening a storage does); False moves them too (``--attach``).

    Raises:
        ValueError: the storage is not for agents.
    """
    if storage.mode != "agent":
        raise ValueError(
            f"this storage holds {storage.mode} sessions, not agent sessions: "
            "open one with --mode agent to attach agents"
        )
    from agno_nb.agent import Agent

    changed: list[str] = []
    for name, agent in agents:
        if isinstance(agent, Agent):
            own = agent.__dict__.get("_storage")
        else:
            own = getattr(agent, "storage", None)
        if own is not None and (only_unattached or storage_of(agent) is storage):
            continue
        if isinstance(agent, Agent):
            agent.storage = storage
        else:
            from agno_nb.integrations.agno import as_agno_storage

            agent.storage = as_agno_storage(storage)
        changed.append(name)
    return changed
