"""One source table's migration: batches, bookkeeping, conflicts and verification."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from agno_nb.agno3.convert import ConversionError, ConvertedSession, convert_session
from agno_nb.agno3.guard import only_runs_lost, target_fingerprints, unstorable
from agno_nb.agno3.identity import same_identity
from agno_nb.agno3.report import TableReport
from agno_nb.agno3.runs import rename_run
from agno_nb.agno3.source import SourceRow, SourceTable, count_source
from agno_nb.agno3.target import Target, write_transaction
from agno_nb.agno3.verify import run_counts
from agno_nb.agno3.written import insert_rows, written_fingerprints
from agno_nb.errors import AgnoNbError

#: A bookkeeping fingerprint that makes the next rerun rewrite the session
#: (verification found its target rows incomplete).
REPAIR = "repair"


class Owned(NamedTuple):
    """A bookkeeping row: which source wrote a target session, and how."""

    source: str
    fingerprint: str
    target_updated_at: int | None
    target_fingerprint: str | None
    location: str | None


class TargetNow(NamedTuple):
    """A target session as it is now."""

    fingerprint: str
    updated_at: int | None


#: progress(sessions_done, sessions_total, table_name)
MigrateProgress = Callable[[int, int, str], None]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while one batch is read, converted and
    written, and on again between batches. A batch allocates tens of thousands
    of dicts that all live until it is written, which the collector traversed
    again and again (about 3% of a migration's instructions); they are freed by
    reference counting, and a cycle among them waits for the first collection
    after the batch. A collector the caller had switched off stays off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class TableJob:
    """One source table's migration into the target."""

    def __init__(
        self,
        source: SourceTable,
        key: str,
        target: Target,
        *,
        dry_run: bool,
        skip_bad: bool,
        location: str | None = None,
        resync_deleted: bool = False,
    ) -> None:
        self.source = source
        #: the source's identity in the bookkeeping (see ``identity.py``)
        self.key = key
        #: where it was read this time (file, server), for the report
        self.location = location
        self.target = target
        self.t = target.tables
        self.dry_run = dry_run
        self.skip_bad = skip_bad
        self.resync_deleted = resync_deleted
        self.report = TableReport(source=source.qualified, mode=source.mode, layout=source.version)
        #: per session: (runs, messages) in the source
        self.expected: dict[str, tuple[int, int]] = {}
        #: every source session id read
        self.seen: set[str] = set()
        #: run ids written in this migration, by session (a copy's runs are renamed)
        self.claimed: dict[str, str] = {}

    def run(self, *, batch_size: int, progress: MigrateProgress | None) -> TableReport:
        """Migrate every batch (or plan it, in a dry run), then verify; returns the report."""
        with self.source.engine.connect() as conn:
            total = self.source.count(conn)
        started = int(time.time())
        if not self.dry_run:
            self._adopt_old_keys()
        if self.target.has(self.t.progress):
            with self.target.engine.connect() as conn:
                row = conn.execute(
                    sa.select(self.t.progress).where(self.t.progress.c.source == self.key)
                ).first()
            if row is not None and row.finished_at is None and row.last_session_id is not None:
                self.report.resumed_after = row.last_session_id
                started = int(row.started_at)
        if batch_size < 1:
            raise AgnoNbError(f"--batch-size must be 1 or more (got {batch_size})")
        done = 0
        batches = self.source.batches(batch_size=batch_size)
        while True:
            with _collector_paused():
                batch = next(batches, None)
                if batch is None:
                    break
                self._batch(batch, started=started)
                done += len(batch)
                del batch  # freed before the collector runs again, not traversed by it
            if progress is not None:
                progress(done, total, self.source.qualified)
        if not self.dry_run:
            self._finish(started)
            self._verify()
        return self.report

    def _adopt_old_keys(self) -> None:
        """Bookkeeping an earlier version keyed by URL (``sqlite:/path#table``) is
        rekeyed to this table's identity, so verification and resumes find it."""
        t = self.t
        if not (self.target.has(t.rows) and self.target.has(t.progress)):
            return
        with write_transaction(self.target.engine) as conn:
            self._take_turn(conn)
            keys = {r[0] for r in conn.execute(sa.select(t.rows.c.source).distinct())}
            keys |= {r[0] for r in conn.execute(sa.select(t.progress.c.source))}
            old = [k for k in keys if k != self.key and same_identity(k, self.key)]
            if not old:
                return
            conn.execute(t.rows.update().where(t.rows.c.source.in_(old)).values(source=self.key))
            if conn.execute(
                sa.select(sa.func.count()).where(t.progress.c.source == self.key)
            ).scalar_one():
                conn.execute(t.progress.delete().where(t.progress.c.source.in_(old)))
            else:
                newest = conn.execute(
                    sa.select(t.progress.c.source)
                    .where(t.progress.c.source.in_(old))
                    .order_by(t.progress.c.updated_at.desc())
                    .limit(1)
                ).scalar()
                conn.execute(
                    t.progress.delete().where(
                        t.progress.c.source.in_([k for k in old if k != newest])
                    )
                )
                if newest is not None:
                    conn.execute(
                        t.progress.update()
                        .where(t.progress.c.source == newest)
                        .values(source=self.key)
                    )

    def _take_turn(self, conn: Connection) -> None:
        """Postgres: one bookkeeping transaction at a time per target schema, so
        concurrent migrations wait instead of racing on the same new rows."""
        turn = self.t.dialect.named_lock(f"agno_nb migrate {self.t.schema}")
        if turn is not None:
            conn.execute(turn)

    def _owned(self, recorded: str) -> bool:
        return same_identity(recorded, self.key)

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
            self._take_turn(conn)
            convert, resync = self._plan(conn, batch)
            self._write_batch(conn, convert, resync, last=batch[-1].session_id, started=started)

    def _plan(
        self, conn: Connection | None, batch: list[SourceRow]
    ) -> tuple[list[tuple[SourceRow, ConvertedSession]], list[str]]:
        """Sort a batch into conflicts, unchanged, bad, new and changed sessions;
        returns the sessions to write and which of them replace earlier copies.

        A target session is this migration's to replace only while its rows are
        exactly as the migration wrote them (their fingerprint): one agno 3.x
        changed or deleted since is a conflict, listed and left as it is
        (``resync_deleted`` re-creates deleted ones). Sessions whose target rows
        verification found incomplete are repaired."""
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
            now = existing.get(item.session_id)
            if mine is None:
                if now is not None:
                    report.conflicts.append(item.session_id)  # not written by a migration
                    continue
            elif not self._owned(mine.source):  # another source table's session
                where = report.conflicts if now is not None else report.deleted_in_target
                where.append(item.session_id)
                report.other_sources.add(mine.location or mine.source)
                continue
            elif now is None:
                if not self.resync_deleted:  # agno 3.x deleted it: left deleted
                    report.deleted_in_target.append(item.session_id)
                    continue
            elif mine.fingerprint != REPAIR and not self._untouched(mine, now):
                if not self._damaged(mine, now):
                    report.conflicts.append(item.session_id)  # agno 3.x changed it since
                    continue
                # its runs were deleted by hand: verification says so, a rerun repairs
                self.expected[item.session_id] = (runs, messages)
                report.unchanged += 1
                continue
            if mine is not None and mine.location and self.location != mine.location:
                report.moved_from.add(mine.location)
            self.expected[item.session_id] = (runs, messages)
            if now is not None and mine is not None and mine.fingerprint == item.fingerprint:
                report.unchanged += 1
                continue
            try:
                converted = convert_session(item.row, mode=self.source.mode)
                why = unstorable([converted.session, converted.runs], self.t.backend)
            except ConversionError as exc:
                self.expected.pop(item.session_id)
                self._bad(item.session_id, str(exc))
                continue
            except RecursionError:
                why = "its JSON nests too deep to convert"
            if why is not None:
                self.expected.pop(item.session_id)
                self._bad(
                    item.session_id,
                    f"session {item.session_id!r} cannot be stored in agno 3.x's "
                    f"{self.t.backend} tables: {why}; fix or delete that row, or rerun with "
                    "skip_bad=True (--skip-bad) to list it",
                )
                continue
            if mine is not None:
                resync.append(item.session_id)
            convert.append((item, converted))
        self._rename_shared_runs(conn, convert)
        for item, converted in convert:
            if item.session_id in resync:
                report.resynced += 1
            else:
                report.new += 1
            report.runs_written += len(converted.runs)
        return convert, resync

    @staticmethod
    def _damaged(mine: Owned, now: TargetNow) -> bool:
        return mine.target_fingerprint is not None and only_runs_lost(
            mine.target_fingerprint, now.fingerprint
        )

    @staticmethod
    def _untouched(mine: Owned, now: TargetNow) -> bool:
        """Whether the target rows are as the migration wrote them: by their
        fingerprint, or (bookkeeping of an earlier version) by ``updated_at``."""
        if mine.target_fingerprint is not None:
            return now.fingerprint == mine.target_fingerprint
        return now.updated_at == mine.target_updated_at

    def _bad(self, session_id: str, message: str) -> None:
        if not self.skip_bad:
            raise ConversionError(message)
        self.report.bad.append(session_id)

    def _target_state(
        self, conn: Connection | None, ids: list[str]
    ) -> tuple[dict[str, Owned], dict[str, TargetNow]]:
        """(bookkeeping rows, target sessions now) for a batch of ids; on Postgres
        the target rows read stay locked until the batch commits."""
        t = self.t
        owned: dict[str, Owned] = {}
        existing: dict[str, TargetNow] = {}
        if conn is None:
            return owned, existing
        lock = not self.dry_run
        if self.target.has(t.rows):
            columns = [t.rows.c.session_id, t.rows.c.source, t.rows.c.fingerprint]
            columns.append(t.rows.c.target_updated_at)
            has_new = self.target.bookkeeping_current
            if has_new:
                columns += [t.rows.c.target_fingerprint, t.rows.c.location]
            query = sa.select(*columns).where(t.rows.c.session_id.in_(ids))
            if lock:
                query = t.dialect.for_update(query)
            for r in conn.execute(query):
                owned[r[0]] = Owned(
                    source=r[1],
                    fingerprint=r[2],
                    target_updated_at=r[3],
                    target_fingerprint=r[4] if has_new else None,
                    location=r[5] if has_new else None,
                )
        if self.target.has(t.sessions):
            prints = target_fingerprints(conn, t, ids, lock=lock)
            query = sa.select(t.sessions.c.session_id, t.sessions.c.updated_at).where(
                t.sessions.c.session_id.in_(ids)
            )
            for sid, updated in conn.execute(query):
                existing[sid] = TargetNow(prints.get(sid, ""), updated)
        return owned, existing

    def _rename_shared_runs(
        self, conn: Connection | None, convert: list[tuple[SourceRow, ConvertedSession]]
    ) -> None:
        """A run id another session holds (in the target, or earlier in this
        migration: a conversation copied to branch it) gets a derived id in this
        session, its original kept in the run's ``metadata["agno_v1"]["run_id"]``.
        Deterministic: a rerun derives the same id."""
        if not convert:
            return
        run_ids = [r["run_id"] for _, c in convert for r in c.runs]
        taken: dict[str, str] = {}
        if conn is not None and run_ids and self.target.has(self.t.runs):
            runs = self.t.runs
            for start in range(0, len(run_ids), 900):
                chunk = run_ids[start : start + 900]
                query = sa.select(runs.c.run_id, runs.c.session_id).where(runs.c.run_id.in_(chunk))
                taken.update({r[0]: r[1] for r in conn.execute(query)})
        for item, converted in convert:
            sid = item.session_id
            for index, run in enumerate(converted.runs):
                run_id = run["run_id"]
                owner = taken.get(run_id, self.claimed.get(run_id, sid))
                if owner != sid:
                    rename_run(run, sid, index)
                self.claimed[run["run_id"]] = sid
                taken.setdefault(run["run_id"], sid)

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
                conn.execute(t.rows.delete().where(t.rows.c.session_id.in_(chunk)))
        if convert:
            rows = [c.session for _, c in convert]
            bound = insert_rows(conn, t, t.sessions, rows, upsert=bool(replace))
            run_rows = [r for _, c in convert for r in c.runs]
            bound_runs = insert_rows(conn, t, t.runs, run_rows) if run_rows else []
            # as stored, to compare later: from the values bound where the database
            # keeps them as given, else read back
            written = written_fingerprints(conn, t, write_ids, bound, bound_runs)
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
                        "target_fingerprint": written.get(item.session_id),
                        "location": self.location,
                    }
                    for item, c in convert
                ],
            )
        self._progress(conn, last=last, started=started, finished=None)

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
        with write_transaction(self.target.engine) as conn:
            self._take_turn(conn)
            self._progress(conn, last=None, started=started, finished=int(time.time()))

    # -- verification ---------------------------------------------------------------------

    def _verify(self) -> None:
        """Compare the target with the source: every session the source holds was
        read (its own ``count(*)``), and each session this run expects in the
        target is there with the source's runs and messages. Sessions found
        incomplete are marked, so the next rerun rewrites them."""
        t = self.t
        report = self.report
        with self.source.engine.connect() as conn:
            in_source = self.source.count(conn)
        owned = sa.select(t.rows.c.session_id).where(t.rows.c.source == self.key)
        with self.target.engine.connect() as conn:
            sessions = {
                r[0]
                for r in conn.execute(
                    sa.select(t.sessions.c.session_id).where(t.sessions.c.session_id.in_(owned))
                )
            }
            counts = run_counts(conn, t, owned)
            conflicts_missing = [
                s for s in report.conflicts if s not in self._present(conn, report.conflicts)
            ]
        report.gone_from_source = sorted(sessions - self.seen)
        sessions &= set(self.expected)
        report.target_sessions = len(sessions)
        report.target_runs = sum(counts.get(s, (0, 0))[0] for s in sessions)
        report.target_messages = sum(counts.get(s, (0, 0))[1] for s in sessions)
        report.source_sessions = in_source
        problems: list[str] = []
        if in_source > len(self.seen):
            problems.append(f"the source holds {in_source} sessions and {len(self.seen)} were read")
        if conflicts_missing:
            problems.append(
                f"{len(conflicts_missing)} sessions listed as conflicts are not in the target "
                f"(first: {conflicts_missing[0]!r})"
            )
        missing = sorted(set(self.expected) - sessions)
        if missing:
            problems.append(
                f"{len(missing)} sessions missing in the target (first: {missing[0]!r})"
            )
        wrong = [
            s
            for s, want in self.expected.items()
            if s in sessions and counts.get(s, (0, 0)) != want
        ]
        if wrong:
            sid = wrong[0]
            got, want = counts.get(sid, (0, 0)), self.expected[sid]
            problems.append(
                f"session {sid!r} has {got[0]} runs / {got[1]} messages in the target, "
                f"{want[0]} / {want[1]} in the source"
            )
        if missing or wrong:
            self._mark_for_repair([*missing, *wrong])
        report.verified = not problems
        report.mismatch = "; ".join(problems) or None

    def _present(self, conn: Connection, ids: list[str]) -> set[str]:
        t = self.t
        found: set[str] = set()
        for start in range(0, len(ids), 900):
            query = sa.select(t.sessions.c.session_id).where(
                t.sessions.c.session_id.in_(ids[start : start + 900])
            )
            found.update(r[0] for r in conn.execute(query))
        return found

    def _mark_for_repair(self, ids: list[str]) -> None:
        """The next rerun rewrites these sessions (their fingerprint becomes REPAIR)."""
        rows = self.t.rows
        with write_transaction(self.target.engine) as conn:
            self._take_turn(conn)
            for start in range(0, len(ids), 900):
                conn.execute(
                    rows.update()
                    .where(rows.c.session_id.in_(ids[start : start + 900]))
                    .where(rows.c.source == self.key)
                    .values(fingerprint=REPAIR)
                )
