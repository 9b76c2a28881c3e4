"""Only the combinations that exist are collected: agno writes its tables on SQLite
and Postgres, never on DuckDB, so the agno families' cases on DuckDB are left out
(deselected, not skipped: there is nothing there to test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.contract.families import AGNO_BACKENDS


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    here = Path(__file__).parent
    for item in items:
        if here not in Path(str(item.path)).parents:
            keep.append(item)
            continue
        params = getattr(getattr(item, "callspec", None), "params", {})
        family = params.get("storage")
        agno_family = isinstance(family, tuple) and family[1] is not None
        if agno_family and params.get("backend") not in AGNO_BACKENDS:
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
