"""The options of ``agno-nb migrate`` and ``%agno_migrate`` (one parser for both)."""

from __future__ import annotations

import argparse
from typing import Any

from agno_nb.agno3.migrate import MigrateProgress, migrate
from agno_nb.agno3.report import MigrationReport


def add_migrate_arguments(parser: argparse.ArgumentParser, *, url_required: bool = True) -> None:
    """Add migrate's arguments to ``parser`` (the URL is optional for the magic,
    which then uses the open storage)."""
    parser.add_argument(
        "source_url",
        nargs=None if url_required else "?",
        help="the agno 1.x database: sqlite:///f.db, postgresql+psycopg://...; a bare path "
        "means SQLite",
    )
    parser.add_argument(
        "--table",
        action="append",
        dest="tables",
        metavar="T",
        help="a 1.x session table (agent, team or workflow, recognised from its columns); "
        "repeat for several (default agent_sessions)",
    )
    parser.add_argument("--schema", help="the source tables' schema (Postgres)")
    parser.add_argument(
        "--target", help="where agno 3.x's tables go (default: the source database)"
    )
    parser.add_argument(
        "--target-schema", help="their schema on Postgres (default ai, as agno's PostgresDb)"
    )
    parser.add_argument(
        "--memory-table", help="an agno 1.x memory table to move into agno_memories too"
    )
    parser.add_argument("--batch-size", type=int, default=1000, help="sessions per transaction")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the plan and the DDL; write nothing"
    )
    parser.add_argument(
        "--resync-deleted",
        action="store_true",
        help="re-create sessions a previous migration wrote and agno 3.x deleted since "
        "(by default they are listed and left deleted)",
    )
    parser.add_argument(
        "--skip-bad",
        action="store_true",
        help="list rows that cannot be converted in the report instead of stopping",
    )


def as_url(text: str) -> str:
    """A URL as given, or a bare path as a SQLite URL."""
    return text if "://" in text else f"sqlite:///{text}"


def run_migrate(
    args: argparse.Namespace, *, progress: MigrateProgress | None = None, **overrides: Any
) -> MigrationReport:
    """Call :func:`agno_nb.agno3.migrate` with parsed options."""
    options: dict[str, Any] = {
        "tables": tuple(args.tables or ("agent_sessions",)),
        "schema": args.schema,
        "target_url": as_url(args.target) if args.target else None,
        "target_schema": args.target_schema,
        "dry_run": args.dry_run,
        "skip_bad": args.skip_bad,
        "batch_size": args.batch_size,
        "memory_table": args.memory_table,
        "progress": progress,
        "resync_deleted": args.resync_deleted,
    }
    options.update(overrides)
    return migrate(as_url(args.source_url), **options)
