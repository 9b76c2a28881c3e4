"""agno_nb's write speed alone (issue 23): new-session ``upsert()`` and the
v1 -> latest upgrade, each as wall time *and* CPU time, with where the wall time
went (on a CPU, waiting for one, blocked on I/O) where Linux says so.

On a machine shared with other work, wall time mostly measures the others: a
process that waits for a CPU is not slow itself. ``/proc/self/schedstat``
splits the wall time into time on a CPU, time runnable but waiting for one, and
the rest (blocked: I/O, fsync, locks), so each figure says which it was.
Comparing two builds: ``bench/ab_speed.py`` (each build's own virtualenv, runs
interleaved).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.peers import OursPeer, Place, load_v1_table
from bench.workload import session_values


@dataclass
class Timing:
    """One timed call: wall and CPU seconds, and (Linux) the wall split."""

    wall: float
    cpu: float
    #: seconds runnable but waiting for a CPU (None: not on Linux)
    waiting: float | None = None

    @property
    def blocked(self) -> float | None:
        """Seconds neither on a CPU nor waiting for one (I/O, fsync, locks)."""
        if self.waiting is None:
            return None
        return max(0.0, self.wall - self.cpu - self.waiting)

    def split(self) -> str:
        """``"0.52 s wall = 0.20 s CPU + 0.31 s waiting for a CPU + 0.01 s blocked"``."""
        text = f"{self.wall:.2f} s wall, {self.cpu:.2f} s CPU"
        if self.waiting is not None:
            text += f", {self.waiting:.2f} s waiting for a CPU, {self.blocked:.2f} s blocked"
        return text


def _schedstat() -> tuple[float, float] | None:
    """(seconds on a CPU, seconds waiting for one) of this process, or None."""
    try:
        fields = Path("/proc/self/schedstat").read_text().split()
    except OSError:
        return None
    return int(fields[0]) / 1e9, int(fields[1]) / 1e9


def timed(fn: Callable[[], Any]) -> tuple[Timing, Any]:
    """Run ``fn()`` once, after a collection; its timing and result."""
    gc.collect()
    sched = _schedstat()
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    after = _schedstat()
    waiting = None if sched is None or after is None else after[1] - sched[1]
    return Timing(wall, used, waiting), result


def case_write_speed(place: Place, sizes: Any, agno: bool) -> list[Any]:
    """agno_nb alone: new-session upserts (wall and CPU) and the v1 -> latest upgrade."""
    from bench.cases import Figure

    rounds = max(3, sizes.upsert_rounds)
    per_round = min(1500, sizes.upsert_sessions)
    timings: list[Timing] = []
    peer = OursPeer(place, "bench_speed")
    try:
        for r in range(rounds):
            sessions = [
                peer.session(session_values(n, runs=3, prefix=f"w{r}-")) for n in range(per_round)
            ]

            def write(batch: list[Any] = sessions) -> None:
                for session in batch:
                    peer.upsert(session)

            timings.append(timed(write)[0])
        count = peer.storage.count_sessions()
    finally:
        peer.close()
    wall = statistics.median(per_round / t.wall for t in timings)
    cpu = statistics.median(per_round / t.cpu for t in timings)
    middle = sorted(timings, key=lambda t: t.wall)[len(timings) // 2]
    problems = [] if count == rounds * per_round else [f"{count} sessions stored"]

    total = min(5000, sizes.upgrade_total)
    load_v1_table(place, "bench_speed_v1", total, runs=3)
    upgrader = OursPeer(place, "bench_speed_v1", create=False)
    try:
        upgrade, plan = timed(upgrader.storage.upgrade_schema)
        runs = upgrader.storage.count_runs("s0000000")
    finally:
        upgrader.close()
    if plan.sessions_migrated != total or runs != 3:
        problems.append(f"upgrade moved {plan.sessions_migrated} sessions, {runs} runs in one")
    return [
        Figure(
            "upsert_alone_wall",
            f"upsert new sessions alone (3 runs), {per_round:,} x {rounds} rounds: wall",
            "sessions/s",
            ours=wall,
            note="; ".join(problems),
            detail=f"median round: {middle.split()}",
            extra={"rounds": [vars(t) for t in timings]},
        ),
        Figure(
            "upsert_alone_cpu",
            "  same, CPU time of this process",
            "sessions/s",
            ours=cpu,
        ),
        Figure(
            "upgrade_alone_cpu",
            f"upgrade v1 -> latest of {total:,} sessions: CPU time (wall in detail)",
            "sessions/s",
            ours=total / upgrade.cpu,
            detail=f"{total / upgrade.wall:,.0f} sessions/s wall; {upgrade.split()}",
            extra=vars(upgrade),
        ),
    ]
