"""A progress bar for ``agno-nb migrate``: one bar, its label says the table and
how many sessions of how many are done."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets


class MigrateProgress:
    """Call it as ``migrate()``'s ``progress`` callback; ``widget`` is what to display."""

    def __init__(self) -> None:
        self.bar = widgets.IntProgress(value=0, min=0, max=1, description="migrating")
        self.label = widgets.Label(value="starting")
        self.widget = widgets.HBox([self.bar, self.label])

    def __call__(self, done: int, total: int, table: str) -> None:
        """Show ``done`` of ``total`` sessions of ``table``."""
        self.bar.max = max(1, total)
        self.bar.value = min(done, self.bar.max)
        self.label.value = f"{table}: {done:,}/{total:,} sessions"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = self.widget._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = f"migrating: {self.label.value}"
        return bundle
