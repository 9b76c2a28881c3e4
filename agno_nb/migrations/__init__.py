"""Versioned schema upgrades: an ordered, append-only list of steps.

``MIGRATIONS[i]`` takes a table from layout ``i`` to ``i + 1``; a step is
never edited once released, only new ones appended. :func:`plan` builds the
dry-run plan (the SQL of every pending step) without touching a database;
the storage applies it step by step, each step in one transaction together
with its version stamp.
"""

from __future__ import annotations

from agno_nb.migrations.plan import PlannedStep, UpgradePlan, changes_nothing_from, plan
from agno_nb.migrations.sql import StepStats, TableRef, dialect_for
from agno_nb.migrations.steps import MIGRATIONS, Migration

__all__ = [
    "MIGRATIONS",
    "Migration",
    "PlannedStep",
    "StepStats",
    "TableRef",
    "UpgradePlan",
    "changes_nothing_from",
    "dialect_for",
    "plan",
]
