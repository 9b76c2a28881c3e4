"""agno_nb vs agno 1.8.4, side by side: ``python -m bench.run [--quick] [--backend ...]``.

Both run in this one process, on the same machine, the same workload and
file-backed databases in one temporary folder (Postgres: two fresh schemas,
dropped afterwards). Targets are judged on SQLite; DuckDB (no agno peer) and
Postgres print the same figures for information.

Exit status: 0 with ``--quick`` (a smoke test: small sizes, targets not
meaningful); otherwise 1 when a SQLite target fails or a case breaks.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cases import CASES, FIGURE_KEYS, Figure, Sizes
from bench.peers import Place

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "duckdb", "postgres")

#: Target checks per figure key (applied on SQLite).
CHECKS: dict[str, Callable[[Figure], bool]] = {
    "upsert_new_sessions": lambda f: f.ratio is not None and f.ratio >= 10,
    "append_run_1000": lambda f: f.ratio is not None and f.ratio >= 50,
    "append_run_growth": lambda f: f.ours is not None and f.ours <= 1.5,
    "agno_turn_1000": lambda f: f.ratio is not None and f.ratio >= 10,
    "agno_turn_growth": lambda f: f.ours is not None and f.ours <= 1.5,
    "cold_read_adapter_1000": lambda f: f.ratio is not None and f.ratio >= 2,
    "cold_read_own_1000": lambda f: f.ratio is not None and f.ratio >= 2,
    "recent_20": lambda f: f.ours is not None and f.ours < 5 and (f.ratio or 0) >= 20,
    "list_50": lambda f: f.ours is not None and f.ours < 10,
    "upgrade_v1_v2": lambda f: f.ours is not None and f.ours >= 2000,
    "migrate_agno3": lambda f: f.ours is not None and f.ours >= 2000,
}


def postgres_url(explicit: str | None) -> str:
    return (
        explicit
        or os.environ.get("AGNO_NB_BENCH_POSTGRES_URL")
        or os.environ.get("AGNO_NB_TEST_POSTGRES_URL")
        or DEFAULT_PG_URL
    )


def _pg_problem(url: str) -> str | None:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure means "no usable server"
        from agno_nb.urls import mask_url

        return mask_url(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    return None


def _drop_pg_schemas(place: Place) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(str(place.pg_url))
    with engine.begin() as conn:
        for who in ("agno", "ours"):
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{place.schema_for(who)}" CASCADE')
    engine.dispose()


def judge(figures: list[Figure], *, backend: str) -> None:
    """Set ``passed`` on figures that have a target (SQLite) or a problem."""
    for fig in figures:
        check = CHECKS.get(fig.key)
        if fig.note:
            fig.passed = False
        elif check is None or fig.ours is None:
            continue
        elif backend == "sqlite" or "agno" not in fig.target or fig.agno is not None:
            fig.passed = check(fig)


def run_backend(
    backend: str, sizes: Sizes, folder: Path, pg_url: str, only: Sequence[str] | None = None
) -> list[Figure]:
    """Every case on one backend; a case that raises becomes a failed figure."""
    place = Place(backend=backend, folder=folder / backend)
    place.folder.mkdir(parents=True, exist_ok=True)
    if backend == "postgres":
        place.pg_url = pg_url
        place.pg_schema = f"agno_nb_bench_{uuid.uuid4().hex[:8]}"
    with_agno = backend != "duckdb"
    figures: list[Figure] = []
    try:
        for case in CASES:
            if only and case.__name__ not in only:
                continue
            started = time.perf_counter()
            try:
                figures.extend(case(place, sizes, with_agno))
            except Exception as exc:
                line = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                figures.append(Figure(case.__name__, case.__name__, "", note=f"error: {line}"))
                traceback.print_exc(file=sys.stderr)
            print(
                f"  [{backend}] {case.__name__} done in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    finally:
        if backend == "postgres":
            _drop_pg_schemas(place)
    judge(figures, backend=backend)
    return figures


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "x" or abs(value) < 10:
        return f"{value:.2f}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"


def format_table(backend: str, figures: list[Figure], *, quick: bool) -> str:
    """The report of one backend as aligned text."""
    rows = [("figure", "unit", "agno_nb", "agno 1.8.4", "ratio", "target", "result")]
    for fig in figures:
        if fig.passed is None:
            result = "info"
        else:
            result = "PASS" if fig.passed else "FAIL"
            if backend != "sqlite" and fig.note == "":
                result = f"({result.lower()})"
        if fig.note:
            result += f"  {fig.note}"
        if fig.detail:
            result += f"  ({fig.detail})"
        ratio = "-" if fig.ratio is None else f"{fig.ratio:,.1f}x"
        target = fig.target if backend == "sqlite" else (f"({fig.target})" if fig.target else "")
        rows.append(
            (fig.label, fig.unit, _num(fig.ours, fig.unit), _num(fig.agno), ratio, target, result)
        )
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    lines = []
    title = f"== {backend}" + (" (quick sizes: a smoke run, targets not judged)" if quick else "")
    lines.append(title)
    for n, row in enumerate(rows):
        cells = [
            row[i].ljust(widths[i]) if i in (0, 1, 5) else row[i].rjust(widths[i]) for i in range(6)
        ]
        lines.append("  ".join(cells) + "  " + row[6])
        if n == 0:
            lines.append("-" * (sum(widths) + 2 * 6 + 6))
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description="agno_nb vs agno 1.8.4 storage benchmark"
    )
    parser.add_argument("--backend", choices=(*BACKENDS, "all"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help="small smoke sizes (< 1 minute)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--postgres-url", help="default: AGNO_NB_BENCH_POSTGRES_URL, ...")
    parser.add_argument(
        "--case", action="append", help="run only this case (repeatable), e.g. case_agno_turn"
    )
    parser.add_argument("--workdir", help="folder for the database files (default: a temp dir)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    args = parse_args(argv)
    sizes = Sizes.quick() if args.quick else Sizes()
    backends = list(BACKENDS) if args.backend == "all" else [args.backend]
    pg_url = postgres_url(args.postgres_url)
    report: dict[str, object] = {"quick": args.quick, "sizes": asdict(sizes), "backends": {}}
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="agno_nb_bench_", dir=args.workdir) as tmp:
        for backend in backends:
            if backend == "postgres":
                problem = _pg_problem(pg_url)
                if problem:
                    print(f"== postgres: skipped, no server ({problem})\n")
                    report["backends"][backend] = {"skipped": problem}  # type: ignore[index]
                    if args.backend == "postgres":
                        failures.append("postgres: no server")
                    continue
            figures = run_backend(backend, sizes, Path(tmp), pg_url, args.case)
            print(format_table(backend, figures, quick=args.quick) + "\n", flush=True)
            report["backends"][backend] = {f.key: asdict(f) for f in figures}  # type: ignore[index]
            missing = (
                [] if args.case else [k for k in FIGURE_KEYS if k not in {f.key for f in figures}]
            )
            for fig in figures:
                if fig.passed is False and (backend == "sqlite" or fig.note):
                    failures.append(f"{backend}: {fig.label} ({fig.note or fig.target})")
            failures.extend(f"{backend}: figure {k} missing" for k in missing)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    if failures:
        print("Targets not met:" if not args.quick else "Not met at quick sizes (informational):")
        for line in failures:
            print(f"  - {line}")
    else:
        print("All targets met." if not args.quick else "Smoke run complete.")
    return 0 if args.quick or not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
