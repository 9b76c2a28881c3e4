"""CompareView: a comparison's answers side by side; pick the better one per prompt."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from agno_nb.render import CSS
from agno_nb.render_compare import (
    COMPARE_CSS,
    header_html,
    legend_html,
    render_comparison,
    row_html,
)
from agno_nb.widgets.session_history import guarded, snapshot_bundle, status_html

__all__ = ["CompareView"]


class CompareView(widgets.VBox):
    """Every prompt of a :class:`~agno_nb.evaluate.Comparison` with each agent's
    answer side by side (differences from the first agent's answer highlighted,
    the expected answer beside the prompt) and a button per agent under it:
    clicking "v2 is better" stores v2's run as ``good`` and the others as
    ``bad`` (see :meth:`Comparison.pick`); the picked answer is outlined.

    Args:
        comparison: what :func:`agno_nb.evaluate.compare` returned.
    """

    def __init__(self, comparison: Any) -> None:
        self.comparison = comparison
        self.summary = widgets.HTML()
        self.status = widgets.HTML()
        self.row_views: list[widgets.HTML] = []
        #: one list of buttons per prompt, one button per variant
        self.pick_buttons: list[list[widgets.Button]] = []
        children: list[widgets.Widget] = [self.summary]
        for row in comparison.rows:
            view = widgets.HTML()
            buttons = []
            for variant in comparison.variants:
                button = widgets.Button(
                    description=f"{variant} is better",
                    tooltip=f"prompt {row.index + 1}: store {variant}'s answer as good",
                    layout=widgets.Layout(width="auto"),
                )
                button.on_click(
                    lambda _b, i=row.index, v=variant: guarded(self, lambda: self.pick(i, v))
                )
                buttons.append(button)
            self.row_views.append(view)
            self.pick_buttons.append(buttons)
            bar = widgets.HBox(buttons, layout=widgets.Layout(margin="0 0 10px 0"))
            bar.add_class("agno-nb-pickbar")
            children += [view, bar]
        children.append(self.status)
        super().__init__(children=children)
        self.add_class("agno-nb-compare")
        self._render()

    def pick(self, index: int, variant: str) -> None:
        """Pick ``variant``'s answer to prompt ``index`` (stored as labels)."""
        stored = self.comparison.pick(index, variant)
        self._render()
        where = "stored as labels" if stored else "not stored: the agents have no agno_nb storage"
        self.status.value = status_html(f"prompt {index + 1}: {variant} picked ({where})")

    def _render(self) -> None:
        c = self.comparison
        picked = sum(r.picked is not None for r in c.rows)
        self.summary.value = (
            f'{CSS}{COMPARE_CSS}<div class="agno-nb"><b>Comparison</b> '
            f"{html.escape(' vs '.join(c.variants))} · {len(c.rows)} prompts · "
            f"{picked} picked"
            f"{legend_html(c.variants)}</div>"
        )
        for row, view, buttons in zip(c.rows, self.row_views, self.pick_buttons, strict=True):
            view.value = (
                f'{CSS}{COMPARE_CSS}<div class="agno-nb"><table class="agno-nb-cmp">'
                f"{header_html(c.variants)}{row_html(row, c.variants)}</table></div>"
            )
            for variant, button in zip(c.variants, buttons, strict=True):
                button.button_style = "success" if row.picked == variant else ""
                button.icon = "check" if row.picked == variant else ""

    def snapshot_html(self) -> str:
        """The static comparison (deterministic apart from the measured latencies)."""
        return render_comparison(self.comparison)

    def __repr__(self) -> str:
        return f"CompareView({self.comparison!r})"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return snapshot_bundle(self, **kwargs)
