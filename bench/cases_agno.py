"""What an agno 1.x app pays: its Agent's turn and a first read of a long session.

agno 1.8.4's Agent, on every turn, ``read()``s its session, appends the run to
``memory["runs"]`` and ``upsert()``s the whole session. Here both sides do
exactly that: agno on its own storage, agno_nb through ``as_agno_storage()``.
"""

from __future__ import annotations

import gc
import statistics
import time
from typing import Any

from bench.cases import Figure, Sizes, _ratio
from bench.peers import AgnoPeer, OursPeer, Place, settle
from bench.workload import BASE_TIME, make_run, session_values


def _turns(storage: Any, session_id: str, first: int, count: int) -> tuple[list[float], int]:
    """``count`` agno-style turns on one session: read, append one run, upsert.
    Returns the times in ms and the run count the last read saw."""
    times: list[float] = []
    seen = 0
    for i in range(count):
        run = make_run(session_id, first + i, created_at=BASE_TIME + i)
        start = time.perf_counter()
        session = storage.read(session_id)
        session.memory["runs"].append(run)
        storage.upsert(session)
        times.append((time.perf_counter() - start) * 1000)
        seen = len(session.memory["runs"])
    return times, seen


def case_agno_turn(place: Place, sizes: Sizes, agno: bool) -> list[Figure]:
    """An agno Agent's turn at 10 and at ``big_runs`` runs, on both storages."""
    from agno_nb.integrations.agno import as_agno_storage

    ours_peer = OursPeer(place, "bench_turn")
    agno_peer = AgnoPeer(place, "bench_turn") if agno else None
    adapter = as_agno_storage(ours_peer.storage)
    big = session_values(0, runs=sizes.big_runs, prefix="turn-big-")
    small = session_values(0, runs=10, prefix="turn-small-")
    reps = sizes.ours_appends // 3
    try:
        figures: dict[str, list[float]] = {}
        counts: dict[str, int] = {}
        for name, values in (("small", small), ("big", big)):
            adapter.upsert(AgnoPeer.session(values))
            gc.collect()
            figures[name], counts[name] = _turns(adapter, values["session_id"], 10**6, reps)
        agno_big: list[float] = []
        agno_small: list[float] = []
        if agno_peer is not None:
            for values, out in ((small, agno_small), (big, agno_big)):
                agno_peer.upsert(agno_peer.session(values))
                gc.collect()
                out.extend(
                    _turns(agno_peer.storage, values["session_id"], 10**6, sizes.agno_appends)[0]
                )
    finally:
        ours_peer.close()
        if agno_peer is not None:
            agno_peer.close()
    ours_big, ours_small = statistics.median(figures["big"]), statistics.median(figures["small"])
    theirs_big = statistics.median(agno_big) if agno_big else None
    theirs_small = statistics.median(agno_small) if agno_small else None
    problems = [
        f"{name}: last read saw {counts[name]} runs"
        for name, expected in (("small", 10 + reps), ("big", sizes.big_runs + reps))
        if counts[name] != expected
    ]
    label = "agno Agent turn (read + append + upsert) via as_agno_storage()"
    return [
        Figure(
            "agno_turn_1000",
            f"{label}, {sizes.big_runs:,} runs",
            "ms",
            ours=ours_big,
            agno=theirs_big,
            ratio=_ratio(ours_big, theirs_big),
            target=">= 10x agno",
            note="; ".join(problems),
            detail=f"medians of {reps} (agno_nb) and {len(agno_big)} (agno) turns",
        ),
        Figure(
            "agno_turn_10",
            f"{label}, 10 runs",
            "ms",
            ours=ours_small,
            agno=theirs_small,
            ratio=_ratio(ours_small, theirs_small),
        ),
        Figure(
            "agno_turn_growth",
            f"agno Agent turn time, {sizes.big_runs:,}-run / 10-run session",
            "x",
            ours=ours_big / ours_small if ours_small > 0 else None,
            agno=(theirs_big / theirs_small) if theirs_big and theirs_small else None,
            target="<= 1.5x",
        ),
    ]


def case_cold_read(place: Place, sizes: Sizes, agno: bool) -> list[Figure]:
    """``read()`` of a ``big_runs`` session this storage has not read before:
    through as_agno_storage(), through agno_nb's own read(), and agno's; each
    result is compared with what was written."""
    from agno_nb.integrations.agno import as_agno_storage

    count = 12  # each reader goes first four times
    values = [session_values(n, runs=sizes.big_runs, prefix="cold-") for n in range(count)]
    writer = OursPeer(place, "bench_cold")
    agno_peer = AgnoPeer(place, "bench_cold") if agno else None
    problems: list[str] = []
    warm = session_values(0, runs=1, prefix="cold-warm-")
    try:
        writer.upsert(writer.session(warm))
        for v in values:
            writer.upsert(writer.session(v))
            if agno_peer is not None:
                agno_peer.upsert(agno_peer.session(v))
        writer.close()
        settle(place)  # no reader pays for the other's writes (WAL, hint bits)
        timings: dict[str, list[float]] = {"adapter": [], "own": [], "own_all": [], "agno": []}
        # one storage object per reader, as an app keeps: each session is read
        # once by each, so none is in a reader's cache (nor in agno's: it has none)
        own = OursPeer(place, "bench_cold", create=False).storage
        adapter = as_agno_storage(OursPeer(place, "bench_cold", create=False).storage)
        readers: dict[str, Any] = {"adapter": adapter, "own": own}
        if agno_peer is not None:
            readers["agno"] = agno_peer.storage
        for reader in readers.values():
            reader.read(warm["session_id"])  # connected, statements compiled
        names = list(readers)
        for n, v in enumerate(values):
            expected = v["memory"]["runs"]
            for name in names[n % len(names) :] + names[: n % len(names)]:  # who goes first rotates
                gc.collect()
                start = time.perf_counter()
                session = readers[name].read(v["session_id"])
                timings[name].append((time.perf_counter() - start) * 1000)
                if name == "own":  # and then every run taken (decoded), for the record
                    list(session.memory["runs"])
                    timings["own_all"].append((time.perf_counter() - start) * 1000)
                if session.memory["runs"] != expected:
                    problems.append(f"{name} read different runs")
                # freed before the next read: a reader must not pay for the pages
                # the previous one's 1.8 MB of decoded runs still hold
                del session
        own.close()
        adapter.storage.close()
    finally:
        writer.close()
        if agno_peer is not None:
            agno_peer.close()
    theirs = statistics.median(timings["agno"]) if timings["agno"] else None
    label = f"read a {sizes.big_runs:,}-run session not read before"
    figures = []
    for key, name, how, target in (
        ("cold_read_adapter", "adapter", "via as_agno_storage()", ">= 2x agno"),
        ("cold_read_own", "own", "via agno_nb's read()", ">= 2x agno"),
        ("cold_read_own_all", "own_all", "via agno_nb's read(), then every run taken", ""),
    ):
        ours = statistics.median(timings[name])
        figures.append(
            Figure(
                f"{key}_1000",
                f"{label}, {how}",
                "ms",
                ours=ours,
                agno=theirs,
                ratio=_ratio(ours, theirs),
                target=target,
                note="; ".join(sorted(set(problems))),
                detail=f"medians of {count} sessions",
            )
        )
    return figures
