"""The storage side of ``%agno_storage``: its status, and attaching agents on request.

:class:`StorageHelpers` is mixed into :class:`agno_nb.magics.AgnoMagics`, which
holds ``storages`` (name -> open storage) and finds the notebook's agents. The
rule: an agent keeps the storage it was given or first attached to; opening
another storage never moves it; ``--attach`` moves agents and says which.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from IPython.core.error import UsageError

from agno_nb.connect import describe_error, is_expected_error
from agno_nb.urls import mask_url

__all__ = ["StorageHelpers", "usage_errors"]


def _split_names(wanted: str) -> list[str]:
    """``a, b c`` -> ["a", "b", "c"]."""
    return [n.strip() for n in wanted.replace(",", " ").split() if n.strip()]


def _names_text(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


@contextmanager
def usage_errors(url: str | None = None) -> Iterator[None]:
    """Turn any failure of a core call into one masked UsageError line."""
    try:
        yield
    except UsageError:
        raise
    except Exception as exc:
        if not is_expected_error(exc):
            raise  # a bug: keep its traceback
        raise UsageError(describe_error(exc, url=url)) from None


class StorageHelpers:
    """Status and attachment helpers of ``%agno_storage`` (see the module docstring)."""

    shell: Any
    storages: dict[str, Any]
    _cell: str | None
    _drop_result: str | None
    _result_status: Any

    agno_home: Any
    agno_async: bool

    def _agents(self) -> list[tuple[str, Any]]:
        raise NotImplementedError

    # -- agno 2.x/3.x's own agents (agno_nb.integrations.agno_db) -------------------------

    def _agno_entities(self) -> list[tuple[str, Any]]:
        """(variable name, object) for every agno >= 2 Agent, Team and Workflow."""
        from agno_nb.integrations.agno_db import entities_in

        return entities_in(self.shell.user_ns if self.shell is not None else {})

    def _agno_table(self, backend: str, table: str | None) -> str | None:
        """The table to open for agno >= 2's agents: agno's ``agno_sessions`` when agno
        >= 2 is installed and no table was named; None to keep agno_nb's default.

        Raises UsageError for DuckDB while agno >= 2 objects are in the namespace.
        """
        from agno_nb.integrations.agno_db import AGNO_TABLE, agno_major

        if table is not None or (agno_major() or 0) < 2:
            return None
        if backend.lower().startswith("duckdb"):
            entities = self._agno_entities()
            if entities:
                names = _names_text([n for n, _ in entities])
                raise UsageError(
                    f"agno has no DuckDB db for {names}: use %agno_storage sqlite PATH or "
                    "%agno_storage postgres URL for agno 2.x/3.x agents (DuckDB stays for "
                    "agno_nb's own agents and for analysis)"
                )
            return None
        return AGNO_TABLE

    def _for_agno(self, storage: Any) -> bool:
        """Whether agno's own db can be given to agno agents on this storage's table."""
        from agno_nb.integrations.agno_db import agno_major

        return (
            (agno_major() or 0) >= 2
            and storage.dialect.holds_agno_tables
            and storage.current_version is None
            and storage.layout_label is not None
        )

    def _attach_agno(
        self, storage: Any, wanted: str | None, *, is_async: bool, claim: bool
    ) -> tuple[list[str], dict[str, str]]:
        """Give agno's db on ``storage`` to agno objects: the ones without a db
        (``wanted`` None) or, for ``--attach``, all / the named ones (moved).

        ``claim`` makes it the db agno objects made later take. Returns
        (attached names, {moved name: where it was}).
        """
        from agno_nb.integrations.agno_db import attach, db_label

        entities = self._agno_entities()
        if claim or self.agno_home is None:
            self.agno_home, self.agno_async = storage, is_async
        with usage_errors():
            if wanted is None:
                return attach(storage, entities, only_unattached=True, is_async=is_async), {}
            names = _split_names(wanted)
            chosen = [(n, e) for n, e in entities if not names or n in names]
            before = {n: self._agno_home_name(e) or db_label(e) or "none" for n, e in chosen}
            moved = attach(storage, chosen, only_unattached=False, is_async=is_async)
        return [], {n: before[n] for n in moved}

    def _agno_home_name(self, entity: Any) -> str | None:
        from agno_nb.integrations.agno_db import uses

        for name, storage in self.storages.items():
            if uses(entity, storage):
                return repr(name)
        return None

    def _agno_use(self, storage: Any, **changes: Any) -> Any:
        """The agno part of the status card, or None when agno >= 2 is not in play."""
        if not self._for_agno(storage):
            return None
        from agno_nb.integrations.agno_db import db_label, uses
        from agno_nb.status import AgnoUse

        users, elsewhere = {}, {}
        for name, entity in self._agno_entities():
            if uses(entity, storage):
                users[name] = db_label(entity)
            elif getattr(entity, "db", None) is not None:
                elsewhere[name] = db_label(entity)
        return AgnoUse(
            users=users,
            elsewhere=elsewhere,
            default=self.agno_home is storage,
            **changes,
        )

    def _agno_post_cell(self) -> list[str]:
        """After a cell: agno objects made in it without a db get the current one."""
        seen = self._seen_agno
        fresh = [(n, e) for n, e in self._agno_entities() if id(e) not in seen]
        seen.update(id(e) for _, e in fresh)
        home = self.agno_home
        if home is None or not fresh or home not in self.storages.values():
            return []
        from agno_nb.integrations.agno_db import attach

        return attach(home, fresh, only_unattached=True, is_async=self.agno_async)

    _seen_agno: set[int]

    def _status(
        self, name: str, storage: Any, *, agno: dict[str, Any] | None = None, **changes: Any
    ) -> Any:
        """The storage's status (which agents use it) for display."""
        from agno_nb.agent import get_default_storage
        from agno_nb.attachments import same_table, storage_of, users_of
        from agno_nb.status import StorageStatus

        with usage_errors():
            known = storage.current_version is not None or storage.layout_label is not None
            count = storage.count_sessions() if known else 0
        agents = self._agents()
        elsewhere = {}
        if storage.mode == "agent":
            for agent_name, agent in agents:
                home = storage_of(agent)
                if home is not None and not same_table(home, storage):
                    elsewhere[agent_name] = self._name_of(home)
        return StorageStatus(
            name,
            storage,
            count,
            users=users_of(storage, agents, same_data=True),
            default=storage.mode == "agent" and get_default_storage() is storage,
            elsewhere=elsewhere,
            agno=self._agno_use(storage, **(agno or {})),
            **changes,
        )

    def _name_of(self, storage: Any) -> str:
        """How the status names another storage: its --as name, else its URL and table."""
        for name, open_one in self.storages.items():
            if open_one is storage:
                return repr(name)
        where = getattr(storage, "display_url", type(storage).__name__)
        return mask_url(f"{where} table {getattr(storage, 'table_name', '?')}")

    def _show(self, status: Any, line: str) -> Any:
        """Show ``status`` once and return the storage.

        When the cell ends with this magic, IPython displays the returned
        storage: its formatters (see :meth:`_storage_text`) show it as this
        status. Otherwise the magic displays the status itself.
        """
        storage = status.storage
        if line.rstrip().endswith(";"):
            return storage  # the user asked for no output
        if self._shown_as_result("agno_storage", line):
            self._result_status = status
            formatters = self.shell.display_formatter.formatters
            formatters["text/plain"].for_type(type(storage), self._storage_text)
            formatters["text/html"].for_type(type(storage), self._storage_html)
            return storage
        from IPython.display import display

        display(status)
        # Not sure IPython will show it (e.g. no cell to read): a kernel hook drops
        # the storage's repr if this cell's result turns out to be this very storage.
        self._drop_result = repr(storage)
        return storage

    def _status_for(self, obj: Any) -> Any:
        status = self._result_status
        return status if status is not None and status.storage is obj else None

    def _storage_text(self, obj: Any, printer: Any, cycle: bool) -> None:
        """text/plain of a storage: the status when a magic just returned it, else its repr."""
        status = self._status_for(obj)
        printer.text(status.text() if status is not None else repr(obj))

    def _storage_html(self, obj: Any) -> str | None:
        """text/html of a storage: the status card when a magic just returned it."""
        status = self._status_for(obj)
        return status.html() if status is not None else None

    def drop_duplicate_result(self, msg: Any) -> Any:
        """ipykernel displayhook hook: drop the repr of a storage whose status was shown."""
        data = msg.get("content", {}).get("data", {}) if isinstance(msg, dict) else {}
        if self._drop_result is not None and data.get("text/plain") == self._drop_result:
            self._drop_result = None
            return None
        return msg

    def _shown_as_result(self, magic: str, line: str) -> bool:
        """True when the running cell ends with ``%magic line`` as a bare expression.

        IPython would then display the magic's return value after the status
        the magic displayed: returning None keeps it to one output. Assigned
        (``s = %agno_storage ...``) or called from code, the storage is returned.
        """
        if self._cell is None or self.shell is None:
            return False  # not inside a cell (e.g. called from a script)
        try:
            tree = ast.parse(self.shell.transform_cell(self._cell))
        except (SyntaxError, TypeError, ValueError):
            return False
        last = tree.body[-1] if tree.body else None
        if not isinstance(last, ast.Expr) or not isinstance(last.value, ast.Call):
            return False
        call = last.value
        args = [a.value for a in call.args if isinstance(a, ast.Constant)]
        return (
            isinstance(call.func, ast.Attribute)
            and call.func.attr == "run_line_magic"
            and args[:2] == [magic, line]
        )

    def _reopen(
        self, name: str, old: Any, new: Any, attach: bool, *, named: bool = True
    ) -> list[str]:
        """Opening ``name`` again: its agents follow only to the same table (or on --attach).

        ``named`` says whether the user typed ``--as name`` (else it is the backend's
        default name, and the message must not quote a flag the user never typed).
        Returns the agents that followed. Raises UsageError when agents use the
        old storage, the new one is another table, and --attach was not given.
        """
        from agno_nb.attachments import attach as give
        from agno_nb.attachments import same_table, users_of

        if old is None or old is new:
            return []
        agents = self._agents()
        users = users_of(old, agents)
        if not users or attach:
            return []
        if not same_table(old, new):
            new.close()
            raise UsageError(mask_url(_replace_refused(name, old, new, users, named=named)))
        with usage_errors():
            give(new, [(n, a) for n, a in agents if n in users], only_unattached=False)
        return users

    def _move_here(self, storage: Any, wanted: str | None) -> dict[str, str]:
        """--attach: move the agents (all, or the named ones) to ``storage``.

        Returns {agent name: name of the storage it left}.
        """
        if wanted is None:
            return {}
        from agno_nb.agent import set_default_storage
        from agno_nb.attachments import attach, storage_of

        if self._read_in_place(storage):
            return {}  # agno_nb's own agents do not save to agno's tables

        agents = self._agents()
        names = _split_names(wanted)
        known = dict(agents)
        agno = [n for n, _ in self._agno_entities()]
        missing = [n for n in names if n not in known and n not in agno]
        if missing:
            have = ", ".join([*known, *agno]) or "none defined"
            raise UsageError(f"--attach: no agent named {missing[0]!r} (agents: {have})")
        chosen = [(n, known[n]) for n in names if n in known] if names else agents
        before = {n: storage_of(a) for n, a in chosen}
        with usage_errors():
            moved = attach(storage, chosen, only_unattached=False)
        if storage.mode == "agent":
            set_default_storage(storage)
        return {n: self._name_of(before[n]) if before[n] is not None else "none" for n in moved}

    @staticmethod
    def _read_in_place(storage: Any) -> bool:
        """Whether the table is one agno_nb reads but saves no runs to (agno 2.x/3.x's)."""
        with usage_errors():
            return storage.current_version is None and storage.layout_label is not None

    def _in_use(self, storage: Any) -> bool:
        from agno_nb.attachments import users_of

        return bool(users_of(storage, self._agents()))


def _replace_refused(name: str, old: Any, new: Any, users: list[str], *, named: bool) -> str:
    """Why opening ``new`` under ``name`` would strand agents on ``old``, and what to type."""
    who = ", ".join(users)
    uses = "uses" if len(users) == 1 else "use"
    opened = f"{old.display_url} table {old.table_name}"
    wanted = f"table {new.table_name}" if new.display_url == old.display_url else new.display_url
    if named:
        return (
            f"--as {name}: {who} {uses} the open storage {name!r} ({opened}); "
            f"pick another --as name, or add --attach to move {who} to {wanted}"
        )
    return (
        f"{who} {uses} the open storage {name!r} ({opened}): to open {wanted} beside it, "
        f"add --as NAME; to move {who} there, add --attach"
    )
