"""agno 3.x's tables, and ``migrate()``: agno 1.x sessions into them, losing nothing.

``migrate(source_url, ...)`` is what ``agno-nb migrate`` and ``%agno_migrate``
call; see :mod:`agno_nb.agno3.migrate`.
"""

from __future__ import annotations

from agno_nb.agno3.convert import ConversionError, ConvertedSession, convert_session
from agno_nb.agno3.migrate import VerificationError, migrate
from agno_nb.agno3.report import MigrationReport, TableReport
from agno_nb.agno3.tables import TargetTables

__all__ = [
    "ConversionError",
    "ConvertedSession",
    "MigrationReport",
    "TableReport",
    "TargetTables",
    "VerificationError",
    "convert_session",
    "migrate",
]
