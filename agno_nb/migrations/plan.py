"""Upgrade plans: what would run, as SQL, computed without a database."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agno_nb.migrations.fused import Fused, steps_for
from agno_nb.migrations.sql import TableRef, dialect_for
from agno_nb.migrations.steps import MIGRATIONS
from agno_nb.schema import LATEST_VERSION
from agno_nb.words import counted

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

#: Sessions per second each data-moving step processes while it holds the
#: table's write lock, measured on SQLite on the 2-core CI machine (bench/: the
#: v1 -> v3 upgrade of 3-run sessions, about 7,000/s; v3 -> v4 alone, see
#: bench/README.md). Postgres and DuckDB are of the same order. Steps missing
#: here (and from :data:`BACKEND_SESSIONS_PER_S`) change only the schema and
#: take well under a second.
SESSIONS_PER_S: dict[int, float] = {2: 7_000.0, 4: 9_000.0}
#: The same for steps that move data on one backend only: v4 -> v5 rewrites the
#: runs table on Postgres (12,000-17,000 sessions of 3 runs of ~2 KB a second on
#: the CI machine, 20,000 sessions; it only stamps elsewhere). v5 -> v6 rewrites
#: the sessions table (summary columns only: the runs stay in their table) and
#: rebuilds its three listing indexes on Postgres: 25,000-34,000 sessions a
#: second on the same machine under a load of 4 (20,000 sessions of 3 runs,
#: three runs), taken as 25,000 (it only stamps on SQLite; on DuckDB it adds and
#: fills one column).
BACKEND_SESSIONS_PER_S: dict[tuple[int, str], float] = {
    (5, "postgres"): 12_000.0,
    (6, "postgres"): 25_000.0,
}
#: The same for v2..v5 applied as one step from v1 (``migrations.fused``, what
#: ``upgrade_schema()`` does from v1 or v0): one pass that moves the runs and
#: fills the search text, measured on SQLite at the rate ``85e69d9``'s v1 -> v3
#: upgrade had (bench/README.md, issue 23); on Postgres it also saves v5's
#: rewrite of the runs table.
FUSED_SESSIONS_PER_S = 7_000.0


def sessions_per_s(version: int, backend: str) -> float:
    """How many sessions a second the step to ``version`` processes on ``backend``
    (infinite for a step that changes only the schema there)."""
    return BACKEND_SESSIONS_PER_S.get((version, backend), SESSIONS_PER_S.get(version, float("inf")))


@dataclass
class PlannedStep:
    """One step of a plan: the layout it produces and the SQL it runs."""

    version: int
    description: str
    sql: list[str] = field(default_factory=list)


@dataclass
class UpgradePlan:
    """The result of ``upgrade_schema()``: what was (or would be) done."""

    table: str
    backend: str
    from_version: int | None
    to_version: int
    steps: list[PlannedStep] = field(default_factory=list)
    dry_run: bool = True
    applied: bool = False
    sessions_migrated: int = 0
    runs_moved: int = 0
    #: (session_id, why) of rows left as they were (``skip_corrupt=True``); their
    #: runs stay in their JSON, and reads take them from there
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: sessions in the table when the plan was made (None: not counted)
    sessions: int | None = None

    @property
    def expected_lock_s(self) -> float | None:
        """About how long applying the plan holds the table's write lock (each
        step holds it while it runs): the session count over each data step's
        measured rate, v2..v5 from v1 counted as the one step they are applied as.
        None when the sessions were not counted."""
        if self.sessions is None:
            return None
        if self.from_version is None or not self.steps:
            return 0.0
        total = 0.0
        for step in steps_for(self.from_version, self.to_version):
            if isinstance(step, Fused):
                total += self.sessions / FUSED_SESSIONS_PER_S
            else:
                total += self.sessions / sessions_per_s(step.version, self.backend)
        return total

    @property
    def state(self) -> str:
        """``dry run, nothing changed`` or ``not applied`` for a plan not applied."""
        return "dry run, nothing changed" if self.dry_run else "not applied"

    @property
    def lock_note(self) -> str | None:
        """``expected write lock: about 0.4 s for 3,000 sessions; ...``, the one line
        saying how long applying the plan holds the table (None when applied, when no
        step remains, or when the sessions were not counted)."""
        lock = self.expected_lock_s
        if lock is None or self.applied or not self.steps or self.sessions is None:
            return None
        return (
            f"expected write lock: about {max(lock, 0.1):.1f} s for "
            f"{counted(self.sessions, 'session')}; writers wait meanwhile (SQLite writers "
            "give up after 30 s): run it when the table is quiet"
        )

    @property
    def pending(self) -> bool:
        """True when steps remain to be applied."""
        return bool(self.steps) and not self.applied

    def __str__(self) -> str:
        start = "missing" if self.from_version is None else f"v{self.from_version}"
        head = f"{self.backend} table {self.table}: layout {start} -> v{self.to_version}"
        if not self.steps:
            done = ""
            if self.sessions_migrated:
                done = (
                    f"; moved the runs of {counted(self.sessions_migrated, 'session')} an "
                    f"earlier upgrade skipped ({counted(self.runs_moved, 'run')})"
                )
            if self.skipped:
                done += f"; still skipped: {describe_rows(self.skipped)}"
            return head + f" (up to date{done or ', nothing to do'})"
        if self.applied:
            state = (
                f"applied: {counted(len(self.steps), 'step')}, "
                f"{counted(self.sessions_migrated, 'session')}, "
                f"{counted(self.runs_moved, 'run')} moved"
            )
            if self.skipped:
                state += f", {counted(len(self.skipped), 'session')} skipped: " + describe_rows(
                    self.skipped
                )
        else:
            state = self.state
        lines = [f"{head} ({state})"]
        lock = self.lock_note
        if lock is not None:
            lines.append(f"  {lock}")
        for step in self.steps:
            lines.append(f"  step v{step.version}: {step.description}")
            lines.extend(f"    {stmt}" for stmt in step.sql)
        return "\n".join(lines)


def changes_nothing_from(version: int, ref: TableRef, dialect: Dialect) -> bool:
    """Whether every step after ``version`` leaves a table at ``version`` as it is
    on ``dialect`` (such a table already has the latest layout's shape)."""
    return all(m.changes_nothing(ref, dialect) for m in MIGRATIONS[version:])


def describe_rows(rows: list[tuple[str, str]], *, most: int = 5) -> str:
    """``'id' (why), ...`` for the first ``most`` rows, then how many more."""
    shown = ", ".join(f"{sid!r} ({why})" for sid, why in rows[:most])
    return shown + (f" and {len(rows) - most} more" if len(rows) > most else "")


def plan(
    ref: TableRef, from_version: int | None, *, to_version: int = LATEST_VERSION
) -> UpgradePlan:
    """The plan taking ``ref`` from ``from_version`` to ``to_version``.

    ``from_version=None`` means the table does not exist yet (nothing to
    upgrade: it will be created at the target layout).
    """
    result = UpgradePlan(
        table=ref.qualified, backend=ref.backend, from_version=from_version, to_version=to_version
    )
    if from_version is None:
        return result
    dialect = dialect_for(ref.backend)
    for migration in MIGRATIONS[from_version:to_version]:
        result.steps.append(
            PlannedStep(
                version=migration.version,
                description=migration.describe(ref),
                sql=migration.sql(ref, dialect),
            )
        )
    return result
