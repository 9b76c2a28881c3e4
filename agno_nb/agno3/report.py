"""What ``agno-nb migrate`` did (or, in a dry run, would do): text and HTML."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from agno_nb.words import counted


@dataclass
class TableReport:
    """One source table's migration: counts, conflicts, bad rows, verification."""

    source: str
    mode: str
    layout: int
    sessions: int = 0
    runs: int = 0
    messages: int = 0
    new: int = 0
    resynced: int = 0
    unchanged: int = 0
    runs_written: int = 0
    conflicts: list[str] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    gone_from_source: list[str] = field(default_factory=list)
    target_sessions: int = 0
    target_runs: int = 0
    target_messages: int = 0
    verified: bool | None = None
    mismatch: str | None = None
    resumed_after: str | None = None
    #: the source's own count(*) at the end (verification compares it with what was read)
    source_sessions: int | None = None
    #: sessions this migration wrote that agno 3.x deleted since: left deleted
    deleted_in_target: list[str] = field(default_factory=list)
    #: where sessions of another source table (kept, not synced) came from
    other_sources: set[str] = field(default_factory=set)
    #: earlier locations of this same table (a moved or copied file, another host name)
    moved_from: set[str] = field(default_factory=set)

    @property
    def to_move(self) -> int:
        """Sessions a run writes (new or changed in the source)."""
        return self.new + self.resynced


@dataclass(repr=False)
class MigrationReport:
    """The result of :func:`agno_nb.agno3.migrate` (its plan, with ``dry_run``)."""

    source_url: str
    target_url: str
    target_schema: str | None
    dry_run: bool
    tables: list[TableReport] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    ddl: list[str] = field(default_factory=list)
    memories: TableReport | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every table verified (a dry run verifies nothing)."""
        parts = [*self.tables, *([self.memories] if self.memories else [])]
        return all(t.verified is not False for t in parts)

    def _lines(self) -> list[tuple[str, str]]:
        rows: list[tuple[str, str]] = []
        where = self.target_url + (f" (schema {self.target_schema})" if self.target_schema else "")
        rows.append(("target", where))
        for t in self.tables:
            rows.append((f"{t.source} ({t.mode}, layout v{t.layout})", ""))
            rows.append(("  source", _counts(t.sessions, t.runs, t.messages)))
            verb = "to move" if self.dry_run else "moved"
            rows.append(
                (
                    f"  {verb}",
                    f"{counted(t.new + t.resynced, 'session')} ({t.new} new, {t.resynced} "
                    f"changed), {counted(t.runs_written, 'run')}; {t.unchanged} unchanged",
                )
            )
            if t.resumed_after:
                rows.append(("  resumed", f"after session {t.resumed_after!r}"))
            if t.moved_from:
                rows.append(
                    (
                        "  same table, read elsewhere before",
                        ", ".join(sorted(t.moved_from))
                        + " (its sessions are synced as this table's)",
                    )
                )
            if t.conflicts:
                rows.append(("  conflicts", _some(t.conflicts) + " (already in the target, kept)"))
            if t.other_sources:
                rows.append(
                    (
                        "  another source",
                        "some conflicts were migrated from another table: "
                        + ", ".join(sorted(t.other_sources))
                        + " (kept; migrate that table to sync them)",
                    )
                )
            if t.deleted_in_target:
                rows.append(
                    (
                        "  deleted in agno 3.x",
                        _some(t.deleted_in_target)
                        + " (left deleted; --resync-deleted re-creates them)",
                    )
                )
            if t.bad:
                rows.append(("  bad rows", _some(t.bad)))
            if t.gone_from_source:
                rows.append(
                    ("  gone from source", _some(t.gone_from_source) + " (kept in the target)")
                )
            if t.verified is not None:
                state = "OK" if t.verified else f"FAILED: {t.mismatch}"
                rows.append(
                    (
                        "  verified",
                        f"{state}: target holds "
                        + _counts(t.target_sessions, t.target_runs, t.target_messages),
                    )
                )
        if self.memories:
            m = self.memories
            verb = "to write" if self.dry_run else "written"
            rows.append(
                (
                    f"{m.source} (memories)",
                    f"{counted(m.sessions, 'memory')}: {m.new} {verb}, {m.unchanged} unchanged",
                )
            )
            if m.conflicts:
                rows.append(("  conflicts", _some(m.conflicts) + " (already in the target, kept)"))
            if m.bad:
                rows.append(("  bad rows", _some(m.bad)))
            if m.verified is not None:
                rows.append(("  verified", "OK" if m.verified else f"FAILED: {m.mismatch}"))
        if self.dry_run:
            rows.append(("tables to create", ", ".join(self.created) or "none"))
        elif self.created:
            rows.append(("created", ", ".join(self.created)))
        if not self.dry_run:
            rows.append(("time", f"{self.seconds:.2f} s"))
        return rows

    def __str__(self) -> str:
        head = "Migration plan (dry run, nothing written)" if self.dry_run else "Migration report"
        out = [f"{head}: {self.source_url} -> agno 3.x tables"]
        for label, value in self._lines():
            out.append(f"{label}: {value}" if value else label)
        if self.dry_run and self.ddl:
            out.append("DDL:")
            out.extend(stmt.rstrip() + ";" for stmt in self.ddl)
        return "\n".join(out)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        head = "Migration plan (dry run, nothing written)" if self.dry_run else "Migration report"
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self._lines()
        )
        ddl = ""
        if self.dry_run and self.ddl:
            sql = html.escape("\n".join(s.rstrip() + ";" for s in self.ddl))
            ddl = f"<details><summary>DDL</summary><pre>{sql}</pre></details>"
        return (
            f"<div class='agno-nb-migrate'><b>{html.escape(head)}</b>: "
            f"{html.escape(self.source_url)}<table>{cells}</table>{ddl}</div>"
        )


def _counts(sessions: int, runs: int, messages: int) -> str:
    """``1 session, 1 run, 2 messages``."""
    return ", ".join(
        counted(n, noun)
        for n, noun in ((sessions, "session"), (runs, "run"), (messages, "message"))
    )


def _some(items: list[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return f"{len(items)}: {shown}{more}"
