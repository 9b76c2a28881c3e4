"""The parts of agno 2.x/3.x runs that agno 1.x had no place for, as escaped HTML.

Pure functions used by :mod:`agno_nb.render` (which imports this module, never
the other way round): reasoning content, media kept as references (never
fetched: no ``<img>``), tool executions of runs stored without messages,
workflow steps, team member runs nested under the team's run, and a run's
trace spans (``agno_traces`` / ``agno_spans``) as a compact timeline.
Every stored value is escaped; widths in the timeline come from numbers only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from agno_nb.markup import esc as _esc
from agno_nb.markup import readable

__all__ = [
    "AGNO_CSS",
    "AGNO_STYLE",
    "duration_badge",
    "media_html",
    "nest_runs",
    "reasoning_html",
    "spans_html",
    "steps_html",
    "style_for",
    "tool_durations",
    "tools_html",
]

AGNO_CSS = (
    ".agno-nb-reasoning{margin:4px 0;padding:2px 8px;border-left:3px dashed #9b7fd8;"
    "color:#444}"
    ".agno-nb-media{font-size:12px;color:#555;margin:2px 0}"
    ".agno-nb-member{margin:6px 0 6px 14px;border-left:2px solid #c9d6ea;padding-left:8px}"
    ".agno-nb-member>.agno-nb-run{margin:4px 0}"
    ".agno-nb-steps{margin:4px 0;padding-left:20px}"
    ".agno-nb-spans{margin:4px 0;font-size:11px}"
    ".agno-nb-span{display:flex;align-items:center;gap:6px;margin:1px 0}"
    ".agno-nb-span-name{width:16em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}"
    ".agno-nb-span-track{position:relative;flex:1;height:10px;background:#f3f3f3;"
    "border-radius:2px}"
    ".agno-nb-span-bar{position:absolute;top:0;height:10px;background:#7aa7e0;border-radius:2px;"
    "min-width:2px}"
    ".agno-nb-span-err .agno-nb-span-bar{background:#d96b6b}"
    ".agno-nb-span-ms{width:6em;text-align:right;color:#666}"
)


#: The style block a fragment gets when it uses these classes (see :func:`style_for`);
#: fragments without them keep exactly :data:`agno_nb.render.CSS`.
AGNO_STYLE = f"<style>{AGNO_CSS}</style>"
_MARKERS = (
    "agno-nb-reasoning",
    "agno-nb-media",
    "agno-nb-member",
    "agno-nb-steps",
    "agno-nb-spans",
)


def style_for(body: str) -> str:
    """:data:`AGNO_STYLE` when ``body`` uses a class of this module, else ''."""
    return AGNO_STYLE if any(marker in body for marker in _MARKERS) else ""


def _pre(text: str) -> str:
    return f'<div class="agno-nb-pre">{_esc(text)}</div>'


def _seconds(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def reasoning_html(text: Any) -> str:
    """Reasoning content, collapsed ('' when there is none)."""
    if not text:
        return ""
    return (
        '<details class="agno-nb-reasoning"><summary class="agno-nb-muted">reasoning</summary>'
        f"{_pre(readable(text))}</details>"
    )


_MEDIA = (
    ("images", "image"),
    ("videos", "video"),
    ("audio", "audio"),
    ("audios", "audio"),
    ("files", "file"),
    ("image_output", "image"),
    ("file_output", "file"),
)


def _reference(item: Any) -> str:
    """Where a media item is, as text: its URL, file path or id (never its bytes)."""
    if not isinstance(item, Mapping):
        return str(item)[:200]
    for key in ("url", "filepath", "file_path", "path", "name", "filename", "id"):
        value = item.get(key)
        if value:
            kind = item.get("mime_type") or item.get("format")
            return f"{value}" + (f" ({kind})" if kind else "")
    return "inline content (not shown)"


def media_html(data: Mapping[str, Any]) -> str:
    """Images, videos, audio and files of a run or message, as references."""
    lines = []
    for key, label in _MEDIA:
        items = data.get(key)
        if not items:
            continue
        for item in items if isinstance(items, list) else [items]:
            lines.append(f"{label}: {_esc(_reference(item))}")
    return "".join(f'<div class="agno-nb-media">📎 {line}</div>' for line in lines)


def tool_durations(tools: Any) -> dict[str, float]:
    """tool_call_id -> seconds, from a run's ``tools`` (agno's tool executions)."""
    out: dict[str, float] = {}
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, Mapping):
            continue
        metrics = tool.get("metrics")
        duration = metrics.get("duration") if isinstance(metrics, Mapping) else None
        if tool.get("tool_call_id") and isinstance(duration, int | float):
            out[str(tool["tool_call_id"])] = float(duration)
    return out


def duration_badge(seconds: float | None) -> str:
    """`` · 0.4 ms`` for a tool call's summary ('' when unknown)."""
    return f'<span class="agno-nb-badge">{_esc(_seconds(seconds))}</span>' if seconds else ""


def tools_html(tools: Any) -> str:
    """A run's tool executions (name, arguments, result, time), for runs whose
    messages do not carry the calls."""
    out = []
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, Mapping):
            continue
        metrics = tool.get("metrics")
        took = metrics.get("duration") if isinstance(metrics, Mapping) else None
        label = "error" if tool.get("tool_call_error") else "result"
        args, result = readable(tool.get("tool_args") or {}), readable(tool.get("result"))
        out.append(
            '<details class="agno-nb-toolcall"><summary>tool call: '
            f"{_esc(tool.get('tool_name') or 'tool')}{duration_badge(took)}</summary>"
            f'<div class="agno-nb-muted">arguments</div>{_pre(args)}'
            f'<div class="agno-nb-muted">{label}</div>{_pre(result)}</details>'
        )
    return "".join(out)


def steps_html(steps: Any, *, content_html: Any = None) -> str:
    """A workflow run's step results, in order: name, type, content, nested steps."""
    items = []
    for step in steps if isinstance(steps, list) else []:
        if not isinstance(step, Mapping):
            continue
        name = step.get("step_name") or step.get("name") or "step"
        kind = step.get("step_type")
        head = f"<strong>{_esc(name)}</strong>"
        if kind:
            head += f' <span class="agno-nb-badge">{_esc(kind)}</span>'
        who = step.get("executor_name")
        if who:
            head += f' <span class="agno-nb-badge">{_esc(step.get("executor_type") or "by")} '
            head += f"{_esc(who)}</span>"
        metrics = step.get("metrics")
        if isinstance(metrics, Mapping):
            facts = []
            tokens = metrics.get("total_tokens")
            if isinstance(tokens, int) and not isinstance(tokens, bool):
                facts.append(f"{tokens} tokens")
            took = _seconds(metrics.get("duration"))
            if took:
                facts.append(took)
            if facts:
                head += f' <span class="agno-nb-badge">{_esc(" · ".join(facts))}</span>'
        if step.get("success") is False or step.get("error"):
            head += f' <span class="agno-nb-error">failed: {_esc(step.get("error") or "")}</span>'
        content = step.get("content")
        body = ""
        if content not in (None, ""):
            body = _pre(readable(content))
        inner = steps_html(step.get("steps"))
        items.append(f"<li>{head}{body}{inner}</li>")
    if not items:
        return ""
    return (
        '<div class="agno-nb-muted">workflow steps</div>'
        f'<ol class="agno-nb-steps">{"".join(items)}</ol>'
    )


def nest_runs(runs: Sequence[Mapping[str, Any]]) -> list[tuple[int, Any, list[Any]]]:
    """Team member runs under their team run: [(position, run, member runs)].

    A run whose ``parent_run_id`` names another run of ``runs`` is listed under
    it (members nest in turn); others are top level, in order. ``member_responses``
    kept inside a run (agno 2.x) count as its members too.
    """
    ids = {
        str(r.get("run_id")) for r in runs if isinstance(r, Mapping) and r.get("run_id") is not None
    }
    children: dict[str, list[Any]] = {}
    top: list[tuple[int, Any]] = []
    for i, run in enumerate(runs):
        parent = run.get("parent_run_id") if isinstance(run, Mapping) else None
        if parent is not None and str(parent) in ids and parent != run.get("run_id"):
            children.setdefault(str(parent), []).append(run)
        else:
            top.append((i, run))

    def members(run: Any, depth: int) -> list[Any]:
        own = children.get(str(run.get("run_id")), []) if isinstance(run, Mapping) else []
        inline = run.get("member_responses") if isinstance(run, Mapping) else None
        known = {m.get("run_id") for m in own}
        extra = [m for m in inline or [] if isinstance(m, Mapping) and m.get("run_id") not in known]
        out = []
        for member in [*own, *extra]:
            out.append((member, members(member, depth + 1) if depth < 8 else []))
        return out

    return [(i, run, members(run, 0)) for i, run in top]


def _instant(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def spans_html(spans: Sequence[Mapping[str, Any]]) -> str:
    """A run's spans as a timeline: one row per span (parents before children),
    a bar placed by its start and length within the trace, and its duration."""
    timed = []
    for span in spans:
        start = _instant(span.get("start_time"))
        if start is None:
            continue
        ms = span.get("duration_ms")
        ms = float(ms) if isinstance(ms, int | float) and not isinstance(ms, bool) else 0.0
        timed.append((start, ms, span))
    if not timed:
        return ""
    first = min(t[0] for t in timed)
    last = max(t[0] + t[1] / 1000 for t in timed)
    total = max(last - first, 1e-6)
    depth: dict[Any, int] = {}
    by_id = {s.get("span_id"): s for _, _, s in timed}

    def level(span: Mapping[str, Any]) -> int:
        key = span.get("span_id")
        if key not in depth:
            parent = by_id.get(span.get("parent_span_id"))
            depth[key] = 0 if parent is None or parent is span else min(level(parent) + 1, 6)
        return depth[key]

    rows = []
    for start, ms, span in sorted(timed, key=lambda t: (t[0], -t[1])):
        left = 100 * (start - first) / total
        width = max(0.5, 100 * (ms / 1000) / total)
        width = min(width, 100 - left) if left < 100 else 0.5
        failed = str(span.get("status_code") or "").upper() == "ERROR"
        indent = "&nbsp;" * 2 * level(span)
        rows.append(
            f'<div class="agno-nb-span{" agno-nb-span-err" if failed else ""}">'
            f'<span class="agno-nb-span-name" title="{_esc(span.get("name"))}">{indent}'
            f"{_esc(span.get('name'))}</span>"
            f'<span class="agno-nb-span-track"><span class="agno-nb-span-bar" '
            f'style="left:{left:.2f}%;width:{width:.2f}%"></span></span>'
            f'<span class="agno-nb-span-ms">{ms:.0f} ms</span></div>'
        )
    return (
        f'<details class="agno-nb-spans" open><summary class="agno-nb-muted">trace: '
        f"{len(rows)} span{'s' if len(rows) != 1 else ''}, {total * 1000:.0f} ms</summary>"
        f"{''.join(rows)}</details>"
    )
