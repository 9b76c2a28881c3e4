"""SessionBrowser: filter, page through and manage the sessions of a storage."""

from __future__ import annotations

import html
import time
import weakref
from typing import Any

import ipywidgets as widgets

from agno_nb.connect import describe_error, is_expected_error
from agno_nb.export import export_jsonl
from agno_nb.listing import sessions_table_html
from agno_nb.render import combine
from agno_nb.sessions import ENTITY_COLUMN
from agno_nb.widgets.session_history import SessionHistory, guarded, snapshot_bundle, status_html
from agno_nb.widgets.session_list import SessionList

__all__ = ["SessionBrowser", "refresh_open_browsers"]

#: Browsers shown and not closed: the notebook's post-cell hook asks them to catch up.
_OPEN: weakref.WeakSet[SessionBrowser] = weakref.WeakSet()


def refresh_open_browsers() -> list[SessionBrowser]:
    """Let every open browser show what changed in its storage; returns those that did.

    Called after each notebook cell (``%load_ext agno_nb`` registers it), so an
    open browser shows the runs a cell's agent just wrote without a click. A
    browser whose storage fails says so in its status line; the others go on.
    """
    changed = []
    for browser in list(_OPEN):
        if browser.comm is None or browser.storage is None:  # closed
            _OPEN.discard(browser)
            continue
        try:
            if browser.poll():
                changed.append(browser)
        except Exception as exc:
            browser.status.value = status_html(describe_error(exc), error=True)
            if not is_expected_error(exc):
                raise
    return changed


class SessionBrowser(widgets.VBox):
    """Browse a storage's sessions: filters, a paged newest-first list, a transcript.

    The list (:class:`~agno_nb.widgets.session_list.SessionList`) is the selector:
    a click or the arrow keys select a row, which stays highlighted, and its
    transcript shows below. Given ``session_id``, the browser opens on the page
    that holds it (under the filters), with it selected.

    Paging is done by the database (``list_sessions(limit, offset)`` and
    ``count_sessions``): however large the table, one page of summaries and
    one page of the selected session's runs are fetched. A row that can't be
    decoded shows as an error line; the rest of the list works.

    Actions: rename, delete (after a confirmation), export the selected
    session or every session matching the filters as JSONL few-shot examples
    (all runs, the good ones, good + corrected, or corrected only), refresh.

    Labels: every run card has 👍 / 👎, "correct it" and a note (see
    :mod:`agno_nb.widgets.run_labels`); the list shows each session's counts;
    the label filter keeps sessions with a good run, a bad run, or none
    labelled, and "hide evaluation" leaves out the sessions
    :func:`agno_nb.evaluate.compare` made. Those two filters read the matching
    summaries in one pass (the other filters are paged by the database).

    Args:
        storage: an agno_nb storage.
        user_id: initial user filter.
        entity_id: initial agent/team/workflow id filter.
        search: initial text search (name, first question, id).
        page_size: sessions per page.
        history_page_size: runs per page in the transcript.
        session_id: the session to select first (default: the newest on the page).
        export_path: initial file name for exports.
        label: initial label filter (``good``, ``bad``, ``unlabelled``).
        hide_evaluation: leave out the evaluation sessions of ``compare()``.
        follow_newest: when the storage gets a newer session (see :meth:`poll`),
            select it; default: only when ``session_id`` is not given. A click
            on a session turns it off.
    """

    def __init__(
        self,
        storage: Any,
        *,
        user_id: str | None = None,
        entity_id: str | None = None,
        search: str | None = None,
        page_size: int = 20,
        history_page_size: int = 50,
        session_id: str | None = None,
        export_path: str = "agno_sessions.jsonl",
        label: str | None = None,
        hide_evaluation: bool = False,
        follow_newest: bool | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.storage = storage
        self.page_size = page_size
        self.history_page_size = history_page_size
        self.page = 0
        self.total = 0
        self.summaries: list[Any] = []
        self.selected: str | None = session_id
        self.history: SessionHistory | None = None
        self._updating = False
        #: True while the selection is the automatic one (the newest): a poll that
        #: finds a newer session then moves to it; a click pins the selection.
        self.follow_newest = session_id is None if follow_newest is None else follow_newest
        self._seen: tuple[Any, ...] = ()

        text = {"continuous_update": False, "layout": widgets.Layout(width="220px")}
        self.user_filter = widgets.Text(value=user_id or "", description="user", **text)
        self.entity_label = ENTITY_COLUMN.get(storage.mode, "agent_id").removesuffix("_id")
        self.entity_filter = widgets.Text(
            value=entity_id or "", description=self.entity_label, **text
        )
        self.search_box = widgets.Text(value=search or "", description="search", **text)
        self.label_filter = widgets.Dropdown(
            options=[
                ("any label", ""),
                ("a good run", "good"),
                ("a bad run", "bad"),
                ("unlabelled", "unlabelled"),
            ],
            value=label or "",
            description="label",
            layout=widgets.Layout(width="190px"),
        )
        self.hide_eval = widgets.Checkbox(
            value=hide_evaluation, description="hide evaluation", indent=False
        )
        self.label_counts: dict[str, Any] = {}
        self.prev_button = widgets.Button(description="◀ Newer", tooltip="newer sessions")
        self.next_button = widgets.Button(description="Older ▶", tooltip="older sessions")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.position = widgets.HTML()
        self.session_list = SessionList()
        self.list_html = ""
        self.rename_text = widgets.Text(placeholder="new name", layout=text["layout"])
        self.rename_button = widgets.Button(description="Rename")
        self.delete_button = widgets.Button(description="Delete…", icon="trash")
        self.confirm_label = widgets.HTML()
        self.confirm_delete_button = widgets.Button(
            description="Yes, delete", button_style="danger"
        )
        self.cancel_delete_button = widgets.Button(description="Cancel")
        self.confirm_box = widgets.HBox(
            [self.confirm_label, self.confirm_delete_button, self.cancel_delete_button],
            layout=widgets.Layout(display="none"),
        )
        self.export_path = widgets.Text(
            value=export_path,
            description="file",
            continuous_update=False,
            layout=widgets.Layout(width="340px"),
        )
        self.export_runs = widgets.Dropdown(
            options=[
                ("all runs", "all"),
                ("good runs", "good"),
                ("good + corrected", "good+corrected"),
                ("corrected only", "corrected"),
            ],
            value="all",
            layout=widgets.Layout(width="170px"),
        )
        self.export_session_button = widgets.Button(description="Export session")
        self.export_filtered_button = widgets.Button(description="Export filtered")
        self.status = widgets.HTML()
        self.detail = widgets.VBox()

        for box in (
            self.user_filter,
            self.entity_filter,
            self.search_box,
            self.label_filter,
            self.hide_eval,
        ):
            box.observe(self._on_filter, names="value")
        self.session_list.observe(self._on_select, names="value")
        buttons = {
            self.prev_button: self.newer_page,
            self.next_button: self.older_page,
            self.refresh_button: self.refresh,
            self.rename_button: lambda: self.rename(self.rename_text.value),
            self.delete_button: self.ask_delete,
            self.confirm_delete_button: self.confirm_delete,
            self.cancel_delete_button: self.cancel_delete,
            self.export_session_button: self.export_session,
            self.export_filtered_button: self.export_filtered,
        }
        for button, action in buttons.items():
            button.on_click(lambda _b, action=action: guarded(self, action))

        super().__init__(
            children=[
                widgets.HBox([self.user_filter, self.entity_filter, self.search_box]),
                widgets.HBox([self.label_filter, self.hide_eval]),
                widgets.HBox(
                    [self.prev_button, self.next_button, self.refresh_button, self.position],
                    layout=widgets.Layout(align_items="center"),
                ),
                self.session_list,
                widgets.HBox([self.rename_text, self.rename_button, self.delete_button]),
                self.confirm_box,
                widgets.HBox(
                    [
                        self.export_path,
                        self.export_runs,
                        self.export_session_button,
                        self.export_filtered_button,
                    ]
                ),
                self.status,
                self.detail,
            ]
        )
        if session_id is not None:
            self.page = self.page_of(session_id)
        self.refresh()
        _OPEN.add(self)

    # -- filters and paging -------------------------------------------------------------

    @property
    def filters(self) -> dict[str, str | None]:
        """The current filters as ``list_sessions`` keyword arguments."""
        return {
            "user_id": self.user_filter.value.strip() or None,
            "entity_id": self.entity_filter.value.strip() or None,
            "search": self.search_box.value.strip() or None,
        }

    @property
    def page_count(self) -> int:
        """How many pages the matching sessions fill (at least 1)."""
        return max(1, -(-self.total // self.page_size))

    def page_of(self, session_id: str) -> int:
        """The page (0 = newest) that holds ``session_id`` under the current filters;
        0 when it does not match them."""
        f = self.filters
        if self._by_label:
            ids = [s.session_id for s in self._select(limit=None, offset=0)[0]]
            return ids.index(session_id) // self.page_size if session_id in ids else 0
        if f["search"] is None:
            ids = self.storage.get_all_session_ids(user_id=f["user_id"], entity_id=f["entity_id"])
            return ids.index(session_id) // self.page_size if session_id in ids else 0
        offset = 0
        while True:
            page = self.storage.list_sessions(**f, limit=self.page_size * 10, offset=offset)
            ids = [s.session_id for s in page]
            if session_id in ids:
                return (offset + ids.index(session_id)) // self.page_size
            if len(page) < self.page_size * 10:
                return 0
            offset += len(page)

    def _on_filter(self, _change: Any) -> None:
        self.page = 0
        self.selected = None
        self.follow_newest = True
        guarded(self, self.refresh)

    def refresh(self) -> None:
        """Re-count, re-read the current page and re-show the selected session.

        The selected session stays selected while paging (its transcript stays
        open); with none selected, the newest readable session on the page is.
        """
        self.status.value = ""
        if self._by_label:
            self.summaries, self.total = self._select(
                limit=self.page_size, offset=self.page * self.page_size
            )
            if self.page > self.page_count - 1:
                self.page = self.page_count - 1
                self.summaries, _ = self._select(
                    limit=self.page_size, offset=self.page * self.page_size
                )
        else:
            self.total = self.storage.count_sessions(**self.filters)
            self.page = min(self.page, self.page_count - 1)
            self.summaries = self.storage.list_sessions(
                **self.filters, limit=self.page_size, offset=self.page * self.page_size
            )
        ids = [s.session_id for s in self.summaries]
        self._seen = self._fingerprint(self.total, self.summaries)
        if self.selected is None:
            self.selected = next((s.session_id for s in self.summaries if not s.error), None)
        self._updating = True
        try:
            now = time.time()
            self.session_list.show(self.summaries, now=now)
            self._show_counts(now)
            self.session_list.value = self.selected if self.selected in ids else None
        finally:
            self._updating = False
        self._render_list()
        self._show_selected()

    @property
    def _by_label(self) -> bool:
        return bool(self.label_filter.value) or bool(self.hide_eval.value)

    def _select(self, *, limit: int | None, offset: int) -> tuple[list[Any], int]:
        from agno_nb.evaluate import is_evaluation_session
        from agno_nb.storage.labels import select_sessions

        keep = (lambda s: not is_evaluation_session(s)) if self.hide_eval.value else None
        return select_sessions(
            self.storage,
            label=self.label_filter.value or None,
            keep=keep,
            limit=limit,
            offset=offset,
            **self.filters,
        )

    def _show_counts(self, now: float | None = None) -> None:
        """Each listed session's labelled runs (``✓2 ✗1``) beside its run count."""
        from agno_nb.storage.labels import label_counts
        from agno_nb.widgets.session_list import list_rows

        ids = [s.session_id for s in self.summaries if not s.error]
        self.label_counts = label_counts(self.storage, ids)
        if not self.label_counts:
            return
        rows = []  # built from the summaries, never from the synced trait (a frontend may echo it)
        for row in list_rows(self.summaries, now=now):
            counts = self.label_counts.get(row["id"])
            if counts is None:
                rows.append(row)
                continue
            hover = f"{row['hover']}\nlabelled runs: {counts.words()}"
            rows.append({**row, "runs": f"{row['runs']} {counts.text()}", "hover": hover})
        self.session_list.rows = rows

    def on_label(self) -> None:
        """A run's label changed in the transcript: update the list's counts. The
        user is working on this session now, so the browser stops following newer
        ones (as after a click on a session)."""
        self.follow_newest = False
        self._updating = True
        try:
            now = time.time()
            self.session_list.show(self.summaries, now=now)
            self._show_counts(now)
            self.session_list.value = (
                self.selected if self.selected in self.session_list.ids else None
            )
        finally:
            self._updating = False

    @staticmethod
    def _fingerprint(total: int, summaries: list[Any]) -> tuple[Any, ...]:
        rows = tuple(
            (s.session_id, s.run_count, s.updated_at, s.session_name, s.error) for s in summaries
        )
        return (total, rows)

    def poll(self) -> bool:
        """Re-show the list and the selected transcript if the storage changed.

        Cheap when nothing changed (one count and one page of summaries, the
        transcript untouched). With the selection still automatic, a newer
        session that appeared on the first page is selected. Returns True when
        something was re-shown.
        """
        if self._by_label:
            page, total = self._select(limit=self.page_size, offset=self.page * self.page_size)
        else:
            total = self.storage.count_sessions(**self.filters)
            page = self.storage.list_sessions(
                **self.filters, limit=self.page_size, offset=self.page * self.page_size
            )
        if self._fingerprint(total, page) == self._seen:
            return False
        if self.follow_newest and self.page == 0:
            # the newest session a user would follow: not one compare() made
            from agno_nb.evaluate import is_evaluation_session

            followed = (s.session_id for s in page if not s.error and not is_evaluation_session(s))
            self.selected = next(followed, None)
        self.refresh()  # the transcript opens on its newest runs again
        return True

    def go_to(self, page: int) -> None:
        """Show page ``page`` of the list (0 = the newest sessions)."""
        self.page = max(0, min(page, self.page_count - 1))
        self.refresh()

    def older_page(self) -> None:
        """Show the next page of older sessions."""
        self.go_to(self.page + 1)

    def newer_page(self) -> None:
        """Show the previous page of newer sessions."""
        self.go_to(self.page - 1)

    # -- selection ----------------------------------------------------------------------

    def _on_select(self, change: Any) -> None:
        if self._updating:
            return
        guarded(self, lambda: self.select(change["new"]))

    def select(self, session_id: str | None) -> None:
        """Show the transcript of ``session_id`` (one of the listed sessions); the
        selection then stays there when new sessions arrive."""
        self.selected = session_id
        self.follow_newest = False
        self.cancel_delete()
        listed = [s.session_id for s in self.summaries]
        if self.session_list.value != session_id and session_id in listed:
            self._updating = True
            try:
                self.session_list.value = session_id
            finally:
                self._updating = False
        self._render_list()
        self._show_selected()

    def _summary(self, session_id: str | None) -> Any:
        return next((s for s in self.summaries if s.session_id == session_id), None)

    def _show_selected(self) -> None:
        self.history = None
        self.detail.children = ()
        summary = self._summary(self.selected)
        if self.selected is None:
            return
        if summary is not None and summary.error:
            self.status.value = status_html(
                f"session {self.selected} cannot be shown: {summary.error}", error=True
            )
            return
        self.history = SessionHistory(
            self.storage,
            self.selected,
            page_size=self.history_page_size,
            summary=summary,
            on_label=self.on_label,
        )
        self.detail.children = (self.history,)

    # -- actions ------------------------------------------------------------------------

    def _require_selection(self) -> str:
        if self.selected is None:
            raise ValueError("no session selected: pick one in the list first")
        return self.selected

    def rename(self, name: str) -> None:
        """Rename the selected session."""
        session_id = self._require_selection()
        name = name.strip()
        if not name:
            raise ValueError("type a new name first")
        self.storage.rename_session(session_id, name)
        self.rename_text.value = ""
        self.refresh()
        self.status.value = status_html(f"renamed {session_id} to {name!r}")

    def ask_delete(self) -> None:
        """Show the delete confirmation for the selected session."""
        session_id = self._require_selection()
        summary = self._summary(session_id)
        runs = f" and its {summary.run_count} runs" if summary and not summary.error else ""
        self.confirm_label.value = (
            f"Delete session <code>{html.escape(session_id)}</code>{runs}? This cannot be undone."
        )
        self.confirm_box.layout.display = "flex"

    @property
    def confirming(self) -> bool:
        """True while the delete confirmation is shown."""
        return self.confirm_box.layout.display != "none"

    def cancel_delete(self) -> None:
        """Hide the delete confirmation without deleting."""
        self.confirm_box.layout.display = "none"
        self.confirm_label.value = ""

    def confirm_delete(self) -> None:
        """Delete the selected session (after :meth:`ask_delete`)."""
        if not self.confirming:
            raise ValueError("click Delete… first, then confirm")
        session_id = self._require_selection()
        self.cancel_delete()
        self.storage.delete_session(session_id)
        self.selected = None
        self.refresh()
        self.status.value = status_html(f"deleted session {session_id}")

    def export_session(self) -> int:
        """Write the selected session's runs as JSONL few-shot examples; returns the count."""
        session_id = self._require_selection()
        path = self._export_target()
        count = export_jsonl(self.storage, path, session_ids=[session_id], **self._export_choice())
        self.status.value = status_html(f"wrote {count} examples of {session_id} to {path}")
        return count

    def export_filtered(self) -> int:
        """Write every session matching the filters as JSONL few-shot examples."""
        path = self._export_target()
        f = self.filters
        choice = self._export_choice()
        if choice or self._by_label:  # labelled runs: of the sessions the filters select
            ids = [s.session_id for s in self._select(limit=None, offset=0)[0] if not s.error]
            count = export_jsonl(self.storage, path, session_ids=ids, **choice)
        else:
            count = export_jsonl(
                self.storage,
                path,
                user_id=f["user_id"],
                entity_id=f["entity_id"],
                search=f["search"],
            )
        self.status.value = status_html(
            f"wrote {count} examples of {self.total} sessions to {path}"
        )
        return count

    def _export_choice(self) -> dict[str, Any]:
        """The export box's choice as ``export_jsonl`` arguments."""
        choices: dict[str, dict[str, Any]] = {
            "all": {},
            "good": {"rating": "good"},
            "good+corrected": {"rating": "good", "corrections": True},
            "corrected": {"corrections": True},
        }
        return choices[self.export_runs.value]

    def _export_target(self) -> str:
        path = self.export_path.value.strip()
        if not path:
            raise ValueError("type a file name to export to")
        return path

    # -- rendering ----------------------------------------------------------------------

    def position_text(self) -> str:
        """Which sessions the page shows, e.g. ``sessions 21-40 of 100000``."""
        if not self.summaries:
            return f"no sessions (page {self.page + 1} of {self.page_count})"
        first = self.page * self.page_size
        return (
            f"sessions {first + 1}-{first + len(self.summaries)} of {self.total}, newest first "
            f"(page {self.page + 1} of {self.page_count})"
        )

    def _render_list(self) -> None:
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = self.page >= self.page_count - 1
        self.delete_button.disabled = self.rename_button.disabled = self.selected is None
        self.export_session_button.disabled = self.selected is None
        self.position.value = status_html(self.position_text())
        self.list_html = sessions_table_html(self.summaries, selected=self.selected)

    def snapshot_html(self) -> str:
        """Deterministic HTML of the list and the selected transcript."""
        names = {"user_id": "user", "entity_id": self.entity_label, "search": "search"}
        active = [f"{names[k]} = {v}" for k, v in self.filters.items() if v]
        if self.label_filter.value:
            active.append(f"label = {self.label_filter.value}")
        if self.hide_eval.value:
            active.append("evaluation sessions hidden")
        lines = [status_html("filters: " + ", ".join(active))] if active else []
        lines += [self.position.value, self.list_html, self.status.value]
        if self.history is not None:
            lines.append(self.history.snapshot_html())
        return combine(*lines)

    def __repr__(self) -> str:
        return (
            f"SessionBrowser(storage={self.storage.display_url!r}, "
            f"table={self.storage.table_name!r}, sessions={self.total}, selected={self.selected!r})"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return snapshot_bundle(self, **kwargs)
