"""Widgets for agno_nb storages: session browser (with its clickable session list),
session history, upgrade panel.

Each widget's ``_repr_mimebundle_`` carries a deterministic ``text/html``
snapshot next to the live widget view, so a saved notebook reads the same in
nbconvert, on GitHub and under nbval.
"""

from __future__ import annotations

from agno_nb.widgets.session_browser import SessionBrowser
from agno_nb.widgets.session_history import SessionHistory
from agno_nb.widgets.session_list import SessionList
from agno_nb.widgets.upgrade_panel import UpgradePanel

__all__ = ["SessionBrowser", "SessionHistory", "SessionList", "UpgradePanel"]
