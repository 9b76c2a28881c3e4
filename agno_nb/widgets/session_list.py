"""SessionList: the clickable, keyboard-driven list of sessions in the browser.

A small anywidget (works in JupyterLab, Notebook 7, VS Code and Colab): one
calm line per session (name or first question, user, runs, relative time),
the selected row highlighted. A click or the arrow keys (Home/End too) select a
row; ``value`` is the selected session id, synced both ways. ipywidgets'
``Select`` would be a native list box, but JupyterLab takes its arrow keys for
moving between cells; this list marks itself ``data-lm-suppress-shortcuts`` so
the keys stay in the list. Its JavaScript ships in this module (no network)
and sets only ``textContent``: session data is never parsed as markup.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import anywidget
import traitlets

from agno_nb.listing import (
    last_activity,
    relative_time,
    session_line,
    short_id,
    title_of,
)
from agno_nb.render import format_timestamp

__all__ = ["SessionList", "list_rows"]

_ESM = r"""
function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "agno-nb-sl";
  box.setAttribute("role", "listbox");
  box.setAttribute("tabindex", "0");
  box.setAttribute("aria-label", "sessions");
  // JupyterLab uses the arrow keys to move between cells; keep them for the list.
  box.setAttribute("data-lm-suppress-shortcuts", "true");
  el.appendChild(box);

  const cell = (cls, text, title) => {
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = text;
    if (title) span.title = title;
    return span;
  };

  function draw() {
    box.replaceChildren();
    const head = document.createElement("div");
    head.className = "agno-nb-sl-head";
    for (const [cls, text] of [["t", "name / first question"], ["u", "user"],
                               ["n", "runs"], ["w", "last active"]]) {
      head.appendChild(cell("agno-nb-sl-" + cls, text));
    }
    box.appendChild(head);
    const rows = model.get("rows") || [];
    if (!rows.length) {
      box.appendChild(cell("agno-nb-sl-empty", model.get("empty_text") || "no sessions"));
    }
    for (const row of rows) {
      const line = document.createElement("div");
      line.className = "agno-nb-sl-row" + (row.error ? " agno-nb-sl-error" : "");
      line.setAttribute("role", "option");
      line.dataset.id = row.id;
      line.title = row.hover;
      line.appendChild(cell("agno-nb-sl-t", row.title));
      line.appendChild(cell("agno-nb-sl-u", row.user));
      line.appendChild(cell("agno-nb-sl-n", row.runs));
      line.appendChild(cell("agno-nb-sl-w", row.when, row.when_title));
      line.addEventListener("click", () => { choose(row.id); box.focus(); });
      box.appendChild(line);
    }
    mark();
  }

  function lines() { return Array.from(box.querySelectorAll(".agno-nb-sl-row")); }

  function mark() {
    const value = model.get("value");
    for (const line of lines()) {
      const on = line.dataset.id === value;
      line.classList.toggle("agno-nb-sl-selected", on);
      line.setAttribute("aria-selected", on ? "true" : "false");
      if (on && box.contains(document.activeElement)) line.scrollIntoView({ block: "nearest" });
    }
  }

  function choose(id) {
    if (id === undefined || id === model.get("value")) return;
    model.set("value", id);
    model.save_changes();
    mark();
  }

  box.addEventListener("keydown", (event) => {
    const all = lines();
    if (!all.length) return;
    const at = all.findIndex((l) => l.dataset.id === model.get("value"));
    let next = null;
    if (event.key === "ArrowDown") next = Math.min(all.length - 1, at + 1);
    else if (event.key === "ArrowUp") next = at < 0 ? 0 : Math.max(0, at - 1);
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = all.length - 1;
    if (next === null) return;
    event.preventDefault();
    event.stopPropagation();
    choose(all[next].dataset.id);
    all[next].scrollIntoView({ block: "nearest" });
  });

  model.on("change:rows", draw);
  model.on("change:value", mark);
  draw();
  return () => {
    model.off("change:rows", draw);
    model.off("change:value", mark);
  };
}
export default { render };
"""

_CSS = """
.agno-nb-sl{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;
  max-width:980px;border:1px solid #dcdcdc;border-radius:6px;outline:none;overflow:hidden;
  background:var(--jp-layout-color0,#fff);color:var(--jp-ui-font-color0,#1f1f1f)}
.agno-nb-sl:focus-visible{box-shadow:0 0 0 2px #9bbcf3}
.agno-nb-sl-head,.agno-nb-sl-row{display:grid;
  grid-template-columns:minmax(0,1fr) 10em 7em 7.5em;column-gap:14px;padding:4px 12px;
  align-items:baseline}
.agno-nb-sl-head{font-size:11.5px;color:#777;border-bottom:1px solid #e6e6e6;
  background:var(--jp-layout-color1,#fafafa)}
.agno-nb-sl-row{cursor:pointer;border-left:3px solid transparent;padding-left:9px;
  line-height:1.55}
.agno-nb-sl-row + .agno-nb-sl-row{border-top:1px solid #f2f2f2}
.agno-nb-sl-row:hover{background:#f4f7fc}
.agno-nb-sl-row.agno-nb-sl-selected{background:#e3edfd;border-left-color:#3b7dd8}
.agno-nb-sl-row.agno-nb-sl-selected .agno-nb-sl-t{font-weight:600}
.agno-nb-sl-t,.agno-nb-sl-u{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.agno-nb-sl-u,.agno-nb-sl-w{color:#555}
.agno-nb-sl-n{text-align:right;color:#555;font-variant-numeric:tabular-nums}
.agno-nb-sl-w{white-space:nowrap}
.agno-nb-sl-error .agno-nb-sl-t{color:#b00020}
.agno-nb-sl-empty{display:block;padding:6px 12px;color:#777}
"""


def list_rows(summaries: Iterable[Any], *, now: float | None = None) -> list[dict[str, str]]:
    """The rows the list shows: plain strings only (the browser sets them as text)."""
    now = time.time() if now is None else now
    rows = []
    for s in summaries:
        sid = str(s.session_id)
        if s.error:
            rows.append(
                {
                    "id": sid,
                    "title": f"⚠ cannot read session {short_id(sid)}",
                    "user": str(s.user_id or ""),
                    "runs": "",
                    "when": "",
                    "when_title": "",
                    "hover": f"{sid}: {s.error}",
                    "error": "1",
                }
            )
            continue
        when = last_activity(s)
        runs = int(s.run_count or 0)
        rows.append(
            {
                "id": sid,
                "title": title_of(s, chars=200),
                "user": str(s.user_id or ""),
                "runs": str(runs),
                "when": relative_time(when, now=now),
                "when_title": format_timestamp(when),
                "hover": f"{title_of(s, chars=500)}\nsession {sid}",
                "error": "",
            }
        )
    return rows


class SessionList(anywidget.AnyWidget):
    """A list of session summaries; ``value`` is the selected session id (or None).

    Set ``value`` from Python to select a row; a click or an arrow key in the
    browser sets it too (observe ``value`` to react).
    """

    _esm = _ESM
    _css = _CSS
    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    value = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    empty_text = traitlets.Unicode("no sessions").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._summaries: list[Any] = []

    def show(self, summaries: list[Any], *, now: float | None = None) -> None:
        """Show ``summaries`` (one page, newest first)."""
        self._summaries = list(summaries)
        self.rows = list_rows(self._summaries, now=now)

    @property
    def ids(self) -> list[str]:
        """The listed session ids, top to bottom."""
        return [row["id"] for row in self.rows]

    def lines(self, *, now: float | None = None) -> list[str]:
        """The rows as fixed-width text lines (what a terminal would show)."""
        return [session_line(s, now=now) for s in self._summaries]

    @traitlets.validate("value")
    def _known(self, proposal: Any) -> Any:
        value = proposal["value"]
        if value is not None and value not in self.ids:
            raise traitlets.TraitError(f"no session {value!r} in the list")
        return value
