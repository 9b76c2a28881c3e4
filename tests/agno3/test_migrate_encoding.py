"""What migrate writes on SQLite is byte for byte what agno's engine writes
(``json.dumps``), and the fingerprints it keeps are those of the stored rows,
however they are computed (issue 23: the same bytes, fewer Python calls)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from hypothesis import given, settings

from agno_nb.agno3 import migrate
from agno_nb.agno3.target import agno_json
from tests.agno3.strategies import json_values

_VALUES = json_values(size=4, leaves=25)


@settings(max_examples=400, deadline=None)
@given(_VALUES)
def test_agno_json_writes_what_json_dumps_writes(value: Any) -> None:
    assert agno_json(value) == json.dumps(value)


def test_agno_json_on_the_edges() -> None:
    for value in (
        "\x7f\x00\u2028\ud800",
        {"k": [1e-05, 1e-07, 1e16, -0.0, float("nan"), float("-inf")]},
        {3: "int key", True: "bool key", None: "none key", 2.5: "float key"},
        [[[[]]], {}, [{}]],
        10**40,
    ):
        assert agno_json(value) == json.dumps(value)


def _fingerprint_by_hand(path: Path, session_id: str) -> str:
    """The fingerprint ``guard.target_fingerprints`` documents, one update per row
    as it was first written: the session row, then each run row in run_id order."""
    con = sqlite3.connect(path)

    def columns(table: str) -> list[str]:  # JSON columns read as their text
        info = con.execute(f"PRAGMA table_info({table})").fetchall()
        return [f"CAST({r[1]} AS TEXT)" if r[2] == "JSON" else r[1] for r in info]

    try:
        names, run_names = columns("agno_sessions"), columns("agno_runs")
        row = con.execute(
            f"SELECT {', '.join(names)} FROM agno_sessions WHERE session_id = ?", (session_id,)
        ).fetchone()
        runs = con.execute(
            f"SELECT {', '.join(run_names)} FROM agno_runs WHERE session_id = ? ORDER BY run_id",
            (session_id,),
        ).fetchall()
    finally:
        con.close()
    text = repr(tuple(row)).encode()
    digest = hashlib.blake2b(text, digest_size=16)
    for run in runs:
        digest.update(b"\x1e" + repr(tuple(run)).encode())
    return f"{hashlib.blake2b(text, digest_size=8).hexdigest()}:{digest.hexdigest()}"


def test_stored_fingerprints_are_those_of_the_rows_as_stored(tmp_path: Path) -> None:
    from tests.agno_fixtures import PINNED_DB

    path = tmp_path / "agno.db"
    path.write_bytes(Path(PINNED_DB).read_bytes())
    report = migrate(f"sqlite:///{path}")
    assert report.ok and report.tables[0].target_runs > 0
    con = sqlite3.connect(path)
    kept = dict(con.execute("SELECT session_id, target_fingerprint FROM agno_nb_migrate_rows"))
    con.close()
    assert kept
    for session_id, fingerprint in kept.items():
        assert fingerprint == _fingerprint_by_hand(path, session_id), session_id
