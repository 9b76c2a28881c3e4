"""The benchmark runs end to end (``--quick``) and reports every figure.

Only completeness is checked here, never timings: speed numbers come from a
full ``python -m bench.run`` and are judged there.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: figure key -> whether agno 1.8.4 has a peer figure on SQLite
EXPECTED = {
    "upsert_new_sessions": True,
    "upsert_many_new_sessions": True,
    "upsert_same_pragmas": True,
    "append_run_1000": True,
    "append_run_10": False,
    "append_run_growth": False,
    "agno_turn_1000": True,
    "agno_turn_10": True,
    "agno_turn_growth": False,
    "cold_read_adapter_1000": True,
    "cold_read_own_1000": True,
    "cold_read_own_all_1000": True,
    "recent_20": True,
    "list_50": False,
    "upgrade_v1_v2": False,
    "read_1000_peak_mb": True,
    "read_1000_ms": True,
    "migrate_agno3": False,  # its peer is agno 3.1.10's own migration, when its venv is set
    "search_common_50": False,
    "search_rare_50": False,
    "search_nothing_50": False,
    "bulk_all_sessions_peak_mb": False,
    "bulk_messages_df_peak_mb": False,
    "upsert_alone_wall": False,
    "upsert_alone_cpu": False,
    "upgrade_alone_cpu": False,
}
#: figures that carry a target, so the report says PASS or FAIL for them
JUDGED = {
    "upsert_new_sessions",
    "append_run_1000",
    "append_run_growth",
    "agno_turn_1000",
    "agno_turn_growth",
    "cold_read_adapter_1000",
    "cold_read_own_1000",
    "recent_20",
    "list_50",
    "upgrade_v1_v2",
    "migrate_agno3",
}


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_quick_bench_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--quick",
            "--backend",
            "sqlite",
            "--json",
            str(out),
            "--workdir",
            str(tmp_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    assert report["quick"] is True
    figures = report["backends"]["sqlite"]
    assert set(figures) == set(EXPECTED), proc.stdout
    for key, has_peer in EXPECTED.items():
        fig = figures[key]
        assert fig["note"] == "", f"{key}: {fig['note']}"
        assert _positive(fig["ours"]), key
        if has_peer:
            assert _positive(fig["agno"]), key
            assert _positive(fig["ratio"]), key
        if key in JUDGED:
            assert fig["passed"] in (True, False), key
            assert fig["target"], key

    table = proc.stdout
    assert "== sqlite" in table and "agno 1.8.4" in table and "ratio" in table
    for fig in figures.values():
        assert fig["label"] in table
    assert table.count("PASS") + table.count("FAIL") >= len(JUDGED)
    # the database files went into --workdir's temporary folder and were removed
    assert [p.name for p in tmp_path.iterdir()] == ["bench.json"]
