"""Counted nouns for messages: ``1 session``, ``2 sessions``, ``1,200 runs``.

One helper, so every message in the notebook, the CLI and the reports counts the
same way (no ``session(s)``).
"""

from __future__ import annotations

__all__ = ["counted"]

_IRREGULAR = {"memory": "memories", "entry": "entries", "was": "were", "is": "are"}


def counted(count: int, noun: str) -> str:
    """``count`` and ``noun``, the noun in the plural unless ``count`` is 1.

    Args:
        count: how many (thousands get a comma: ``1,200``).
        noun: the singular noun (``session``, ``run``, ``step``, ``memory``...).

    Returns:
        ``"1 session"``, ``"0 sessions"``, ``"1,200 runs"``.
    """
    if count == 1:
        return f"1 {noun}"
    return f"{count:,} {_IRREGULAR.get(noun, noun + 's')}"
