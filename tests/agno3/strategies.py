"""Hypothesis strategies the agno 3.x migration tests share."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

#: any JSON scalar agno may hold, NaN, infinities and numbers beyond 64 bits included
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)


def json_values(*, size: int, leaves: int) -> st.SearchStrategy[Any]:
    """Nested lists and dicts of :data:`SCALARS` (``size`` items a level, at most
    ``leaves`` scalars)."""
    return st.recursive(
        SCALARS,
        lambda inner: (
            st.lists(inner, max_size=size) | st.dictionaries(st.text(), inner, max_size=size)
        ),
        max_leaves=leaves,
    )
