"""The small HTML pieces every view shares: the stylesheet, escaping and the
one-line forms of ids and timestamps. Pure functions; below ``render`` and
``listing``, which both use them."""

from __future__ import annotations

import html
import json
from datetime import datetime, timezone
from typing import Any

__all__ = ["CSS", "attr_text", "esc", "format_timestamp", "readable", "short_id"]

CSS = (
    "<style>"
    ".agno-nb{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;"
    "line-height:1.45;max-width:100%}"
    ".agno-nb-head{margin:4px 0 8px 0}.agno-nb-muted{color:#666;font-size:12px}"
    ".agno-nb-run{border:1px solid #ddd;border-radius:6px;margin:8px 0;padding:6px 10px}"
    ".agno-nb-run-head{color:#555;font-size:12px;margin-bottom:4px}"
    ".agno-nb-msg{margin:6px 0;padding:2px 8px;border-left:3px solid #bbb}"
    ".agno-nb-role-user{border-color:#3b7dd8}.agno-nb-role-assistant{border-color:#3c9a5f}"
    ".agno-nb-role-system{border-color:#999}.agno-nb-role-tool{border-color:#d89b3b}"
    ".agno-nb-role{font-weight:600;font-size:12px;color:#444}"
    ".agno-nb-badge{font-size:11px;color:#777;margin-left:6px}"
    ".agno-nb-history{opacity:.75}"
    ".agno-nb-pre{white-space:pre-wrap;word-break:break-word;font-family:ui-monospace,"
    "SFMono-Regular,Menlo,monospace;font-size:12px;margin:2px 0}"
    ".agno-nb-md p{margin:2px 0}"
    ".agno-nb-error{color:#b00020}"
    ".agno-nb-table{border-collapse:collapse}.agno-nb-table th,.agno-nb-table td"
    "{border-bottom:1px solid #e5e5e5;padding:2px 8px;text-align:left;vertical-align:top}"
    ".agno-nb-selected{background:#eef4ff}"
    # one-line-per-session lists (agno_nb.listing); "table.agno-nb-list" outranks
    # JupyterLab's right-aligned, striped output tables
    ".agno-nb table.agno-nb-list{border-collapse:collapse;max-width:100%;margin:0}"
    ".agno-nb table.agno-nb-list th{font-weight:600;color:#555;font-size:12px;"
    "border-bottom:1px solid #ddd}"
    ".agno-nb table.agno-nb-list th,.agno-nb table.agno-nb-list td{padding:3px 10px;"
    "text-align:left;white-space:nowrap;vertical-align:baseline;border:none;"
    "border-bottom:1px solid #f0f0f0}"
    ".agno-nb table.agno-nb-list tbody tr{background:transparent}"
    ".agno-nb table.agno-nb-list tbody tr:hover{background:#f4f7fc}"
    ".agno-nb table.agno-nb-list td.agno-nb-title{max-width:36em;overflow:hidden;"
    "text-overflow:ellipsis}"
    ".agno-nb table.agno-nb-list td.agno-nb-num{text-align:right}"
    ".agno-nb table.agno-nb-list code{color:#777;font-size:12px;background:none;padding:0}"
    ".agno-nb table.agno-nb-list tr.agno-nb-selected td{background:#e3edfd}"
    ".agno-nb table.agno-nb-list tr.agno-nb-selected td.agno-nb-title{font-weight:600}"
    ".agno-nb-foot{color:#666;font-size:12px;margin:4px 0}"
    "</style>"
)


def esc(value: Any) -> str:
    """Escape anything for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def readable(value: Any) -> str:
    """A value as text to read: a string as it is, anything else as indented JSON
    (``str()`` of what JSON cannot say)."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def attr_text(value: Any) -> str:
    """Escape for a quoted attribute; ``=`` and ``:`` too, so nothing there reads as a
    handler (``onx=``) or a URL scheme (``javascript:``) to a naive filter."""
    return esc(value).replace("=", "&#61;").replace(":", "&#58;")


def short_id(value: Any, *, keep: int = 8) -> str:
    """An id short enough for one line: ids up to 12 characters stay whole,
    longer ones (UUIDs) keep their first ``keep`` characters and an ellipsis."""
    text = "" if value is None else str(value)
    return text if len(text) <= 12 else text[:keep] + "…"


def format_timestamp(value: Any) -> str:
    """Epoch seconds (or a datetime) as ``YYYY-MM-DD HH:MM:SS UTC``; '' for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    else:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            return str(value)
        if seconds > 1e11:  # milliseconds
            seconds /= 1000.0
        try:
            moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return str(value)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
