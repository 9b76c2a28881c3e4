"""Sessions, runs and messages as escaped HTML and plain text.

Pure functions: no widgets, no I/O. Every piece of stored data is escaped with
:func:`html.escape` (message content is data, never markup); assistant answers
may be rendered as Markdown through :func:`markdown_to_safe_html`, which turns
raw HTML into visible text. Output is deterministic (no random or time-based
ids; timestamps are shown in UTC) so notebooks compare cleanly under nbval.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from agno_nb import render_agno
from agno_nb.listing import sessions_table_html
from agno_nb.markup import CSS, attr_text, format_timestamp, readable, short_id
from agno_nb.markup import esc as _esc
from agno_nb.messages import Message, Run, content_text
from agno_nb.words import counted

__all__ = [
    "CSS",
    "combine",
    "format_timestamp",
    "markdown_to_safe_html",
    "message_html",
    "metrics_text",
    "muted_html",
    "plan_html",
    "run_html",
    "runs_html",
    "session_header_html",
    "session_html",
    "short_id",
    "summary_table_html",
    "transcript_text",
]

_TOKEN_KEYS = ("input_tokens", "output_tokens", "total_tokens")


def _id_html(value: Any) -> str:
    """``<code>`` with a short id; the full id is a hover away when it was shortened."""
    short = short_id(value)
    if short == str(value):
        return f"<code>{_esc(value)}</code>"
    return f'<code title="{attr_text(value)}">{_esc(short)}</code>'


def _wrap(body: str) -> str:
    return f'{CSS}{render_agno.style_for(body)}<div class="agno-nb">{body}</div>'


@lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    # Images would make the notebook fetch arbitrary URLs when it is opened.
    md.disable("image")
    return md


def markdown_to_safe_html(text: str) -> str:
    """Render Markdown to HTML with raw HTML disabled: ``<script>`` shows as text.

    Links with unsafe schemes (``javascript:``...) are left as text by
    markdown-it's link validation; images are not rendered.
    """
    return str(_markdown().render(text or ""))


def _number(value: Any) -> float | None:
    """A metric value as one number: lists (agno keeps one entry per model call) are summed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list | tuple):
        nums = [float(v) for v in value if isinstance(v, int | float) and not isinstance(v, bool)]
        return sum(nums) if nums else None
    return None


def _run_metrics(run: Run) -> dict[str, float]:
    """Tokens and time of a run, from the run's metrics or, failing that, its messages."""
    out: dict[str, float] = {}
    metrics = run.metrics if isinstance(run.metrics, Mapping) else {}
    for key in (*_TOKEN_KEYS, "time", "time_to_first_token"):
        value = _number(metrics.get(key))
        if value is not None:
            out[key] = value
    if not any(k in out for k in _TOKEN_KEYS):
        for msg in run.new_messages():
            if msg.role == "assistant" and isinstance(msg.metrics, Mapping):
                for key in _TOKEN_KEYS:
                    value = _number(msg.metrics.get(key))
                    if value is not None:
                        out[key] = out.get(key, 0.0) + value
    return out


def metrics_text(metrics: Mapping[str, Any] | None) -> str:
    """``in 12 · out 30 · total 42 tokens · first token 0.20 s · 1.25 s`` from run
    metrics (lists are summed; agno 2.x/3.x's ``duration`` is the time)."""
    if not metrics:
        return ""
    values = {k: _number(metrics.get(k)) for k in (*_TOKEN_KEYS, "time", "time_to_first_token")}
    if values["time"] is None:
        values["time"] = _number(metrics.get("duration"))
    parts = []
    for key, label in (("input_tokens", "in"), ("output_tokens", "out")):
        if values[key] is not None:
            parts.append(f"{label} {int(values[key] or 0)}")
    if values["total_tokens"] is not None:
        parts.append(f"total {int(values['total_tokens'] or 0)} tokens")
    elif parts:
        parts[-1] += " tokens"
    if values["time_to_first_token"] is not None:
        parts.append(f"first token {values['time_to_first_token']:.2f} s")
    if values["time"] is not None:
        parts.append(f"{values['time']:.2f} s")
    return " · ".join(parts)


def _as_message(msg: Message | Mapping[str, Any]) -> Message:
    return msg if isinstance(msg, Message) else Message.from_dict(msg)


def _as_run(run: Run | Mapping[str, Any]) -> Run:
    return run if isinstance(run, Run) else Run.from_dict(run)


def _pretty(value: Any) -> str:
    """Tool arguments/results as readable text (JSON strings are re-indented)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return readable(value)


def _content_as_text(content: Any) -> str:
    if isinstance(content, Mapping):
        return _pretty(dict(content))
    return content_text(content)


def _tool_call_parts(call: Any) -> tuple[str, Any, str | None]:
    """(name, arguments, id) of an OpenAI-style or agno-style tool call dict."""
    if not isinstance(call, Mapping):
        return "tool", call, None
    raw_function = call.get("function")
    function: Mapping[str, Any] = raw_function if isinstance(raw_function, Mapping) else {}
    name = function.get("name") or call.get("tool_name") or call.get("name") or "tool"
    args = function.get("arguments", call.get("tool_args", call.get("arguments")))
    return str(name), args, call.get("id") or call.get("tool_call_id")


def _pre(text: str) -> str:
    return f'<div class="agno-nb-pre">{_esc(text)}</div>'


def _tool_call_html(call: Any, result: Message | None, seconds: float | None = None) -> str:
    name, args, call_id = _tool_call_parts(call)
    body = ['<div class="agno-nb-muted">arguments</div>', _pre(_pretty(args) if args else "{}")]
    if result is not None:
        label = "error" if result.raw.get("tool_call_error") else "result"
        body += [
            f'<div class="agno-nb-muted">{label}</div>',
            _pre(_content_as_text(result.content)),
        ]
    else:
        body.append('<div class="agno-nb-muted">no result recorded</div>')
    title = f"tool call: {_esc(name)}"
    if call_id:
        title += f' <span class="agno-nb-badge">{_esc(call_id)}</span>'
    title += render_agno.duration_badge(seconds)
    return f'<details class="agno-nb-toolcall"><summary>{title}</summary>{"".join(body)}</details>'


def message_html(
    msg: Message | Mapping[str, Any],
    *,
    results: Mapping[str, Message] | None = None,
    markdown: bool = True,
    durations: Mapping[str, float] | None = None,
) -> str:
    """One message as HTML: role, time, escaped content, tool calls in ``<details>``.

    Args:
        msg: a :class:`~agno_nb.sessions.Message` or agno message dict.
        results: tool results by ``tool_call_id``, shown inside the matching call.
        markdown: render assistant content as (safe) Markdown.
        durations: seconds each tool call took, by ``tool_call_id`` (agno 2.x/3.x).
    """
    m = _as_message(msg)
    role = m.role if m.role in ("user", "assistant", "system", "tool") else "other"
    # The time is a hover away: the run header has it, and a chat log reads calmer without.
    when = f' title="{_esc(format_timestamp(m.created_at))}"' if m.created_at is not None else ""
    head = [f'<span class="agno-nb-role"{when}>{_esc(m.role)}</span>']
    if m.name:
        head.append(f'<span class="agno-nb-badge">{_esc(m.name)}</span>')
    if m.from_history:
        head.append('<span class="agno-nb-badge">from history</span>')
    parts = ["".join(head)]
    parts.append(render_agno.reasoning_html(m.raw.get("reasoning_content")))
    text = _content_as_text(m.content)
    if m.role == "tool":
        name = m.name or m.raw.get("tool_name") or "tool"
        parts.append(
            f'<details class="agno-nb-toolresult"><summary>tool result: {_esc(name)}</summary>'
            f"{_pre(text)}</details>"
        )
    elif text:
        if markdown and m.role == "assistant" and isinstance(m.content, str):
            parts.append(f'<div class="agno-nb-md">{markdown_to_safe_html(text)}</div>')
        else:
            parts.append(_pre(text))
    parts.append(render_agno.media_html(m.raw))
    for call in m.tool_calls or []:
        _, _, call_id = _tool_call_parts(call)
        result = (results or {}).get(call_id) if call_id else None
        took = (durations or {}).get(call_id) if call_id else None
        parts.append(_tool_call_html(call, result, took))
    history = " agno-nb-history" if m.from_history else ""
    return f'<div class="agno-nb-msg agno-nb-role-{role}{history}">{"".join(parts)}</div>'


def _turns_html(
    messages: Sequence[Message], *, markdown: bool, durations: Mapping[str, float] | None = None
) -> str:
    """Messages in order; tool results are shown inside the call they answer."""
    results = {m.tool_call_id: m for m in messages if m.role == "tool" and m.tool_call_id}
    paired = {
        cid
        for m in messages
        for call in m.tool_calls or []
        if (cid := _tool_call_parts(call)[2]) in results
    }
    return "".join(
        message_html(m, results=results, markdown=markdown, durations=durations)
        for m in messages
        if not (m.role == "tool" and m.tool_call_id in paired)
    )


def run_html(
    run: Run | Mapping[str, Any],
    *,
    system: bool = True,
    index: int | None = None,
    members: Sequence[tuple[Any, Any]] = (),
    spans: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> str:
    """One run: header (index, who, run id, time, model, metrics), system message,
    history messages collapsed and marked, this run's turns (reasoning, tool calls
    with arguments, results and time, media as references), workflow steps, its
    trace spans as a timeline, then team member runs nested under it.

    Args:
        run: an agno run dict or :class:`~agno_nb.sessions.Run`.
        system: show the system message (collapsed).
        index: the run's position in its session, for the "run #N" label.
        members: (member run, its members) pairs, from :func:`render_agno.nest_runs`.
        spans: trace spans by run id (``agno_traces`` / ``agno_spans``).
    """
    r = _as_run(run)
    label = "member run" if r.raw.get("parent_run_id") else "run"
    head = [f"{label} #{index + 1}" if index is not None else label]
    who = r.raw.get("team_name") or r.raw.get("agent_name") or r.raw.get("workflow_name")
    if who:
        head.append(f"<strong>{_esc(who)}</strong>")
    if r.run_id:
        head.append(_id_html(r.run_id))
    if r.created_at is not None:
        head.append(_esc(format_timestamp(r.created_at)))
    model = r.raw.get("model")
    if model:
        head.append(_esc(model))
    metrics = metrics_text(_run_metrics(r))
    if metrics:
        head.append(_esc(metrics))
    parts = [f'<div class="agno-nb-run-head">{" · ".join(head)}</div>']

    new = r.new_messages()
    history = [m for m in r.messages if m.from_history]
    system_msgs = [m for m in new if m.role == "system"]
    if system and system_msgs:
        inner = "".join(_pre(_content_as_text(m.content)) for m in system_msgs)
        parts.append(
            f'<details class="agno-nb-msg agno-nb-role-system"><summary>'
            f'<span class="agno-nb-role">system message</span></summary>{inner}</details>'
        )
    if history:
        inner = _turns_html([m for m in history if m.role != "system"], markdown=False)
        parts.append(
            f'<details class="agno-nb-history"><summary class="agno-nb-muted">'
            f"{len(history)} message{'s' if len(history) != 1 else ''} from history "
            f"(earlier turns, not repeated)</summary>{inner}</details>"
        )
    tools = r.raw.get("tools")
    durations = render_agno.tool_durations(tools)
    parts.append(render_agno.reasoning_html(r.raw.get("reasoning_content")))
    turns = [m for m in new if m.role != "system"]
    parts.append(_turns_html(turns, markdown=True, durations=durations))
    if tools and not any(m.tool_calls for m in turns):
        parts.append(render_agno.tools_html(tools))
    if not new and r.content is not None:
        parts.append(message_html({"role": "assistant", "content": r.content}))
    parts.append(render_agno.media_html(r.raw))
    parts.append(render_agno.steps_html(r.raw.get("step_results")))
    if spans and r.run_id and spans.get(str(r.run_id)):
        parts.append(render_agno.spans_html(spans[str(r.run_id)]))
    for member, inner in members:
        parts.append(
            f'<div class="agno-nb-member">'
            f"{run_html(member, system=False, members=inner, spans=spans)}</div>"
        )
    return f'<div class="agno-nb-run">{"".join(parts)}</div>'


def _runs_body(
    run_dicts: Iterable[Run | Mapping[str, Any]],
    *,
    system: bool,
    first_index: int | None,
    spans: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> str:
    runs = [r.raw if isinstance(r, Run) else r for r in run_dicts]
    out = []
    for i, run, members in render_agno.nest_runs(runs):
        index = None if first_index is None else first_index + i
        out.append(run_html(run, system=system, index=index, members=members, spans=spans))
    return "".join(out) or '<div class="agno-nb-muted">no runs</div>'


def runs_html(
    run_dicts: Iterable[Run | Mapping[str, Any]],
    *,
    system: bool = True,
    first_index: int | None = None,
    header: str = "",
    spans: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> str:
    """Runs (oldest first) as a standalone HTML fragment with the CSS.

    Args:
        run_dicts: agno run dicts or :class:`~agno_nb.sessions.Run` views.
        system: show each run's system message (collapsed).
        first_index: position of the first run in its session, for "run #N" labels.
        header: HTML placed before the runs; must come from this module's
            functions (e.g. :func:`session_header_html`), never from raw data.
        spans: trace spans by run id, shown as a timeline under their run.
    """
    body = _runs_body(run_dicts, system=system, first_index=first_index, spans=spans)
    return _wrap(header + body)


def session_header_html(
    session_id: str,
    *,
    name: str | None = None,
    user_id: str | None = None,
    entity_id: str | None = None,
    created_at: Any = None,
    updated_at: Any = None,
    run_count: int | None = None,
    note: str | None = None,
    entity_label: str = "agent",
) -> str:
    """The title block of a transcript (no CSS; embed in a fragment that has it)."""
    title = _esc(name) if name else "session"
    meta = [_id_html(session_id)]
    if user_id:
        meta.append(f"user {_esc(user_id)}")
    if entity_id:  # agent ids are UUIDs too: short, the full id on hover
        meta.append(f"{_esc(entity_label)} {_id_html(entity_id)}")
    if run_count is not None:
        meta.append(f"{run_count} run{'s' if run_count != 1 else ''}")
    created = f"created {_esc(format_timestamp(created_at))}" if created_at is not None else ""
    if updated_at is not None:
        hover = f' title="{created}"' if created else ""
        meta.append(f"<span{hover}>last active {_esc(format_timestamp(updated_at))}</span>")
    elif created:
        meta.append(created)
    if note:
        meta.append(_esc(note))
    return (
        f'<div class="agno-nb-head"><strong>{title}</strong> '
        f'<span class="agno-nb-muted">{" · ".join(meta)}</span></div>'
    )


def session_html(
    session: Any,
    *,
    runs: Sequence[Mapping[str, Any]] | None = None,
    spans: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> str:
    """A session's transcript: header, then every run (or just ``runs``, oldest first);
    ``spans`` (trace spans by run id) show as a timeline under their run."""
    run_dicts = list(session.run_dicts) if runs is None else list(runs)
    header = session_header_html(
        str(session.session_id),
        name=session.session_name,
        user_id=session.user_id,
        entity_id=session.entity_id,
        created_at=session.created_at,
        updated_at=session.updated_at,
        run_count=len(session.run_dicts) if runs is None else None,
        entity_label=str(session.entity_field).removesuffix("_id"),
    )
    first = 0 if runs is None else None
    return _wrap(header + _runs_body(run_dicts, system=True, first_index=first, spans=spans))


def muted_html(text: str) -> str:
    """One escaped, muted line (a note under an output); needs the CSS of the fragment
    it follows."""
    return f'<div class="agno-nb agno-nb-muted">{_esc(text)}</div>'


def combine(*fragments: str) -> str:
    """Join HTML fragments of this module into one, with the CSS once."""
    style = render_agno.AGNO_STYLE
    body = "".join(f.replace(CSS, "").replace(style, "") for f in fragments)
    return CSS + render_agno.style_for(body) + body if body else ""


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def summary_table_html(
    summaries: Iterable[Any],
    *,
    selected: str | None = None,
    entity_label: str | None = None,
    now: float | None = None,
) -> str:
    """Session summaries (``SessionSummary`` objects or dicts) as a one-line-per-row table.

    See :func:`agno_nb.listing.sessions_table_html`: short ids (full on hover),
    relative times, an error column only when a row has an error.
    """
    return sessions_table_html(summaries, selected=selected, entity_label=entity_label, now=now)


def plan_html(plan: Any, *, title: str | None = None) -> str:
    """An ``UpgradePlan`` (dry run or applied) as HTML: versions, steps with their SQL."""
    frm, to = _field(plan, "from_version"), _field(plan, "to_version")
    table, backend = _field(plan, "table"), _field(plan, "backend")
    head = _esc(title) if title else f"{_esc(backend)} table <code>{_esc(table)}</code>"
    start = "missing" if frm is None else f"v{_esc(frm)}"
    lines = [
        f'<div class="agno-nb-head"><strong>{head}</strong> '
        f'<span class="agno-nb-muted">layout {start} → latest v{_esc(to)}</span></div>'
    ]
    steps = list(_field(plan, "steps") or [])
    if _field(plan, "applied"):
        lines.append(
            f"<div>upgraded to layout v{_esc(to)}: "
            f"{_esc(counted(_field(plan, 'sessions_migrated') or 0, 'session'))} migrated, "
            f"{_esc(counted(_field(plan, 'runs_moved') or 0, 'run'))} moved</div>"
        )
    elif frm is None:
        lines.append("<div>the table does not exist yet: it is created at the latest layout</div>")
    elif not steps:
        lines.append("<div>up to date: nothing to do</div>")
    else:
        state = _field(plan, "state")
        label = f" ({_esc(state)})" if state else ""
        lines.append(f"<div>{_esc(counted(len(steps), 'step'))} planned{label}:</div>")
        lock = _field(plan, "lock_note")
        if lock:  # the same line `agno-nb upgrade --dry-run` prints
            lines.append(f'<div class="agno-nb-muted">{_esc(lock)}</div>')
    skipped = list(_field(plan, "skipped") or [])
    if skipped:  # rows left as they were (skip_corrupt): say which, and why
        rows = "".join(f"<li><code>{_esc(sid)}</code>: {_esc(why)}</li>" for sid, why in skipped)
        many = counted(len(skipped), "session")
        lines.append(f"<div>{many} skipped, runs kept:</div><ul>{rows}</ul>")
    items = []
    for step in steps:
        sql = "\n".join(str(s) for s in (_field(step, "sql") or []))
        detail = f"<details><summary>SQL</summary>{_pre(sql)}</details>" if sql else ""
        items.append(
            f"<li>v{_esc(_field(step, 'version'))}: "
            f"{_esc(_field(step, 'description'))}{detail}</li>"
        )
    if items:
        lines.append(f"<ol>{''.join(items)}</ol>")
    return _wrap("".join(lines))


def transcript_text(session: Any) -> str:
    """A plain-text transcript (for terminals and logs): one block per run."""
    name = f" ({session.session_name})" if session.session_name else ""
    out = [f"session {session.session_id}{name}"]
    if session.user_id:
        out[0] += f" · user {session.user_id}"
    for i, run in enumerate(session.runs):
        head = [f"run #{i + 1}"]
        if run.run_id:
            head.append(str(run.run_id))
        parent = run.raw.get("parent_run_id")
        if parent:
            head.append(f"member run of {parent}")
        if run.created_at is not None:
            head.append(format_timestamp(run.created_at))
        metrics = metrics_text(_run_metrics(run))
        if metrics:
            head.append(metrics)
        out.append("-- " + " · ".join(head))
        history = sum(1 for m in run.messages if m.from_history)
        if history:
            out.append(f"   ({history} messages from history not repeated)")
        for m in run.new_messages():
            if m.role == "system":
                continue
            label = f"{m.role} ({m.name})" if m.role == "tool" and m.name else m.role
            text = _content_as_text(m.content)
            if text:
                out.append(f"{label}: {text}")
            for call in m.tool_calls or []:
                call_name, args, _ = _tool_call_parts(call)
                args_text = " ".join(_pretty(args).split()) if args else ""
                out.append(f"{label} -> tool call {call_name}({args_text})")
    return "\n".join(out)
