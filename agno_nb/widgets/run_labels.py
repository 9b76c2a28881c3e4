"""LabelBar: 👍 / 👎 (thumbs up/down), "correct it" and a note under one run card.

Each bar labels one run through ``storage.label_run`` (a second label replaces
the first) and shows the label on the card: a coloured edge and a line saying
the rating, the correction, the note and who labelled it when. Keyboard, with
the card focused (click it, or Tab to it): ``g`` good, ``b`` bad, ``c`` correct
it, ``n`` note, ``x`` clear; Ctrl+Enter (⌘+Enter) in the boxes saves. The
keys are caught by a tiny anywidget in the bar (no network, sets no markup);
they arrive in Python as the same calls the buttons make.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anywidget
import ipywidgets as widgets

from agno_nb.render import CSS, format_timestamp, run_html
from agno_nb.render_agno import nest_runs, style_for
from agno_nb.widgets.feedback import guarded, status_html

__all__ = ["LABEL_CSS", "KeyCatcher", "LabelBar", "card_html", "label_html", "labelled_cards"]

LABEL_CSS = (
    "<style>"
    ".agno-nb-card-good .agno-nb-run{border-left:4px solid #3c9a5f}"
    ".agno-nb-card-bad .agno-nb-run{border-left:4px solid #c0392b}"
    ".agno-nb-card-labelled .agno-nb-run{border-left:4px solid #d89b3b}"
    ".agno-nb-label{font-size:12px;margin:2px 0 0 2px;color:#333}"
    ".agno-nb-label b{font-weight:600}.agno-nb-label .agno-nb-good{color:#2d7a4a}"
    ".agno-nb-label .agno-nb-bad{color:#b03a2e}"
    ".agno-nb-label .agno-nb-fix{white-space:pre-wrap;background:#f3f8f3;"
    "border-left:3px solid #3c9a5f;padding:1px 6px;margin-top:2px}"
    "</style>"
)

_ESM = r"""
function render({ model, el }) {
  const hint = document.createElement("span");
  hint.className = "agno-nb-keys";
  hint.textContent = "keys: g good · b bad · c correct · n note · x clear";
  hint.style.cssText = "font-size:11px;color:#888;margin-left:8px";
  el.appendChild(hint);
  let tries = 0;
  function attach() {
    const bar = el.closest(".agno-nb-labelbar");
    if (!bar) { if (tries++ < 40) setTimeout(attach, 50); return; }
    if (bar.dataset.agnoNbKeys) return;
    bar.dataset.agnoNbKeys = "1";
    if (!bar.hasAttribute("tabindex")) bar.setAttribute("tabindex", "0");
    // keep JupyterLab's command-mode shortcuts (a, b, c...) out of the label bar
    bar.setAttribute("data-lm-suppress-shortcuts", "true");
    bar.addEventListener("keydown", (e) => {
      const t = e.target;
      const typing = t && (t.tagName === "TEXTAREA" || t.tagName === "INPUT");
      if (typing) {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
          t.dispatchEvent(new Event("change", { bubbles: true }));
          t.blur();
          setTimeout(() => model.send({ key: "save" }), 50);
          e.preventDefault();
        }
        e.stopPropagation();
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const key = e.key.toLowerCase();
      if (!["g", "b", "c", "n", "x"].includes(key)) return;
      e.preventDefault();
      e.stopPropagation();
      model.send({ key });
      if (key === "c" || key === "n") {
        const sel = key === "c" ? "textarea" : "input[type=text]";
        setTimeout(() => { const box = bar.querySelector(sel); if (box) box.focus(); }, 150);
      }
    });
  }
  attach();
}
export default { render };
"""


class KeyCatcher(anywidget.AnyWidget):
    """Forwards the label bar's keyboard shortcuts to Python (``on_key`` callbacks)."""

    _esm = _ESM

    def __init__(self, on_key: Callable[[str], None]) -> None:
        super().__init__()
        self.on_msg(lambda _w, content, _b: on_key(str(content.get("key", ""))))


def label_html(label: Any) -> str:
    """One run's label as a short escaped line (empty for no label)."""
    if label is None:
        return ""
    parts = []
    if label.rating == "good":
        parts.append('<b class="agno-nb-good"><i class="fa fa-thumbs-up"></i> good</b>')
    elif label.rating == "bad":
        parts.append('<b class="agno-nb-bad"><i class="fa fa-thumbs-down"></i> bad</b>')
    if label.score is not None:
        parts.append(f"score {label.score:g}")
    if label.note:
        parts.append(f"note: {html.escape(label.note)}")
    if label.tags:
        parts.append("tags: " + html.escape(", ".join(label.tags)))
    who = html.escape(label.labelled_by or "")
    when = html.escape(format_timestamp(label.labelled_at)) if label.labelled_at else ""
    parts.append(f'<span class="agno-nb-muted">by {who} · {when}</span>')
    fix = ""
    if label.correction:
        fix = f'<div class="agno-nb-fix"><b>correction:</b> {html.escape(label.correction)}</div>'
    return f'<div class="agno-nb-label">{" · ".join(parts)}{fix}</div>'


def card_html(
    run: Mapping[str, Any],
    index: int,
    label: Any,
    *,
    members: Sequence[Any] = (),
    spans: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> str:
    """The run card (``render.run_html``, with a team run's member runs nested and
    its trace spans) and its label: an edge coloured by the rating and the label
    line under it."""
    kind = ""
    if label is not None:
        kind = f" agno-nb-card-{label.rating or 'labelled'}"
    card = run_html(run, index=index, members=members, spans=spans)
    style = f"{CSS}{style_for(card)}{LABEL_CSS}"  # agno 3's parts (members, spans) styled too
    return f'{style}<div class="agno-nb{kind}">{card}{label_html(label)}</div>'


class LabelBar(widgets.VBox):
    """Label one run: 👍 / 👎, "correct it" (the right answer), a note, clear.

    Args:
        storage: the storage holding the run.
        session_id: its session.
        run: the run dict (``run_id`` is what is labelled).
        index: its position in the session (0 = first), for the card.
        label: its current label (or None).
        card: the HTML widget showing the run card, re-rendered with the label.
        on_change: called after a label was stored or removed.
    """

    def __init__(
        self,
        storage: Any,
        session_id: str,
        run: Mapping[str, Any],
        *,
        index: int,
        label: Any = None,
        card: widgets.HTML | None = None,
        on_change: Callable[[], None] | None = None,
        members: Sequence[Any] = (),
        spans: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    ) -> None:
        self.storage = storage
        self.members = members
        self.spans = spans
        self.session_id = session_id
        self.run = run
        self.run_id = str(run.get("run_id") or "")
        self.index = index
        self.label = label
        self.card = card or widgets.HTML()
        self.on_change = on_change
        small = widgets.Layout(width="auto")
        self.good_button = widgets.Button(
            description="good", icon="thumbs-up", tooltip="good answer (g)", layout=small
        )
        self.bad_button = widgets.Button(
            description="bad", icon="thumbs-down", tooltip="bad answer (b)", layout=small
        )
        self.correct_button = widgets.Button(
            description="correct it", tooltip="write the right answer (c)", layout=small
        )
        self.clear_button = widgets.Button(
            description="clear", tooltip="remove the label (x)", layout=small
        )
        self.note = widgets.Text(placeholder="note (n)", layout=widgets.Layout(width="260px"))
        self.correction = widgets.Textarea(
            placeholder="the right answer (Ctrl+Enter saves)",
            layout=widgets.Layout(width="98%", height="70px", display="none"),
        )
        self.save_button = widgets.Button(
            description="Save", tooltip="save the correction and note (Ctrl+Enter)", layout=small
        )
        self.status = widgets.HTML()
        self.key_catcher = KeyCatcher(self.press)
        actions: dict[widgets.Button, Callable[[], Any]] = {
            self.good_button: lambda: self.rate("good"),
            self.bad_button: lambda: self.rate("bad"),
            self.correct_button: self.open_correction,
            self.clear_button: self.clear,
            self.save_button: self.save,
        }
        for button, action in actions.items():
            button.on_click(lambda _b, action=action: guarded(self, action))
        row = widgets.HBox(
            [
                self.good_button,
                self.bad_button,
                self.correct_button,
                self.note,
                self.save_button,
                self.clear_button,
                self.key_catcher,
            ],
            layout=widgets.Layout(align_items="center", flex_flow="row wrap"),
        )
        super().__init__(children=[row, self.correction, self.status])
        self.add_class("agno-nb-labelbar")
        if not self.run_id:
            for button in actions:
                button.disabled = True
            self.status.value = status_html("this run has no run id: it cannot be labelled")
        self._render()

    # -- actions --------------------------------------------------------------------------

    def press(self, key: str) -> None:
        """A keyboard shortcut from the browser (``g``, ``b``, ``c``, ``n``, ``x``, ``save``)."""
        actions: dict[str, Callable[[], Any]] = {
            "g": lambda: self.rate("good"),
            "b": lambda: self.rate("bad"),
            "c": self.open_correction,
            "x": self.clear,
            "save": self.save,
        }
        action = actions.get(key)
        if action is not None:
            guarded(self, action)

    def _store(self, rating: str | None, correction: str | None, note: str | None) -> None:
        current = self.label
        if rating is None and not correction and not note:
            self.storage.delete_label(self.session_id, self.run_id)
            self.label = None
        else:
            self.label = self.storage.label_run(
                self.session_id,
                self.run_id,
                rating,
                score=getattr(current, "score", None),
                correction=correction or None,
                note=note or None,
                tags=getattr(current, "tags", ()),
            )
        self._render()
        if self.on_change is not None:
            self.on_change()

    def rate(self, rating: str) -> None:
        """Rate the run ``good`` or ``bad`` (keeping its correction and note; the
        note box's text is saved with it)."""
        current = self.label
        correction = self.correction.value.strip() or getattr(current, "correction", None)
        note = self.note.value.strip() or getattr(current, "note", None)
        self._store(rating, correction, note)
        self.status.value = status_html(f"run #{self.index + 1}: {rating}")

    def open_correction(self) -> None:
        """Show the "correct it" box (holding the current correction, else the answer)."""
        if self.correction.layout.display == "none":
            current = getattr(self.label, "correction", None)
            answer = self.run.get("content")
            self.correction.value = current or (answer if isinstance(answer, str) else "")
            self.correction.layout.display = "flex"

    def save(self) -> None:
        """Store the correction box and the note with the current rating."""
        rating = getattr(self.label, "rating", None)
        correction = self.correction.value.strip() if self._correcting else None
        if correction is None:
            correction = getattr(self.label, "correction", None)
        note = self.note.value.strip() or None
        self._store(rating, correction, note)
        self.correction.layout.display = "none"
        self.status.value = status_html(
            f"run #{self.index + 1}: saved" if self.label else f"run #{self.index + 1}: no label"
        )

    @property
    def _correcting(self) -> bool:
        return self.correction.layout.display != "none"

    def clear(self) -> None:
        """Remove the run's label."""
        self.storage.delete_label(self.session_id, self.run_id)
        self.label = None
        self.note.value = ""
        self.correction.value = ""
        self.correction.layout.display = "none"
        self._render()
        self.status.value = status_html(f"run #{self.index + 1}: label removed")
        if self.on_change is not None:
            self.on_change()

    # -- rendering ------------------------------------------------------------------------

    def _render(self) -> None:
        rating = getattr(self.label, "rating", None)
        self.good_button.button_style = "success" if rating == "good" else ""
        self.bad_button.button_style = "danger" if rating == "bad" else ""
        self.clear_button.disabled = self.label is None or not self.run_id
        if self.label is not None and not self.note.value:
            self.note.value = self.label.note or ""
        self.card.value = card_html(
            self.run, self.index, self.label, members=self.members, spans=self.spans
        )

    def __repr__(self) -> str:
        rating = getattr(self.label, "rating", None)
        return f"LabelBar(run #{self.index + 1} {self.run_id!r}, label={rating!r})"


def labelled_cards(
    storage: Any,
    session_id: str,
    runs: Sequence[Mapping[str, Any]],
    *,
    first_index: int,
    header: str,
    on_change: Callable[[], None] | None = None,
    spans: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> tuple[list[widgets.Widget], list[LabelBar]]:
    """The transcript as widgets: the header, then each run card with its label bar
    (a team's member runs nested in its card, as ``render.runs_html`` shows them;
    ``spans``: trace spans by run id). Returns (children, bars)."""
    labels = {x.run_id: x for x in storage.labels(session_id)}
    children: list[widgets.Widget] = [widgets.HTML(f'{CSS}<div class="agno-nb">{header}</div>')]
    bars: list[LabelBar] = []
    if not runs:
        children.append(widgets.HTML(f'{CSS}<div class="agno-nb agno-nb-muted">no runs</div>'))
    for offset, run, members in nest_runs(runs):
        card = widgets.HTML()
        bar = LabelBar(
            storage,
            session_id,
            run,
            index=first_index + offset,
            label=labels.get(str(run.get("run_id"))),
            card=card,
            on_change=on_change,
            members=members,
            spans=spans,
        )
        bars.append(bar)
        children += [card, bar]
    return children, bars
