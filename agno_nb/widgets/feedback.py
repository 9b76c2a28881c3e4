"""What every widget's buttons share: a one-line status and the guard that shows a
failed action there."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from agno_nb.connect import describe_error, is_expected_error
from agno_nb.render import CSS

__all__ = ["guarded", "status_html"]


def status_html(message: str, *, error: bool = False) -> str:
    """A one-line status message (escaped; errors in red)."""
    if not message:
        return ""
    cls = "agno-nb-error" if error else "agno-nb-muted"
    return f'{CSS}<div class="agno-nb"><div class="{cls}">{html.escape(message)}</div></div>'


def guarded(widget: Any, action: Callable[[], Any]) -> None:
    """Run a button action; a failure shows as a one-line error in ``widget.status``.

    Errors a user can fix (bad input, database trouble) stop there; anything
    else is a bug and is raised after being shown, so its traceback is kept.
    """
    try:
        action()
    except Exception as exc:
        widget.status.value = status_html(describe_error(exc), error=True)
        if not is_expected_error(exc):
            raise
