"""Let agno 1.x's own Agent, Team and Workflow keep their sessions in agno_nb storage.

>>> from agno.agent import Agent as AgnoAgent
>>> from agno_nb.integrations.agno import as_agno_storage
>>> agent = AgnoAgent(model=..., storage=as_agno_storage(DuckDbStorage("agent_sessions",
...                                                                      db_file="s.duckdb")))

Sessions are converted between agno's session dataclasses and ours through
``to_dict()`` / ``from_dict()``; both carry agno 1.x's fields, so nothing is lost.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any

from agno_nb.errors import AgnoNbError
from agno_nb.sessions import SESSION_CLASSES

__all__ = ["as_agno_storage"]


def _require_agno() -> None:
    try:
        import agno.storage.base  # noqa: F401
    except ImportError:
        raise AgnoNbError("the agno interop needs agno 1.x: pip install 'agno>=1.4,<2'") from None


def _agno_session_class(mode: str) -> Any:
    if mode == "team":
        from agno.storage.session.team import TeamSession

        return TeamSession
    if mode == "workflow":
        from agno.storage.session.workflow import WorkflowSession

        return WorkflowSession
    if mode == "workflow_v2":
        from agno.storage.session.v2.workflow import WorkflowSession as WorkflowSessionV2

        return WorkflowSessionV2
    from agno.storage.session.agent import AgentSession

    return AgentSession


def _fields(session: Any) -> dict[str, Any]:
    """A dataclass session's fields as a dict, values shared (``asdict`` would
    deep-copy every run: most of a turn's time on a long session)."""
    return {f.name: getattr(session, f.name) for f in dataclasses.fields(session)}


class AgnoMemory(dict[str, Any]):
    """A session's ``memory`` as the adapter hands it to agno: a plain ``dict``
    of exactly what was upserted, whose ``pop("runs")`` gives ``None`` when it
    holds no runs.

    agno 1.8.4's Agent, loading a stored session into an agent that has no
    memory object yet, takes the session's memory dict as its own and calls
    ``pop("runs")`` on it without a default, which raises ``KeyError`` for a
    session stored without runs. Meeting that one call here keeps every read
    exact (no ``"runs": []`` added) and such a session loadable. Everything
    else behaves as ``dict`` (equality, JSON, pickling, copies).
    """

    __slots__ = ()

    def pop(self, key: Any, *default: Any) -> Any:
        """``dict.pop``, except a missing ``"runs"`` gives ``None`` (agno's Agent)."""
        if not default and key == "runs" and key not in self:
            return None
        return super().pop(key, *default)

    def __reduce__(self) -> Any:  # pickled (and deep-copied by pickle) as a plain dict
        return (dict, (dict(self),))


def to_agno_session(session: Any, mode: str) -> Any:
    """Our session object as agno's session dataclass for ``mode``.

    The values are shared with ``session`` (a freshly read object), not copied;
    ``memory`` is the same dict's items as an :class:`AgnoMemory` (nothing added).
    """
    if session is None:
        return None
    data = _fields(session)
    memory = data.get("memory")
    if mode != "workflow_v2" and type(memory) is dict:
        data["memory"] = AgnoMemory(memory)
    return _agno_session_class(mode).from_dict(data)


def from_agno_session(session: Any, mode: str) -> Any:
    """agno's session dataclass as our session object for ``mode`` (values shared,
    except workflow_v2, whose ``to_dict()`` turns agno's run objects into dicts)."""
    if mode != "workflow_v2" and dataclasses.is_dataclass(session):
        data = _fields(session)
    else:
        data = session.to_dict() if hasattr(session, "to_dict") else dict(session)
    if type(data.get("memory")) is AgnoMemory:  # stored as the plain dict it is
        data["memory"] = dict(data["memory"])
    return SESSION_CLASSES[mode].from_dict(data)


@lru_cache(maxsize=1)
def _adapter_class() -> type:
    from agno.storage.base import Storage

    class AgnoNbStorage(Storage):
        """An agno 1.x ``Storage`` backed by an agno_nb storage: every method and
        attribute of agno 1.8.4's ``SqliteStorage`` / ``PostgresStorage``."""

        def __init__(self, storage: Any) -> None:
            self.storage = storage
            super().__init__(mode=storage.mode)

        def __repr__(self) -> str:
            where = getattr(self.storage, "display_url", type(self.storage).__name__)
            return f"AgnoNbStorage({self.storage.table_name!r}, {where}, mode={self.mode!r})"

        def __deepcopy__(self, memo: dict[int, Any]) -> Any:
            # agno's Agent.deep_copy() deep-copies its storage: share the
            # connections, as agno's own storages do
            copied = type(self)(self.storage)
            memo[id(self)] = copied
            return copied

        # -- agno's attributes ---------------------------------------------------------

        @property
        def mode(self) -> Any:
            return self.storage.mode

        @mode.setter
        def mode(self, value: Any) -> None:
            wanted = value or "agent"
            if wanted != self.storage.mode:
                raise AgnoNbError(
                    f"table {self.storage.table_name!r} was opened with "
                    f"mode={self.storage.mode!r} but agno asks for mode={wanted!r}: "
                    f"open a storage with mode={wanted!r} for it"
                )

        @property
        def table_name(self) -> str:
            return str(self.storage.table_name)

        @property
        def schema(self) -> str | None:
            return getattr(self.storage, "schema", None)

        @property
        def db_url(self) -> str | None:
            return getattr(self.storage, "db_url", None)

        @property
        def db_engine(self) -> Any:
            return self.storage.db_engine

        @property
        def schema_version(self) -> int:
            """The table's layout version (agno 1.x's own tables are 1)."""
            known = self.storage.schema_version
            return int(known if known is not None else self.storage.latest_version)

        @property
        def auto_upgrade_schema(self) -> bool:
            return bool(self.storage.auto_upgrade_schema)

        @auto_upgrade_schema.setter
        def auto_upgrade_schema(self, value: bool) -> None:
            self.storage.auto_upgrade_schema = bool(value)

        @property
        def table(self) -> Any:
            return self.get_table()

        @property
        def metadata(self) -> Any:
            return self.get_table().metadata

        @property
        def inspector(self) -> Any:
            import sqlalchemy as sa

            return sa.inspect(self.storage.db_engine)

        @property
        def SqlSession(self) -> Any:  # agno's SqliteStorage's name
            from sqlalchemy.orm import sessionmaker

            return sessionmaker(bind=self.storage.db_engine)

        @property
        def Session(self) -> Any:  # agno's PostgresStorage's name
            from sqlalchemy.orm import scoped_session, sessionmaker

            return scoped_session(sessionmaker(bind=self.storage.db_engine))

        # -- agno's methods ------------------------------------------------------------

        def get_table(self) -> Any:
            """The SQLAlchemy Table of the sessions table at its layout."""
            version = self.storage.current_version
            if version is None:
                version = self.schema_version
            return self.storage.table_at(version)

        def get_table_v1(self) -> Any:
            """agno 1.x's own table definition (layout v1) for this name and mode."""
            return self.storage.table_at(1)

        def table_exists(self) -> bool:
            return bool(self.storage.table_exists())

        def create(self) -> None:
            self.storage.create()

        def read(self, session_id: str, user_id: str | None = None) -> Any:
            return to_agno_session(self.storage.read(session_id, user_id=user_id), self.mode)

        def get_all_session_ids(
            self, user_id: str | None = None, entity_id: str | None = None
        ) -> list[str]:
            return list(self.storage.get_all_session_ids(user_id=user_id, entity_id=entity_id))

        def get_all_sessions(
            self, user_id: str | None = None, entity_id: str | None = None
        ) -> list[Any]:
            sessions = self.storage.get_all_sessions(user_id=user_id, entity_id=entity_id)
            return [to_agno_session(s, self.mode) for s in sessions]

        def get_recent_sessions(
            self,
            user_id: str | None = None,
            entity_id: str | None = None,
            limit: int | None = 2,
        ) -> list[Any]:
            sessions = self.storage.get_recent_sessions(
                user_id=user_id, entity_id=entity_id, limit=limit
            )
            return [to_agno_session(s, self.mode) for s in sessions]

        def upsert(self, session: Any, create_and_retry: bool = True) -> Any:
            """Store ``session`` and return it (agno re-reads it; nothing here
            changes it, so the same object is returned). The table is created
            when missing whatever ``create_and_retry`` says."""
            self.storage.upsert(from_agno_session(session, self.mode))
            return session

        def delete_session(self, session_id: str | None = None) -> None:
            if session_id is not None:
                self.storage.delete_session(session_id)

        def drop(self) -> None:
            self.storage.drop()

        def upgrade_schema(self) -> None:
            self.storage.upgrade_schema()

    return AgnoNbStorage


def as_agno_storage(storage: Any) -> Any:
    """Wrap an agno_nb storage so agno 1.x's ``Agent(storage=...)`` accepts it.

    Args:
        storage: Any agno_nb storage (SQLite, DuckDB, Postgres). Its ``mode``
            must match what agno uses it for (``"agent"`` for an Agent).

    Returns:
        A subclass instance of ``agno.storage.base.Storage``.

    Raises:
        agno_nb.errors.AgnoNbError: agno is not installed.
    """
    _require_agno()
    return _adapter_class()(storage)
