"""SessionsFrame: the DataFrame ``%agno_sessions`` returns, displayed compactly.

It is a plain pandas DataFrame with every summary column (``session_id`` in
full, ``error``, timestamps...) for analysis; only its display is the calm
one-line-per-session list of :mod:`agno_nb.listing`, with a footer saying
how many sessions the limit left out. Anything derived from it (``df.head()``,
``df[cols]``) is an ordinary DataFrame with pandas' usual display.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from agno_nb.listing import count_footer, sessions_table_html, sessions_table_text

__all__ = ["SessionsFrame"]


class SessionsFrame(pd.DataFrame):
    """A DataFrame of session summaries that knows how many sessions matched.

    Args:
        frame: the summaries (one row per session, newest first).
        total: how many sessions matched the filters (may exceed ``len(frame)``).
        entity_label: name of the agent/team/workflow column to show, or None.
        empty_note: the one line to show when no session matched (what matched nothing
            and what to do); default ``no sessions``.
    """

    _metadata = ["matched", "entity_label", "empty_note"]

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        total: int,
        entity_label: str | None = None,
        empty_note: str | None = None,
    ) -> None:
        super().__init__(frame)  # type: ignore[call-arg]
        self.matched = total
        self.entity_label = entity_label
        self.empty_note = empty_note

    @property
    def footer(self) -> str:
        """``showing 20 of 25 sessions (--limit N for more)``, ``25 sessions``, or the
        one line saying that nothing matched."""
        if len(self) == 0 and not self.matched:
            return self.empty_note or "no sessions"
        return count_footer(len(self), max(self.matched, len(self)))

    def _records(self) -> list[dict[Any, Any]]:
        return self.to_dict("records")

    def _repr_html_(self) -> str:
        return sessions_table_html(
            self._records(), entity_label=self.entity_label, footer=self.footer
        )

    def __repr__(self) -> str:
        return sessions_table_text(self._records(), footer=self.footer)
