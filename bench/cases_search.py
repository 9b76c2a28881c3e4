"""Search and bulk-read measurements (issue 14, items 9 and 15).

``case_search``: ``list_sessions(search=...)`` on ``recent_total`` sessions,
first on the agno 1.x layout (decoded and matched in Python, page by page),
then after ``upgrade_schema()`` on the latest layout (folded text columns read
in SQL along the newest-first index). agno 1.8.4 has no search: no ratio.

``case_bulk``: tracemalloc peak of ``get_all_sessions()`` and ``messages_df()``
on ``bulk_total`` sessions, read all at once (what they did before: one query,
every session decoded, then the frame) and page by page (what they do now).
"""

from __future__ import annotations

import time
from typing import Any

from bench.cases import Figure, Sizes, _peak_and_time, median_ms
from bench.peers import OursPeer, Place, load_v1_table

#: in every session's text (the first page fills at once)
COMMON = "NORTH-EAST region"
#: matches nothing: the whole table is read (the worst case)
NOTHING = "zürich quarterly"


#: a run id of one of the oldest sessions (found at the end of the scan), in capitals
RARE = "S0000003-RUN-0"


def case_search(place: Place, sizes: Sizes, agno: bool) -> list[Figure]:
    total = sizes.recent_total
    table = "bench_search"
    load_v1_table(place, table, total, runs=1)
    peer = OursPeer(place, table, create=False)
    storage: Any = peer.storage
    problems: list[str] = []
    try:
        start = time.perf_counter()
        old_hits = storage.list_sessions(search=RARE, limit=50)
        v1_rare_ms = (time.perf_counter() - start) * 1000
        if [s.session_id for s in old_hits] != [f"s{3:07d}"]:
            problems.append("v1 search missed the rare session")
        storage.upgrade_schema()
        figures = {}
        for key, term in (("common", COMMON), ("rare", RARE), ("nothing", NOTHING)):
            figures[key] = median_ms(
                lambda t=term: storage.list_sessions(search=t, limit=50), sizes.search_reps
            )
        common = storage.list_sessions(search=COMMON, limit=50)
        rare = storage.list_sessions(search=RARE, limit=50)
        if [s.session_id for s in common] != [
            f"s{n:07d}" for n in range(total - 1, total - 51, -1)
        ]:
            problems.append("common search: not the 50 newest")
        if [s.session_id for s in rare] != [f"s{3:07d}"]:
            problems.append("rare search missed its session")
        if storage.list_sessions(search=NOTHING, limit=50):
            problems.append("a query matching nothing found sessions")
    finally:
        peer.close()
    note = "; ".join(problems)
    label = f"search page of 50 of {total:,}"
    return [
        Figure(
            "search_common_50",
            label + ": term in every session",
            "ms",
            ours=figures["common"],
            note=note,
        ),
        Figure("search_rare_50", label + ": one old session", "ms", ours=figures["rare"]),
        Figure(
            "search_nothing_50",
            label + ": no match (whole table read)",
            "ms",
            ours=figures["nothing"],
            detail=f"one old session on agno 1.x's layout (Python): {v1_rare_ms:,.0f} ms",
            extra={"v1_python_ms": v1_rare_ms},
        ),
    ]


def case_bulk(place: Place, sizes: Sizes, agno: bool) -> list[Figure]:
    total = sizes.bulk_total
    table = "bench_bulk"
    load_v1_table(place, table, total, runs=3)
    peer = OursPeer(place, table, create=False)
    storage: Any = peer.storage
    try:
        storage.upgrade_schema()
        from agno_nb.storage.frames import messages_frame

        layout = storage._current()
        before_all, _ = _peak_and_time(lambda: layout.sessions(None, None, None))
        after_all, _ = _peak_and_time(storage.get_all_sessions)
        before_df, _ = _peak_and_time(lambda: messages_frame(layout.sessions(None, None, None)))
        after_df, _ = _peak_and_time(storage.messages_df)
        rows = len(storage.messages_df())
    finally:
        peer.close()
    note = "" if rows == total * 3 * 2 else f"messages_df has {rows} rows, expected {total * 6}"
    return [
        Figure(
            "bulk_all_sessions_peak_mb",
            f"get_all_sessions() of {total:,} (3 runs each): tracemalloc peak",
            "MB",
            ours=after_all,
            detail=f"one query before: {before_all:,.0f} MB (the list itself stays)",
            extra={"before_mb": before_all},
        ),
        Figure(
            "bulk_messages_df_peak_mb",
            f"messages_df() of {total:,} sessions: tracemalloc peak",
            "MB",
            ours=after_df,
            note=note,
            detail=f"all sessions first, before: {before_df:,.0f} MB",
            extra={"before_mb": before_df},
        ),
    ]
