"""A comparison of agents (:class:`agno_nb.evaluate.Comparison`) as escaped HTML.

Pure functions, no widgets and no I/O: the static view (``_repr_html_``, for
nbconvert and GitHub), the cards the compare widget shows, the word-level
difference between two answers, and the text progress bar of a running comparison.
Every answer, prompt and expected answer is escaped: model output is data.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Sequence
from typing import Any

from agno_nb.render import CSS

__all__ = [
    "COMPARE_CSS",
    "answer_cell_html",
    "diff_html",
    "header_html",
    "legend_html",
    "progress_text",
    "prompt_cell_html",
    "render_comparison",
    "row_html",
]

COMPARE_CSS = (
    "<style>"
    ".agno-nb-cmp{border-collapse:collapse;width:100%;table-layout:fixed}"
    ".agno-nb-cmp th,.agno-nb-cmp td{border:1px solid #e2e2e2;padding:6px 8px;"
    "vertical-align:top;text-align:left;word-break:break-word}"
    ".agno-nb-cmp th{background:#f6f7f9;font-weight:600}"
    ".agno-nb-cmp .agno-nb-answer-text{white-space:pre-wrap}"
    ".agno-nb ins{background:#d5f5dc;text-decoration:none;border-radius:2px}"
    ".agno-nb-cmp .agno-nb-expected{color:#355;background:#f3f8f3;border-left:3px solid "
    "#3c9a5f;padding:2px 6px;margin-top:6px;white-space:pre-wrap}"
    ".agno-nb-cmp .agno-nb-picked{outline:2px solid #3c9a5f;background:#f4fbf6}"
    ".agno-nb-cmp .agno-nb-stats{color:#666;font-size:11px;margin-top:4px}"
    ".agno-nb-cmp .agno-nb-pick{color:#2d7a4a;font-weight:600;font-size:11px}"
    "</style>"
)

_WORDS = re.compile(r"\s+|[^\s]+")


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def diff_html(base: str | None, other: str | None) -> str:
    """``other`` as escaped HTML, verbatim, its words that ``base`` does not have
    at that place in ``<ins>`` (a word-level diff; whitespace kept, and left
    unmarked, so the answer still reads as written)."""
    a = _WORDS.findall(base or "")
    b = _WORDS.findall(other or "")
    out: list[str] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, _a0, _a1, b0, b1 in matcher.get_opcodes():
        if op in ("equal", "delete"):
            out.append(_esc("".join(b[b0:b1])))
            continue
        for token in b[b0:b1]:  # each changed word marked, the spaces between not
            out.append(f"<ins>{_esc(token)}</ins>" if token.strip() else _esc(token))
    return "".join(out).replace("</ins><ins>", "")


def _stats(answer: Any) -> str:
    parts = []
    if answer.total_tokens is not None:
        parts.append(f"{answer.total_tokens} tokens")
    parts.append(f"{answer.latency_s * 1000:.0f} ms")
    if answer.tool_calls:
        parts.append("tools: " + ", ".join(answer.tool_calls))
    return " · ".join(_esc(p) for p in parts)


def answer_cell_html(answer: Any, *, base: Any = None, picked: bool = False) -> str:
    """One answer: its text (the words ``base``'s answer lacks highlighted, when
    given), then tokens, latency and tool calls."""
    if answer.error:
        body = f'<div class="agno-nb-error">{_esc(answer.error)}</div>'
    elif base is not None and base is not answer and not base.error:
        body = f'<div class="agno-nb-answer-text">{diff_html(base.content, answer.content)}</div>'
    else:
        body = f'<div class="agno-nb-answer-text">{_esc(answer.content)}</div>'
    mark = '<div class="agno-nb-pick">✔ picked</div>' if picked else ""
    return f'{mark}{body}<div class="agno-nb-stats">{_stats(answer)}</div>'


def prompt_cell_html(row: Any) -> str:
    """The prompt, and the expected answer beside it when the dataset has one."""
    out = f'<div class="agno-nb-answer-text">{_esc(row.prompt.text)}</div>'
    if row.prompt.expected is not None:
        out += f'<div class="agno-nb-expected"><b>expected:</b> {_esc(row.prompt.expected)}</div>'
    return out


def row_html(row: Any, variants: Sequence[str]) -> str:
    """One ``<tr>``: the prompt, then each variant's answer, the words that differ
    from the first variant's answer highlighted (in the first: from the second's)."""
    first = row.answers[variants[0]]
    second = row.answers[variants[1]] if len(variants) > 1 else None
    cells = [f"<td>{row.index + 1}</td>", f"<td>{prompt_cell_html(row)}</td>"]
    for v in variants:
        picked = row.picked == v
        attr = ' class="agno-nb-picked"' if picked else ""
        answer = row.answers[v]
        base = second if answer is first else first
        cells.append(f"<td{attr}>{answer_cell_html(answer, base=base, picked=picked)}</td>")
    return "<tr>" + "".join(cells) + "</tr>"


def legend_html(variants: Sequence[str]) -> str:
    """What the highlighting means, for this comparison's variants."""
    first = _esc(variants[0])
    own = f" ({first}'s own: words not in {_esc(variants[1])}'s)" if len(variants) > 1 else ""
    return (
        f'<div class="agno-nb-muted"><ins>highlighted</ins>: words not in {first}\'s '
        f"answer{own}</div>"
    )


def header_html(variants: Sequence[str]) -> str:
    """The table head: #, prompt, one column per variant."""
    cols = "".join(f"<th>{_esc(v)}</th>" for v in variants)
    return f'<tr><th style="width:2.5em">#</th><th>prompt</th>{cols}</tr>'


def render_comparison(comparison: Any) -> str:
    """The whole comparison as a static table (``Comparison._repr_html_``)."""
    variants = comparison.variants
    picked = sum(r.picked is not None for r in comparison.rows)
    wins = {v: sum(r.picked == v for r in comparison.rows) for v in variants}
    summary = ", ".join(f"{_esc(v)} {n}" for v, n in wins.items())
    head = (
        f'<div class="agno-nb-head"><b>Comparison</b> {_esc(" vs ".join(variants))} · '
        f"{len(comparison.rows)} prompts · picked {picked} ({summary})"
        f"{legend_html(variants)}</div>"
    )
    rows = "".join(row_html(r, variants) for r in comparison.rows)
    table = f'<table class="agno-nb-cmp">{header_html(variants)}{rows}</table>'
    return f'{CSS}{COMPARE_CSS}<div class="agno-nb">{head}{table}</div>'


def progress_text(done: int, total: int, *, width: int = 24) -> str:
    """A text progress bar: ``comparing ██████░░░░ 3/8 answers``."""
    filled = 0 if total <= 0 else min(width, round(width * done / total))
    return f"comparing {'█' * filled}{'░' * (width - filled)} {done}/{total} answers"
