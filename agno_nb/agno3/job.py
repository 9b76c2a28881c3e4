"""One source table's migration: batches, bookkeeping, conflicts and verification."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from agno_nb.agno3.convert import ConversionError, ConvertedSession, convert_session
from agno_nb.agno3.report import TableReport
from agno_nb.agno3.source import SourceRow, SourceTable, count_source
from agno_nb.agno3.target import Target, write_transaction

#: progress(sessions_done, sessions_total, table_name)
MigrateProgress = Callable[[int, int, str], None]


class TableJob:
    """One source table's migration into the target."""

    def __init__(
        self, source: SourceTable, key: str, target: Target, *, dry_run: bool, skip_bad: bool
    ) -> None:
        self.source = source
        self.key = key
        self.target = target
        self.t = target.tables
        self.dry_run = dry_run
        self.skip_bad = skip_bad
        self.report = TableReport(source=source.qualified, mode=source.mode, layout=source.version)
        #: per session: (runs, messages) in the source
        self.expected: dict[str, tuple[int, int]] = {}
        #: every source session id read
        self.seen: set[str] = set()

    def run(self, *, batch_size: int, progress: MigrateProgress | None) -> TableReport:
        """Migrate every batch (or plan it, in a dry run), then verify; returns the report."""
        with self.source.engine.connect() as conn:
            total = self.source.count(conn)
        started = int(time.time())
        if self.target.has(self.t.progress):
            with self.target.engine.connect() as conn:
                row = conn.execute(
                    sa.select(self.t.progress).where(self.t.progress.c.source == self.key)
                ).first()
            if row is not None and row.finished_at is None and row.last_session_id is not None:
                self.report.resumed_after = row.last_session_id
                started = int(row.started_at)
        done = 0
        for batch in self.source.batches(batch_size=batch_size):
            self._batch(batch, started=started)
            done += len(batch)
            if progress is not None:
                progress(done, total, self.source.qualified)
        if not self.dry_run:
            self._finish(started)
            self._verify()
        return self.report

    # -- one batch ------------------------------------------------------------------------

    def _batch(self, batch: list[SourceRow], *, started: int) -> None:
        """Plan one batch against the target and, unless a dry run, write it, all in
        one transaction (on SQLite holding the write lock from its start, so what
        was checked is what gets written)."""
        if self.dry_run:
            if self.target.has(self.t.rows) or self.target.has(self.t.sessions):
                with self.target.engine.connect() as conn:
                    self._plan(conn, batch)
            else:
                self._plan(None, batch)
            return
        with write_transaction(self.target.engine) as conn:
            convert, resync = self._plan(conn, batch)
            self._write_batch(conn, convert, resync, last=batch[-1].session_id, started=started)

    def _plan(
        self, conn: Connection | None, batch: list[SourceRow]
    ) -> tuple[list[tuple[SourceRow, ConvertedSession]], list[str]]:
        """Sort a batch into conflicts, unchanged, bad, new and changed sessions;
        returns the sessions to write and which of them replace earlier copies."""
        report = self.report
        ids = [r.session_id for r in batch]
        owned, existing = self._target_state(conn, ids)
        convert: list[tuple[SourceRow, ConvertedSession]] = []
        resync: list[str] = []
        for item in batch:
            report.sessions += 1
            self.seen.add(item.session_id)
            if item.error is not None:
                self._bad(item.session_id, item.error)
                continue
            runs, messages = count_source(item.row, self.source.mode)
            report.runs += runs
            report.messages += messages
            mine = owned.get(item.session_id)
            in_target = item.session_id in existing
            if mine is not None and mine[0] != self.key:
                report.conflicts.append(item.session_id)  # another source's session
                continue
            if in_target and mine is None:
                report.conflicts.append(item.session_id)  # not written by a migration
                continue
            if in_target and mine is not None and existing[item.session_id] != mine[2]:
                report.conflicts.append(item.session_id)  # agno 3.x changed it since
                continue
            self.expected[item.session_id] = (runs, messages)
            if in_target and mine is not None and mine[1] == item.fingerprint:
                report.unchanged += 1
                continue
            try:
                converted = convert_session(item.row, mode=self.source.mode)
            except ConversionError as exc:
                self.expected.pop(item.session_id)
                self._bad(item.session_id, str(exc))
                continue
            if mine is not None:
                resync.append(item.session_id)
            convert.append((item, converted))
        convert = self._run_conflicts(conn, convert)
        written = {i.session_id for i, _ in convert}
        for item, converted in convert:
            if item.session_id in resync:
                report.resynced += 1
            else:
                report.new += 1
            report.runs_written += len(converted.runs)
        return convert, [s for s in resync if s in written]

    def _bad(self, session_id: str, message: str) -> None:
        if not self.skip_bad:
            raise ConversionError(message)
        self.report.bad.append(session_id)

    def _target_state(
        self, conn: Connection | None, ids: list[str]
    ) -> tuple[dict[str, tuple[str, str, int | None]], dict[str, int | None]]:
        """(bookkeeping rows: source, fingerprint, updated_at written; target
        sessions' updated_at) for a batch of ids."""
        t = self.t
        owned: dict[str, tuple[str, str, int | None]] = {}
        existing: dict[str, int | None] = {}
        if conn is not None and self.target.has(t.rows):
            query = sa.select(
                t.rows.c.session_id,
                t.rows.c.source,
                t.rows.c.fingerprint,
                t.rows.c.target_updated_at,
            ).where(t.rows.c.session_id.in_(ids))
            owned = {r[0]: (r[1], r[2], r[3]) for r in conn.execute(query)}
        if conn is not None and self.target.has(t.sessions):
            query = sa.select(t.sessions.c.session_id, t.sessions.c.updated_at).where(
                t.sessions.c.session_id.in_(ids)
            )
            existing = {r[0]: r[1] for r in conn.execute(query)}
        return owned, existing

    def _run_conflicts(
        self, conn: Connection | None, convert: list[tuple[SourceRow, ConvertedSession]]
    ) -> list[tuple[SourceRow, ConvertedSession]]:
        """Drop sessions whose run ids belong to another target session."""
        if conn is None or not convert or not self.target.has(self.t.runs):
            return convert
        run_ids = [r["run_id"] for _, c in convert for r in c.runs]
        if not run_ids:
            return convert
        runs = self.t.runs
        taken: dict[str, str] = {}
        for start in range(0, len(run_ids), 900):
            chunk = run_ids[start : start + 900]
            query = sa.select(runs.c.run_id, runs.c.session_id).where(runs.c.run_id.in_(chunk))
            taken.update({r[0]: r[1] for r in conn.execute(query)})
        if not taken:
            return convert
        kept = []
        for item, converted in convert:
            if any(
                taken.get(r["run_id"], item.session_id) != item.session_id for r in converted.runs
            ):
                self.report.conflicts.append(item.session_id)
                self.expected.pop(item.session_id, None)
            else:
                kept.append((item, converted))
        return kept

    def _write_batch(
        self,
        conn: Connection,
        convert: list[tuple[SourceRow, ConvertedSession]],
        replace: list[str],
        *,
        last: str,
        started: int,
    ) -> None:
        """One transaction: replaced sessions out, the batch's sessions, runs,
        bookkeeping rows and progress record in."""
        t = self.t
        now = int(time.time())
        write_ids = [item.session_id for item, _ in convert]
        gone = sorted(set(replace) | set(write_ids))
        if gone:
            for start in range(0, len(gone), 900):
                chunk = gone[start : start + 900]
                conn.execute(t.runs.delete().where(t.runs.c.session_id.in_(chunk)))
                if replace:
                    conn.execute(t.sessions.delete().where(t.sessions.c.session_id.in_(chunk)))
                conn.execute(t.rows.delete().where(t.rows.c.session_id.in_(chunk)))
        if convert:
            self._insert(conn, t.sessions, [c.session for _, c in convert])
            run_rows = [r for _, c in convert for r in c.runs]
            if run_rows:
                self._insert(conn, t.runs, run_rows)
            conn.execute(
                t.rows.insert(),
                [
                    {
                        "session_id": item.session_id,
                        "source": self.key,
                        "fingerprint": item.fingerprint,
                        "source_updated_at": item.updated_at,
                        "target_updated_at": c.session["updated_at"],
                        "runs": len(c.runs),
                        "messages": c.messages,
                        "migrated_at": now,
                    }
                    for item, c in convert
                ],
            )
        self._progress(conn, last=last, started=started, finished=None)

    def _insert(self, conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """INSERT ``rows``. On SQLite the JSON is encoded here, as agno's engine does
        (``json.dumps`` with its default separators; a key given as None is JSON
        ``null``, a key left out is SQL NULL), and the rows go to the driver's
        executemany in one call; elsewhere through SQLAlchemy's JSON types."""
        if self.t.backend != "sqlite":
            conn.execute(table.insert(), rows)
            return
        plain = [c.name for c in table.columns if not isinstance(c.type, sa.JSON)]
        json_columns = [c.name for c in table.columns if isinstance(c.type, sa.JSON)]
        columns = plain + json_columns
        dumps = json.dumps
        params = [
            (
                *[row.get(c) for c in plain],
                *[dumps(row[c]) if c in row else None for c in json_columns],
            )
            for row in rows
        ]
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', params)

    def _progress(
        self, conn: Connection, *, last: str | None, started: int, finished: int | None
    ) -> None:
        p = self.t.progress
        conn.execute(p.delete().where(p.c.source == self.key))
        conn.execute(
            p.insert().values(
                source=self.key,
                last_session_id=last,
                sessions_done=self.report.sessions,
                runs_done=self.report.runs_written,
                started_at=started,
                updated_at=int(time.time()),
                finished_at=finished,
            )
        )

    def _finish(self, started: int) -> None:
        with self.target.engine.begin() as conn:
            self._progress(conn, last=None, started=started, finished=int(time.time()))

    # -- verification ---------------------------------------------------------------------

    def _verify(self) -> None:
        """Count sessions, runs and messages in the target, per session, and compare
        them with the source."""
        t = self.t
        report = self.report
        messages: Any
        if self.target.tables.backend == "postgres":
            messages = sa.case(
                (
                    sa.func.jsonb_typeof(t.runs.c.run_data["messages"]) == "array",
                    sa.func.jsonb_array_length(t.runs.c.run_data["messages"]),
                ),
                else_=0,
            )
        else:
            messages = sa.func.coalesce(
                sa.func.json_array_length(t.runs.c.run_data, "$.messages"), 0
            )
        owned = sa.select(t.rows.c.session_id).where(t.rows.c.source == self.key)
        with self.target.engine.connect() as conn:
            sessions = {
                r[0]
                for r in conn.execute(
                    sa.select(t.sessions.c.session_id).where(t.sessions.c.session_id.in_(owned))
                )
            }
            counts = {
                r[0]: (int(r[1]), int(r[2] or 0))
                for r in conn.execute(
                    sa.select(t.runs.c.session_id, sa.func.count(), sa.func.sum(messages))
                    .where(t.runs.c.session_id.in_(owned))
                    .group_by(t.runs.c.session_id)
                )
            }
        report.gone_from_source = sorted(sessions - self.seen)
        sessions &= set(self.expected)
        report.target_sessions = len(sessions)
        report.target_runs = sum(counts.get(s, (0, 0))[0] for s in sessions)
        report.target_messages = sum(counts.get(s, (0, 0))[1] for s in sessions)
        missing = sorted(set(self.expected) - sessions)
        if missing:
            report.verified = False
            report.mismatch = (
                f"{len(missing)} sessions missing in the target (first: {missing[0]!r})"
            )
            return
        for sid, want in self.expected.items():
            got = counts.get(sid, (0, 0))
            if got != want:
                report.verified = False
                report.mismatch = (
                    f"session {sid!r} has {got[0]} runs / {got[1]} messages in the target, "
                    f"{want[0]} / {want[1]} in the source"
                )
                return
        report.verified = True
