"""The one status ``%agno_storage`` shows: which storage, its table, and its agents.

:class:`StorageStatus` gathers the facts once; it renders as one plain line
(terminals, logs) and as a small HTML card (Jupyter). Every value is escaped
and URLs are masked: no password ever reaches the output.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from agno_nb.render import CSS
from agno_nb.urls import mask_url

__all__ = ["AgnoUse", "StorageStatus", "layout_text"]


def layout_text(storage: Any) -> str:
    """``layout v3``, ``layout v1, upgrade available to v3``, ``table not created yet``,
    or what an unstamped table is (``agno 3.x tables agno_sessions + agno_runs``)."""
    version = storage.current_version
    if version is None:
        return getattr(storage, "layout_label", None) or "table not created yet"
    if version < storage.latest_version:
        return f"layout v{version}, upgrade available to v{storage.latest_version}"
    return f"layout v{version}"


def _names(names: list[str]) -> str:
    return ", ".join(names)


@dataclass
class AgnoUse:
    """Which agno 2.x/3.x Agents, Teams and Workflows use a storage's table through
    agno's own db (``agno_nb.integrations.agno_db``).

    Attributes:
        users: names of the agno objects whose db is this table, with the db's class
            (``{"agent": "SqliteDb"}``).
        attached: the ones that got it just now (they had no db).
        moved: the ones moved here just now (``--attach``), with where they came from.
        elsewhere: agno objects whose db is somewhere else, with its class.
        default: True when agno objects made later take it.
    """

    users: dict[str, str] = field(default_factory=dict)
    attached: list[str] = field(default_factory=list)
    moved: dict[str, str] = field(default_factory=dict)
    elsewhere: dict[str, str] = field(default_factory=dict)
    default: bool = False

    def parts(self) -> list[str]:
        """The agno facts, each a short phrase."""
        parts = []
        dbs = sorted(set(self.users.values()))
        via = f" (agno {', '.join(dbs)})" if dbs else ""
        if self.moved:
            origins = list(dict.fromkeys(self.moved.values()))
            parts.append(f"moved agno {_names(list(self.moved))} here (from {_names(origins)})")
        if self.attached:
            parts.append(f"agno db attached to {_names(self.attached)}{via}")
        others = [n for n in self.users if n not in self.moved and n not in self.attached]
        if others:
            parts.append(f"used by agno {_names(others)}{via if not self.attached else ''}")
        if not self.users:
            parts.append("no agno agents use it")
        if self.elsewhere:
            stay = _names([f"{n} ({db})" for n, db in self.elsewhere.items()])
            parts.append(f"{stay} keep their own db (--attach moves them)")
        if self.default:
            parts.append("agno agents made later get it when their cell ends")
        return parts


@dataclass
class StorageStatus:
    """What ``%agno_storage`` says about one open storage.

    Attributes:
        name: the storage's ``--as`` name.
        storage: the agno_nb storage.
        sessions: how many sessions its table holds.
        users: names of the agents that use it.
        default: True when new agents take it.
        attached: agents that got it just now (they had none).
        moved: agents moved here just now, with the name of the storage they left.
        elsewhere: agents left on another storage, with that storage's name.
        note: what opening it chose for the user (a table other than the one
            asked for, say), shown inside the status rather than above it.
        agno: what agno 2.x/3.x's own agents do with it (None when agno >= 2 is
            not in play): see :class:`AgnoUse`.
    """

    name: str
    storage: Any
    sessions: int
    users: list[str] = field(default_factory=list)
    default: bool = False
    attached: list[str] = field(default_factory=list)
    moved: dict[str, str] = field(default_factory=dict)
    elsewhere: dict[str, str] = field(default_factory=dict)
    note: str | None = None
    agno: AgnoUse | None = None

    @property
    def table(self) -> str:
        """The table, with its schema when it has one."""
        s = self.storage
        return f"{s.schema}.{s.table_name}" if getattr(s, "schema", None) else str(s.table_name)

    def where(self) -> str:
        """``sqlite sqlite:///tmp/data.db table agent_sessions (layout v3), 2 sessions``."""
        s = self.storage
        plural = "s" if self.sessions != 1 else ""
        return (
            f"{s.backend} {s.display_url} table {self.table} ({layout_text(s)}), "
            f"{self.sessions} session{plural}"
        )

    def agent_parts(self) -> list[str]:
        """The agent facts, each a short phrase."""
        if self.agno is not None:  # agno's one table holds every session type
            return self.agno.parts()
        if self.storage.mode != "agent":
            return [f"holds {self.storage.mode} sessions: agents are not attached to it"]
        if self.storage.current_version is None and getattr(self.storage, "layout_label", None):
            return ["read in place: agents are not attached to it (they save to agno_nb's tables)"]
        parts = []
        if self.moved:
            origins = list(dict.fromkeys(self.moved.values()))
            parts.append(f"moved {_names(list(self.moved))} here (from {_names(origins)})")
        if self.attached:
            parts.append(f"attached to {_names(self.attached)}")
        others = [n for n in self.users if n not in self.moved and n not in self.attached]
        if others:
            parts.append(f"used by {_names(others)}")
        if not self.users:
            # one fact: with no agent yet, the default is about agents to come
            parts.append(
                "no agents yet: new agents will use it" if self.default else "no agents use it"
            )
        if self.elsewhere:
            by_home: dict[str, list[str]] = {}
            for agent, home in self.elsewhere.items():
                by_home.setdefault(home, []).append(agent)
            stay = "; ".join(
                f"{_names(a)} {'stays' if len(a) == 1 else 'stay'} on {h}"
                for h, a in by_home.items()
            )
            parts.append(f"{stay} (--attach moves them)")
        if self.default and self.users:
            parts.append("new agents use it")
        return parts

    def text(self) -> str:
        """The status as one plain line."""
        line = f"agno_nb storage {self.name!r}: {self.where()}; " + "; ".join(self.agent_parts())
        if self.note:
            line += f" (note: {self.note})"
        return mask_url(line)

    def html(self) -> str:
        """The status as a small escaped HTML card."""
        s = self.storage
        esc = html.escape
        plural = "s" if self.sessions != 1 else ""
        facts = [
            esc(s.backend),
            f"<code>{esc(mask_url(s.display_url))}</code>",
            f"table <code>{esc(self.table)}</code>",
            esc(layout_text(s)),
            f"{self.sessions} session{plural}",
        ]
        agents = "".join(f"<li>{esc(p)}</li>" for p in self.agent_parts())
        note = f'<div class="agno-nb-muted">{esc(mask_url(self.note))}</div>' if self.note else ""
        return (
            f'{CSS}<div class="agno-nb"><div class="agno-nb-head">'
            f"<strong>agno_nb storage {esc(repr(self.name))}</strong> "
            f'<span class="agno-nb-muted">{" · ".join(facts)}</span></div>'
            f'<ul style="margin:0;padding-left:18px">{agents}</ul>{note}</div>'
        )

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return self.text()
