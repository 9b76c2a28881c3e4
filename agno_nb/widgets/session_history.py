"""SessionHistory: one session's transcript, paged from the newest run backwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from agno_nb.render import combine, runs_html, session_header_html
from agno_nb.sessions import ENTITY_COLUMN
from agno_nb.widgets.feedback import guarded, status_html
from agno_nb.widgets.run_labels import labelled_cards

__all__ = ["SessionHistory", "find_summary", "guarded", "status_html"]


def find_summary(storage: Any, session_id: str, *, user_id: str | None = None) -> Any:
    """The ``SessionSummary`` of one session (looked up by key), or None; with
    ``user_id``, None as well when the session is another user's."""
    return storage.get_summary(session_id, user_id=user_id)


class SessionHistory(widgets.VBox):
    """One session's transcript, ``page_size`` runs at a time, newest page first.

    Each page shows its runs oldest first: user and assistant turns, tool calls
    with arguments and results (collapsible), the system message, per-run
    metrics, run ids and timestamps; history copies are marked, not repeated.
    Only the page's runs are fetched (``storage.get_runs(newest_first=True, ...)``).

    Args:
        storage: an agno_nb storage.
        session_id: the session to show.
        page_size: runs per page.
        summary: the session's ``SessionSummary`` when the caller has it (saves a query).
        labels: under each run card, 👍 / 👎, "correct it" and a note
            (:class:`~agno_nb.widgets.run_labels.LabelBar`).
        on_label: called after a run's label changed (the browser updates its counts).

    Raises:
        SessionNotFoundError: no such session.
    """

    def __init__(
        self,
        storage: Any,
        session_id: str,
        *,
        page_size: int = 50,
        summary: Any = None,
        labels: bool = True,
        on_label: Callable[[], None] | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.storage = storage
        self.session_id = session_id
        self.page_size = page_size
        self.page = 0
        self.total_runs = 0
        self.runs: list[dict[str, Any]] = []
        self.spans: dict[str, list[dict[str, Any]]] = {}  # agno's trace spans by run id
        self._summary = summary
        # Same arrows as the session list: newer to the left, older to the right.
        self.newer_button = widgets.Button(description="◀ Newer runs", tooltip="newer runs")
        self.older_button = widgets.Button(description="Older runs ▶", tooltip="older runs")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.position = widgets.HTML()
        self.status = widgets.HTML()
        self.transcript = widgets.HTML()
        self.labelling = labels
        self.on_label = on_label
        #: the run cards with their label bars (when ``labels``)
        self.cards = widgets.VBox()
        self.label_bars: list[Any] = []
        self.older_button.on_click(lambda _: guarded(self, self.older))
        self.newer_button.on_click(lambda _: guarded(self, self.newer))
        self.refresh_button.on_click(lambda _: guarded(self, self.refresh))
        toolbar = widgets.HBox(
            [self.newer_button, self.older_button, self.refresh_button, self.position],
            layout=widgets.Layout(align_items="center"),
        )
        shown = self.cards if labels else self.transcript
        super().__init__(children=[toolbar, self.status, shown])
        self.refresh()

    # -- state --------------------------------------------------------------------------

    @property
    def page_count(self) -> int:
        """How many pages the session's runs fill (at least 1)."""
        return max(1, -(-self.total_runs // self.page_size))

    @property
    def first_index(self) -> int:
        """Index (0 = oldest) of the first run shown."""
        return max(0, self.total_runs - self.page * self.page_size - len(self.runs))

    def refresh(self) -> None:
        """Re-read the run count and the current page."""
        self.total_runs = self.storage.count_runs(self.session_id)
        if self._summary is None:
            self._summary = find_summary(self.storage, self.session_id)
        self.page = min(self.page, self.page_count - 1)
        page = self.storage.get_runs(
            self.session_id,
            newest_first=True,
            limit=self.page_size,
            offset=self.page * self.page_size,
        )
        self.runs = list(reversed(page))
        from agno_nb.integrations.agno_traces import spans_by_run

        self.spans = spans_by_run(self.storage, (r.get("run_id") for r in self.runs))
        self.status.value = ""
        self._render()

    def go_to(self, page: int) -> None:
        """Show page ``page`` (0 = the newest runs)."""
        self.page = max(0, min(page, self.page_count - 1))
        self.refresh()

    def older(self) -> None:
        """Show the next page of older runs."""
        self.go_to(self.page + 1)

    def newer(self) -> None:
        """Show the previous page of newer runs."""
        self.go_to(self.page - 1)

    # -- rendering ----------------------------------------------------------------------

    def position_text(self) -> str:
        """Which runs the page shows, e.g. ``runs 51-100 of 230``."""
        if not self.runs:
            return "no runs"
        first = self.first_index
        return (
            f"runs {first + 1}-{first + len(self.runs)} of {self.total_runs} "
            f"(page {self.page + 1} of {self.page_count}, newest page first)"
        )

    def _header(self) -> str:
        s = self._summary
        return session_header_html(
            self.session_id,
            name=getattr(s, "session_name", None),
            user_id=getattr(s, "user_id", None),
            entity_id=getattr(s, "entity_id", None),
            created_at=getattr(s, "created_at", None),
            updated_at=getattr(s, "updated_at", None),
            run_count=self.total_runs,
            entity_label=ENTITY_COLUMN.get(self.storage.mode, "agent_id").removesuffix("_id"),
        )

    def _render(self) -> None:
        self.older_button.disabled = self.page >= self.page_count - 1
        self.newer_button.disabled = self.page == 0
        self.position.value = status_html(self.position_text())
        header = self._header()
        self.transcript.value = runs_html(
            self.runs, first_index=self.first_index, header=header, spans=self.spans
        )
        if self.labelling:
            children, self.label_bars = labelled_cards(
                self.storage,
                self.session_id,
                self.runs,
                first_index=self.first_index,
                header=header,
                on_change=self.on_label,
                spans=self.spans,
            )
            self.cards.children = children

    def snapshot_html(self) -> str:
        """Deterministic HTML of what the widget shows (for nbconvert, GitHub, nbval)."""
        shown = self.transcript.value
        if any(bar.label is not None for bar in self.label_bars):  # the cards show labels
            shown = combine(*(c.value for c in self.cards.children if hasattr(c, "value")))
        return combine(self.position.value, self.status.value, shown)

    def __repr__(self) -> str:
        return (
            f"SessionHistory(session_id={self.session_id!r}, runs={self.total_runs}, "
            f"page={self.page + 1}/{self.page_count})"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return snapshot_bundle(self, **kwargs)


def snapshot_bundle(widget: Any, **kwargs: Any) -> dict[str, Any]:
    """The widget view plus a ``text/html`` snapshot and a short ``text/plain``."""
    bundle = dict(widgets.VBox._repr_mimebundle_(widget, **kwargs) or {})
    bundle["text/plain"] = repr(widget)
    bundle["text/html"] = widget.snapshot_html()
    return bundle
