"""``migrate()``: agno 1.x session tables -> agno 3.x's ``agno_sessions`` + ``agno_runs``.

How it stays safe:

- the source is only read (plain SELECTs, primary-key order, keyset pages);
- each batch is one target transaction holding its sessions, their runs, one
  bookkeeping row per session (``agno_nb_migrate_rows``: source, fingerprint of
  the source row, the ``updated_at`` written) and the progress record
  (``agno_nb_migrate_progress``); a SIGKILL leaves whole batches only, and a
  rerun skips what is there already, so every session and run ends up once;
- a rerun is a no-op for unchanged sessions; a session whose source row changed
  is written again (its old runs replaced), so migrating while the app runs and
  syncing at cutover works;
- a target session that did not come from this migration (or that agno 3.x
  changed since) is never overwritten: it is a conflict, listed in the report;
- a row that cannot be converted stops the run with one line naming the
  session, unless ``skip_bad=True`` lists it in the report;
- at the end, sessions, runs and messages are counted in the source and read
  back from the target per session; a difference raises VerificationError.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from agno_nb.agno3.identity import source_identity, source_location
from agno_nb.agno3.job import MigrateProgress, TableJob
from agno_nb.agno3.labels import carry_labels
from agno_nb.agno3.report import MigrationReport
from agno_nb.agno3.source import SourceTable, open_source
from agno_nb.agno3.target import (
    backend_of,
    engine_for,
    missing_tables,
    open_target,
    sqlite_file,
)
from agno_nb.dialects import dialect_of
from agno_nb.errors import AgnoNbError, BackendUnavailableError
from agno_nb.schema import check_identifier, check_table_name
from agno_nb.urls import mask_url

DEFAULT_TARGET_SCHEMA = "ai"


class VerificationError(AgnoNbError):
    """After a migration, the target does not hold what the source holds."""

    def __init__(self, message: str, report: MigrationReport) -> None:
        super().__init__(message)
        self.report = report


def source_key(url: str, source: SourceTable) -> str:
    """How the bookkeeping names a source table: by the table, its name folded as
    its database folds names, however the URL or name was spelled (see ``identity.py``)."""
    return source_identity(source)


def migrate(
    source_url: str,
    *,
    tables: Sequence[str] = ("agent_sessions",),
    schema: str | None = None,
    target_url: str | None = None,
    target_schema: str | None = None,
    dry_run: bool = False,
    skip_bad: bool = False,
    batch_size: int = 1000,
    memory_table: str | None = None,
    progress: MigrateProgress | None = None,
    resync_deleted: bool = False,
) -> MigrationReport:
    """Move agno 1.x session tables into agno 3.x's tables, losing nothing.

    Args:
        source_url: SQLAlchemy URL of the database holding the 1.x tables
            (SQLite, Postgres; DuckDB as a source too).
        tables: source session tables (agent, team or workflow tables, any
            layout v0..v3; the kind is recognised from the columns).
        schema: the source tables' schema (Postgres).
        target_url: where agno 3.x's tables go; default the source database.
        target_schema: their schema on Postgres; default ``ai`` (agno's PostgresDb default).
        dry_run: only plan: tables to create (and their DDL), sessions and runs
            to move, conflicts already in the target. Nothing is written.
        skip_bad: list rows that cannot be converted in the report instead of stopping.
        batch_size: sessions per transaction.
        memory_table: an agno 1.x memory table (``agno.memory.v2``) to move into
            ``agno_memories`` as well.
        progress: called after each committed batch with (done, total, table).
        resync_deleted: re-create sessions this migration wrote and agno 3.x
            deleted since (by default they are conflicts, listed and left deleted).

    Returns:
        the report (the plan, with ``dry_run``): print it, or show it in Jupyter.

    Raises:
        ConversionError: a row cannot be converted (without ``skip_bad``).
        VerificationError: the target does not hold what the source holds.
        AgnoNbError: bad URL, missing table, unsupported target.
    """
    with _stopped_cleanly(source_url, target_url):
        started = time.perf_counter()
        source_backend = backend_of(source_url)
        target_url = target_url or source_url
        target_backend = backend_of(target_url)
        target_dialect = dialect_of(target_backend)
        if not target_dialect.holds_agno_tables:
            raise BackendUnavailableError(
                f"agno 3.x has no {target_backend} database: pass --target sqlite:///... or "
                "postgresql+psycopg://..."
            )
        if schema is not None:
            check_table_name(schema, what="schema name")
        if target_dialect.has_schemas:
            target_schema = check_identifier(
                target_schema or DEFAULT_TARGET_SCHEMA, what="target schema name"
            )
        elif target_schema is not None:
            raise AgnoNbError("--target-schema is for Postgres targets; SQLite has no schemas")
        for table in tables:
            check_table_name(table)
        if batch_size < 1:
            raise AgnoNbError(f"--batch-size must be 1 or more (got {batch_size})")
        if dialect_of(source_backend).file_based:
            path = sqlite_file(source_url)
            if path is None or not path.is_file():
                raise AgnoNbError(
                    f"no database file at {mask_url(source_url)!r}: check the path (nothing was "
                    "created)"
                )
        source_engine = engine_for(source_url, source_backend)
        same = target_url == source_url
        target = open_target(
            target_url, target_backend, target_schema, source_engine if same else None
        )
        report = MigrationReport(
            source_url=mask_url(source_url),
            target_url=mask_url(target_url),
            target_schema=target_schema,
            dry_run=dry_run,
        )
        try:
            sources = [open_source(source_engine, source_backend, t, schema=schema) for t in tables]
            missing = missing_tables(target, memories=memory_table is not None)
            report.created = [t.name for t in missing]
            report.ddl = target.tables.ddl(missing, target.engine.dialect)
            if not dry_run and (missing or not target.bookkeeping_current):
                with target.engine.begin() as conn:
                    target.tables.create(conn, memories=memory_table is not None)
                    target.tables.add_bookkeeping_columns(conn)
                target.exists = True
                target.bookkeeping_current = True
                target.present.update(report.created)
            for source in sources:
                job = TableJob(
                    source,
                    source_key(source_url, source),
                    target,
                    dry_run=dry_run,
                    skip_bad=skip_bad,
                    location=source_location(source_url, source),
                    resync_deleted=resync_deleted,
                )
                report.tables.append(job.run(batch_size=batch_size, progress=progress))
                if not dry_run:  # run labels (agno_nb_labels) follow their sessions
                    carry_labels(source, target, report.tables[-1])
            if memory_table is not None:
                from agno_nb.agno3.memories import migrate_memories

                check_table_name(memory_table)
                report.memories = migrate_memories(
                    source_engine,
                    source_backend,
                    memory_table,
                    schema,
                    target,
                    dry_run=dry_run,
                    skip_bad=skip_bad,
                    batch_size=batch_size,
                )
        finally:
            report.seconds = time.perf_counter() - started
            source_engine.dispose()
            if not same:
                target.engine.dispose()
        if not report.ok:
            parts = [*report.tables, *([report.memories] if report.memories else [])]
            bad = next(t for t in parts if t.verified is False)
            raise VerificationError(
                f"verification failed for {bad.source}: {bad.mismatch}; the target keeps what was "
                "written, rerun to retry (reruns never duplicate)",
                report,
            )
        return report


@contextmanager
def _stopped_cleanly(source_url: str, target_url: str | None) -> Iterator[None]:
    """A database error ends the migration in one line (passwords masked) that says
    the committed batches stay; agno_nb's own errors and bugs pass through."""
    try:
        yield
    except AgnoNbError:
        raise
    except Exception as exc:
        from agno_nb.connect import describe_error, is_expected_error

        if not is_expected_error(exc):
            raise  # a bug: keep its traceback
        line = describe_error(exc, url=source_url)
        if target_url:
            line = describe_error(AgnoNbError(line), url=target_url)
        raise BackendUnavailableError(
            f"migration stopped: {line}; batches committed before stay (a rerun continues "
            "without duplicating them)"
        ) from None
