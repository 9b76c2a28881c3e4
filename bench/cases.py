"""The measurements: each case returns figures for agno_nb and, where one
exists, its agno 1.8.4 peer on the same backend and workload.

Timings use ``time.perf_counter`` and are medians of repeated measurements;
ratios say how many times better agno_nb is (higher is better).
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agno_nb.schema import LATEST_VERSION
from bench.migrate_case import case_migrate
from bench.peers import AgnoPeer, OursPeer, Place, load_v1_table
from bench.workload import BASE_TIME, make_run, session_values


@dataclass
class Sizes:
    """Workload sizes (full run or ``--quick`` smoke run)."""

    upsert_sessions: int = 2000
    upsert_rounds: int = 5
    big_runs: int = 1000
    agno_appends: int = 15
    ours_appends: int = 300
    recent_total: int = 100_000
    agno_recent_reps: int = 5
    ours_reps: int = 100
    upgrade_total: int = 20_000
    search_reps: int = 5
    bulk_total: int = 10_000

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            upsert_sessions=150,
            upsert_rounds=3,
            big_runs=1000,
            agno_appends=5,
            ours_appends=60,
            recent_total=5_000,
            agno_recent_reps=3,
            ours_reps=30,
            upgrade_total=1_000,
            search_reps=2,
            bulk_total=500,
        )


@dataclass
class Figure:
    """One line of the report."""

    key: str
    label: str
    unit: str
    ours: float | None = None
    agno: float | None = None
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None
    note: str = ""
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def median_ms(fn: Callable[[], object], reps: int, *, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in milliseconds over ``reps`` calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def _ratio(better: float | None, worse: float | None) -> float | None:
    if better is None or worse is None or better <= 0:
        return None
    return worse / better


def case_upsert(place: Place, sizes: Sizes, agno: bool) -> list[Figure]:
    """Upsert of new sessions (3 runs, ~6 KB each): sessions per second."""
    ours_peer = OursPeer(place, "bench_upsert")
    agno_peer = AgnoPeer(place, "bench_upsert") if agno else None
    wal_peer = AgnoPeer(place, "bench_upsert", same_pragmas=True) if agno else None
    if place.backend != "sqlite":
        wal_peer = None
    per_round = max(1, sizes.upsert_sessions // sizes.upsert_rounds)
    ours_rates: list[float] = []
    agno_rates: list[float] = []
    wal_rates: list[float] = []
    batch_rates: list[float] = []
    try:
        for r in range(sizes.upsert_rounds):
            values = [
                session_values(n, runs=3, prefix=f"u{r}-")
                for n in range(r * per_round, (r + 1) * per_round)
            ]
            peers: list[tuple[Any, list[float]]] = [(ours_peer, ours_rates)]
            if agno_peer is not None:
                peers.append((agno_peer, agno_rates))
            if wal_peer is not None:
                peers.append((wal_peer, wal_rates))
            shift = r % len(peers)  # rotate who goes first, so no one always runs first
            for peer, rates in peers[shift:] + peers[:shift]:
                sessions = [peer.session(v) for v in values]
                gc.collect()
                start = time.perf_counter()
                for s in sessions:
                    peer.upsert(s)
                rates.append(len(sessions) / (time.perf_counter() - start))
            batch = [ours_peer.session(dict(v, session_id="b" + v["session_id"])) for v in values]
            gc.collect()
            start = time.perf_counter()
            ours_peer.storage.upsert_many(batch)
            batch_rates.append(len(batch) / (time.perf_counter() - start))
    finally:
        ours_peer.close()
        for other in (agno_peer, wal_peer):
            if other is not None:
                other.close()
    ours = statistics.median(ours_rates)
    theirs = statistics.median(agno_rates) if agno_rates else None
    wal = statistics.median(wal_rates) if wal_rates else None
    return [
        Figure(
            "upsert_new_sessions",
            f"upsert new sessions (3 runs, ~6 KB), {per_round} x {sizes.upsert_rounds} rounds",
            "sessions/s",
            ours=ours,
            agno=theirs,
            ratio=None if theirs is None else ours / theirs,
            target=">= 10x agno",
            detail=_spread("agno_nb", ours_rates) + _spread("; agno", agno_rates),
            extra={"ours_rounds": ours_rates, "agno_rounds": agno_rates},
        ),
        Figure(
            "upsert_many_new_sessions",
            "  same sessions through upsert_many() (one transaction a round) vs agno's upsert()",
            "sessions/s",
            ours=statistics.median(batch_rates),
            agno=theirs,
            ratio=None if theirs is None else statistics.median(batch_rates) / theirs,
            detail=_spread("agno_nb", batch_rates),
            extra={"ours_rounds": batch_rates},
        ),
        Figure(
            "upsert_same_pragmas",
            "  same, agno given agno_nb's pragmas (WAL, synchronous=NORMAL)"
            + ("" if wal is not None else " (SQLite only)"),
            "sessions/s",
            ours=ours if wal is not None else None,
            agno=wal,
            ratio=None if wal is None else ours / wal,
            detail=_spread("agno", wal_rates),
            extra={"agno_rounds": wal_rates},
        ),
    ]


def _spread(name: str, values: list[float]) -> str:
    """``"name rounds 120-150"``: the range behind a median (empty without values)."""
    if not values:
        return ""
    return f"{name} rounds {min(values):,.0f}-{max(values):,.0f}"


def case_append(place: Place, sizes: Sizes, agno: bool) -> list[Figure]:
    """Adding one run to a 1,000-run session (and to a 10-run one)."""
    ours_peer = OursPeer(place, "bench_append")
    agno_peer = AgnoPeer(place, "bench_append") if agno else None
    big = session_values(0, runs=sizes.big_runs, prefix="big-")
    big_id = big["session_id"]
    small = [session_values(n, runs=10, prefix="small-") for n in range(sizes.ours_appends)]
    try:
        ours_peer.upsert(ours_peer.session(big))
        for v in small:
            ours_peer.upsert(ours_peer.session(v))
        big_ms: list[float] = []
        small_ms: list[float] = []
        for i, v in enumerate(small):
            run_big = make_run(big_id, sizes.big_runs + i, created_at=BASE_TIME + i)
            run_small = make_run(v["session_id"], 10, created_at=BASE_TIME + i)
            start = time.perf_counter()
            ours_peer.add_run(big_id, run_big)
            mid = time.perf_counter()
            ours_peer.add_run(v["session_id"], run_small)
            small_ms.append((time.perf_counter() - mid) * 1000)
            big_ms.append((mid - start) * 1000)
        ours_count = ours_peer.storage.count_runs(big_id)
        agno_ms: list[float] = []
        if agno_peer is not None:
            agno_peer.upsert(agno_peer.session(big))
            for i in range(sizes.agno_appends):
                run = make_run(big_id, sizes.big_runs + i, created_at=BASE_TIME + i)
                start = time.perf_counter()
                agno_peer.add_run(big_id, run)
                agno_ms.append((time.perf_counter() - start) * 1000)
    finally:
        ours_peer.close()
        if agno_peer is not None:
            agno_peer.close()
    ours_big = statistics.median(big_ms)
    ours_small = statistics.median(small_ms)
    theirs = statistics.median(agno_ms) if agno_ms else None
    expected = sizes.big_runs + len(small)
    note = "" if ours_count == expected else f"run count {ours_count}, expected {expected}"
    return [
        Figure(
            "append_run_1000",
            f"add 1 run to a {sizes.big_runs:,}-run session",
            "ms",
            ours=ours_big,
            agno=theirs,
            ratio=_ratio(ours_big, theirs),
            target=">= 50x agno",
            note=note,
            detail=f"medians of {len(big_ms)} (agno_nb)"
            + (f" and {len(agno_ms)} (agno) adds" if agno_ms else " adds"),
            extra={"ours_samples": len(big_ms), "agno_samples": len(agno_ms)},
        ),
        Figure(
            "append_run_10",
            "add 1 run to a 10-run session",
            "ms",
            ours=ours_small,
        ),
        Figure(
            "append_run_growth",
            f"add-run time, {sizes.big_runs:,}-run / 10-run session",
            "x",
            ours=ours_big / ours_small if ours_small > 0 else None,
            target="<= 1.5x",
        ),
    ]


def case_recent(place: Place, sizes: Sizes, agno: bool) -> list[Figure]:
    """Newest 20 sessions and a list page of 50, out of ``recent_total``."""
    total = sizes.recent_total
    table = "bench_recent"
    start = time.perf_counter()
    load_v1_table(place, table, total, runs=1)
    ours_peer = OursPeer(place, table, create=False)
    agno_peer: AgnoPeer | None = None
    try:
        plan = ours_peer.storage.upgrade_schema()
        build_s = time.perf_counter() - start
        ours_recent = median_ms(lambda: ours_peer.recent(20), sizes.ours_reps)
        ours_list = median_ms(lambda: ours_peer.list_page(50), sizes.ours_reps)
        got_recent = [s.session_id for s in ours_peer.recent(20)]
        got_list = [s.session_id for s in ours_peer.list_page(50)]
        theirs = None
        if agno:
            agno_peer = AgnoPeer(place, table)
            agno_peer.bulk_load(total, runs=1)
            peer = agno_peer
            theirs = median_ms(lambda: peer.recent(20), sizes.agno_recent_reps)
    finally:
        ours_peer.close()
        if agno_peer is not None:
            agno_peer.close()
    newest = [f"s{n:07d}" for n in range(total - 1, total - 51, -1)]
    problems = []
    if got_recent != newest[:20]:
        problems.append("recent sessions not the 20 newest")
    if got_list != newest:
        problems.append("list page not the 50 newest")
    return [
        Figure(
            "recent_20",
            f"20 most recent of {total:,} sessions (get_recent_sessions)",
            "ms",
            ours=ours_recent,
            agno=theirs,
            ratio=_ratio(ours_recent, theirs),
            target="< 5 ms and >= 20x agno",
            note="; ".join(problems),
            detail=f"agno_nb dataset: bulk load + upgrade in {build_s:.1f} s",
            extra={"ours_build_s": build_s, "sessions_migrated": plan.sessions_migrated},
        ),
        Figure(
            "list_50",
            f"list_sessions page of 50 of {total:,}",
            "ms",
            ours=ours_list,
            target="< 10 ms",
        ),
    ]


def case_upgrade(place: Place, sizes: Sizes, agno: bool) -> list[Figure]:
    """v1 -> latest upgrade of an agno-format table (the v2 step moves the runs):
    sessions per second."""
    total = sizes.upgrade_total
    table = "bench_upgrade"
    load_v1_table(place, table, total, runs=3)
    peer = OursPeer(place, table, create=False)
    try:
        gc.collect()
        start = time.perf_counter()
        plan = peer.storage.upgrade_schema()
        elapsed = time.perf_counter() - start
        version = peer.storage.current_version
        runs = peer.storage.count_runs("s0000000")
    finally:
        peer.close()
    problems = []
    if plan.sessions_migrated != total:
        problems.append(f"{plan.sessions_migrated} sessions migrated, expected {total}")
    if version != LATEST_VERSION or runs != 3:
        problems.append(f"after upgrade: layout {version}, {runs} runs in s0000000")
    return [
        Figure(
            "upgrade_v1_v2",
            f"upgrade v1 -> v{LATEST_VERSION} of {total:,} sessions (3 runs each)",
            "sessions/s",
            ours=total / elapsed,
            target=">= 2,000 sessions/s",
            note="; ".join(problems),
            detail=f"{elapsed:.1f} s, {plan.runs_moved:,} runs moved",
            extra={"seconds": elapsed, "runs_moved": plan.runs_moved},
        )
    ]


def _peak_and_time(fn: Callable[[], object]) -> tuple[float, float]:
    gc.collect()
    tracemalloc.start()
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return peak / 1e6, elapsed * 1000


def case_memory(place: Place, sizes: Sizes, agno: bool) -> list[Figure]:
    """Reading a 1,000-run session: tracemalloc peak and time."""
    values = session_values(0, runs=sizes.big_runs, prefix="mem-")
    sid = values["session_id"]
    ours_peer = OursPeer(place, "bench_memory")
    agno_peer = AgnoPeer(place, "bench_memory") if agno else None
    try:
        ours_peer.upsert(ours_peer.session(values))
        ours_peer.read(sid)  # warm caches
        ours_mb, _ = _peak_and_time(lambda: ours_peer.read(sid))
        ours_ms = median_ms(lambda: ours_peer.read(sid), 5)
        agno_mb = agno_ms = None
        if agno_peer is not None:
            agno_peer.upsert(agno_peer.session(values))
            agno_peer.read(sid)
            peer = agno_peer
            agno_mb, _ = _peak_and_time(lambda: peer.read(sid))
            agno_ms = median_ms(lambda: peer.read(sid), 5)
        got = len(ours_peer.read(sid).memory["runs"])
    finally:
        ours_peer.close()
        if agno_peer is not None:
            agno_peer.close()
    note = "" if got == sizes.big_runs else f"read {got} runs, expected {sizes.big_runs}"
    label = f"read a {sizes.big_runs:,}-run session"
    return [
        Figure(
            "read_1000_peak_mb",
            label + ": tracemalloc peak",
            "MB",
            ours=ours_mb,
            agno=agno_mb,
            ratio=_ratio(ours_mb, agno_mb),
            note=note,
        ),
        Figure(
            "read_1000_ms",
            label + ": time",
            "ms",
            ours=ours_ms,
            agno=agno_ms,
            ratio=_ratio(ours_ms, agno_ms),
        ),
    ]


def _agno_cases() -> list[Callable[[Place, Sizes, bool], list[Figure]]]:
    from bench.cases_agno import case_agno_turn, case_cold_read

    return [case_agno_turn, case_cold_read]


from bench.cases_search import case_bulk, case_search  # noqa: E402 (uses the helpers above)
from bench.cases_speed import case_write_speed  # noqa: E402 (uses Figure above)

CASES: list[Callable[[Place, Sizes, bool], list[Figure]]] = [
    case_upsert,
    case_append,
    *_agno_cases(),
    case_recent,
    case_upgrade,
    case_memory,
    case_migrate,
    case_search,
    case_bulk,
    case_write_speed,
]

#: Every figure key a complete run reports, in order.
FIGURE_KEYS = (
    "upsert_new_sessions",
    "upsert_same_pragmas",
    "append_run_1000",
    "append_run_10",
    "append_run_growth",
    "agno_turn_1000",
    "agno_turn_10",
    "agno_turn_growth",
    "cold_read_adapter_1000",
    "cold_read_own_1000",
    "recent_20",
    "list_50",
    "upgrade_v1_v2",
    "read_1000_peak_mb",
    "read_1000_ms",
    "migrate_agno3",
    "search_common_50",
    "search_rare_50",
    "search_nothing_50",
    "bulk_all_sessions_peak_mb",
    "bulk_messages_df_peak_mb",
    "upsert_alone_wall",
    "upsert_alone_cpu",
    "upgrade_alone_cpu",
)
