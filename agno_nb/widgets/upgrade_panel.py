"""UpgradePanel: see a table's layout, the dry-run plan, and upgrade with a progress bar."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from agno_nb.render import CSS, combine, plan_html
from agno_nb.widgets.session_history import guarded, snapshot_bundle, status_html

__all__ = ["UpgradePanel"]


class UpgradePanel(widgets.VBox):
    """Current vs latest table layout, the planned steps, an Upgrade button.

    The plan comes from ``storage.upgrade_schema(dry_run=True)``; clicking
    Upgrade applies it, feeding ``progress`` to the bar, and shows what moved.

    Args:
        storage: an agno_nb storage.
    """

    def __init__(self, storage: Any) -> None:
        self.storage = storage
        self.plan: Any = None
        self.result: Any = None
        self.versions = widgets.HTML()
        self.plan_view = widgets.HTML()
        self.upgrade_button = widgets.Button(description="Upgrade", button_style="warning")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="progress")
        self.result_view = widgets.HTML()
        self.status = widgets.HTML()
        self.upgrade_button.on_click(lambda _: guarded(self, self.upgrade))
        self.refresh_button.on_click(lambda _: guarded(self, self.refresh))
        super().__init__(
            children=[
                self.versions,
                self.plan_view,
                widgets.HBox([self.upgrade_button, self.refresh_button, self.progress]),
                self.status,
                self.result_view,
            ]
        )
        self.refresh()

    def refresh(self) -> None:
        """Re-read the layout version and the dry-run plan."""
        self.status.value = ""
        self.plan = self.storage.upgrade_schema(dry_run=True)
        self.upgrade_button.disabled = not self.plan.pending
        self.versions.value = self._versions_html()
        self.plan_view.value = plan_html(self.plan)

    def _versions_html(self) -> str:
        current = self.plan.from_version
        latest = self.plan.to_version
        where = f"{self.storage.backend} table {self.plan.table} at {self.storage.display_url}"
        if current is None:
            state = f"table missing: it is created at layout v{latest} on first write"
        elif self.plan.pending:
            state = f"layout v{current}, latest v{latest}: upgrade available"
        else:
            state = f"layout v{current}: up to date"
        return (
            f'{CSS}<div class="agno-nb"><div class="agno-nb-head"><strong>'
            f"{html.escape(state)}</strong> "
            f'<span class="agno-nb-muted">{html.escape(where)}</span></div></div>'
        )

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.max = max(1, total)
        self.progress.value = min(done, self.progress.max)

    def upgrade(self) -> Any:
        """Apply the pending steps; returns the applied ``UpgradePlan``."""
        self.progress.value = 0
        self.upgrade_button.disabled = True
        try:
            result = self.storage.upgrade_schema(progress=self._on_progress)
        except Exception:
            self.upgrade_button.disabled = False
            raise
        self.result = result
        self.progress.value = self.progress.max
        self.result_view.value = plan_html(result)
        self.refresh()
        self.status.value = status_html(
            f"upgraded: {result.sessions_migrated} sessions migrated, "
            f"{result.runs_moved} runs moved"
            if result.applied
            else "nothing to upgrade"
        )
        return result

    def snapshot_html(self) -> str:
        """Deterministic HTML of the panel's state."""
        progress = ""
        if self.result is not None:
            progress = status_html(f"progress {self.progress.value}/{self.progress.max}")
        return combine(
            self.versions.value,
            self.plan_view.value,
            progress,
            self.status.value,
            self.result_view.value,
        )

    def __repr__(self) -> str:
        current = self.plan.from_version if self.plan is not None else None
        return (
            f"UpgradePanel(table={self.storage.table_name!r}, url={self.storage.display_url!r}, "
            f"layout={current}, pending={bool(self.plan and self.plan.pending)})"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return snapshot_bundle(self, **kwargs)
