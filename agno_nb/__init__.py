"""agno_nb: store, inspect and evolve LLM-agent sessions from a Jupyter notebook.

Public names are imported lazily so ``%load_ext agno_nb`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "AgentSession",
    "AgnoNbError",
    "DuckDbStorage",
    "PostgresStorage",
    "SqliteStorage",
    "TeamSession",
    "WorkflowSession",
    "load_ipython_extension",
    "open_storage",
    "unload_ipython_extension",
]

_LAZY = {
    "Agent": "agno_nb.agent",
    "AgentSession": "agno_nb.sessions",
    "TeamSession": "agno_nb.sessions",
    "WorkflowSession": "agno_nb.sessions",
    "AgnoNbError": "agno_nb.errors",
    "SqliteStorage": "agno_nb.storage",
    "DuckDbStorage": "agno_nb.storage",
    "PostgresStorage": "agno_nb.storage",
    "open_storage": "agno_nb.storage",
}

if TYPE_CHECKING:
    from agno_nb.agent import Agent
    from agno_nb.errors import AgnoNbError
    from agno_nb.sessions import AgentSession, TeamSession, WorkflowSession
    from agno_nb.storage import DuckDbStorage, PostgresStorage, SqliteStorage, open_storage


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agno_nb' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def load_ipython_extension(ipython: Any) -> None:
    """Register the %agno_* magics (``%load_ext agno_nb``)."""
    from agno_nb.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the %agno_* magics (``%unload_ext agno_nb``)."""
    from agno_nb.magics import unload_ipython_extension as unload

    unload(ipython)
