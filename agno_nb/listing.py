"""Calm, compact views of session lists and storages, as escaped HTML and text.

One line per session: its name or first question, user, runs and how long
ago it was active; ids are shortened (the full id is in the ``title``, a hover
away). Pure functions: no widgets, no I/O. Relative times take ``now`` (epoch
seconds) so tests and notebooks can pin it.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from agno_nb.markup import CSS, attr_text, format_timestamp, short_id

__all__ = [
    "count_footer",
    "last_activity",
    "relative_time",
    "session_line",
    "sessions_table_html",
    "sessions_table_text",
    "short_id",
    "title_of",
]

_TITLE_CHARS = 60
_UNITS = ((365 * 86400, "year"), (30 * 86400, "month"), (86400, "day"), (3600, "h"), (60, "min"))


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _field(obj: Any, name: str) -> Any:
    """A summary field from an object or a mapping; pandas' missing values are None."""
    value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
    if isinstance(value, float) and value != value:
        return None
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    return value


def _seconds(value: Any) -> float | None:
    """Epoch seconds from seconds, milliseconds, a datetime or a pandas Timestamp."""
    if value is None:
        return None
    if isinstance(value, datetime):
        try:
            moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
            return moment.timestamp()
        except ValueError:  # pandas NaT
            return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if seconds != seconds:  # NaN / NaT
        return None
    return seconds / 1000.0 if seconds > 1e11 else seconds


def relative_time(value: Any, *, now: float | None = None) -> str:
    """``just now``, ``5 min ago``, ``3 h ago``, ``2 days ago``, ``1 year ago``; '' for None."""
    seconds = _seconds(value)
    if seconds is None:
        return ""
    age = (time.time() if now is None else now) - seconds
    if age < 60:
        return "just now"
    for size, unit in _UNITS:
        if age >= size:
            count = int(age // size)
            plural = "s" if count != 1 and unit not in ("h", "min") else ""
            return f"{count} {unit}{plural} ago"
    return "just now"  # pragma: no cover - the loop always returns


def last_activity(summary: Any) -> Any:
    """When a session was last active: its update time, else its creation time."""
    updated = _field(summary, "updated_at")
    if updated is None or _seconds(updated) is None:
        return _field(summary, "created_at")
    return updated


def title_of(summary: Any, *, chars: int = _TITLE_CHARS) -> str:
    """The session's name, else its first question, on one line (cut with an ellipsis)."""
    raw = _field(summary, "session_name") or _field(summary, "preview") or "(no messages)"
    text = " ".join(str(raw).split())
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _has_error(summary: Any) -> bool:
    error = _field(summary, "error")
    return isinstance(error, str) and bool(error)


def session_line(
    summary: Any, *, now: float | None = None, title_chars: int = 48, user_chars: int = 12
) -> str:
    """One fixed-width line for a list box: title, user, runs, relative time."""
    if _has_error(summary):
        return f"⚠ cannot read session {short_id(_field(summary, 'session_id'))}"
    user = str(_field(summary, "user_id") or "")
    if len(user) > user_chars:
        user = user[: user_chars - 1] + "…"
    runs = int(_field(summary, "run_count") or 0)
    when = relative_time(last_activity(summary), now=now)
    title = title_of(summary, chars=title_chars)
    plural = "s" if runs != 1 else " "
    return f"{title:<{title_chars}}  {user:<{user_chars}}  {runs:>3} run{plural}  {when}"


def sessions_table_html(
    summaries: Iterable[Any],
    *,
    selected: str | None = None,
    now: float | None = None,
    entity_label: str | None = None,
    footer: str | None = None,
) -> str:
    """Sessions as a one-line-per-row HTML table.

    Columns: short id (full id on hover), name or first question, user, the
    agent/team/workflow when ``entity_label`` is given, runs, last activity
    (relative; the UTC time on hover). An ``error`` column appears only when a
    row has an error. ``selected`` marks one row.
    """
    rows = list(summaries)
    if not rows:  # one line: the footer says what matched nothing, when given
        body = f'<div class="agno-nb-muted">{_esc(footer or "no sessions")}</div>'
        return f'{CSS}<div class="agno-nb">{body}</div>'
    with_errors = any(_has_error(s) for s in rows)
    head = ["session", "name / first question", "user"]
    if entity_label:
        head.append(entity_label)
    head += ["runs", "last active"] + (["error"] if with_errors else [])
    out = []
    for s in rows:
        sid = _field(s, "session_id")
        mark = ' class="agno-nb-selected"' if selected is not None and sid == selected else ""
        when = _seconds(last_activity(s))
        cells = [
            f'<td title="{attr_text(sid)}"><code>{_esc(short_id(sid))}</code></td>',
            f'<td class="agno-nb-title" title="{attr_text(title_of(s, chars=500))}">'
            f"{_esc(title_of(s))}</td>",
            f"<td>{_esc(_field(s, 'user_id') or '')}</td>",
        ]
        if entity_label:
            entity = _field(s, "entity_id") or ""
            cells.append(f'<td title="{attr_text(entity)}">{_esc(short_id(entity))}</td>')
        cells += [
            f'<td class="agno-nb-num">{_esc(int(_field(s, "run_count") or 0))}</td>',
            f'<td title="{_esc(format_timestamp(when))}">{_esc(relative_time(when, now=now))}</td>',
        ]
        if with_errors:
            error = _field(s, "error") if _has_error(s) else ""
            cells.append(f'<td class="agno-nb-error">{_esc(error)}</td>')
        out.append(f"<tr{mark}>{''.join(cells)}</tr>")
    head_html = "".join(f"<th>{_esc(h)}</th>" for h in head)
    table = (
        f'<table class="agno-nb-list"><thead><tr>{head_html}</tr></thead>'
        f"<tbody>{''.join(out)}</tbody></table>"
    )
    return f'{CSS}<div class="agno-nb">{table}{_foot(footer)}</div>'


def _foot(footer: str | None) -> str:
    return f'<div class="agno-nb-foot">{_esc(footer)}</div>' if footer else ""


def sessions_table_text(
    summaries: Sequence[Any], *, now: float | None = None, footer: str | None = None
) -> str:
    """The same list as plain text for terminals: one aligned line per session."""
    rows = [["session", "name / first question", "user", "runs", "last active"]]
    errors = []
    for s in summaries:
        sid = short_id(_field(s, "session_id"))
        if _has_error(s):
            errors.append(f"{sid}: cannot read this session: {_field(s, 'error')}")
            continue
        rows.append(
            [
                sid,
                title_of(s, chars=48),
                str(_field(s, "user_id") or ""),
                str(int(_field(s, "run_count") or 0)),
                relative_time(last_activity(s), now=now),
            ]
        )
    lines = []
    if len(rows) > 1:
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            cells = [
                c.rjust(w) if i == 3 else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            ]
            lines.append("  ".join(cells).rstrip())
    elif not errors:
        return footer or "no sessions"  # one line: the footer says what matched nothing
    lines += errors
    if footer:
        lines.append(footer)
    return "\n".join(lines)


def count_footer(shown: int, total: int, *, noun: str = "session") -> str:
    """``showing 20 of 25 sessions (--limit N for more)``, or ``3 sessions``."""
    plural = "s" if total != 1 else ""
    if shown < total:
        return f"showing {shown} of {total} {noun}{plural} (--limit N for more)"
    return f"{total} {noun}{plural}"
