"""Stored text made safe for a terminal: control characters shown, not obeyed.

A message can hold ESC, BEL, CR, backspace or a C1 control; printed raw, it can
retitle or clear the terminal, ring it, or overwrite the lines above. Like
``less``, :func:`visible` shows each such character as an escape (``\\x1b``,
``\\x07``, ``\\r``...) instead. Bidirectional overrides (which reorder what a
line appears to say) are shown as ``\\u202e`` and so on.
"""

from __future__ import annotations

from typing import TextIO

__all__ = ["VisibleStream", "visible"]

_NAMED = {"\r": "\\r", "\b": "\\b", "\f": "\\f", "\v": "\\v"}
_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))


def _table(*, newlines: bool) -> dict[int, str]:
    table: dict[int, str] = {}
    for code in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)):
        char = chr(code)
        table[code] = _NAMED.get(char, f"\\x{code:02x}")
    table.pop(ord("\t"))
    if newlines:
        table.pop(ord("\n"))
    else:
        table[ord("\n")] = "\\n"
    for code in _BIDI:
        table[code] = f"\\u{code:04x}"
    return table


_MULTILINE = _table(newlines=True)
_ONE_LINE = _table(newlines=False)


def visible(text: object, *, newlines: bool = True) -> str:
    """``text`` with every terminal control character shown as an escape.

    Args:
        text: what to show (``str()`` of it).
        newlines: keep ``\\n`` as a line break (message bodies); with False it is
            shown as ``\\n`` too, for fields that must stay on one line.
    """
    return str(text).translate(_MULTILINE if newlines else _ONE_LINE)


class VisibleStream:
    """A text stream wrapper: whatever is written goes through :func:`visible`."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        """Write ``text`` with its control characters made visible."""
        return self._stream.write(visible(text))

    def flush(self) -> None:
        """Flush the wrapped stream."""
        self._stream.flush()
